"""Celery jobs of the hub. Each one takes ids, then calls a service."""

from __future__ import annotations

import logging

from hub.celery_utils import vihub_job
from hub.jobs import enqueue_now
from hub.services.alerts import alerts_sweep, pauses_expire
from hub.services.audit_integrity import audit_checkpoint, audit_verify
from hub.services.audit_sequencer import chain_pending
from hub.services.heartbeat import heartbeat_beat
from hub.services.match_queue import media_match_drain
from hub.services.matching import referral_match_by_id, referrals_unmatched
from hub.services.notifications import notification_email, notifications_unsent
from hub.services.urgent import page_send, pages_drain

log = logging.getLogger(__name__)


@vihub_job(soft_time_limit=20, time_limit=30)
def heartbeat_job() -> str:
    """Beat → worker → database round trip; /healthz reports its age."""
    beat = heartbeat_beat(name="beat")
    return beat.last_beat_at.isoformat()


@vihub_job(soft_time_limit=240, time_limit=300)
def deadline_sweep_job() -> dict[str, float | int | None]:
    """Resume the tasks whose pause has run out, fire every due reminder and escalation step
    (the source of truth for deadlines), re-enqueue lost notification emails, and record the
    sweep's heartbeat."""
    resumed = pauses_expire()
    result = alerts_sweep()
    for notification_id in notifications_unsent():
        enqueue_now("hub.tasks.notification_email_job", notification_id)
    detail: dict[str, float | int | None] = {
        "fired": result.fired,
        "skipped": result.skipped,
        "accelerated": result.accelerated,
        "oldest_pending_age_seconds": result.oldest_pending_age_seconds,
        "pauses_ended": resumed,
    }
    heartbeat_beat(name="sweep", detail=detail)
    if result.fired:
        log.info("deadline sweep fired %d alerts", result.fired)
    return detail


@vihub_job(soft_time_limit=30, time_limit=45, autoretry_for=(OSError,), max_retries=5)
def notification_email_job(notification_id: str) -> bool:
    return notification_email(notification_id=notification_id)


@vihub_job(soft_time_limit=240, time_limit=300)
def notification_emails_job(*notification_ids: str) -> int:
    """A fired batch's emails. Each is claimed on its own row, so a redelivered job sends
    nothing twice; one that fails is left unsent, and the sweep re-enqueues it singly."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += notification_email(notification_id=notification_id)
        except OSError:
            log.warning("email for notification %s failed; retried later", notification_id, exc_info=True)
    return sent


@vihub_job(soft_time_limit=60, time_limit=90)
def audit_checkpoint_job() -> int | None:
    """Sign the head of the audit trail (idempotent: nothing new, nothing written)."""
    checkpoint = audit_checkpoint()
    return checkpoint.seq if checkpoint else None


@vihub_job(soft_time_limit=20, time_limit=30)
def audit_chain_job() -> int | None:
    """The sequencer's fallback: chain what waits (``None``: a sequencer process holds the chain)."""
    return chain_pending(max_rounds=20)


@vihub_job(soft_time_limit=1800, time_limit=1900)
def audit_verify_job() -> bool:
    """Re-verify the whole trail; the result is shown to auditors and in /healthz."""
    result = audit_verify()
    if not result.ok:
        log.error("AUDIT TRAIL VERIFICATION FAILED at #%s: %s", result.first_bad_seq, result.message)
    return result.ok


@vihub_job(soft_time_limit=40, time_limit=60)
def page_send_job(page_id: str) -> str:
    """Send one on-call page (idempotent: a sent or not-yet-due page is left alone)."""
    return page_send(page_id=page_id)


@vihub_job(soft_time_limit=30, time_limit=45)
def pages_drain_job() -> int:
    """Re-send every page that is due: the outbox's safety net."""
    return pages_drain()


@vihub_job(soft_time_limit=120, time_limit=150)
def media_match_job(referral_id: str) -> int:
    """Match one referral's media (the sweep's job, and intake's without Redis; idempotent: a
    redelivery finds nothing new)."""
    return referral_match_by_id(referral_id)


@vihub_job(soft_time_limit=60, time_limit=90)
def media_match_drain_job() -> int:
    """Match every referral intake queued since the last drain (hub.services.match_queue)."""
    return media_match_drain()


@vihub_job(soft_time_limit=60, time_limit=90)
def media_match_sweep_job() -> int:
    """Run the match job for referrals whose job was lost (a broker outage at intake)."""
    pending = referrals_unmatched()
    for referral_id in pending:
        enqueue_now("hub.tasks.media_match_job", referral_id)
    return len(pending)
