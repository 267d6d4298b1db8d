"""Read helpers for the web pages: filters over already-scoped querysets. Nothing here writes
and nothing widens scope: every function takes a queryset from hub.selectors and narrows it.

(The audit search and timeline moved to hub.selectors; the rest is proposed for it too.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Least, TruncDate
from django.utils import timezone

from hub.models import AuditEvent, Membership, Organisation, Referral, Task
from hub.selectors import task_list_for, with_escalation_flag

RUNNING = Q(status__in=[Task.Status.OFFERED, Task.Status.ACCEPTED])
# The board's filter choices: each is one value of hub.selectors.task_deadline_state, except
# "closed", which gathers the finished ones (completed, cancelled).
DEADLINE_STATES = ("on_time", "due_soon", "overdue", "escalated", "paused", "declined", "closed")


def tasks_for(membership: Membership) -> QuerySet[Task]:
    """The member's scoped tasks, ready to show: holder, referral and the escalation flag."""
    return with_escalation_flag(task_list_for(membership)).select_related(
        "assignee_org", "assignee_org__parent", "referral", "referral__agency", "accepted_by"
    )


def with_deadline_fields(queryset: QuerySet[Task], now: datetime) -> QuerySet[Task]:
    """Annotate, in SQL, what hub.selectors.task_deadline_state needs: the escalation flag and
    the time left against a tenth of each window (due soon = the last tenth)."""
    return with_escalation_flag(queryset).annotate(
        _act_left=ExpressionWrapper(F("due_at") - Value(now), output_field=DurationField()),
        _act_tenth=ExpressionWrapper(
            (F("due_at") - F("created_at") - F("paused_total")) / 10, output_field=DurationField()
        ),
        _accept_left=ExpressionWrapper(F("accept_due_at") - Value(now), output_field=DurationField()),
        _accept_tenth=ExpressionWrapper(
            (F("accept_due_at") - F("offered_at")) / 10, output_field=DurationField()
        ),
    )


def deadline_q(state: str, now: datetime) -> Q:
    """A filter for one deadline state, the same rule as hub.selectors.task_deadline_state
    (needs ``with_deadline_fields``)."""
    if state == "paused":
        return RUNNING & Q(paused_at__isnull=False)
    if state == "escalated":
        return RUNNING & Q(paused_at__isnull=True, is_escalated=True)
    if state == "declined":
        return Q(status=Task.Status.DECLINED)
    if state == "closed":
        return Q(status__in=[Task.Status.COMPLETED, Task.Status.CANCELLED])
    live = RUNNING & Q(paused_at__isnull=True, is_escalated=False)
    late = Q(due_at__lte=now) | Q(status=Task.Status.OFFERED, accept_due_at__lte=now)
    soon = Q(_act_left__lte=F("_act_tenth")) | Q(
        status=Task.Status.OFFERED, _accept_left__lte=F("_accept_tenth")
    )
    if state == "overdue":
        return live & late
    if state == "due_soon":
        return live & ~late & soon
    if state == "on_time":
        return live & ~late & ~soon
    raise ValueError(state)


def most_urgent_first(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Running tasks (offered, accepted) before the rest, then by the next clock to run out:
    the accept-by for a task still offered, the act-by once accepted (past clocks first)."""
    return queryset.annotate(
        _closed=Case(When(RUNNING, then=Value(0)), default=Value(1), output_field=IntegerField()),
        _next_clock=Case(
            When(status=Task.Status.OFFERED, then=Least("accept_due_at", "due_at")),
            default=F("due_at"),
            output_field=DateTimeField(),
        ),
    ).order_by("_closed", "_next_clock", "id")


@dataclass(frozen=True)
class BoardFilters:
    status: str = ""
    holder: str = ""
    region: str = ""
    deadline: str = ""
    grade: int | None = None


def task_board(queryset: QuerySet[Task], filters: BoardFilters, now: datetime) -> QuerySet[Task]:
    queryset = with_deadline_fields(queryset, now).select_related(
        "assignee_org", "assignee_org__parent", "referral", "referral__agency", "accepted_by"
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
        queryset = queryset.filter(deadline_q(filters.deadline, now))
    return most_urgent_first(queryset)


def open_tasks_by_region(queryset: QuerySet[Task], now: datetime) -> list[dict[str, Any]]:
    """Running tasks per region (a force's tasks count for its region), by deadline state."""
    rows = (
        with_deadline_fields(queryset.filter(RUNNING), now)
        .annotate(
            region_code=Case(
                When(assignee_org__kind=Organisation.Kind.REGION, then=F("assignee_org__code")),
                default=F("assignee_org__parent__code"),
            )
        )
        .values("region_code")
        .annotate(
            escalated=Count("pk", filter=deadline_q("escalated", now)),
            overdue=Count("pk", filter=deadline_q("overdue", now)),
            due_soon=Count("pk", filter=deadline_q("due_soon", now)),
            on_time=Count("pk", filter=deadline_q("on_time", now)),
            paused=Count("pk", filter=deadline_q("paused", now)),
        )
        .order_by("region_code")
    )
    return [dict(row) for row in rows]


def triage_queue(queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Referrals waiting on the hub: new ones and graded ones not yet allocated; urgent first,
    then oldest first (the one that has waited longest is at the top)."""
    return (
        queryset.filter(status__in=[Referral.Status.RECEIVED, Referral.Status.TRIAGED])
        .select_related("agency", "suspect_force")
        .order_by("-is_urgent", "received_at", "id")
    )


def audit_activity_by_day(queryset: QuerySet[AuditEvent], days: int = 30) -> list[dict[str, Any]]:
    """Events per day (Europe/London days) over the last ``days`` days of a search."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        queryset.filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            events=Count("pk"),
            refused=Count("pk", filter=~Q(outcome=AuditEvent.Outcome.SUCCESS)),
        )
        .order_by("day")
    )
    return [dict(row) for row in rows]


def known_actions() -> list[str]:
    """Distinct actions recorded so far (for the search box's suggestions)."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200])
