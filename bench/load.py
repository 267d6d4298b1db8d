"""HTTP load bench: gunicorn on production settings, driven by locust (headless).

``python -m bench.load [--quick]`` (``make bench-load`` runs it inside ``scripts/with-services.sh``
with ``VIHUB_PG_DURABLE=1``). In a fresh sibling database (``<name>_bench_load``): migrations,
the reference organisations, a seeded task population (``bench.seed.seed_tasks``), personas with
bearer tokens; then gunicorn (``config.wsgi``, ``config.settings.prod``, N sync workers) and, for
each user count, one locust run of the mixed workload (``bench/locustfile.py``) while
pg_stat_activity and the CPU of gunicorn, PostgreSQL and locust are sampled every second; then
a pure intake run whose every 201 is looked up in the database and the audit trail.
Writes ``bench/results/load-<mode>.json``; see bench/README.md, "Load".
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIXED_CLASSES = ("Agency", "Officer", "Coordinator", "Auditor")
PERSONAS = {  # persona: (organisation, role)
    "ncmec": ("NCMEC", "agency"),
    "iwf": ("IWF", "agency"),
    "interpol": ("INTERPOL", "agency"),
    "kent_officer": ("KENT", "officer"),
    "essex_officer": ("ESSEX", "officer"),
    "coordinator": ("NCA", "coordinator"),
    "auditor": ("NCA", "auditor"),
}


@dataclass
class Config:
    mode: str
    users: list[int]
    duration: int
    intake_users: int
    intake_duration: int
    workers: int
    tasks: int
    keep_database: bool
    worker_class: str = "sync"
    threads: int = 1
    skip_mixed: bool = False
    skip_intake: bool = False
    resilience_duration: int = 0  # 0: no resilience run
    output: Path | None = None


def parse(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke test: 1,000 tasks, 2 and 5 users, 8 s runs")
    p.add_argument("--users", help="comma-separated user counts (default 10,50,200; quick 2,5)")
    p.add_argument("--duration", type=int, help="seconds per user count (default 60; quick 8)")
    p.add_argument("--intake-users", type=int, help="users in the pure intake run (default 20; quick 3)")
    p.add_argument("--intake-duration", type=int, help="seconds of pure intake (default 60; quick 8)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument(
        "--worker-class", choices=("sync", "gthread"), default="sync",
        help="gunicorn worker class (default sync: one request at a time, a new connection per request; "
        "gthread keeps client connections alive)",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=1, help="threads per gthread worker (default 1)")
    p.add_argument("--tasks", type=int, help="seeded tasks (default 5,000; quick 1,000)")
    p.add_argument("--no-mixed", action="store_true", help="only the pure intake run")
    p.add_argument("--no-intake", action="store_true", help="only the mixed workload")
    p.add_argument(
        "--resilience", type=int, metavar="SECONDS",
        help="the resilience run's length: intake while a gunicorn worker and a Celery worker are killed "
        "and PostgreSQL restarts (default 60; quick 20; 0: none)",
    )  # fmt: skip
    p.add_argument("--keep-database", action="store_true")
    p.add_argument("--output", type=Path, help="default bench/results/load-<mode>.json")
    a = p.parse_args(argv)
    quick = bool(a.quick)
    return Config(
        mode="quick" if quick else "full",
        users=[int(u) for u in (a.users or ("2,5" if quick else "10,50,200")).split(",") if u.strip()],
        duration=a.duration or (8 if quick else 60),
        intake_users=a.intake_users or (3 if quick else 20),
        intake_duration=a.intake_duration or (8 if quick else 60),
        workers=a.workers,
        worker_class=a.worker_class,
        threads=a.threads,
        tasks=a.tasks or (1000 if quick else 5000),
        keep_database=a.keep_database,
        skip_mixed=a.no_mixed,
        skip_intake=a.no_intake,
        resilience_duration=(20 if quick else 60) if a.resilience is None else a.resilience,
        output=a.output,
    )


def production_environment(work: Path) -> dict[str, str]:
    """What ``config.settings.prod`` refuses to start without, generated for this run."""
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VIHUB_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "VIHUB_AUDIT_CHECKPOINT_LOG": str(work / "audit-witness.log"),
        "VIHUB_SECRETS_KEYS": Fernet.generate_key().decode(),
        "VIHUB_DATA_DIR": str(work / "data"),
        "VIHUB_LOAD_THINK_SCALE": "1",
        # One source address (locust on loopback) for every agency: production's per-source and
        # per-account intake limits (1,200 and 600 a minute) would measure the limiter instead.
        "VIHUB_RATE_INTAKE_ACCOUNT": "1000000/min",
        "VIHUB_RATE_INTAKE_SOURCE": "1000000/min",
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def durability() -> dict[str, str]:
    from django.db import connection

    settings: dict[str, str] = {}
    with connection.cursor() as cursor:
        for name in (
            "fsync",
            "synchronous_commit",
            "full_page_writes",
            "wal_level",
            "shared_buffers",
            "max_connections",
        ):
            cursor.execute(f"SHOW {name}")
            settings[name] = str(cursor.fetchone()[0])
    return settings


def redis_durability() -> dict[str, str]:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    out: dict[str, str] = {}
    for name in ("appendonly", "appendfsync", "save"):
        out.update(
            {
                str(k, "utf-8") if isinstance(k, bytes) else str(k): str(v, "utf-8")
                if isinstance(v, bytes)
                else str(v)
                for k, v in client.config_get(name).items()
            }
        )  # type: ignore[union-attr]
    return out


def make_personas() -> dict[str, str]:
    from hub.services.organisations import api_token_create, membership_set

    tokens = {}
    for name, (org, role) in PERSONAS.items():
        membership = membership_set(username=f"load-{name}", org_code=org, role=role, actor=None)
        _, raw = api_token_create(user=membership.user, actor=None, expires_days=2, name="load bench")
        tokens[name] = raw
    return tokens


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, 30 s to finish, then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int, work: Path, worker_class: str = "sync", threads: int = 1
) -> Iterator[tuple[str, psutil.Process]]:
    port = free_port()
    errors = (work / "gunicorn.log").open("w")
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
        "--worker-tmp-dir", "/dev/shm",  # noqa: S108  (gunicorn's heartbeat files, in memory)
        "--error-logfile", "-", "--log-level", "warning",
        "--worker-class", worker_class, "--threads", str(threads), "--keep-alive", "5",
    ]  # fmt: skip
    process = subprocess.Popen(  # noqa: S603  (our own interpreter running gunicorn)
        command, cwd=ROOT, env=env, stdout=errors, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        last: object = None
        while True:
            # No Celery beat runs here, so /healthz says 503 (beat "never ran"): up is when it
            # answers and its database and Redis checks pass.
            request = urllib.request.Request(  # noqa: S310  (our own http://127.0.0.1 URL)
                url + "/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    body = response.read()
            except urllib.error.HTTPError as exc:
                body = exc.read()
            except OSError as exc:
                body, last = b"", exc
            if body:
                last = checks = json.loads(body).get("checks", {})
                if checks.get("database") == "ok" and checks.get("redis") == "ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                errors.flush()
                tail = (work / "gunicorn.log").read_text()[-3000:]
                raise RuntimeError(f"gunicorn did not become healthy (last {last!r}); its log ends:\n{tail}")
            time.sleep(0.5)
        log(f"gunicorn: {workers} {worker_class} workers ({threads} thread(s) each) on {url}")
        yield url, psutil.Process(process.pid)
    finally:
        stop_process(process)
        errors.close()


@contextmanager
def audit_sequencer(env: dict[str, str], work: Path) -> Iterator[psutil.Process | None]:
    """The audit sequencer process, as production runs it beside gunicorn (``VIHUB_AUDIT_CHAIN``
    is "sequencer" on PostgreSQL unless set to "inline", then there is none to run)."""
    if env.get("VIHUB_AUDIT_CHAIN", "sequencer") != "sequencer":
        yield None
        return
    out = (work / "sequencer.log").open("w")
    process = subprocess.Popen(  # noqa: S603  (our own interpreter running manage.py)
        [sys.executable, "manage.py", "audit_sequencer"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "audit sequencer running" not in (work / "sequencer.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the audit sequencer did not start: {(work / 'sequencer.log').read_text()[-2000:]}"
            )
        time.sleep(0.1)
    log("audit sequencer running")
    try:
        yield psutil.Process(process.pid)
    finally:
        stop_process(process)
        out.close()


def chain_head() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(seq), 0) FROM hub_auditevent")
        return int(cursor.fetchone()[0])


def chain_delay(after_seq: int, settle_seconds: float = 60.0) -> dict[str, Any]:
    """How long the events of a run waited for the chain (``chained_at - occurred_at``), once
    every event has been chained (waits up to ``settle_seconds`` for the queue to empty)."""
    from django.db import connection

    deadline = time.monotonic() + settle_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT count(*) FROM hub_auditpending")
            (waiting,) = cursor.fetchone()
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cursor.execute(
            "SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY d), max(d)"
            " FROM (SELECT extract(epoch FROM chained_at - occurred_at) AS d FROM hub_auditevent"
            " WHERE seq > %s AND chained_at IS NOT NULL) AS delays",
            [after_seq],
        )
        count, quantiles, longest = cursor.fetchone()
    if not count:
        return {"events": 0, "still_waiting": waiting}
    p50, p95, p99 = (round(float(q) * 1000, 1) for q in quantiles)
    return {
        "events": count, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
        "max_ms": round(float(longest) * 1000, 1), "still_waiting": waiting,
    }  # fmt: skip


def _tree(root: psutil.Process | None) -> list[psutil.Process]:
    if root is None:
        return []
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass
class Sampler:
    """Every second: pg_stat_activity of the bench database, and CPU seconds per process group."""

    groups: dict[str, psutil.Process | None]
    interval: float = 1.0
    waits: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    missed: int = 0  # samples the database could not answer
    max_active: int = 0
    cpu_first: dict[tuple[str, int], float] = field(default_factory=dict)
    cpu_last: dict[tuple[str, int], float] = field(default_factory=dict)
    machine_first: Any = None
    machine_last: Any = None
    started: float = 0.0
    ended: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def _cpu(self) -> None:
        for group, root in self.groups.items():
            for process in _tree(root):
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                key = (group, process.pid)
                self.cpu_first.setdefault(key, times.user + times.system)
                self.cpu_last[key] = times.user + times.system
        self.machine_last = psutil.cpu_times()
        self.machine_first = self.machine_first or self.machine_last

    def run(self) -> None:
        from django.db import DatabaseError, connection

        self.started = time.monotonic()
        try:
            while not self.stop.is_set():
                self._cpu()
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            " AND backend_type = 'client backend'"
                        )
                        rows = cursor.fetchall()
                except DatabaseError:  # PostgreSQL restarting (the resilience run): sample on
                    connection.close()
                    self.missed += 1
                    self.stop.wait(self.interval)
                    continue
                self.samples += 1
                active = 0
                for state, wait_type, wait in rows:
                    self.states[str(state)] += 1
                    if state == "active":
                        active += 1
                        self.waits[f"{wait_type}:{wait}" if wait_type else "CPU (no wait event)"] += 1
                self.max_active = max(self.max_active, active)
                self.stop.wait(self.interval)
            self._cpu()
        finally:
            self.ended = time.monotonic()
            connection.close()

    def report(self) -> dict[str, Any]:
        seconds = max(self.ended - self.started, 1e-9)
        cores: dict[str, float] = {}
        for (group, pid), last in self.cpu_last.items():
            cores[group] = cores.get(group, 0.0) + (last - self.cpu_first[(group, pid)])
        machine: dict[str, float] = {}
        if self.machine_first is not None and self.machine_last is not None:
            deltas = {
                name: getattr(self.machine_last, name) - getattr(self.machine_first, name)
                for name in self.machine_last._fields
            }
            total = sum(deltas.values()) or 1e-9
            machine = {
                f"{name}_pct": round(100 * value / total, 1) for name, value in deltas.items() if value > 0
            }
        active_samples = sum(self.waits.values())
        return {
            "samples": self.samples,
            "samples_missed": self.missed,
            "seconds": round(seconds, 1),
            "active_backends_mean": round(active_samples / max(self.samples, 1), 2),
            "active_backends_max": self.max_active,
            "top_waits": [
                {
                    "wait": wait,
                    "samples": n,
                    "share_of_active_pct": round(100 * n / max(active_samples, 1), 1),
                }
                for wait, n in self.waits.most_common(8)
            ],
            # The inline chain's lock (what the sequencer removes from requests): 0 is the target.
            "advisory_lock_wait_samples": self.waits.get("Lock:advisory", 0),
            "backend_states": dict(self.states),
            "cpu_cores_used": {group: round(value / seconds, 2) for group, value in sorted(cores.items())},
            "cpu_seconds": {group: round(value, 3) for group, value in sorted(cores.items())},
            "machine_cpu": machine,
        }


def postmaster() -> psutil.Process | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        return psutil.Process(pid).parent()
    except psutil.Error:
        return None


def _ms(value: str) -> float | None:
    try:
        return round(float(value), 1)
    except ValueError:
        return None


def read_stats(prefix: Path) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    with Path(f"{prefix}_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            if not int(row["Request Count"]):
                continue  # only reached before the ramp ended (--reset-stats)
            endpoints[row["Name"] if row["Type"] else "Aggregated"] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "req_per_s": round(float(row["Requests/s"]), 2),
                "p50_ms": _ms(row["50%"]),
                "p95_ms": _ms(row["95%"]),
                "p99_ms": _ms(row["99%"]),
                "max_ms": _ms(row["Max Response Time"]),
                "method": row["Type"] or None,
            }
    failures: list[dict[str, Any]] = []
    path = Path(f"{prefix}_failures.csv")
    if path.exists():
        with path.open() as handle:
            failures = [
                {
                    "endpoint": r["Name"],
                    "error": r["Error"],
                    "count": int(r["Occurrences"]),
                }
                for r in csv.DictReader(handle)
            ]
    total = endpoints.get("Aggregated", {})
    return {
        "endpoints": endpoints,
        "total": total,
        "error_rate_pct": round(100 * total.get("failures", 0) / max(total.get("requests", 0), 1), 3),
        "failures": failures[:20],
    }


def run_locust(
    *,
    url: str,
    users: int,
    seconds: int,
    classes: tuple[str, ...],
    env: dict[str, str],
    work: Path,
    label: str,
    server: psutil.Process,
    sequencer: psutil.Process | None = None,
) -> dict[str, Any]:
    prefix = work / label
    spawn_rate = max(1.0, users / 5)  # ramp in ~5 s; --reset-stats measures from the end of the ramp
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "--host", url, "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--reset-stats",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5", *classes,
    ]  # fmt: skip
    log(f"locust {label}: {users} users, {seconds} s ({' '.join(classes)})")
    with (work / f"{label}.log").open("w") as out:
        process = subprocess.Popen(  # noqa: S603  (our own interpreter running locust)
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        sampler = Sampler(
            groups={"gunicorn": server, "postgres": postmaster(), "locust": psutil.Process(process.pid),
                    "sequencer": sequencer}
        )  # fmt: skip
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        head = chain_head()
        process.wait()
        sampler.stop.set()
        thread.join()
    from django.db import connection

    connection.close()  # a fresh one: the resilience run restarts PostgreSQL under this one
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no statistics; see {work / f'{label}.log'}")
    resources = sampler.report()
    stats = read_stats(prefix)
    requests = (stats.get("total") or {}).get("requests") or 0
    busy = resources.get("cpu_seconds", {})
    # CPU per request of the service (gunicorn, PostgreSQL, the sequencer; not locust): the
    # single-endpoint runs (intake, task read) give it per endpoint.
    served = sum(v for k, v in busy.items() if k != "locust")
    resources["cpu_ms_per_request"] = round(1000 * served / requests, 2) if requests else None
    resources["cpu_ms_per_request_by_group"] = {
        k: round(1000 * v / requests, 2) for k, v in busy.items() if requests and k != "locust"
    }
    return {
        "chain_delay": chain_delay(head) if sequencer is not None else None,
        "users": users,
        "seconds": seconds,
        "spawn_rate": spawn_rate,
        **stats,
        "resources": resources,
        "saturation": saturation(resources, psutil.cpu_count() or 1),
    }


def saturation(resources: dict[str, Any], cpus: int) -> str:
    """A reading of what ran out: the machine's CPU, else PostgreSQL's top wait, else nothing."""
    machine = resources.get("machine_cpu", {})
    idle = machine.get("idle_pct", 0.0) + machine.get("iowait_pct", 0.0)
    cores = resources.get("cpu_cores_used", {})
    split = ", ".join(f"{group} {used} cores" for group, used in cores.items())
    waits = resources.get("top_waits", [])
    busy_wait = next(
        (w for w in waits if w["wait"] != "CPU (no wait event)" and not w["wait"].startswith("Client:")), None
    )
    if idle < 10:
        return f"CPU: the {cpus}-core machine was {100 - idle:.0f} % busy ({split}; the rest: other work)"
    if busy_wait and busy_wait["share_of_active_pct"] >= 30:
        share = busy_wait["share_of_active_pct"]
        return f"PostgreSQL wait {busy_wait['wait']} ({share} % of active samples; {split})"
    return f"nothing saturated: machine {idle:.0f} % idle ({split})"


def start_celery_worker(env: dict[str, str], work: Path, name: str) -> subprocess.Popen[bytes]:
    """One Celery worker consuming every queue (one pool process), its log in ``work``."""
    from config.celery_routes import QUEUES

    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", ",".join(QUEUES),
        "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "WARNING", "--without-mingle",
    ]  # fmt: skip
    out = (work / f"celery-{name}.log").open("w")
    return subprocess.Popen(  # noqa: S603  (our own interpreter running celery)
        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )


@contextmanager
def celery_worker(env: dict[str, str], work: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    process = start_celery_worker(env, work, name)
    try:
        yield process
    finally:
        stop_process(process)


def restart_postgresql() -> str:
    """``pg_ctl restart -m fast`` on the server ``scripts/with-services.sh`` started (the same
    options; every open connection is cut)."""
    services, pg_bin = os.environ.get("VIHUB_SERVICES_DIR"), os.environ.get("VIHUB_PG_BIN")
    if not services or not pg_bin:
        return "skipped: not run by scripts/with-services.sh"
    command = [
        f"{pg_bin}/pg_ctl",
        "-D",
        f"{services}/pg",
        "restart",
        "-m",
        "fast",
        "-w",
        "-l",
        f"{services}/pg.log",
    ]
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603
    return "restarted" if done.returncode == 0 else f"failed: {done.stderr[-300:]}"


def _healthy_database(url: str, timeout: float = 60.0) -> float | None:
    """Seconds until ``/healthz`` says the database answers again (None: not within timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        request = urllib.request.Request(url + "/healthz", headers={"X-Forwarded-Proto": "https"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
        except OSError:
            body = b""
        if body and json.loads(body).get("checks", {}).get("database") == "ok":
            return round(time.monotonic() - started, 2)
        time.sleep(0.2)
    return None


def run_resilience(
    *, url: str, server: psutil.Process, sequencer: psutil.Process | None, env: dict[str, str], work: Path,
    seconds: int, users: int, run_id: str,
) -> dict[str, Any]:  # fmt: skip
    """Intake by careful clients (retry with the same ``external_id``) while, a quarter of the
    way in, one gunicorn worker is SIGKILLed; at half way one Celery worker is SIGKILLed (and a
    new one started, as a supervisor would); at three quarters PostgreSQL restarts. Then: every
    acknowledged referral is in the database once, with its event on the trail; no external_id
    made two referrals; the service, the sequencer and the queues recovered by themselves."""
    from django.db import connection

    events: list[dict[str, Any]] = []
    log_path = work / "resilient.json"
    import redis

    from config.celery_routes import QUEUES
    from hub.services.match_queue import match_pending_key

    broker = redis.Redis.from_url(env["REDIS_URL"])
    # The earlier runs had no worker: their jobs (media matching, notifications) still wait in
    # Redis. They are the bench's, not this run's: dropped, so "the queues drain" is about
    # what this run enqueued.
    purged = sum(int(broker.delete(q)) for q in QUEUES)  # type: ignore[arg-type]
    with celery_worker(env, work, "resilience-a") as first:
        time.sleep(3)  # the worker connects before the run starts

        def disrupt() -> None:
            time.sleep(seconds * 0.25)
            victims = server.children()
            if victims:
                victims[0].kill()
                events.append(
                    {"at_s": round(seconds * 0.25, 1), "what": f"SIGKILL gunicorn worker {victims[0].pid}"}
                )
            time.sleep(seconds * 0.25)
            first.kill()
            events.append({"at_s": round(seconds * 0.5, 1), "what": f"SIGKILL celery worker {first.pid}"})
            second = start_celery_worker(env, work, "resilience-b")  # as a supervisor would
            replacement.append(second)
            time.sleep(seconds * 0.25)
            started = time.monotonic()
            outcome = restart_postgresql()
            events.append({"at_s": round(seconds * 0.75, 1), "what": f"PostgreSQL restart: {outcome}",
                           "restart_s": round(time.monotonic() - started, 2)})  # fmt: skip
            events.append({"what": "healthz database ok again after", "seconds": _healthy_database(url)})

        replacement: list[subprocess.Popen[bytes]] = []
        disruptor = threading.Thread(target=disrupt, daemon=True)
        disruptor.start()
        result = run_locust(
            url=url, users=users, seconds=seconds, classes=("ResilientIntakeAgency",),
            env={**env, "VIHUB_LOAD_RESILIENT_LOG": str(log_path)}, work=work, label="resilience",
            server=server, sequencer=sequencer,
        )  # fmt: skip
        disruptor.join(timeout=120)
        connection.close()  # the bench's own connection did not survive the restart
        document = json.loads(log_path.read_text())
        acknowledged = {ext: ref_id for ref_id, ext, _, _ in document["done"]}
        prefix = f"{run_id}-resilient-"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT external_id, count(*), min(id::text) FROM hub_referral WHERE external_id LIKE %s"
                " GROUP BY external_id",
                [prefix + "%"],
            )
            stored = {ext: (n, ref_id) for ext, n, ref_id in cursor.fetchall()}
            cursor.execute(
                "SELECT object_id FROM hub_auditevent"
                " WHERE action = 'referral.received' AND object_id = ANY(%s)"
                " UNION SELECT object_id FROM hub_auditpending"
                " WHERE action = 'referral.received' AND object_id = ANY(%s)",
                [list(acknowledged.values()), list(acknowledged.values())],
            )
            audited = {r[0] for r in cursor.fetchall()}
        drained: bool | str | None = None
        drain_seconds = None
        drain_started = time.monotonic()
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                # The Celery queues and intake's media-match list (hub.services.match_queue).
                depth = sum(int(broker.llen(q)) for q in (*QUEUES, match_pending_key()))  # type: ignore[arg-type]
                if depth == 0:
                    drained = True
                    drain_seconds = round(time.monotonic() - drain_started, 1)
                    break
                time.sleep(0.5)
            else:
                drained = False
        except Exception as exc:  # noqa: BLE001  (reported)
            drained = repr(exc)
        for process in replacement:
            stop_process(process)
        # A drain killed with the worker leaves its batch for the sweep (no beat runs here).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM hub_referral WHERE external_id LIKE %s AND matched_at IS NULL",
                [prefix + "%"],
            )
            (unmatched,) = cursor.fetchone()
    lost = sorted(ext for ext in acknowledged if ext not in stored)
    duplicated = sorted(ext for ext, (n, _) in stored.items() if n > 1)
    mismatched = sorted(
        ext for ext, ref_id in acknowledged.items() if ext in stored and stored[ext][1] != ref_id
    )
    retried = [attempts for _, _, _, attempts in document["done"] if attempts > 1]
    result["disruptions"] = events
    result["check"] = {
        "acknowledged": len(acknowledged),
        "statuses": document["statuses"],
        "gave_up": len(document["gave_up"]),
        "acknowledged_after_retrying": len(retried),
        "most_attempts": max(retried, default=1),
        "answered_200_already_received": sum(1 for _, _, status, _ in document["done"] if status == 200),
        "lost": len(lost),
        "duplicated_external_ids": len(duplicated),
        "id_mismatch": len(mismatched),
        "missing_audit_event": len(set(acknowledged.values()) - audited),
        "celery_queues_drained": drained,
        "celery_drain_s_after_run": drain_seconds,
        "unmatched_after_drain_left_for_sweep": unmatched,
        "earlier_runs_queues_purged": purged,
        "sequencer_alive": sequencer is not None and sequencer.is_running(),
        "examples_lost": lost[:5],
        "examples_duplicated": duplicated[:5],
    }
    return result


def check_intake(log_path: Path, prefix: str) -> dict[str, Any]:
    """Every acknowledged referral (201) must be in hub_referral and have its referral.received event."""
    from django.db import connection

    document = json.loads(log_path.read_text())
    acknowledged = {ref_id: ext for ref_id, ext in document["created"]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id::text, external_id FROM hub_referral WHERE external_id LIKE %s", [prefix + "%"]
        )
        rows = dict(cursor.fetchall())
        cursor.execute(  # chained, or still waiting for the sequencer: either way on the trail
            "SELECT object_id FROM hub_auditevent WHERE action = 'referral.received' AND object_id = ANY(%s)"
            " UNION SELECT object_id FROM hub_auditpending"
            " WHERE action = 'referral.received' AND object_id = ANY(%s)",
            [list(acknowledged), list(acknowledged)],
        )
        audited = {r[0] for r in cursor.fetchall()}
    missing_rows = sorted(set(acknowledged) - set(rows))
    wrong_external_id = sorted(i for i in acknowledged if i in rows and rows[i] != acknowledged[i])
    missing_audit = sorted(set(acknowledged) - audited)
    return {
        "acknowledged_201": len(acknowledged),
        "statuses": document["statuses"],
        "rows_in_database": len(rows),
        "audited_referral_received": len(audited),
        "lost": len(missing_rows),
        "missing_audit_event": len(missing_audit),
        "wrong_external_id": len(wrong_external_id),
        # Stored but never acknowledged: requests in flight when locust stopped (not a loss).
        "stored_unacknowledged": len(set(rows) - set(acknowledged)),
        "examples_lost": missing_rows[:5],
        "examples_missing_audit": missing_audit[:5],
    }


def _chain_note(run: dict[str, Any]) -> str:
    delay = run.get("chain_delay") or {}
    advisory = run["resources"].get("advisory_lock_wait_samples", 0)
    if not delay.get("events"):
        return f"; advisory-lock wait samples {advisory}"
    return (
        f"; chain delay p50/p99/max {delay['p50_ms']}/{delay['p99_ms']}/{delay['max_ms']} ms"
        f"; advisory-lock wait samples {advisory}"
    )


def summary_line(document: dict[str, Any]) -> dict[str, Any]:
    line: dict[str, Any] = {}
    for run in document.get("mixed", []):
        total = run["total"]
        line[f"mixed_{run['users']}u"] = (
            f"{total.get('req_per_s')} req/s, p50/p95/p99 {total.get('p50_ms')}/{total.get('p95_ms')}/"
            f"{total.get('p99_ms')} ms, errors {run['error_rate_pct']} %; {run['saturation']}"
            f"{_chain_note(run)}"
        )
    if intake := document.get("intake"):
        line["intake"] = (
            f"{intake['referrals_per_s']} referrals/s sustained ({intake['users']} users), "
            f"lost {intake['check']['lost']}, missing audit {intake['check']['missing_audit_event']}"
            f"{_chain_note(intake)}"
        )
    if intake := document.get("intake"):
        line["intake_cpu_ms_per_referral"] = intake["resources"].get("cpu_ms_per_request")
    if reads := document.get("task_read"):
        total, cpu = reads["total"], reads["resources"].get("cpu_ms_per_request")
        line["task_read"] = (
            f"{reads['reads_per_s']} reads/s ({reads['users']} users), "
            f"p50/p99 {total.get('p50_ms')}/{total.get('p99_ms')} ms, CPU {cpu} ms per read"
            f"{_chain_note(reads)}"
        )
    if resilience := document.get("resilience"):
        check = resilience["check"]
        disruptions = "; ".join(e["what"] for e in resilience["disruptions"] if "at_s" in e)
        line["resilience"] = (
            f"{check['acknowledged']} referrals acknowledged through {disruptions}: lost {check['lost']}, "
            f"duplicated {check['duplicated_external_ids']}, missing audit {check['missing_audit_event']}, "
            f"gave up {check['gave_up']}, {check['acknowledged_after_retrying']} needed a retry "
            f"(statuses {check['statuses']}); queues drained {check['celery_queues_drained']} "
            f"({check['unmatched_after_drain_left_for_sweep']} unmatched, left for the sweep), "
            f"sequencer alive {check['sequencer_alive']}"
        )
    line["postgres"] = document.get("postgres_durability")
    return line


def run(config: Config) -> tuple[dict[str, Any], list[str]]:
    from bench.db import database_url, sibling_database
    from bench.measure import environment
    from bench.seed import prepare_database, seed_tasks

    problems: list[str] = []
    settings_used = {
        "users": config.users,
        "duration_s": config.duration,
        "intake_users": config.intake_users,
        "intake_duration_s": config.intake_duration,
        "gunicorn_workers": config.workers,
        "gunicorn_worker_class": config.worker_class,
        "gunicorn_threads": config.threads,
        "seeded_tasks": config.tasks,
        "settings_module": os.environ["DJANGO_SETTINGS_MODULE"],
        "audit_chain": os.environ.get("VIHUB_AUDIT_CHAIN", "sequencer"),
        "think_time_scale": float(os.environ["VIHUB_LOAD_THINK_SCALE"]),
    }
    document: dict[str, Any] = {"benchmark": "load", "mode": config.mode, "config": settings_used}
    with (
        tempfile.TemporaryDirectory(prefix="vihub-load-") as tmp,
        sibling_database("load", keep=config.keep_database),
    ):
        work = Path(tmp)
        log("migrate and seed")
        started = time.monotonic()
        prepare_database()
        report = seed_tasks(config.tasks)
        if os.environ.get("VIHUB_AUDIT_CHAIN", "sequencer") == "sequencer":
            from hub.services.audit_sequencer import chain_pending

            chain_pending(wait=True)  # the seed's events: chained before any run is measured
        run_id = f"load{datetime.now(UTC):%Y%m%d%H%M%S}"
        personas = work / "personas.json"
        personas.write_text(json.dumps({"run": run_id, "tokens": make_personas()}))
        document["data"] = {
            "tasks": report.tasks,
            "referrals": report.referrals,
            "seed_seconds": round(time.monotonic() - started, 1),
        }
        document["postgres_durability"] = durability()
        try:
            document["redis_durability"] = redis_durability()
        except Exception as exc:  # noqa: BLE001  (reported, not fatal)
            document["redis_durability"] = {"error": repr(exc)}
        document["environment"] = environment()
        env = {**os.environ, "DATABASE_URL": database_url(), "VIHUB_LOAD_PERSONAS": str(personas)}
        with (
            gunicorn(env, config.workers, work, config.worker_class, config.threads) as (url, server),
            audit_sequencer(env, work) as sequencer,
        ):
            if not config.skip_mixed:
                document["mixed"] = []
                for users in config.users:
                    result = run_locust(
                        url=url,
                        users=users,
                        seconds=config.duration,
                        classes=MIXED_CLASSES,
                        env=env,
                        work=work,
                        label=f"mixed-{users}",
                        server=server,
                        sequencer=sequencer,
                    )
                    document["mixed"].append(result)
                    if result["error_rate_pct"] > 0:
                        problems.append(f"mixed {users} users: {result['error_rate_pct']} % errors")
            if not config.skip_intake:
                intake_log = work / "intake.json"
                result = run_locust(
                    url=url,
                    users=config.intake_users,
                    seconds=config.intake_duration,
                    classes=("IntakeAgency",),
                    env={**env, "VIHUB_LOAD_INTAKE_LOG": str(intake_log)},
                    work=work,
                    label="intake",
                    server=server,
                    sequencer=sequencer,
                )
                post = result["endpoints"].get("POST /referrals/ (intake)", {})
                result["check"] = check_intake(intake_log, f"{run_id}-intake-")
                result["referrals_per_s"] = post.get("req_per_s", 0.0)
                document["intake"] = result
                lost, unaudited = result["check"]["lost"], result["check"]["missing_audit_event"]
                if lost or unaudited:
                    problems.append(
                        f"intake: {lost} acknowledged referrals lost, {unaudited} without their event"
                    )
            if not config.skip_intake:
                result = run_locust(
                    url=url, users=config.intake_users, seconds=config.intake_duration,
                    classes=("TaskReader",), env=env, work=work, label="task-read", server=server,
                    sequencer=sequencer,
                )  # fmt: skip
                result["reads_per_s"] = (
                    result["endpoints"].get("GET /tasks/{id}/ (task read)", {}).get("req_per_s")
                )
                document["task_read"] = result
            if config.resilience_duration:
                result = run_resilience(
                    url=url, server=server, sequencer=sequencer, env=env, work=work,
                    seconds=config.resilience_duration, users=config.intake_users, run_id=run_id,
                )  # fmt: skip
                document["resilience"] = result
                check = result["check"]
                bad = {k: check[k] for k in ("lost", "duplicated_external_ids", "id_mismatch",
                                             "missing_audit_event", "gave_up") if check[k]}  # fmt: skip
                if bad or check["celery_queues_drained"] is not True or not check["sequencer_alive"]:
                    problems.append(f"resilience: {bad or check}")
        document["gunicorn_log_tail"] = (work / "gunicorn.log").read_text()[-2000:]
        if (work / "sequencer.log").exists():
            document["sequencer_log_tail"] = (work / "sequencer.log").read_text()[-2000:]
    document["summary"] = summary_line(document)
    return document, problems


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    # Production settings, with what they require generated for this run (before Django starts).
    work = Path(tempfile.mkdtemp(prefix="vihub-load-env-"))
    (work / "data" / "staticfiles").mkdir(parents=True)  # the API serves no static files
    for key, value in production_environment(work).items():
        os.environ.setdefault(key, value)
    if config.mode == "quick":
        os.environ["VIHUB_LOAD_THINK_SCALE"] = "0.2"
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("bench: DATABASE_URL must point at PostgreSQL (run it through `make bench-load`)")
    import django

    django.setup()
    started = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        document, problems = run(config)
    except Exception:  # noqa: BLE001  (the document says what crashed)
        document, problems = (
            {"benchmark": "load", "mode": config.mode, "error": traceback.format_exc()},
            ["load: crashed"],
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    document = {
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - t0, 1),
        **document,
        "problems": problems,
    }
    output = config.output or RESULTS / f"load-{config.mode}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    log(f"wrote {output}")
    print(json.dumps(document.get("summary", document), indent=2, default=str))
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
