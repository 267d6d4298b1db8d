"""The routing table is complete and consistent: every project job has a route to a declared
queue, no route names a job that does not exist, and the app (beat, ``apply_async`` and
``hub.jobs.enqueue_now``) routes by it. A new job without a route fails here."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from config.celery import app
from config.celery_routes import CELERY_TASK_ROUTES, QUEUES
from hub.celery_utils import vihub_job
from hub.jobs import enqueue_now

PROJECT_PREFIXES = ("hub.", "spokes.", "safeguarding.")


@cache
def _project_tasks() -> frozenset[str]:
    """Every registered project job, after the discovery a worker does at start (config.celery's
    ``autodiscover_tasks``: the ``tasks`` module of every installed app), without the
    worker's Django system checks."""
    app.autodiscover_tasks(force=True)
    return frozenset(name for name in app.tasks if name.startswith(PROJECT_PREFIXES))


def test_the_discovery_finds_the_jobs() -> None:
    # Guards the guard: if discovery found nothing, the completeness test would pass vacuously.
    assert {"hub.tasks.deadline_sweep_job", "safeguarding.tasks.webhook_deliver_job"} <= _project_tasks()


def test_every_project_job_has_a_route() -> None:
    missing = _project_tasks() - CELERY_TASK_ROUTES.keys()
    assert not missing, f"add these jobs to config/celery_routes.py CELERY_TASK_ROUTES: {sorted(missing)}"


def test_no_route_names_a_job_that_does_not_exist() -> None:
    stale = CELERY_TASK_ROUTES.keys() - _project_tasks()
    assert not stale, f"routes for jobs that do not exist: {sorted(stale)}"


def test_every_route_names_a_declared_queue() -> None:
    for name, route in CELERY_TASK_ROUTES.items():
        assert set(route) == {"queue"}, f"{name}: route by queue only"
        assert route["queue"] in QUEUES, f"{name} routes to undeclared queue {route['queue']!r}"


def test_the_app_declares_exactly_the_table_queues() -> None:
    assert [queue.name for queue in app.conf.task_queues] == list(QUEUES)
    assert app.conf.task_default_queue in QUEUES


def test_every_beat_entry_names_a_routed_job() -> None:
    for entry, schedule in app.conf.beat_schedule.items():
        assert schedule["task"] in CELERY_TASK_ROUTES, f"beat entry {entry!r} names an unrouted job"


@pytest.mark.parametrize("name", sorted(CELERY_TASK_ROUTES))
def test_the_app_routes_every_job_by_the_table(name: str) -> None:
    """What the router decides for ``apply_async``/beat (the job's own options, then the
    table) and for ``send_task`` by name (no options): the table's queue in both cases."""
    _project_tasks()
    task = app.tasks[name]
    own = dict(task._get_exec_options())  # what apply_async passes to the router
    assert own.get("queue") is None, f"{name} sets its own queue; the table must decide"
    for options in (own, {}):
        routed = app.amqp.router.route(options, name, (), {})
        assert routed["queue"].name == CELERY_TASK_ROUTES[name]["queue"]


def test_enqueue_now_sends_by_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: sent.append((args, kwargs)))
    enqueue_now("hub.tasks.deadline_sweep_job")
    assert sent[0][0] == ("hub.tasks.deadline_sweep_job",)
    assert "queue" not in sent[0][1]  # the app's router applies the table


def test_enqueue_now_refuses_a_job_without_a_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: pytest.fail("sent an unrouted job"))
    with pytest.raises(ValueError, match="no route for job"):
        enqueue_now("hub.tasks.deadline_swep_job")


def test_vihub_job_refuses_a_queue_of_its_own() -> None:
    with pytest.raises(TypeError, match="config.celery_routes"):
        vihub_job(queue="default")
