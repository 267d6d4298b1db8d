"""The audit trail: append throughput under concurrent writers, and ``audit_verify`` at scale.

Runs in its own database (``bench.db.sibling_database``): the trail is append-only, so every
run starts from an empty chain. Import only after ``django.setup()``.

1. **Appends**: K writer threads (each its own connection) call ``audit_record`` M times, each
   call in its own transaction, as a service does; the same with ``audit_record_many`` in
   batches of :data:`BATCH` (the deadline sweep's path). Events/s per K, and per-call latency.
   After each run the whole chain must verify (``audit_verify(record=False).ok``) and hold
   exactly the events written.
2. **Verify at scale**: ``events`` more events are generated in Python in chunks, with the real
   hash chain (``compute_event_hash`` on real ``AuditEvent`` instances), and COPYed in (the
   append-only triggers allow inserts and stay on); a checkpoint is signed; then
   ``audit_verify(record=False)`` is timed as the hourly job runs it (autocommit) and inside a
   transaction, each with its peak resident memory.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db import connection, transaction

from bench.db import database_url
from bench.measure import percentile
from bench.seed import ensure_member, log
from hub.constants import GENESIS_HASH
from hub.models import AuditCheckpoint, AuditEvent, AuditPending, Membership, User
from hub.services.audit import audit_record, audit_record_many, compute_event_hash
from hub.services.audit_integrity import VerifyResult, audit_checkpoint, audit_verify, public_key

BATCH = 200
COPY_CHUNK = 20_000
ACTORS: tuple[tuple[str, str, str], ...] = (
    ("bench-audit-officer-mps", "MPS", Membership.Role.OFFICER),
    ("bench-audit-officer-gmp", "GMP", Membership.Role.OFFICER),
    ("bench-audit-supervisor-kent", "KENT", Membership.Role.SUPERVISOR),
    ("bench-audit-coordinator-london", "LONDON", Membership.Role.REGIONAL_COORDINATOR),
    ("bench-audit-coordinator-nca", "NCA", Membership.Role.COORDINATOR),
    ("bench-audit-auditor-nca", "NCA", Membership.Role.AUDITOR),
)
COLUMNS = (
    "id", "seq", "occurred_at", "actor_id", "actor_display", "actor_org", "actor_role", "action",
    "object_type", "object_id", "referral_id", "task_id", "request_id", "changes", "justification",
    "recipient", "outcome", "prev_hash", "hash",
)  # fmt: skip


@dataclass(frozen=True)
class AuditConfig:
    events: int  # seeded for the verify measurement
    append_events: int  # per writer count, split between the writers
    batch_events: int  # per writer count, in batches of BATCH
    writers: tuple[int, ...]
    batch_writers: tuple[int, ...]

    @classmethod
    def for_mode(cls, mode: str) -> AuditConfig:
        if mode == "full":
            return cls(events=1_000_000, append_events=4_000, batch_events=20_000, writers=(1, 2, 4, 8),
                       batch_writers=(1, 4))  # fmt: skip
        return cls(events=50_000, append_events=800, batch_events=4_000, writers=(1, 2, 4, 8),
                   batch_writers=(1, 4))  # fmt: skip


# --- What events look like -------------------------------------------------------------------


class EventMaker:
    """Plausible events (the actions the services write, with their kind of ``changes``), from a
    fixed seed; 30 % by the system, the rest by the bench's members."""

    def __init__(self, actors: list[User], seed: int = 42) -> None:
        self.random = random.Random(seed)
        self.actors = actors

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for ``audit_record`` (and the dicts ``audit_record_many`` takes)."""
        r = self.random
        task = uuid.UUID(int=r.getrandbits(128), version=4)
        referral = uuid.UUID(int=r.getrandbits(128), version=4)
        roll = r.random()
        if roll < 0.40:
            return {"action": "task.viewed", "object_type": "task", "object_id": task, "task_id": task,
                    "referral_id": referral}  # fmt: skip
        if roll < 0.55:
            return {"action": "referral.viewed", "object_type": "referral", "object_id": referral,
                    "referral_id": referral}  # fmt: skip
        if roll < 0.70:
            step = r.randint(1, 4)
            return {
                "action": "task.escalated", "object_type": "task", "object_id": task, "task_id": task,
                "referral_id": referral,
                "changes": {"alert": str(uuid.UUID(int=r.getrandbits(128), version=4)), "clock": "act",
                            "step": step, "level": ("officer", "supervisor", "region", "hub")[step - 1],
                            "due_at": "2025-03-01T10:00:00+00:00",
                            "recipients": [f"officer-{r.randint(1, 500)}"],
                            "next_step_due_at": None if step == 4 else "2025-03-01T11:00:00+00:00"},
            }  # fmt: skip
        if roll < 0.80:
            return {"action": "task.accepted", "object_type": "task", "object_id": task, "task_id": task,
                    "referral_id": referral, "changes": {"status": ["offered", "accepted"]}}  # fmt: skip
        if roll < 0.90:
            return {"action": "referral.regraded", "object_type": "referral", "object_id": referral,
                    "referral_id": referral,
                    "changes": {"grade": [3, 2], "risk": ["medium", "high"],
                                "access_to_children": ["family"]},
                    "justification": "New intelligence: the suspect lives with two children under 10."
                    }  # fmt: skip
        return {"action": "referral.disclosed", "object_type": "referral", "object_id": referral,
                "referral_id": referral, "recipient": "Children's Services (MASH)",
                "justification": "Strategy discussion under s.47 Children Act 1989."}  # fmt: skip

    def actor(self) -> User | None:
        return None if self.random.random() < 0.3 else self.random.choice(self.actors)


def bench_actors() -> list[User]:
    members = [ensure_member(username, org, role) for username, org, role in ACTORS]
    # Loaded as a request loads them: the membership (and its organisation) cached on the user.
    return list(
        User.objects.select_related("membership__organisation").filter(pk__in=[m.user_id for m in members])
    )


# --- Appends ---------------------------------------------------------------------------------


def _writer(
    maker_seed: int, actors: list[User], count: int, batch: int, barrier: threading.Barrier,
    latencies: list[float], errors: list[str],
) -> None:  # fmt: skip
    maker = EventMaker(actors, seed=maker_seed)
    try:
        connection.ensure_connection()
        barrier.wait()
        written = 0
        while written < count:
            size = min(batch, count - written)
            start = time.perf_counter()
            with transaction.atomic():
                if batch == 1:
                    audit_record(actor=maker.actor(), **maker.fields())
                else:
                    audit_record_many(actor=None, events=[maker.fields() for _ in range(size)])
            latencies.append((time.perf_counter() - start) * 1000)
            written += size
    except Exception as exc:  # noqa: BLE001  (reported as a problem, not raised in a thread)
        errors.append(f"{type(exc).__name__}: {exc}")
        barrier.abort()
    finally:
        connection.close()


def append_run(actors: list[User], *, writers: int, total: int, batch: int, seed: int) -> dict[str, Any]:
    """``writers`` threads write ``total`` events between them, ``batch`` per call; wall clock
    from the moment all are connected and released together to the last commit."""

    def write(maker_seed: int, *args: Any) -> None:
        _writer(maker_seed, args[0], args[1], batch, *args[2:])

    found = _threads_run(write, writers, total // writers, actors, seed=seed)
    found["events_per_call"] = batch
    return found


def head() -> tuple[int, str]:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def run_appends(config: AuditConfig, actors: list[User]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    runs: list[dict[str, Any]] = []
    plan = [(k, config.append_events, 1) for k in config.writers]
    plan += [(k, config.batch_events, BATCH) for k in config.batch_writers]
    for i, (writers, total, batch) in enumerate(plan, start=1):
        before = head()[0]
        log(f"audit: {writers} writer(s), {total} events, {batch} per call")
        result = append_run(actors, writers=writers, total=total, batch=batch, seed=i)
        after = head()[0]
        verified = audit_verify(record=False)
        result["chain_ok"] = verified.ok
        result["verify_s"] = round(verified.duration_ms / 1000, 2)
        runs.append(result)
        label = f"audit appends ({writers} writers, {batch} per call)"
        if result.get("errors"):
            problems.append(f"{label}: {result['errors']}")
        if after - before != result["events"]:
            problems.append(f"{label}: the chain grew by {after - before}, {result['events']} were written")
        if not verified.ok or verified.events_checked != after:
            problems.append(f"{label}: verify failed: {verified.message}")
    return {
        "single": [r for r in runs if r["events_per_call"] == 1],
        "batch": [r for r in runs if r["events_per_call"] > 1],
    }, problems


# --- The sequencer against plain inserts (issue 15) ------------------------------------------

PLAIN_TABLE = "bench_plain_events"


def _plain_writer(
    maker_seed: int, actors: list[User], count: int, barrier: threading.Barrier,
    latencies: list[float], errors: list[str],
) -> None:  # fmt: skip
    """Rows as wide as an audit event (the same values ``EventMaker`` gives the audited
    writers), one INSERT per transaction, into a copy of the events table with its indexes and
    none of its chain, triggers or foreign keys: what the database does for a bare insert."""
    maker = EventMaker(actors, seed=maker_seed)
    columns = [c for c in COLUMNS if c != "seq"]
    sql = (
        f"INSERT INTO {PLAIN_TABLE} (seq, {', '.join(columns)}) "  # noqa: S608  (our own names)
        f"VALUES (nextval('{PLAIN_TABLE}_seq'), {', '.join(['%s'] * len(columns))})"
    )
    try:
        connection.ensure_connection()
        barrier.wait()
        for _ in range(count):
            fields, actor = maker.fields(), maker.actor()
            row = {
                "id": uuid.uuid4(), "occurred_at": datetime.now(UTC), "actor_id": actor.pk if actor else None,
                "actor_display": actor.display_name if actor else "system", "actor_org": "", "actor_role": "",
                "object_type": "", "object_id": "", "referral_id": None, "task_id": None, "request_id": "",
                "changes": "{}", "justification": "", "recipient": "", "outcome": "success",
                "prev_hash": "0" * 64, "hash": "0" * 64,
            }  # fmt: skip
            row.update({k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()})
            row["changes"] = json.dumps(fields.get("changes") or {})
            start = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [row[c] for c in columns])
            latencies.append((time.perf_counter() - start) * 1000)
    except Exception as exc:  # noqa: BLE001  (reported as a problem, not raised in a thread)
        errors.append(f"{type(exc).__name__}: {exc}")
        barrier.abort()
    finally:
        connection.close()


def _threads_run(target: Any, writers: int, per_writer: int, actors: list[User], seed: int) -> dict[str, Any]:
    barrier = threading.Barrier(writers + 1)
    latencies: list[list[float]] = [[] for _ in range(writers)]
    errors: list[str] = []
    threads = [
        threading.Thread(
            target=target, args=(seed * 100 + i, actors, per_writer, barrier, latencies[i], errors)
        )
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=60)
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    calls = [ms for per_thread in latencies for ms in per_thread]
    events = per_writer * writers
    found: dict[str, Any] = {
        "writers": writers, "events": events, "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1) if seconds else None,
        "call_ms": {name: (round(percentile(calls, q), 2) if calls else None)
                    for name, q in (("p50", 50), ("p95", 95), ("p99", 99))}
                   | {"max": round(max(calls), 2) if calls else None},
    }  # fmt: skip
    if errors:
        found["errors"] = errors[:5]
    return found


def sequencer_compare(
    actors: list[User], *, writers: int, per_writer: int
) -> tuple[dict[str, Any], list[str]]:
    """In one run, on one database: ``writers`` threads of plain inserts; the same number of
    audited writers with the sequencer (``VIHUB_AUDIT_CHAIN = "sequencer"``) while one sequencer
    thread chains; then how long each event waited for the chain, and the chain verified."""
    from django.test import override_settings  # noqa: PLC0415

    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}; DROP SEQUENCE IF EXISTS {PLAIN_TABLE}_seq")
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (LIKE hub_auditevent INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        cursor.execute(f"CREATE SEQUENCE {PLAIN_TABLE}_seq")
    log(f"audit: plain inserts, {writers} writers x {per_writer}")
    plain = _threads_run(_plain_writer, writers, per_writer, actors, seed=7)
    before = head()[0]
    log(f"audit: sequenced appends, {writers} writers x {per_writer}, the sequencer process beside them")
    # The sequencer in its own process, as production runs it (a thread here would take the
    # writers' interpreter lock, which production's sequencer never does).
    env = {**os.environ, "DATABASE_URL": database_url(), "VIHUB_AUDIT_CHAIN": "sequencer"}
    sequencer = subprocess.Popen(  # noqa: S603  (our own interpreter and manage.py)
        [sys.executable, "manage.py", "audit_sequencer", "--interval", "0.05"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        started = sequencer.stdout.readline().decode() if sequencer.stdout else ""
        if "audit sequencer running" not in started:
            problems.append(f"audit sequencer did not start: {started[-500:]}")
        with override_settings(VIHUB_AUDIT_CHAIN="sequencer"):
            sequenced = append_run(actors, writers=writers, total=writers * per_writer, batch=1, seed=8)
        drain_start = time.perf_counter()
        while AuditPending.objects.exists() and time.perf_counter() - drain_start < 120:
            time.sleep(0.02)
        drained = time.perf_counter() - drain_start
    finally:
        sequencer.terminate()
        try:
            sequencer.wait(30)
        except subprocess.TimeoutExpired:
            sequencer.kill()
            sequencer.wait()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY d), max(d) FROM"
            " (SELECT extract(epoch FROM chained_at - occurred_at) AS d"
            " FROM hub_auditevent WHERE seq > %s) AS x",
            [before],
        )
        quantiles, longest = cursor.fetchone()
        cursor.execute(f"DROP TABLE {PLAIN_TABLE}; DROP SEQUENCE {PLAIN_TABLE}_seq")
    chained = head()[0] - before
    verified = audit_verify(record=False)
    sequenced.update({
        "drain_after_last_write_s": round(drained, 3),
        "chain_delay_ms": {
            "p50": round(float(quantiles[0]) * 1000, 1) if quantiles else None,
            "p99": round(float(quantiles[1]) * 1000, 1) if quantiles else None,
            "max": round(float(longest) * 1000, 1) if longest is not None else None,
        },
        "chained": chained,
        "chain_ok": verified.ok,
    })  # fmt: skip
    for label, result in (("plain", plain), ("sequenced", sequenced)):
        if result.get("errors"):
            problems.append(f"audit {label} inserts: {result['errors']}")
    if chained != sequenced["events"] or AuditPending.objects.exists():
        problems.append(f"audit sequencer: {chained} chained of {sequenced['events']} written")
    if not verified.ok:
        problems.append(f"audit sequencer: verify failed: {verified.message}")
    ratio = (sequenced["events_per_s"] or 0) / (plain["events_per_s"] or 1)
    return {"plain": plain, "sequenced": sequenced, "sequenced_vs_plain_pct": round(100 * ratio, 1)}, problems


# --- Seeding a long trail --------------------------------------------------------------------


def seed_events(n: int, actors: list[User]) -> dict[str, Any]:
    """Append ``n`` events after the current head, hash-chained exactly as ``audit_record``
    chains them, with COPY in chunks of ``COPY_CHUNK`` (one transaction each, holding the chain
    lock, so a concurrent writer could not fork the chain)."""
    from hub.services.audit import _lock_chain_head  # noqa: PLC0415

    maker = EventMaker(actors, seed=7)
    snapshots = {u.pk: (u.display_name, u.membership.organisation.code, u.membership.role) for u in actors}
    build_s = copy_s = 0.0
    written = 0
    started = time.perf_counter()
    base = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / max(n, 1)
    while written < n:
        size = min(COPY_CHUNK, n - written)
        with transaction.atomic():
            seq, prev_hash = _lock_chain_head()
            t0 = time.perf_counter()
            rows: list[tuple[Any, ...]] = []
            for _ in range(size):
                seq += 1
                fields = maker.fields()
                actor = maker.actor()
                display, org, role = snapshots[actor.pk] if actor else ("system", "", "")
                event = AuditEvent(
                    id=uuid.UUID(int=maker.random.getrandbits(128), version=4),
                    seq=seq,
                    occurred_at=base + step * (written + len(rows)),
                    actor_id=actor.pk if actor else None,
                    actor_display=display,
                    actor_org=org,
                    actor_role=role,
                    action=fields["action"],
                    object_type=fields.get("object_type", ""),
                    object_id=str(fields.get("object_id") or ""),
                    referral_id=fields.get("referral_id"),
                    task_id=fields.get("task_id"),
                    request_id=f"{maker.random.getrandbits(64):016x}",
                    changes=fields.get("changes") or {},
                    justification=fields.get("justification", ""),
                    recipient=fields.get("recipient", ""),
                    outcome=AuditEvent.Outcome.SUCCESS,
                    prev_hash=prev_hash,
                )
                event.hash = prev_hash = compute_event_hash(event)
                rows.append(
                    tuple(json.dumps(event.changes) if column == "changes" else getattr(event, column)
                          for column in COLUMNS)
                )  # fmt: skip
            t1 = time.perf_counter()
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY hub_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            build_s += t1 - t0
            copy_s += time.perf_counter() - t1
        written += size
        if written % 200_000 == 0 or written == n:
            log(f"audit: seeded {written} events")
    return seed_summary(written, started, build_s, copy_s)


def seed_summary(written: int, started: float, build_s: float, copy_s: float) -> dict[str, Any]:
    """After a seed by COPY: ``VACUUM (ANALYZE)`` the trail, and what the seed took."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) hub_auditevent")
    seconds = time.perf_counter() - started
    return {
        "events": written,
        "seconds": round(seconds, 1),
        "build_and_hash_s": round(build_s, 1),
        "copy_s": round(copy_s, 1),
        "events_per_s": round(written / seconds, 1) if seconds else None,
    }


# --- Verify ----------------------------------------------------------------------------------


def _temp_bytes() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT temp_files, temp_bytes FROM pg_stat_database WHERE datname = current_database()"
        )
        files, size = cursor.fetchone()
    return int(files), int(size)


def timed_verify(*, in_transaction: bool) -> tuple[VerifyResult, dict[str, Any]]:
    time.sleep(0.6)  # let the statistics collector catch up before reading temp usage
    files_before, bytes_before = _temp_bytes()
    start = time.perf_counter()
    if in_transaction:
        with transaction.atomic():
            result = audit_verify(record=False)
    else:
        result = audit_verify(record=False)
    seconds = time.perf_counter() - start
    time.sleep(0.6)
    files_after, bytes_after = _temp_bytes()
    return result, {
        "ok": result.ok,
        "events": result.events_checked,
        "checkpoints": result.checkpoints_checked,
        "seconds": round(seconds, 2),
        "events_per_s": round(result.events_checked / seconds, 1) if seconds else None,
        "server_temp_files": files_after - files_before,
        "server_temp_mb": round((bytes_after - bytes_before) / 2**20, 1),
    }


def fresh_process_verify(workers: int | None = None) -> dict[str, Any]:
    """``audit_verify`` in a new process (``bench.verify_process``), for its peak memory; with
    ``workers`` parallel segment workers, else its default."""
    key = base64.b64encode(public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    env = {**os.environ, "DATABASE_URL": database_url(), "VIHUB_AUDIT_PUBLIC_KEY": key}
    if workers:
        env["VIHUB_BENCH_VERIFY_WORKERS"] = str(workers)
    done = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "bench.verify_process"],
        cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"ok": False, "message": f"exit {done.returncode}: {done.stderr.strip()[-800:]}"}
    found: dict[str, Any] = json.loads(lines[-1])
    return found


def run(config: AuditConfig) -> tuple[dict[str, Any], list[str]]:
    actors = bench_actors()
    appends, problems = run_appends(config, actors)
    compare, found = sequencer_compare(actors, writers=8, per_writer=max(config.append_events // 8, 50))
    inline_8 = next((r for r in appends["single"] if r["writers"] == 8), None)
    if inline_8 is not None:
        compare["inline_8w_events_per_s"] = inline_8["events_per_s"]
        compare["inline_vs_plain_pct"] = round(
            100 * (inline_8["events_per_s"] or 0) / (compare["plain"]["events_per_s"] or 1), 1
        )
    appends["sequencer_vs_plain"] = compare
    problems += found
    log(f"audit: seeding {config.events} events")
    seeded = seed_events(config.events, actors)
    # Appending to the long trail costs what it cost on a short one (the head is one index
    # probe): 4 writers again, checked by the timed verify below.
    before = head()[0]
    log(f"audit: 4 writers, {config.append_events} events after the seed")
    at_scale = append_run(actors, writers=4, total=config.append_events, batch=1, seed=99)
    appends["single_after_seed"] = [at_scale]
    if at_scale.get("errors") or head()[0] - before != at_scale["events"]:
        problems.append(
            f"audit appends after the seed: {at_scale.get('errors') or 'chain did not grow by them'}"
        )
    checkpoint = audit_checkpoint()
    total = head()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('hub_auditevent'), pg_relation_size('hub_auditevent')")
        total_bytes, heap_bytes = cursor.fetchone()
    verify: dict[str, Any] = {}
    for name, in_transaction in (("autocommit", False), ("in_transaction", True)):
        log(f"audit: verifying {total} events ({name})")
        result, figures = timed_verify(in_transaction=in_transaction)
        verify[name] = figures
        if not result.ok or result.events_checked != total:
            problems.append(f"audit verify ({name}): {result.message} ({result.events_checked} of {total})")
        if checkpoint is None or result.checkpoints_checked < 1:
            problems.append(f"audit verify ({name}): no signed checkpoint was checked")
    log(f"audit: verifying {total} events in a fresh process (peak memory)")
    fresh = fresh_process_verify()
    verify["fresh_process"] = fresh
    if not fresh.get("ok") or fresh.get("events") != total:
        problems.append(
            f"audit verify (fresh process): {fresh.get('message')} ({fresh.get('events')} of {total})"
        )
    document = {
        "appends": appends,
        "seed": seeded,
        "trail": {
            "events": total,
            "checkpoints": AuditCheckpoint.objects.count(),
            "table_total_mb": round(total_bytes / 2**20, 1),
            "table_heap_mb": round(heap_bytes / 2**20, 1),
        },
        "verify": verify,
    }
    document["summary"] = summary_line(document)
    return document, problems


def summary_line(document: dict[str, Any]) -> dict[str, Any]:
    line: dict[str, Any] = {}
    for run in document["appends"]["single"]:
        line[f"append_{run['writers']}w_events_per_s"] = run["events_per_s"]
    for run in document["appends"].get("single_after_seed", []):
        line[f"append_{run['writers']}w_after_seed_events_per_s"] = run["events_per_s"]
    for run in document["appends"]["batch"]:
        line[f"batch{run['events_per_call']}_{run['writers']}w_events_per_s"] = run["events_per_s"]
    if compare := document["appends"].get("sequencer_vs_plain"):
        line["plain_8w_inserts_per_s"] = compare["plain"]["events_per_s"]
        line["sequenced_8w_events_per_s"] = compare["sequenced"]["events_per_s"]
        line["sequenced_vs_plain_pct"] = compare["sequenced_vs_plain_pct"]
        line["inline_vs_plain_pct"] = compare.get("inline_vs_plain_pct")
        line["chain_delay_p99_ms"] = compare["sequenced"]["chain_delay_ms"]["p99"]
    line["trail_events"] = document["trail"]["events"]
    for name, figures in document["verify"].items():
        line[f"verify_{name}_s"] = figures.get("seconds")
        line[f"verify_{name}_events_per_s"] = figures.get("events_per_s")
    line["verify_fresh_process_rss_growth_mb"] = document["verify"]["fresh_process"].get("rss_peak_growth_mb")
    line["trail_table_mb"] = document["trail"]["table_total_mb"]
    return line
