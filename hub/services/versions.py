"""No silent overwrites: a decision made on a view of a referral carries the version it was
based on, and is refused (409) if the referral changed since, saying what changed.

The version is how many audit events have changed the referral's grading, holders or outcome
(the trail is the record of every change, in order), written ``n<count>``, so "what changed
since" is exactly the events after the first ``count``: those already in the hash chain, by
``seq``, then those still waiting for the sequencer (``AuditPending``), by ``queued``. Changes to
one referral are made under its row lock, so they reach the trail, and the chain, in the order
they were made. The API returns it as ``version`` and
as the ``ETag`` of ``GET /referrals/{id}/``; a client sends it back as ``If-Match`` or
``version``, the pages in a hidden field. A request that sends no version is not checked (v1
clients keep working). A bare number is an older token (the ``seq`` of the newest change).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from hub.constants import AuditAction
from hub.exceptions import InvalidTransition
from hub.models import AuditEvent, AuditPending, Referral

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


def _scope(referral: Referral) -> dict[str, Any]:
    return {
        "referral_id": referral.pk,
        "action__in": VERSIONED_ACTIONS,
        "outcome": AuditEvent.Outcome.SUCCESS,
    }


def _changes(referral: Referral) -> list[AuditEvent | AuditPending]:
    """Every change, in order: the chained ones by ``seq``, then the waiting ones."""
    fields = ("action", "actor_display", "occurred_at")
    chained: list[AuditEvent | AuditPending] = list(
        AuditEvent.objects.filter(**_scope(referral)).only("seq", *fields)
    )
    return chained + list(AuditPending.objects.filter(**_scope(referral)).only(*fields))


def with_versions(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """The referrals with their version counted in the same query (a list shows one per row)."""

    def counted(model: type[AuditEvent] | type[AuditPending]) -> Coalesce:
        rows = model.objects.filter(
            referral_id=OuterRef("pk"), action__in=VERSIONED_ACTIONS, outcome=AuditEvent.Outcome.SUCCESS
        )
        count = rows.order_by().values("referral_id").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(count, output_field=IntegerField()), 0)

    return queryset.annotate(version_chained=counted(AuditEvent), version_waiting=counted(AuditPending))


def referral_version(referral: Referral) -> str:
    chained = getattr(referral, "version_chained", None)
    if chained is not None:  # counted with the row (``with_versions``)
        return f"n{chained + referral.version_waiting}"  # type: ignore[attr-defined]
    scope = _scope(referral)
    return f"n{AuditEvent.objects.filter(**scope).count() + AuditPending.objects.filter(**scope).count()}"


def version_check(referral: Referral, expected: str | None) -> None:
    """Refuse a decision based on an older view of the (locked) referral."""
    if not expected:
        return
    token = expected.strip().removeprefix("W/").strip('"')
    changes_made = _changes(referral)
    if token.startswith("n") and token[1:].isdigit():
        newer = changes_made[int(token[1:]) :]
    elif token.isdigit():  # an older token: the seq of the newest change seen
        newer = [e for e in changes_made if not isinstance(e, AuditEvent) or e.seq > int(token)]
    else:
        newer = changes_made
    if not newer:
        return
    newer = newer[:20]
    changes = [{"action": e.action, "by": e.actor_display, "at": e.occurred_at.isoformat()} for e in newer]
    said = "; ".join(f"{c['action']} by {c['by']}" for c in changes[-3:])
    raise InvalidTransition(
        f"This referral changed since you opened it ({said}). Look at it again, then decide.",
        code="stale",
        details={"version": referral_version(referral), "changes": changes},
    )
