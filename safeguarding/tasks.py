"""Celery jobs of the safeguarding app: outcome-feedback delivery and the outbox drain."""

from __future__ import annotations

import logging

from hub.celery_utils import vihub_job
from safeguarding.feedback import outbox_drain, webhook_deliver
from safeguarding.monthly import last_month, monthly_summaries_produce

log = logging.getLogger(__name__)


@vihub_job(soft_time_limit=40, time_limit=60)
def webhook_deliver_job(event_id: str) -> str:
    """One attempt for one event (idempotent: a lease decides who sends). An attempt that did
    not deliver is a warning of its own: Celery's line says only that the job "succeeded"."""
    result = webhook_deliver(event_id=event_id)
    if result.status not in ("retrying", "failed"):
        return result.status
    why = result.error or f"HTTP {result.status_code}"
    then = "will retry" if result.status == "retrying" else "gave up (the retry horizon passed)"
    log.warning("outcome feedback %s not delivered (%s); %s", event_id, why, then)
    return f"not delivered ({why}); {then}"


@vihub_job(soft_time_limit=60, time_limit=90)
def outbox_drain_job() -> int:
    return outbox_drain()


@vihub_job(soft_time_limit=240, time_limit=300)
def monthly_summaries_job() -> int:
    """Last month's summary for each spoke, once (hourly: a no-op once they exist)."""
    return monthly_summaries_produce(last_month())
