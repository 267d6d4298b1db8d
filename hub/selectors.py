"""Reads: tenant-scoped QuerySets and small lookups. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Least, TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from hub.models import (
    Alert,
    AuditCheckpoint,
    AuditEvent,
    AuditVerification,
    Membership,
    Notification,
    Organisation,
    Referral,
    Task,
    TaskGroupObjectPermission,
    escalated_task_filter,
)
from hub.policies.roles import READ_ALL_ROLES, SPOKE_ROLES
from hub.services.permissions import VIEW, permission_id


def membership_for(user: Any) -> Membership | None:
    """The user's membership (organisation and role), cached on the user object per request."""
    if user is None or not user.is_authenticated:
        return None
    if hasattr(user, "_vihub_membership"):
        return cast(Membership | None, user._vihub_membership)
    membership = (
        Membership.objects.select_related("organisation", "organisation__parent").filter(user=user).first()
    )
    user._vihub_membership = membership
    return membership


def organisation_list() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("parent").filter(is_active=True).order_by("kind", "code")


def task_list_for(membership: Membership) -> QuerySet[Task]:
    """Tasks the member may see. Hub coordinators and auditors see all; agencies none; everyone
    else exactly the tasks whose ``view_task`` grant (django-guardian) names their group.

    The grant is checked per row by a correlated subquery on the direct-FK permission table's
    unique (group, permission, task) index, and the rows are narrowed by the holder filter the
    grant rule implies (``hub.services.permissions`` grants a group ``view_task`` only on tasks
    held by its organisation or, for a region, by one of its forces; a test pins that rule).
    Together they let PostgreSQL walk the (assignee_org, due_at, id) index in page order, as a
    plain holder filter does: measured within 1.1-1.3x of it at 1M tasks (bench/), where
    guardian's stock ``get_objects_for_user`` is 12x slower for a small force.
    """
    role = membership.role
    if role in READ_ALL_ROLES:
        return Task.objects.all()
    if role not in SPOKE_ROLES:
        return Task.objects.none()
    org = membership.organisation
    grant = TaskGroupObjectPermission.objects.filter(
        content_object_id=OuterRef("pk"), group_id=org.group_id, permission_id=permission_id(VIEW)
    ).values("pk")[:1]
    if org.kind == Organisation.Kind.REGION:
        tasks = Task.objects.filter(assignee_org_id__in=region_holder_ids(org.pk))
    else:
        tasks = Task.objects.filter(assignee_org_id=org.pk)
    return tasks.alias(view_grant=Subquery(grant)).filter(view_grant__isnull=False)


_region_holders: dict[UUID, tuple[UUID, ...]] = {}


def region_holder_ids(region_id: UUID) -> tuple[UUID, ...]:
    """The region and its forces, cached per process by the region's id: the reference tree
    changes only through ``seed_reference`` at a release, and the scoped list should stay one
    query. (A force moving region needs a restart; ``seed_reference`` says so.)"""
    if region_id not in _region_holders:
        forces = Organisation.objects.filter(parent_id=region_id).values_list("pk", flat=True)
        _region_holders[region_id] = (region_id, *forces)
    return _region_holders[region_id]


def referral_list_for(membership: Membership) -> QuerySet[Referral]:
    """Referrals the member may see: all for the hub and auditors, its own for an agency, and
    for a region or force those it holds (or oversees) a task for."""
    role = membership.role
    if role in READ_ALL_ROLES:
        return Referral.objects.all()
    if role == Membership.Role.AGENCY:
        return Referral.objects.filter(agency_id=membership.organisation_id)
    if role in SPOKE_ROLES:
        return Referral.objects.filter(pk__in=task_list_for(membership).values("referral_id"))
    return Referral.objects.none()


# --- Deadline states: one table, read in Python and compiled to SQL --------------------------
#
# A task's deadline state is the first rule below that matches it. Each rule's condition is a
# small tree of the primitives that follow, and every primitive evaluates itself both ways:
# ``holds(task, now)`` on a loaded task and ``q(now)`` as a SQL filter. task_deadline_state,
# the ``deadline_state`` annotation, deadline_q and task_overdue_q are all read off the same
# table, so the word the API returns and the rows the board filters cannot disagree
# (tests/hub/test_deadline_state.py checks both ways at the boundary instants).
#
# The escalation flag is the ``is_escalated`` annotation (with_escalation_flag): in Python a
# task loaded without it is never escalated; in SQL the queryset must carry it
# (with_deadline_state adds it).


class DeadlineCondition:
    """A condition on a task at an instant ``now``, evaluable in Python and in SQL with the same
    meaning. Combine with ``&``, ``|`` and ``~``. Every column a condition reads is NOT NULL
    (or tested with IS NULL), so SQL's three-valued logic never differs from Python's."""

    def holds(self, task: Task, now: datetime) -> bool:
        raise NotImplementedError

    def q(self, now: datetime) -> Q:
        raise NotImplementedError

    def __and__(self, other: DeadlineCondition) -> DeadlineCondition:
        return _All((self, other))

    def __or__(self, other: DeadlineCondition) -> DeadlineCondition:
        return _Any((self, other))

    def __invert__(self) -> DeadlineCondition:
        return _Not(self)


@dataclass(frozen=True)
class _All(DeadlineCondition):
    parts: tuple[DeadlineCondition, ...]

    def holds(self, task: Task, now: datetime) -> bool:
        return all(part.holds(task, now) for part in self.parts)

    def q(self, now: datetime) -> Q:
        result = Q()
        for part in self.parts:
            result &= part.q(now)
        return result


@dataclass(frozen=True)
class _Any(DeadlineCondition):
    parts: tuple[DeadlineCondition, ...]

    def holds(self, task: Task, now: datetime) -> bool:
        return any(part.holds(task, now) for part in self.parts)

    def q(self, now: datetime) -> Q:
        result = self.parts[0].q(now)
        for part in self.parts[1:]:
            result |= part.q(now)
        return result


@dataclass(frozen=True)
class _Not(DeadlineCondition):
    part: DeadlineCondition

    def holds(self, task: Task, now: datetime) -> bool:
        return not self.part.holds(task, now)

    def q(self, now: datetime) -> Q:
        return ~self.part.q(now)


@dataclass(frozen=True)
class _Always(DeadlineCondition):
    """Matches every task (only as the last rule for its statuses: it cannot be negated)."""

    def holds(self, task: Task, now: datetime) -> bool:
        return True

    def q(self, now: datetime) -> Q:
        return Q()


@dataclass(frozen=True)
class _StatusIn(DeadlineCondition):
    statuses: tuple[str, ...]

    def holds(self, task: Task, now: datetime) -> bool:
        return task.status in self.statuses

    def q(self, now: datetime) -> Q:
        return Q(status__in=self.statuses)


@dataclass(frozen=True)
class _IsSet(DeadlineCondition):
    """A nullable column holds a value (``paused_at``: the clocks are stopped)."""

    field: str

    def holds(self, task: Task, now: datetime) -> bool:
        return getattr(task, self.field) is not None

    def q(self, now: datetime) -> Q:
        return Q(**{f"{self.field}__isnull": False})


@dataclass(frozen=True)
class _Flag(DeadlineCondition):
    """A boolean annotation is true (``is_escalated``; absent on a task means false)."""

    name: str

    def holds(self, task: Task, now: datetime) -> bool:
        return bool(getattr(task, self.name, False))

    def q(self, now: datetime) -> Q:
        return Q(**{self.name: True})


@dataclass(frozen=True)
class _Passed(DeadlineCondition):
    """The deadline in ``field`` is at or before ``now`` (at the instant itself: passed)."""

    field: str

    def holds(self, task: Task, now: datetime) -> bool:
        return bool(getattr(task, self.field) <= now)

    def q(self, now: datetime) -> Q:
        return Q(**{f"{self.field}__lte": now})


@dataclass(frozen=True)
class _InLastTenth(DeadlineCondition):
    """At most a tenth of the window [``start``, ``deadline``] (less ``stopped``, the time spent
    paused) is left: ``10 × (deadline − now) ≤ deadline − start − stopped``. Compared without
    dividing, so Python and both databases agree to the microsecond."""

    deadline: str
    start: str
    stopped: str | None = None

    def holds(self, task: Task, now: datetime) -> bool:
        deadline: datetime = getattr(task, self.deadline)
        window: timedelta = deadline - getattr(task, self.start)
        if self.stopped:
            window -= getattr(task, self.stopped)
        return (deadline - now) * 10 <= window

    def q(self, now: datetime) -> Q:
        left = ExpressionWrapper(
            (F(self.deadline) - Value(now, output_field=DateTimeField())) * 10,
            output_field=DurationField(),
        )
        window: Any = F(self.deadline) - F(self.start)
        if self.stopped:
            window -= F(self.stopped)
        return Q(LessThanOrEqual(left, ExpressionWrapper(window, output_field=DurationField())))


@dataclass(frozen=True)
class DeadlineRule:
    """One deadline state: the statuses it applies to, and the condition (checked only when no
    earlier rule for those statuses matched)."""

    state: str
    statuses: tuple[str, ...]
    when: DeadlineCondition

    @property
    def condition(self) -> DeadlineCondition:
        return _StatusIn(self.statuses) & self.when


_RUNNING = tuple(str(status) for status in Task.RUNNING_STATUSES)
_OFFERED = _StatusIn((Task.Status.OFFERED,))

# The definition, in precedence order. Running tasks (offered or accepted): paused > escalated >
# overdue > due_soon > on_time. A task no longer running shows its status word.
DEADLINE_RULES: tuple[DeadlineRule, ...] = (
    # A stopped clock is not overdue, whatever the deadlines say.
    DeadlineRule("paused", _RUNNING, _IsSet("paused_at")),
    # An escalation step fired and nobody has acknowledged it (hub.services.alerts).
    DeadlineRule("escalated", _RUNNING, _Flag("is_escalated")),
    # Past the act-by deadline or, while still offered, the accept-by deadline.
    DeadlineRule("overdue", _RUNNING, _Passed("due_at") | (_OFFERED & _Passed("accept_due_at"))),
    # The last tenth of the act-by window (net of time paused), or of the accept window.
    DeadlineRule(
        "due_soon",
        _RUNNING,
        _InLastTenth("due_at", "created_at", "paused_total")
        | (_OFFERED & _InLastTenth("accept_due_at", "offered_at")),
    ),
    DeadlineRule("on_time", _RUNNING, _Always()),
    *(
        DeadlineRule(str(status), (str(status),), _Always())
        for status in Task.Status
        if status not in Task.RUNNING_STATUSES
    ),
)
_RULE_INDEX = {rule.state: i for i, rule in enumerate(DEADLINE_RULES)}

# Every value task_deadline_state returns: running states from calmest to most urgent, then the
# statuses of tasks no longer running (the API's ``deadline_state`` enum, in this order).
RUNNING_DEADLINE_STATES = tuple(rule.state for rule in DEADLINE_RULES if rule.statuses == _RUNNING)
DEADLINE_STATES = [
    *reversed(RUNNING_DEADLINE_STATES),
    *(rule.state for rule in DEADLINE_RULES if rule.statuses != _RUNNING),
]
# The one meaning of "overdue" (the API's ``?overdue=true``, the board's "overdue" filter): a
# running, unpaused task past its act-by (or, while offered, its accept-by) deadline, or one
# whose escalation is unacknowledged, which shows the stronger word "escalated".
OVERDUE_STATES = ("overdue", "escalated")


def _check_rules() -> None:
    """Import-time guard: a rule after an unconditional one for the same statuses could never
    match (and _Always cannot be negated in SQL)."""
    for i, rule in enumerate(DEADLINE_RULES):
        for earlier in DEADLINE_RULES[:i]:
            if isinstance(earlier.when, _Always) and set(earlier.statuses) & set(rule.statuses):
                raise ImproperlyConfigured(f"deadline rule {rule.state!r} is unreachable")


_check_rules()


def with_escalation_flag(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Annotate ``is_escalated``: an escalation step fired and nobody has acknowledged it.
    Idempotent (a queryset already carrying the flag is returned as it is)."""
    if "is_escalated" in queryset.query.annotations:
        return queryset
    return queryset.annotate(is_escalated=escalated_task_filter())


def task_paused_for(task: Task, now: datetime) -> timedelta:
    running = now - task.paused_at if task.paused_at else timedelta(0)
    return task.paused_total + max(running, timedelta(0))


def task_deadline_state(task: Task, now: datetime) -> str:
    """The task's deadline state at ``now``: one of DEADLINE_STATES, the first rule of
    DEADLINE_RULES that matches (the word on the board and the API's ``deadline_state``).
    Escalation is read from the ``is_escalated`` annotation (with_escalation_flag); a task
    loaded without it is never "escalated". Always equal to the ``deadline_state`` that
    with_deadline_state annotates for the same row and instant."""
    for rule in DEADLINE_RULES:
        if rule.condition.holds(task, now):
            return rule.state
    return str(task.status)


def task_overdue(task: Task, now: datetime) -> bool:
    """Whether the task is overdue at ``now`` (its state is in OVERDUE_STATES); the same rows as
    task_overdue_q."""
    return task_deadline_state(task, now) in OVERDUE_STATES


def deadline_state_expression(now: datetime) -> Case:
    """The SQL twin of task_deadline_state: a CASE with one WHEN per rule, in precedence order.
    Needs ``is_escalated`` on the queryset (use with_deadline_state)."""
    return Case(
        *(When(rule.condition.q(now), then=Value(rule.state)) for rule in DEADLINE_RULES),
        default=F("status"),
        output_field=CharField(),
    )


def with_deadline_state(queryset: QuerySet[Task], now: datetime) -> QuerySet[Task]:
    """Annotate ``is_escalated`` and ``deadline_state`` (equal, row by row, to
    task_deadline_state(task, now))."""
    return with_escalation_flag(queryset).annotate(deadline_state=deadline_state_expression(now))


def deadline_q(state: str, now: datetime) -> Q:
    """Rows whose deadline state at ``now`` is exactly ``state`` (one of DEADLINE_STATES): the
    rule's condition and none of the earlier rules' for the same statuses, so it selects the
    same rows as ``deadline_state=state`` without evaluating the CASE. Needs ``is_escalated``
    on the queryset (with_escalation_flag). Raises ValueError for an unknown state."""
    if state not in _RULE_INDEX:
        raise ValueError(f"Unknown deadline state {state!r}")
    index = _RULE_INDEX[state]
    target = DEADLINE_RULES[index]
    result = target.condition.q(now)
    for earlier in DEADLINE_RULES[:index]:
        if not set(earlier.statuses) & set(target.statuses):
            continue  # disjoint statuses: it cannot have matched first
        shadow = earlier.when if set(earlier.statuses) >= set(target.statuses) else earlier.condition
        result &= ~shadow.q(now)
    return result


def deadline_states_q(states: Iterable[str], now: datetime) -> Q:
    """Rows whose deadline state is any of ``states`` (the union of their deadline_q)."""
    result: Q | None = None
    for state in states:
        result = deadline_q(state, now) if result is None else result | deadline_q(state, now)
    if result is None:
        raise ValueError("No deadline states given")
    return result


def task_overdue_q(now: datetime) -> Q:
    """The one SQL meaning of "overdue": rows whose deadline state is in OVERDUE_STATES (running,
    not paused, and escalated or past the act-by or, while offered, the accept-by deadline).
    Needs ``is_escalated`` on the queryset (with_escalation_flag or with_deadline_state).
    Selects exactly the tasks for which task_overdue(task, now) is true."""
    return deadline_states_q(OVERDUE_STATES, now)


def notification_list_for(user: Any) -> QuerySet[Notification]:
    """The user's inbox, limited to messages about tasks they may still see: after a task moves
    away (or the user moves organisation) its reminders leave the old holder's inbox too."""
    membership = membership_for(user)
    visible = Q(task__isnull=True)
    if membership is not None:
        visible |= Q(task__in=task_list_for(membership))
    return (
        Notification.objects.filter(visible, recipient=user)
        .select_related("task__referral__agency")
        .order_by("-created_at")
    )


def escalation_list_for(membership: Membership) -> QuerySet[Alert]:
    """Fired escalation steps on tasks the member may see (accountability: who was told, when,
    who acknowledged)."""
    return (
        Alert.objects.filter(
            kind=Alert.Kind.ESCALATION, fired_at__isnull=False, task__in=task_list_for(membership)
        )
        .select_related("task__assignee_org", "task__referral", "acknowledged_by")
        .order_by("-fired_at", "id")
    )


@dataclass(frozen=True)
class AuditFilters:
    object_id: str = ""
    actor: str = ""
    action: str = ""
    organisation: str = ""
    outcome: str = ""
    referral: UUID | None = None
    task: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def audit_search(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The audit trail narrowed by an auditor's filters (auditors see the whole trail).

    An object id also matches events naming it as their task or referral; an action ending
    in '.' or '*' is a prefix (``task.*``)."""
    queryset = AuditEvent.objects.all()
    if filters.object_id:
        match = Q(object_id=filters.object_id)
        if (uuid := _as_uuid(filters.object_id)) is not None:
            match |= Q(task_id=uuid) | Q(referral_id=uuid) | Q(object_id=str(uuid))
        queryset = queryset.filter(match)
    if filters.actor:
        queryset = queryset.filter(
            Q(actor__username__iexact=filters.actor) | Q(actor_display__iexact=filters.actor)
        )
    if filters.action:
        if filters.action.endswith(("*", ".")):
            queryset = queryset.filter(action__startswith=filters.action.rstrip("*"))
        else:
            queryset = queryset.filter(action=filters.action)
    if filters.organisation:
        queryset = queryset.filter(actor_org=filters.organisation.upper())
    if filters.outcome:
        queryset = queryset.filter(outcome=filters.outcome)
    if filters.referral:
        queryset = queryset.filter(referral_id=filters.referral)
    if filters.task:
        queryset = queryset.filter(task_id=filters.task)
    if filters.since:
        queryset = queryset.filter(occurred_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(occurred_at__lte=filters.until)
    return queryset


def audit_timeline(*, task: Task | None = None, referral_id: UUID | None = None) -> QuerySet[AuditEvent]:
    """A task's story: its own events and its referral's events that name no other task, in
    chain order. For a referral: every event that names it."""
    if task is not None:
        return AuditEvent.objects.filter(
            Q(task_id=task.pk) | Q(referral_id=task.referral_id, task_id__isnull=True)
        ).order_by("seq")
    return AuditEvent.objects.filter(referral_id=referral_id).order_by("seq")


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


def tasks_for(membership: Membership) -> QuerySet[Task]:
    """The member's scoped tasks, ready to show: holder, referral and the escalation flag."""
    return with_escalation_flag(task_list_for(membership)).select_related(
        "assignee_org", "assignee_org__parent", "referral", "referral__agency", "accepted_by"
    )


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
    status: str = ""
    holder: str = ""
    region: str = ""
    deadline: str = ""
    grade: int | None = None


def task_board(queryset: QuerySet[Task], filters: BoardFilters, now: datetime) -> QuerySet[Task]:
    queryset = with_escalation_flag(queryset).select_related(
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
        queryset = queryset.filter(board_deadline_q(filters.deadline, now))
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


def audit_head_seq() -> int:
    """The newest event's sequence number (0 for an empty trail)."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


@dataclass(frozen=True)
class AuditStatus:
    last_run: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None
    head_seq: int


def audit_status() -> AuditStatus:
    """What auditors see of the trail's integrity: the latest verification, the latest signed
    checkpoint, and how far the trail has grown."""
    return AuditStatus(
        last_run=AuditVerification.objects.order_by("-ran_at").first(),
        last_checkpoint=AuditCheckpoint.objects.order_by("-seq").first(),
        head_seq=audit_head_seq(),
    )
