"""Celery jobs of the spokes. Each one calls a service."""

from __future__ import annotations

from hub.celery_utils import vihub_job
from spokes.services import handoffs_overdue


@vihub_job(soft_time_limit=60, time_limit=90)
def handoffs_overdue_job() -> int:
    """Tell the senders' supervisors and the hub of hand-offs still unanswered past their time
    (each once: idempotent under a second beat)."""
    return handoffs_overdue()
