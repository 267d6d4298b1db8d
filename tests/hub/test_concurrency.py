"""Races on PostgreSQL: parallel intake of the same referral, parallel accepts of one task."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from hub.models import AuditEvent, Referral, Task
from hub.services.audit import compute_event_hash
from tests.conftest import make_persona
from tests.factories import make_task

pytestmark = pytest.mark.postgres


def run_in_parallel(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Start n threads that pass a barrier together, each on its own database connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001  (reported to the test below)
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_posts_of_one_external_id_make_one_referral(committed_db: Any) -> None:
    assert connection.vendor == "postgresql"
    clients = [make_persona(f"ncmec{i}", "NCMEC", "agency").client for i in range(8)]
    body = {"external_id": "CT-RACE-1", "summary": "same report posted 8 times at once", "urgent": True}

    responses = run_in_parallel(8, lambda i: clients[i].post("/api/v1/referrals/", body, format="json"))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], responses
    assert len({r.json()["id"] for r in responses}) == 1
    assert Referral.objects.filter(external_id="CT-RACE-1").count() == 1
    assert (
        AuditEvent.objects.filter(action="referral.received", changes__external_id="CT-RACE-1").count() == 1
    )


def test_parallel_accepts_of_one_task_accept_it_once(committed_db: Any) -> None:
    task = make_task(holder="KENT")
    clients = [make_persona(f"kent{i}", "KENT", "officer").client for i in range(6)]

    responses = run_in_parallel(6, lambda i: clients[i].post(f"/api/v1/tasks/{task.pk}/accept/"))

    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert Task.objects.get(pk=task.pk).status == "accepted"
    assert AuditEvent.objects.filter(action="task.accepted", task_id=task.pk).count() == 1


def test_audit_chain_never_forks_under_concurrent_writers(committed_db: Any) -> None:
    clients = [make_persona(f"agency{i}", "IWF", "agency").client for i in range(8)]
    run_in_parallel(
        8,
        lambda i: [
            clients[i].post("/api/v1/referrals/", {"external_id": f"IWF-{i}-{j}"}, format="json")
            for j in range(5)
        ],
    )
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + len(events)))
    for prev, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == prev.hash
        assert event.hash == compute_event_hash(event)
    assert Referral.objects.filter(agency__code="IWF").count() == 40


def test_crossing_moves_and_an_outcome_do_not_deadlock(committed_db: Any) -> None:
    """Reassignments crossing between two forces, and a hub outcome racing a reassignment, all
    complete (no 'deadlock detected', no 500), because every service locks in one order and
    never locks the organisation rows its foreign keys point at."""
    hub = [make_persona(f"hub{i}", "NCA", "coordinator").client for i in range(4)]
    kent_task, essex_task, racing = (
        make_task(holder="KENT"),
        make_task(holder="ESSEX"),
        make_task(holder="KENT"),
    )
    outcome = {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": 0,
               "children_safeguarded": 0, "victims_identified": 0, "suspect_has_access_to_children": False,
               "safeguarding_needed": False}  # fmt: skip

    def move(i: int, task: Task, to: str) -> Any:
        return hub[i].post(
            f"/api/v1/tasks/{task.pk}/reassign/", {"assignee_org": to, "reason": "x"}, format="json"
        )

    calls = [
        lambda: move(0, kent_task, "ESSEX"),
        lambda: move(1, essex_task, "KENT"),
        lambda: move(2, racing, "ESSEX"),
        lambda: hub[3].post(f"/api/v1/referrals/{racing.referral_id}/outcome/", outcome, format="json"),
    ]

    responses = run_in_parallel(4, lambda i: calls[i]())

    assert all(not isinstance(r, Exception) for r in responses), responses
    codes = [r.status_code for r in responses]
    assert codes[0] == codes[1] == 200, [r.content for r in responses]
    # The racing pair: both succeed in some order, or the outcome wins and the move is refused.
    assert codes[3] == 201 and codes[2] in (200, 409), [r.content for r in responses[2:]]
