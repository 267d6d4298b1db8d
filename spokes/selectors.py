"""The spokes' reads: leads on the tasks a member may see. Nothing here writes."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from hub.models import Membership, Task
from hub.policies.roles import READ_ALL_ROLES
from hub.selectors import task_list_for
from spokes.models import Child, ExternalRequest, Handoff, Lead, SuspectEvent


def lead_list_for(membership: Membership) -> QuerySet[Lead]:
    """Leads on tasks in the member's scope (a lead is as visible as its task)."""
    return Lead.objects.filter(task__in=task_list_for(membership)).select_related("task", "created_by")


def child_list_for(membership: Membership) -> QuerySet[Child]:
    """Children on tasks in the member's scope (as visible as their task)."""
    return Child.objects.filter(task__in=task_list_for(membership)).select_related("task")


def children_of(task: Task) -> list[Child]:
    return list(Child.objects.filter(task=task).prefetch_related("checks__checked_by"))


def unchecked_reachable(task: Task) -> list[Child]:
    """Children the suspect can reach that nobody has checked yet: the release gate."""
    return list(
        Child.objects.filter(task=task, relation=Child.Relation.REACHABLE, checks__isnull=True).order_by(
            "created_at"
        )
    )


def suspect_events_of(task: Task) -> list[SuspectEvent]:
    return list(SuspectEvent.objects.filter(task=task).select_related("recorded_by"))


def leads_of(task: Task) -> list[Lead]:
    return list(Lead.objects.filter(task=task).select_related("created_by", "task"))


def handoff_list_for(membership: Membership) -> QuerySet[Handoff]:
    """Hand-offs the member's organisation sent or received (the hub and auditors: all)."""
    queryset = Handoff.objects.select_related("child", "from_org", "to_org", "answered_by")
    if membership.role in READ_ALL_ROLES:
        return queryset
    org = membership.organisation_id
    return queryset.filter(Q(to_org_id=org) | Q(from_org_id=org))


def request_list_for(membership: Membership) -> QuerySet[ExternalRequest]:
    """Requests on tasks in the member's scope, the longest waiting first."""
    return (
        ExternalRequest.objects.filter(task__in=task_list_for(membership))
        .select_related("task__referral__agency", "task__assignee_org")
        .order_by("answered_at", "sent_at", "id")
    )
