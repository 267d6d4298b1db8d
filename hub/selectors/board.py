"""The hub's board and triage queue: filters and orderings over already-scoped querysets
(nothing here widens scope)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Least

from hub.models import (
    Notification,
    Organisation,
    Referral,
    Task,
    Team,
)
from hub.selectors.deadlines import (
    OVERDUE_STATES,
    RUNNING_DEADLINE_STATES,
    deadline_q,
    deadline_states_q,
    with_escalation_flag,
)

# --- Web pages: filters over already-scoped querysets (nothing here widens scope) -----------

# The board's deadline filter: each choice is a set of hub.selectors.task_deadline_state values.
# "overdue" means OVERDUE_STATES (so it lists exactly the API's ``?overdue=true``: escalated
# tasks are overdue too); "closed" gathers the finished ones (completed, cancelled).
BOARD_DEADLINE_FILTERS: dict[str, tuple[str, ...]] = {
    "on_time": ("on_time",),
    "due_soon": ("due_soon",),
    "overdue": OVERDUE_STATES,
    "escalated": ("escalated",),
    "paused": ("paused",),
    "declined": ("declined",),
    "closed": ("completed", "cancelled"),
}
BOARD_DEADLINE_STATES = tuple(BOARD_DEADLINE_FILTERS)


def board_deadline_q(choice: str, now: datetime) -> Q:
    """The board's deadline filter (a key of BOARD_DEADLINE_FILTERS): tasks whose
    task_deadline_state is one of that choice's states. Needs ``is_escalated``."""
    return deadline_states_q(BOARD_DEADLINE_FILTERS[choice], now)


def most_urgent_first(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Running tasks (offered, accepted) before the rest, then by the next clock to run out:
    the accept-by for a task still offered, the act-by once accepted (past clocks first)."""
    return queryset.annotate(
        _closed=Case(
            When(status__in=Task.RUNNING_STATUSES, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        _next_clock=Case(
            When(status=Task.Status.OFFERED, then=Least("accept_due_at", "due_at")),
            default=F("due_at"),
            output_field=DateTimeField(),
        ),
    ).order_by("_closed", "_next_clock", "id")


@dataclass(frozen=True)
class BoardFilters:
    q: str = ""
    sort: tuple[str, ...] = ()
    status: str = ""
    holder: str = ""
    region: str = ""
    deadline: str = ""
    grade: int | None = None


def task_board(queryset: QuerySet[Task], filters: BoardFilters, now: datetime) -> QuerySet[Task]:
    queryset = with_escalation_flag(queryset).select_related(
        "assignee_org",
        "assignee_org__parent",
        "referral",
        "referral__agency",
        "accepted_by__membership__organisation",  # named "Sam Fletcher (KENT)" on the board
    )
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.holder:
        queryset = queryset.filter(assignee_org__code=filters.holder)
    if filters.region:
        queryset = queryset.filter(
            Q(assignee_org__code=filters.region) | Q(assignee_org__parent__code=filters.region)
        )
    if filters.grade:
        queryset = queryset.filter(referral__grade=filters.grade)
    if filters.deadline:
        queryset = queryset.filter(board_deadline_q(filters.deadline, now))
    if filters.q:
        queryset = task_search(queryset, filters.q)
    if filters.sort:
        return queryset.order_by(*filters.sort)
    return most_urgent_first(queryset)


def open_tasks_by_region(queryset: QuerySet[Task], now: datetime) -> list[dict[str, Any]]:
    """Running tasks per region (a force's tasks count for its region), counted by deadline
    state: one key per RUNNING_DEADLINE_STATES value. Each task counts under exactly one state,
    so "overdue" here excludes the escalated ones (they have their own key)."""
    rows = (
        with_escalation_flag(queryset.filter(status__in=Task.RUNNING_STATUSES))
        .annotate(
            region_code=Case(
                When(assignee_org__kind=Organisation.Kind.REGION, then=F("assignee_org__code")),
                default=F("assignee_org__parent__code"),
            )
        )
        .values("region_code")
        .annotate(**{state: Count("pk", filter=deadline_q(state, now)) for state in RUNNING_DEADLINE_STATES})
        .order_by("region_code")
    )
    return [dict(row) for row in rows]


def referral_search(queryset: QuerySet[Referral], q: str) -> QuerySet[Referral]:
    """Within an already-scoped queryset: the referrals whose agency reference is ``q`` or
    starts with it, or whose VIHub id is ``q``."""
    q = q.strip()
    try:
        return queryset.filter(pk=uuid.UUID(q))
    except ValueError:
        return queryset.filter(external_id__startswith=q)


def task_search(queryset: QuerySet[Task], q: str) -> QuerySet[Task]:
    """Within an already-scoped queryset: tasks by their referral's agency reference (exact or
    prefix), or by the task's or the referral's VIHub id."""
    q = q.strip()
    try:
        wanted = uuid.UUID(q)
    except ValueError:
        return queryset.filter(referral__external_id__startswith=q)
    return queryset.filter(Q(pk=wanted) | Q(referral_id=wanted))


def notification_search(queryset: QuerySet[Notification], q: str) -> QuerySet[Notification]:
    """Within the caller's own messages: those about a referral whose agency reference is ``q``
    or starts with it, or about the referral, task or message whose VIHub id is ``q``."""
    q = q.strip()
    try:
        wanted = uuid.UUID(q)
    except ValueError:
        return queryset.filter(
            Q(referral__external_id__startswith=q) | Q(task__referral__external_id__startswith=q)
        )
    return queryset.filter(
        Q(pk=wanted) | Q(referral_id=wanted) | Q(task_id=wanted) | Q(task__referral_id=wanted)
    )


def team_suggested(referral: Referral) -> Team | None:
    """The named team whose routes match the referral (its offence type as the hub or the agency
    read it, or first-generation material among its risk factors), for the grading form to offer."""
    wants = {referral.triage_offence_type or referral.offence_type, *referral.risk_factors} - {""}
    if not wants:
        return None
    for team in Team.objects.filter(is_active=True).order_by("name"):
        if wants & set(team.routes):
            return team
    return None


def triage_queue(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Referrals waiting on the hub: new ones and graded ones not yet allocated; urgent first,
    then first-generation material no known set has, then oldest first (the one that has waited
    longest is at the top)."""
    return (
        queryset.filter(status__in=[Referral.Status.RECEIVED, Referral.Status.TRIAGED])
        .select_related("agency", "suspect_force", "team")
        .order_by("-is_urgent", "-is_first_generation", "created_at", "id")
    )
