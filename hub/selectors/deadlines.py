"""A task's deadline state: one table of rules, read in Python and compiled to SQL, and the
one meaning of overdue. Nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.lookups import LessThanOrEqual

from hub.models import (
    Task,
    escalated_task_filter,
)

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
