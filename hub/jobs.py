"""Enqueue Celery jobs by name, after commit, from services.

Services must not import ``tasks`` modules (tasks import services), so they name the job.
Every enqueue goes through ``enqueue_on_commit``: a rolled-back transaction enqueues nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from config.celery import app
from hub.celery_utils import MAX_COUNTDOWN_SECONDS, REQUEST_ID_HEADER
from hub.context import current_request_id

QUEUES = {
    "hub.tasks.deadline_sweep_job": "safeguarding",
    "hub.tasks.notification_email_job": "default",
    "safeguarding.tasks.webhook_deliver_job": "default",
    "safeguarding.tasks.outbox_drain_job": "default",
}


def enqueue_now(name: str, *args: Any, countdown: float | None = None) -> None:
    if countdown is not None and countdown > MAX_COUNTDOWN_SECONDS:
        # Longer horizons belong to the database sweep, never to the broker (visibility timeout).
        raise ValueError(f"countdown {countdown}s exceeds {MAX_COUNTDOWN_SECONDS}s: let the sweep handle it")
    app.send_task(
        name,
        args=[str(a) for a in args],
        countdown=countdown,
        queue=QUEUES.get(name, "default"),
        # The request that caused this job, so its audit events link back to it.
        headers={REQUEST_ID_HEADER: current_request_id()},
    )


def enqueue_on_commit(name: str, *args: Any, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: enqueue_now(name, *args, countdown=countdown))
