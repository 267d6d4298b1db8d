"""A task's deadline state is one definition (hub.selectors.DEADLINE_RULES) read two ways: the
Python word the board shows and the API returns, and the SQL the board filters and the API's
``?overdue=true`` select with. Both are checked against each other for a task in every state, at
the instants where the state changes (exactly at a deadline, exactly at the start of a window's
last tenth, and a microsecond either side)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from django.db.models import F, Q, QuerySet

from hub.clock import db_now
from hub.models import Task
from hub.selectors import (
    BOARD_DEADLINE_FILTERS,
    BOARD_DEADLINE_STATES,
    DEADLINE_STATES,
    OVERDUE_STATES,
    RUNNING_DEADLINE_STATES,
    board_deadline_q,
    deadline_q,
    open_tasks_by_region,
    task_deadline_state,
    task_overdue,
    task_overdue_q,
    with_deadline_state,
    with_escalation_flag,
)
from hub.services.alerts import alerts_sweep, task_acknowledge, task_pause, task_resume
from hub.web.forms import DEADLINE_CHOICES
from spokes.services import task_decline
from tests.conftest import Persona
from tests.factories import make_task

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Scene:
    """Tasks in every deadline state, built at ``t0`` (a whole second) on a frozen clock."""

    t0: datetime
    tasks: dict[str, Task]

    def loaded(self) -> list[Task]:
        """Every task as the API and the board load it (with the escalation flag)."""
        return list(with_escalation_flag(Task.objects.all()))


def _last_tenth_starts(task: Task) -> tuple[datetime, datetime]:
    """The first microsecond at which the act-by window (net of time paused) and the accept
    window are in their last tenth: ``10 × left ≤ window`` holds from ``deadline − ⌊window/10⌋``
    (floor division, so the instant is exact whatever the window's microseconds)."""
    act = task.due_at - (task.due_at - task.created_at - task.paused_total) // 10
    accept = task.accept_due_at - (task.accept_due_at - task.offered_at) // 10
    return act, accept


def instants(scene: Scene) -> list[datetime]:
    """t0, and for every task each deadline and each last-tenth start, exactly and 1 µs either
    side, plus a day after the last deadline."""
    points = {scene.t0}
    for task in scene.tasks.values():
        for point in (task.due_at, task.accept_due_at, *_last_tenth_starts(task)):
            points |= {point - US, point, point + US}
    points.add(max(points) + timedelta(days=1))
    return sorted(points)


@pytest.fixture
def scene(cast: dict[str, Persona]) -> Iterator[Scene]:
    officer, supervisor = cast["kent_officer"].user, cast["kent_supervisor"].user
    t0 = db_now().replace(microsecond=0)
    with time_machine.travel(t0, tick=False) as clock:
        # First the tasks that need an escalation: the sweep fires whatever is due by then.
        escalated = make_task()  # grade 2: accept within 4 h, act within 2 days
        paused_escalated = make_task()
        acknowledged = make_task(accepted=True)
        swept_at = acknowledged.due_at + timedelta(seconds=1)
        alerts_sweep(now=swept_at)  # escalation steps fire; nobody acknowledges yet
        task_acknowledge(task=acknowledged, actor=supervisor, note="On it")
        # Not reachable through the services (pausing voids the escalation): only precedence
        # is under test, so the clock is stopped on the row itself.
        Task.objects.filter(pk=paused_escalated.pk).update(paused_at=swept_at, pause_reason="MLAT")

        offered = make_task()
        accepted = make_task(accepted=True)
        paused = make_task(accepted=True)
        task_pause(
            task=paused, actor=supervisor, reason="MLAT request to the US", until=t0 + timedelta(days=1)
        )
        resumed = make_task(accepted=True)
        task_pause(task=resumed, actor=supervisor, reason="Platform disclosure", until=t0 + timedelta(days=1))
        clock.move_to(t0 + timedelta(hours=6))
        task_resume(task=resumed, actor=officer)  # deadlines move on by the paused time
        clock.move_to(t0)
        declined = make_task()
        task_decline(task=declined, actor=officer, reason=Task.DeclineReason.DUPLICATE)
        completed = make_task(accepted=True)
        Task.objects.filter(pk=completed.pk).update(status=Task.Status.COMPLETED, completed_at=t0)
        cancelled = make_task()
        Task.objects.filter(pk=cancelled.pk).update(status=Task.Status.CANCELLED)
    tasks = {
        "escalated": escalated,
        "paused_escalated": paused_escalated,
        "acknowledged": acknowledged,
        "offered": offered,
        "accepted": accepted,
        "paused": paused,
        "resumed": resumed,
        "declined": declined,
        "completed": completed,
        "cancelled": cancelled,
    }
    for task in tasks.values():
        task.refresh_from_db()
    yield Scene(t0, tasks)


def python_states(scene: Scene, now: datetime) -> dict[UUID, str]:
    return {task.pk: task_deadline_state(task, now) for task in scene.loaded()}


def sql_states(now: datetime) -> dict[UUID, str]:
    rows = with_deadline_state(Task.objects.all(), now).values_list("pk", F("deadline_state"))
    return dict(rows)


def ids(queryset: QuerySet[Task]) -> set[UUID]:
    return set(queryset.values_list("pk", flat=True))


def test_python_and_sql_give_every_task_the_same_state_at_every_boundary(scene: Scene) -> None:
    seen: set[str] = set()
    flagged = with_escalation_flag(Task.objects.all())
    for now in instants(scene):
        expected = python_states(scene, now)
        assert sql_states(now) == expected, now
        for state in DEADLINE_STATES:  # deadline_q selects exactly the tasks in that state
            assert ids(flagged.filter(deadline_q(state, now))) == {
                pk for pk, word in expected.items() if word == state
            }, (now, state)
        seen |= set(expected.values())
    assert seen == set(DEADLINE_STATES)  # the scene reaches every state


def test_overdue_is_one_set_in_python_in_sql_on_the_board_and_for_the_api(scene: Scene) -> None:
    flagged = with_escalation_flag(Task.objects.all())
    paused = {scene.tasks["paused"].pk, scene.tasks["paused_escalated"].pk}
    for now in instants(scene):
        python = {task.pk for task in scene.loaded() if task_overdue(task, now)}
        assert ids(flagged.filter(task_overdue_q(now))) == python, now  # the API's ?overdue=true
        assert ids(
            with_deadline_state(Task.objects.all(), now).filter(Q(deadline_state__in=OVERDUE_STATES))
        ) == (python)
        assert ids(flagged.filter(board_deadline_q("overdue", now))) == python  # the board's filter
        assert not python & paused, now  # a stopped clock is never overdue
        assert scene.tasks["escalated"].pk in python  # an unacknowledged escalation always is


def test_the_states_change_exactly_at_the_deadline_and_at_the_last_tenth(scene: Scene) -> None:
    def state(name: str, now: datetime) -> str:
        words = python_states(scene, now)
        assert sql_states(now) == words
        return words[scene.tasks[name].pk]

    for name in ("accepted", "resumed"):  # resumed: the act window is net of the paused time
        task = scene.tasks[name]
        tenth, _ = _last_tenth_starts(task)
        assert [state(name, at) for at in (tenth - US, tenth, task.due_at - US, task.due_at)] == [
            "on_time",
            "due_soon",
            "due_soon",
            "overdue",
        ], name
    resumed = scene.tasks["resumed"]
    assert resumed.paused_total > timedelta(0) and resumed.paused_at is None
    offered = scene.tasks["offered"]
    _, tenth = _last_tenth_starts(offered)
    assert [state("offered", at) for at in (tenth - US, tenth, offered.accept_due_at - US)] == [
        "on_time",
        "due_soon",
        "due_soon",
    ]
    assert state("offered", offered.accept_due_at) == "overdue"  # late to accept is overdue
    accepted = scene.tasks["accepted"]
    assert state("accepted", accepted.accept_due_at) == "on_time"  # accepted: accept-by is done
    late = scene.tasks["paused"].due_at + timedelta(days=1)
    assert state("paused", late) == "paused" and state("paused_escalated", late) == "paused"
    assert state("escalated", scene.t0) == "escalated"
    acknowledged = scene.tasks["acknowledged"]
    assert state("acknowledged", acknowledged.due_at) == "overdue"  # acknowledged, still late
    for name in ("declined", "completed", "cancelled"):
        assert state(name, late) == name


def test_the_boards_filters_are_unions_of_states(scene: Scene) -> None:
    assert {choice for choice, _ in DEADLINE_CHOICES} == set(BOARD_DEADLINE_STATES)  # the form's
    covered = {state for states in BOARD_DEADLINE_FILTERS.values() for state in states}
    assert covered == set(DEADLINE_STATES)
    assert BOARD_DEADLINE_FILTERS["overdue"] == OVERDUE_STATES
    flagged = with_escalation_flag(Task.objects.all())
    for now in (scene.t0, scene.tasks["accepted"].due_at, scene.tasks["offered"].accept_due_at):
        words = python_states(scene, now)
        for choice, states in BOARD_DEADLINE_FILTERS.items():
            expected = {pk for pk, word in words.items() if word in states}
            assert ids(flagged.filter(board_deadline_q(choice, now))) == expected, (now, choice)


def test_the_region_chart_counts_each_running_task_once(scene: Scene) -> None:
    for now in (scene.t0, scene.tasks["accepted"].due_at):
        rows = open_tasks_by_region(Task.objects.all(), now)
        totals = {state: sum(row[state] for row in rows) for state in RUNNING_DEADLINE_STATES}
        words = list(python_states(scene, now).values())
        assert totals == {state: words.count(state) for state in RUNNING_DEADLINE_STATES}, now
