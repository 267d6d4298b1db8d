"""The beat heartbeat goes through a real Celery worker on real Redis, and /healthz reports it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from config.celery import app
from hub.clock import db_now
from hub.context import request_id_var
from hub.jobs import enqueue_now
from hub.models import Alert, AuditEvent, Heartbeat
from hub.tasks import deadline_sweep_job, heartbeat_job
from tests.conftest import wait_for
from tests.factories import make_task
from tests.web import Client


@pytest.mark.redis
def test_heartbeat_job_runs_on_a_real_worker_and_healthz_turns_healthy(committed_db: Any) -> None:
    assert os.environ.get("REDIS_URL"), "make test provides a real Redis"
    client = Client()
    before = client.get("/healthz")
    assert before.status_code == 503 and before.json()["checks"]["beat"] == "never ran"
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["safeguarding"], shutdown_timeout=10
    ):
        result = heartbeat_job.apply_async()
        deadline_sweep_job.apply_async()
        deadline_ok = wait_for(lambda: Heartbeat.objects.filter(name__in=["beat", "sweep"]).count() == 2)
    assert result.id and deadline_ok
    after = client.get("/healthz").json()
    assert after["status"] == "ok", after
    assert after["checks"]["redis"] == "ok" and after["checks"]["beat_heartbeat_age_seconds"] < 60
    assert after["checks"]["sweep"] == "ok" and after["checks"]["oldest_due_unfired_age_seconds"] is None


@pytest.mark.postgres
@pytest.mark.redis
def test_a_fresh_worker_makes_healthz_healthy_without_waiting_for_beat(
    committed_db: Any, tmp_path: Path
) -> None:
    """`make run`: /healthz is healthy within seconds of the worker starting, not after the
    beat's first minute: a real `celery worker` runs the heartbeat and the sweep when ready."""
    client = Client()
    assert client.get("/healthz").status_code == 503
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "VIHUB_STARTUP_JOBS": "true",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(  # noqa: S603  (our own celery binary)
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--queues", "safeguarding", "--without-gossip", "--without-mingle"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        ran = wait_for(lambda: Heartbeat.objects.filter(name__in=["beat", "sweep"]).count() == 2, timeout=40)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
    assert ran, f"nothing was enqueued by hand: the worker runs its start-up jobs ({log.read_text()[-500:]})"
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.redis
def test_jobs_run_under_the_request_id_that_enqueued_them(committed_db: Any) -> None:
    """Audit events written by a job link back to the request that caused it."""
    task = make_task(accepted=True)
    Alert.objects.filter(task=task, kind="escalation", step=1).update(due_at=db_now() - timedelta(seconds=1))
    token = request_id_var.set("req-from-the-web-1234")
    try:
        enqueue_now("hub.tasks.deadline_sweep_job")
    finally:
        request_id_var.reset(token)
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["safeguarding"], shutdown_timeout=10
    ):
        assert wait_for(lambda: AuditEvent.objects.filter(action="task.escalated", task_id=task.pk).exists())
    # Nobody is registered at any level here, so the chain runs to the hub in one sweep.
    request_ids = set(
        AuditEvent.objects.filter(action="task.escalated", task_id=task.pk).values_list(
            "request_id", flat=True
        )
    )
    assert request_ids == {"req-from-the-web-1234"}
