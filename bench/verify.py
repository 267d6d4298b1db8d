"""``audit_verify`` at scale: seed N hash-chained events fast, then time verification.

Runs in its own database (``bench.db.sibling_database``). Import only after ``django.setup()``.

1. **Seed**: N events (the shapes of ``bench.audit.EventMaker``: views, escalations,
   acceptances, regradings, disclosures; 30 % by the system) are written straight as COPY text.
   Each event's canonical bytes are formatted from a template in sorted-key order instead of
   ``json.dumps`` per event, and hashed with ``hashlib`` onto the previous one: about 4 µs an
   event. Checked: the first 2,000 events and a spread sample re-read through the ORM hash to
   their stored hash with ``compute_event_hash`` (the template is the real canonical form).
   Then ``VACUUM (ANALYZE)`` and a signed checkpoint at the head.
2. **Verify**: ``audit_verify(record=False)`` in a fresh process (``bench.verify_process``, for
   peak resident memory), with the default workers and with 1; and the Python walk
   (``_walk``, what verification was before the server-side path) on up to
   ``legacy_events`` of them, for the before/after ratio on the same machine and load.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from bench.audit import ACTORS, COLUMNS, bench_actors, fresh_process_verify, seed_summary
from bench.seed import log
from hub.models import AuditCheckpoint, AuditEvent
from hub.services.audit import _lock_chain_head, compute_event_hash
from hub.services.audit_integrity import _walk, audit_checkpoint
from hub.services.audit_verify_pg import default_workers

CHUNK = 50_000


@dataclass(frozen=True)
class VerifyConfig:
    events: int
    legacy_events: int  # the Python walk is timed only up to this many events (it is slow)
    workers: int | None  # None: audit_verify's default (the CPUs)

    @classmethod
    def for_mode(cls, mode: str) -> VerifyConfig:
        if mode == "full":
            return cls(events=1_000_000, legacy_events=1_100_000, workers=None)
        return cls(events=50_000, legacy_events=100_000, workers=None)


def _js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _uuid(bits: int) -> str:
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


class FastEvents:
    """Events as (COPY line, canonical bytes) straight from templates: same shapes as
    ``bench.audit.EventMaker``, without building a model and ``json.dumps`` per event."""

    def __init__(self, actors: list[tuple[str, str, str, str]], seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.actors = actors  # (id, display, org, role)

    def event(self, seq: int, occurred_at: str, prev_hash: str) -> tuple[list[str], bytes]:
        r = self.random
        bits = r.getrandbits
        task, referral = _uuid(bits(128)), _uuid(bits(128))
        roll = r.random()
        task_id: str | None = task
        changes, justification, recipient = "{}", "", ""
        if roll < 0.40:
            action, object_type, object_id = "task.viewed", "task", task
        elif roll < 0.55:
            action, object_type, object_id, task_id = "referral.viewed", "referral", referral, None
        elif roll < 0.70:
            step = r.randint(1, 4)
            level = ("officer", "supervisor", "region", "hub")[step - 1]
            after = "null" if step == 4 else '"2025-03-01T11:00:00+00:00"'
            action, object_type, object_id = "task.escalated", "task", task
            changes = (
                f'{{"alert":"{_uuid(bits(128))}","clock":"act","due_at":"2025-03-01T10:00:00+00:00",'
                f'"level":"{level}","next_step_due_at":{after},'
                f'"recipients":["officer-{r.randint(1, 500)}"],"step":{step}}}'
            )
        elif roll < 0.80:
            action, object_type, object_id = "task.accepted", "task", task
            changes = '{"status":["offered","accepted"]}'
        elif roll < 0.90:
            action, object_type, object_id, task_id = "referral.regraded", "referral", referral, None
            changes = '{"access_to_children":["family"],"grade":[3,2],"risk":["medium","high"]}'
            justification = "New intelligence: the suspect lives with two children under 10."
        else:
            action, object_type, object_id, task_id = "referral.disclosed", "referral", referral, None
            recipient = "Children's Services (MASH)"
            justification = "Strategy discussion under s.47 Children Act 1989."
        if r.random() < 0.3:
            actor_id, display, org, role = None, "system", "", ""
        else:
            actor_id, display, org, role = r.choice(self.actors)
        request_id = f"{bits(64):016x}"
        canonical = (
            f'{{"action":"{action}","actor_display":{_js(display)},'
            f'"actor_id":{_js(actor_id) if actor_id else "null"},"actor_org":"{org}","actor_role":"{role}",'
            f'"changes":{changes},"justification":{_js(justification)},"object_id":"{object_id}",'
            f'"object_type":"{object_type}","occurred_at":"{occurred_at}","outcome":"success",'
            f'"prev_hash":"{prev_hash}","recipient":{_js(recipient)},"referral_id":"{referral}",'
            f'"request_id":"{request_id}","seq":{seq},"task_id":{_js(task_id) if task_id else "null"}}}'
        ).encode()
        row = [
            _uuid(bits(128)), str(seq), occurred_at, actor_id or "\\N", display, org, role, action,
            object_type, object_id, referral, task_id or "\\N", request_id, changes, justification,
            recipient, "success", prev_hash,
        ]  # fmt: skip
        return row, canonical


def seed(n: int) -> dict[str, Any]:
    """Append ``n`` events after the head, in COPY chunks of ``CHUNK`` under the chain lock."""
    actors = [
        (str(u.pk), u.display_name, u.membership.organisation.code, u.membership.role) for u in bench_actors()
    ]
    assert len(actors) == len(ACTORS)  # noqa: S101  (bench precondition)
    maker = FastEvents(actors)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    step_us = max(1, int(365 * 86400 * 1e6 // max(n, 1)))
    started = time.perf_counter()
    build_s = copy_s = 0.0
    written = 0
    sha256 = hashlib.sha256
    while written < n:
        size = min(CHUNK, n - written)
        with transaction.atomic():
            seq, prev_hash = _lock_chain_head()
            t0 = time.perf_counter()
            lines: list[str] = []
            for i in range(size):
                seq += 1
                at = base + timedelta(microseconds=step_us * (written + i))
                occurred_at = at.isoformat(timespec="microseconds")
                row, canonical = maker.event(seq, occurred_at, prev_hash)
                prev_hash = sha256(b"\x00" + canonical).hexdigest()
                row.append(prev_hash)
                lines.append("\t".join(row))
            data = ("\n".join(lines) + "\n").encode()
            t1 = time.perf_counter()
            query = f"COPY hub_auditevent ({', '.join(COLUMNS)}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(query) as copy:
                copy.write(data)
            build_s += t1 - t0
            copy_s += time.perf_counter() - t1
        written += size
        if written % 500_000 == 0 or written == n:
            log(f"verify: seeded {written} events")
    return seed_summary(written, started, build_s, copy_s)


def check_seed(total: int) -> list[str]:
    """The template must be the canonical form: re-read events through the ORM and rehash."""
    sample = set(range(1, min(total, 2000) + 1)) | set(range(1, total + 1, max(1, total // 500)))
    bad = [
        e.seq
        for e in AuditEvent.objects.filter(seq__in=sorted(sample)).iterator(chunk_size=2000)
        if compute_event_hash(e) != e.hash
    ]
    return (
        [f"verify seed: {len(bad)} sampled events do not hash as compute_event_hash (first #{bad[0]})"]
        if bad
        else []
    )


def fresh_process(workers: int | None) -> dict[str, Any]:
    found = fresh_process_verify(workers)
    found["workers"] = workers or "default"
    return found


def legacy_walk(limit: int, total: int) -> dict[str, Any]:
    """The Python walk over the ORM (the verifier before this bench's server-side path), on the
    whole trail if it is at most ``limit`` events, else skipped."""
    if total > limit:
        return {"skipped": f"trail of {total} > legacy_events {limit}"}
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.order_by("seq")}
    counter = [0]
    start = time.perf_counter()
    with transaction.atomic():  # a plain streaming cursor (no WITH HOLD materialisation)
        _walk(checkpoints, 5000, counter)
    seconds = time.perf_counter() - start
    return {
        "events": counter[0],
        "seconds": round(seconds, 2),
        "events_per_s": round(counter[0] / seconds, 1),
    }


def run(config: VerifyConfig) -> tuple[dict[str, Any], list[str]]:
    log(f"verify: seeding {config.events} events")
    seeded = seed(config.events)
    problems = check_seed(AuditEvent.objects.count())
    audit_checkpoint()
    total = AuditEvent.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('hub_auditevent'), pg_relation_size('hub_auditevent')")
        total_bytes, heap_bytes = cursor.fetchone()
    runs: dict[str, Any] = {}
    for name, workers in (("default_workers", config.workers or default_workers()), ("one_worker", 1)):
        log(f"verify: {total} events, audit_verify in a fresh process ({name})")
        runs[name] = fresh_process(workers)
        if not runs[name].get("ok") or runs[name].get("events") != total:
            problems.append(
                f"verify ({name}): {runs[name].get('message')} ({runs[name].get('events')} of {total})"
            )
    log(f"verify: the Python walk (up to {config.legacy_events} events)")
    runs["python_walk"] = legacy_walk(config.legacy_events, total)
    if "events" in runs["python_walk"] and runs["python_walk"]["events"] != total:
        problems.append(f"verify (python walk): {runs['python_walk']['events']} of {total}")
    document: dict[str, Any] = {
        "seed": seeded,
        "trail": {
            "events": total,
            "table_total_mb": round(total_bytes / 2**20, 1),
            "table_heap_mb": round(heap_bytes / 2**20, 1),
        },
        "verify": runs,
    }
    document["summary"] = {
        "events": total,
        **{f"{k}_events_per_s": v.get("events_per_s") for k, v in runs.items()},
        **{
            f"{k}_rss_growth_mb": v.get("rss_peak_growth_mb")
            for k, v in runs.items()
            if "rss_peak_growth_mb" in v
        },
        "seed_events_per_s": seeded["events_per_s"],
    }
    return document, problems
