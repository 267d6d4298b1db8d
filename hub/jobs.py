"""Enqueue Celery jobs by name, after commit, from services.

Services must not import ``tasks`` modules (tasks import services), so they name the job.
Every enqueue goes through ``enqueue_on_commit``: a rolled-back transaction enqueues nothing.
The queue is chosen by the Celery app's routing table (``config.celery_routes``), the same
one that routes beat and ``apply_async``, so a job runs on one queue however it is enqueued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from config.celery import app
from config.celery_routes import CELERY_TASK_ROUTES
from hub.celery_utils import MAX_COUNTDOWN_SECONDS, REQUEST_ID_HEADER
from hub.context import current_request_id

log = logging.getLogger(__name__)


def enqueue_now(name: str, *args: Any, countdown: float | None = None) -> None:
    """Send job ``name`` now (or after ``countdown`` seconds, at most ``MAX_COUNTDOWN_SECONDS``)
    to the queue its route names, under the current request id. Raises ``ValueError`` for a
    longer countdown or for a name with no route (a typo, or a job not in the table), rather
    than sending it to a queue no worker may consume."""
    if countdown is not None and countdown > MAX_COUNTDOWN_SECONDS:
        # Longer horizons belong to the database sweep, never to the broker (visibility timeout).
        raise ValueError(f"countdown {countdown}s exceeds {MAX_COUNTDOWN_SECONDS}s: let the sweep handle it")
    if name not in CELERY_TASK_ROUTES:
        raise ValueError(f"no route for job {name!r}: add it to config.celery_routes.CELERY_TASK_ROUTES")
    app.send_task(
        name,
        args=[str(a) for a in args],
        countdown=countdown,
        # The request that caused this job, so its audit events link back to it.
        headers={REQUEST_ID_HEADER: current_request_id()},
    )


def enqueue_on_commit(name: str, *args: Any, countdown: float | None = None) -> None:
    """After commit, and never turning a committed change into an error: if the broker is
    down the job is lost, and the beat sweeps (deadline sweep, outbox drain, email re-send)
    find the work in the database and enqueue it again."""
    after_commit(partial(enqueue_now, name, countdown=countdown), *args)


def after_commit(func: Callable[..., object], *args: Any) -> None:
    """Call ``func(*args)`` after commit, quietly as ``enqueue_on_commit`` does: a Redis or
    broker outage is logged, and the sweep that owns the work finds it in the database."""
    transaction.on_commit(partial(_quietly, func, *args), robust=True)


def _quietly(func: Callable[..., object], *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # noqa: BLE001  (a broker outage must not fail the request)
        log.warning(
            "could not run %s%s after commit; the next sweep will pick it up", func, args, exc_info=True
        )
