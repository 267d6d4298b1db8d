"""The safeguarding app's reads: endpoints a member may see, which task records an outcome,
and a task's safeguarding actions. Nothing here writes."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.models import Membership, Referral, Task
from hub.policies import roles as r
from hub.selectors import task_list_for
from safeguarding.models import (
    MonthlySummary,
    OutboxEvent,
    SafeguardingAction,
    WebhookChange,
    WebhookEndpoint,
)


def endpoints_for(membership: Membership) -> QuerySet[WebhookEndpoint]:
    """Every endpoint for the hub and auditors; an agency's own for the agency; none otherwise."""
    queryset = WebhookEndpoint.objects.select_related("agency")
    if membership.role in r.READ_ALL_ROLES:
        return queryset
    if membership.role in r.AGENCY_ROLES:
        return queryset.filter(agency_id=membership.organisation_id)
    return queryset.none()


def outbox_events_for(membership: Membership) -> QuerySet[OutboxEvent]:
    """Outbound events (for replay): the hub's alone."""
    if membership.role in r.HUB_ROLES:
        return OutboxEvent.objects.select_related("agency")
    return OutboxEvent.objects.none()


def outcome_task_for(user: object, membership: Membership, referral: Referral) -> Task | None:
    """The task whose outcome a spoke member records on this referral: one their organisation
    holds (the ``work_task`` grant), the accepted one first, else the newest. None for the hub
    (it records on the referral itself) and for anyone holding no task on it. The one rule, for
    the API and the pages alike."""
    if membership.role in r.HUB_ROLES:
        return None
    held = [
        task
        for task in task_list_for(membership).filter(referral=referral).order_by("-updated_at", "id")
        if user.has_perm("hub.work_task", task)  # type: ignore[attr-defined]
    ]
    return next((t for t in held if t.status == Task.Status.ACCEPTED), held[0] if held else None)


def safeguarding_actions_of(task: Task) -> list[SafeguardingAction]:
    return list(
        SafeguardingAction.objects.filter(task=task).select_related("recorded_by__membership__organisation")
    )


def webhook_changes_for(membership: Membership) -> QuerySet[WebhookChange]:
    """Proposed endpoint changes: the hub and auditors see them all; nobody else any."""
    queryset = WebhookChange.objects.select_related("agency", "proposed_by", "decided_by")
    return queryset if membership.role in r.READ_ALL_ROLES else queryset.none()


def monthly_summaries_for(membership: Membership) -> QuerySet[MonthlySummary]:
    """Every spoke's for the hub and auditors; a region's own and its forces'; a force's own."""
    from safeguarding.trends import trend_spokes_for

    queryset = MonthlySummary.objects.select_related("organisation")
    if membership.role in r.READ_ALL_ROLES:
        return queryset
    if membership.role not in r.SPOKE_ROLES:
        return queryset.none()
    codes = trend_spokes_for(membership.organisation, hub=False) or []
    return queryset.filter(organisation__code__in=codes)
