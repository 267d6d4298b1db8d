"""No silent overwrites: a decision made on a view of a referral carries the version it was
based on, and is refused (409) if the referral changed since, saying what changed.

The version is the sequence number of the newest audit event that changed the referral's
grading, holders or outcome (the trail is the record of every change, gap-free and ordered),
so "what changed since" is exactly the events after it. The API returns it as ``version`` and
as the ``ETag`` of ``GET /referrals/{id}/``; a client sends it back as ``If-Match`` or
``version``, the pages in a hidden field. A request that sends no version is not checked (v1
clients keep working).
"""

from __future__ import annotations

from django.db.models import Max, QuerySet

from hub.constants import AuditAction
from hub.exceptions import InvalidTransition
from hub.models import AuditEvent, Referral

# The changes a decision on the referral is based on (not reads, not a force's own work).
VERSIONED_ACTIONS = (
    AuditAction.REFERRAL_TRIAGED,
    AuditAction.REFERRAL_REGRADED,
    AuditAction.REFERRAL_NON_ACTIONABLE,
    AuditAction.REFERRAL_CLOSED,
    AuditAction.TASK_ALLOCATED,
    AuditAction.TASK_REASSIGNED,
    AuditAction.TASK_HANDED_DOWN,
    AuditAction.OUTCOME_RECORDED,
    AuditAction.OUTCOME_AMENDED,
)


def _changes(referral: Referral) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        referral_id=referral.pk, action__in=VERSIONED_ACTIONS, outcome=AuditEvent.Outcome.SUCCESS
    )


def referral_version(referral: Referral) -> str:
    return str(_changes(referral).aggregate(seq=Max("seq"))["seq"] or 0)


def version_check(referral: Referral, expected: str | None) -> None:
    """Refuse a decision based on an older view of the (locked) referral."""
    if not expected:
        return
    token = expected.strip().removeprefix("W/").strip('"')
    seen = int(token) if token.isdigit() else -1
    newer = list(_changes(referral).filter(seq__gt=seen).order_by("seq")[:20])
    if not newer:
        return
    changes = [{"action": e.action, "by": e.actor_display, "at": e.occurred_at.isoformat()} for e in newer]
    said = "; ".join(f"{c['action']} by {c['by']}" for c in changes[-3:])
    raise InvalidTransition(
        f"This referral changed since you opened it ({said}). Look at it again, then decide.",
        code="stale",
        details={"version": referral_version(referral), "changes": changes},
    )
