"""The Celery application, its queues and the beat schedule.

Queues and routes come from one table, ``config.celery_routes``: the queues declared here are
exactly ``QUEUES``, and every job is routed by ``CELERY_TASK_ROUTES`` (no job or call site
names its own queue). Beat runs exactly once per deployment; every scheduled job is
idempotent, so a second beat by mistake duplicates work but never effects.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu.entity import Queue

import hub.broker  # noqa: F401  (registers the broker transport's alias before any connection)
from config.celery_routes import CELERY_TASK_ROUTES, QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("vihub")
app.config_from_object("django.conf:settings", namespace="CELERY")
# "audit" is consumed only where the checkpoint signing key is (docs/deploy.md).
app.conf.task_queues = tuple(Queue(name) for name in QUEUES)  # type: ignore[no-untyped-call]
app.conf.task_routes = CELERY_TASK_ROUTES
app.conf.beat_schedule = {
    "heartbeat": {"task": "hub.tasks.heartbeat_job", "schedule": 30.0},
    "deadline-sweep": {"task": "hub.tasks.deadline_sweep_job", "schedule": 60.0},
    "outbox-drain": {"task": "safeguarding.tasks.outbox_drain_job", "schedule": 15.0},
    "pages-drain": {"task": "hub.tasks.pages_drain_job", "schedule": 15.0},
    "media-match-sweep": {"task": "hub.tasks.media_match_sweep_job", "schedule": 60.0},
    "handoffs-overdue": {"task": "spokes.tasks.handoffs_overdue_job", "schedule": 300.0},
    # The audit sequencer's fallback (a no-op while `manage.py audit_sequencer` holds the chain).
    "audit-chain": {"task": "hub.tasks.audit_chain_job", "schedule": 5.0},
    "audit-checkpoint": {"task": "hub.tasks.audit_checkpoint_job", "schedule": 300.0},
    "audit-verify": {"task": "hub.tasks.audit_verify_job", "schedule": 3600.0},
    # Last month's summaries per spoke: made in the first hour after the month turns, once.
    "monthly-summaries": {"task": "safeguarding.tasks.monthly_summaries_job", "schedule": 3600.0},
}
app.autodiscover_tasks()
