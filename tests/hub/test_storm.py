"""The escalation storm: 10,000 tasks breach in the same minute; two real Celery worker
processes on real Redis and PostgreSQL; one worker is SIGKILLed mid-storm, Redis is flushed
once, and two beat schedulers run at once. Afterwards every task has exactly one record per
step and exactly one notification per recipient: 0 missed, 0 duplicates."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from hub.clock import db_now
from hub.models import Alert, AuditEvent, Notification, Organisation, Referral, Task
from hub.services.organisations import membership_set
from tests.factories import system_user

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

STORM_TASKS = int(os.environ.get("VIHUB_STORM_TASKS", "10000"))
ROOT = Path(__file__).resolve().parents[2]


def _seed_breaching_tasks(n: int, breach_at: Any) -> list[Organisation]:
    forces = list(Organisation.objects.filter(kind="force").order_by("code"))
    for force in forces:  # one officer per force: each step-1 alert notifies exactly one person
        membership_set(
            username=f"storm-{force.code.lower()}", org_code=force.code, role="officer", actor=None
        )
    agency = Organisation.objects.get(code="NCMEC")
    actor = system_user()
    now = db_now()
    referrals = Referral.objects.bulk_create(
        [
            Referral(agency=agency, external_id=f"STORM-{i}", received_at=now, status="allocated", grade=2,
                     risk="high", created_by=actor)
            for i in range(n)
        ],
        batch_size=2000,
    )  # fmt: skip
    tasks = Task.objects.bulk_create(
        [
            Task(referral=r, assignee_org=forces[i % len(forces)], status="offered", offered_at=now,
                 accept_due_at=breach_at + timedelta(days=1), due_at=breach_at, created_by=actor,
                 alert_generation=1)
            for i, r in enumerate(referrals)
        ],
        batch_size=2000,
    )  # fmt: skip
    # All breach within the same minute.
    Alert.objects.bulk_create(
        [
            Alert(task=t, generation=1, kind="escalation", clock="act", step=1, level="officer",
                  due_at=breach_at + timedelta(milliseconds=(i * 37) % 50_000))
            for i, t in enumerate(tasks)
        ],
        batch_size=2000,
    )  # fmt: skip
    return forces


def _worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603  (our own celery binary)
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--queues", "safeguarding,default", "--hostname", f"{name}@storm",
         "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def test_storm_with_a_killed_worker_a_flushed_broker_and_two_beats(committed_db: Any, tmp_path: Path) -> None:
    assert connection.vendor == "postgresql" and os.environ.get("REDIS_URL")
    breach_at = db_now() + timedelta(seconds=15)
    _seed_breaching_tasks(STORM_TASKS, breach_at)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    broker = redis.Redis.from_url(settings.REDIS_URL)
    workers = {name: _worker(name, env, tmp_path / f"{name}.log") for name in ("a", "b")}
    stop = threading.Event()

    def beat(interval: float) -> None:
        from hub.tasks import deadline_sweep_job  # noqa: PLC0415  (imported in the thread that sends)

        while not stop.is_set():
            deadline_sweep_job.apply_async()
            stop.wait(interval)

    beats = [threading.Thread(target=beat, args=(interval,), daemon=True) for interval in (3.0, 4.0)]
    for thread in beats:
        thread.start()

    def fired() -> int:
        return Alert.objects.filter(step=1, kind="escalation", fired_at__isnull=False).count()

    killed = flushed = False
    deadline = time.monotonic() + 420
    try:
        while (count := fired()) < STORM_TASKS and time.monotonic() < deadline:
            if not killed and count >= STORM_TASKS * 0.2:
                os.killpg(workers["a"].pid, signal.SIGKILL)  # mid-storm, no warning
                killed = True
            if killed and not flushed and count >= STORM_TASKS * 0.5:
                broker.flushall()  # every queued job and accelerator is gone
                flushed = True
            time.sleep(0.5)
    finally:
        stop.set()
        for process in workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in workers.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    assert killed and flushed, f"storm ended before the faults were injected ({fired()} fired)"

    step1 = Alert.objects.filter(kind="escalation", clock="act", step=1)
    assert step1.filter(fired_at__isnull=True).count() == 0, "missed"
    assert step1.filter(fired_at__isnull=False).count() == STORM_TASKS
    per_task = Alert.objects.filter(kind="escalation", step=1).values("task").annotate(n=Count("id"))
    assert max(row["n"] for row in per_task) == 1
    # Exactly one notification per step-1 alert (one officer per force), none twice.
    notifications = Notification.objects.filter(alert__step=1)
    assert notifications.count() == STORM_TASKS
    assert notifications.values("alert", "recipient").distinct().count() == STORM_TASKS
    # Each chain moved on exactly once: one step 2 per task, due one policy wait later.
    assert Alert.objects.filter(step=2).count() == STORM_TASKS
    assert AuditEvent.objects.filter(action="task.escalated").count() == STORM_TASKS

    lateness = sorted(
        (a.fired_at - a.due_at).total_seconds() for a in step1.only("fired_at", "due_at").iterator()
    )
    p50, p99 = statistics.median(lateness), lateness[int(len(lateness) * 0.99) - 1]
    print(f"\nstorm: {STORM_TASKS} breaches, breach-to-notification p50={p50:.1f}s p99={p99:.1f}s "
          f"(worker killed at 20%, broker flushed at 50%) run={uuid.uuid4().hex[:6]}")  # fmt: skip
