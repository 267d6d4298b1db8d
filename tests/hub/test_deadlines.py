"""Reminders, the escalation chain, acknowledgement and pausing: nothing lapses silently,
nothing fires twice, and every decision uses the database's clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from hub.clock import db_now
from hub.exceptions import NotFound
from hub.models import Alert, AuditEvent, DeadlinePolicy, Notification, Task
from hub.services.alerts import alert_fire, alerts_sweep, task_acknowledge
from hub.services.notifications import notification_email
from hub.services.tasks import task_allocate, task_reassign
from hub.tasks import notification_emails_job
from spokes.services import task_accept
from tests.conftest import Persona, make_persona
from tests.factories import hub_user, make_task, make_triaged, org
from tests.policy_cases import pause_until

pytestmark = pytest.mark.django_db


def pending(task: Task, **filters: Any) -> list[Alert]:
    return list(Alert.objects.filter(task=task, fired_at__isnull=True, cancelled_at__isnull=True, **filters))


def first_step(task: Task, clock: str = "act") -> Alert:
    return Alert.objects.get(task=task, kind="escalation", clock=clock, step=1, cancelled_at__isnull=True)


def test_allocation_schedules_reminders_at_50_and_90_percent_and_a_breach_step(
    cast: dict[str, Persona],
) -> None:
    task = make_task(grade=3, risk="medium")  # accept within 2 days, act within 14 days
    reminders = {(a.clock, a.step): a.due_at for a in pending(task, kind="reminder")}
    assert reminders[("accept", 50)] == pytest.approx(
        task.offered_at + timedelta(days=1), abs=timedelta(seconds=1)
    )
    assert reminders[("act", 90)] == pytest.approx(
        task.created_at + timedelta(days=12.6), abs=timedelta(seconds=1)
    )
    assert first_step(task, "accept").due_at == task.accept_due_at
    assert first_step(task, "act").due_at == task.due_at


def test_a_step_fires_at_its_instant_not_a_microsecond_before(cast: dict[str, Persona]) -> None:
    task = make_task()
    step = first_step(task, "accept")
    assert alert_fire(alert_id=step.pk, now=step.due_at - timedelta(microseconds=1)).reason == "not_due"
    # Only the accept reminders: 50% and 90% to the officer, 75% to the supervisors (grade 2).
    assert alerts_sweep(now=step.due_at - timedelta(seconds=1)).fired == 3
    step.refresh_from_db()
    assert step.fired_at is None
    assert alert_fire(alert_id=step.pk, now=step.due_at).fired
    step.refresh_from_db()
    assert step.fired_at == step.due_at and step.recipients == ["kent_officer"]
    assert alert_fire(alert_id=step.pk, now=step.due_at + timedelta(hours=1)).reason == "done"


@pytest.mark.postgres
@override_settings(VIHUB_CLOCK="database")
def test_decisions_use_database_time_not_the_workers_clock(cast: dict[str, Persona]) -> None:
    task = make_task()
    with time_machine.travel(db_now() + timedelta(days=60), tick=False):
        result = alerts_sweep()  # a worker whose clock runs two months fast
    assert result.fired == 0
    assert not Alert.objects.filter(task=task, fired_at__isnull=False).exists()


@pytest.mark.postgres
@override_settings(VIHUB_CLOCK="database")
def test_deadlines_are_given_by_database_time_not_the_web_processs_clock(cast: dict[str, Persona]) -> None:
    """A web process whose clock runs a day slow still gives the policy's windows from the
    database's now, the clock the sweep compares them with."""
    referral = make_triaged(grade=1, risk="very_high")
    before = db_now()
    with time_machine.travel(before - timedelta(days=1), tick=False):
        task = task_allocate(referral=referral, to_org=org("KENT"), actor=hub_user())
    after = db_now()
    assert before <= task.offered_at <= after
    assert before + timedelta(hours=1) <= task.accept_due_at <= after + timedelta(hours=1)  # grade 1
    assert before + timedelta(hours=24) <= task.due_at <= after + timedelta(hours=24)


def test_breach_climbs_officer_supervisor_region_hub_with_the_policy_wait(cast: dict[str, Persona]) -> None:
    task = make_task(grade=2, risk="high", accepted=True)  # grade 2: 1 hour between steps
    start = task.due_at
    alerts_sweep(now=start)
    DeadlinePolicy.objects.filter(grade=2).update(escalation_step_wait=timedelta(days=9))  # must not apply
    expected = [
        (1, "officer", start, ["kent_officer"]),  # accepted by a non-member: all Kent officers
        (2, "supervisor", start + timedelta(hours=1), ["kent_supervisor"]),
        (3, "region", start + timedelta(hours=2), ["ersou_coordinator"]),
        (4, "hub", start + timedelta(hours=3), ["coordinator"]),
    ]
    for step, _level, due, _recipients in expected[1:]:
        alerts_sweep(now=due - timedelta(seconds=1))
        assert not Alert.objects.filter(task=task, clock="act", step=step, fired_at__isnull=False).exists()
        alerts_sweep(now=due)
    fired = Alert.objects.filter(task=task, kind="escalation", clock="act", fired_at__isnull=False).order_by(
        "step"
    )
    assert [(a.step, a.level, a.fired_at, a.recipients) for a in fired] == expected
    assert Notification.objects.filter(alert__task=task, recipient__username="coordinator").count() == 1
    assert AuditEvent.objects.filter(task_id=task.pk, action="task.escalated").count() == 4
    alerts_sweep(now=start + timedelta(days=30))  # the chain ends at the hub
    assert Alert.objects.filter(task=task, kind="escalation", cancelled_at__isnull=True).count() == 4


def test_acknowledge_holds_the_chain_for_the_grace_then_it_climbs_again(cast: dict[str, Persona]) -> None:
    """An acknowledgement stops the climb for the policy's grace (grade 2: 2 hours), not for
    good: if the task has not moved on by then, the next step fires."""
    task = make_task(accepted=True)
    alerts_sweep(now=task.due_at)
    alerts_sweep(now=task.due_at + timedelta(hours=1))  # step 2 (supervisor) fired
    ersou = cast["ersou_coordinator"].client
    acked_at = task.due_at + timedelta(hours=1, minutes=5)
    with time_machine.travel(acked_at, tick=False):
        task_acknowledge(task=task, actor=cast["ersou_coordinator"].user, note="Region takes it")
    steps = Alert.objects.filter(task=task, kind="escalation").order_by("step")
    assert [
        (a.step, a.acknowledged_by.username if a.acknowledged_by else None) for a in steps if a.fired_at
    ] == [
        (1, "ersou_coordinator"),
        (2, "ersou_coordinator"),
    ]
    held = pending(task, kind="escalation")
    assert [(a.step, a.level, a.due_at) for a in held] == [(3, "region", acked_at + timedelta(hours=2))]
    again = ersou.post(f"/api/v1/tasks/{task.pk}/acknowledge/", {}, format="json")
    assert again.status_code == 409 and "no escalation" in again.json()["detail"]
    alerts_sweep(now=acked_at + timedelta(hours=2) - timedelta(seconds=1))
    assert Alert.objects.filter(task=task, kind="escalation", fired_at__isnull=False).count() == 2
    alerts_sweep(now=acked_at + timedelta(hours=2))  # the grace is over and nothing moved on
    climbed = Alert.objects.get(task=task, kind="escalation", step=3)
    assert climbed.fired_at is not None and climbed.recipients == ["ersou_coordinator"]
    event = AuditEvent.objects.get(task_id=task.pk, action="task.escalation_acknowledged")
    assert event.actor_display == "ersou_coordinator" and event.justification == "Region takes it"
    assert event.changes["next_steps_held_until"] == (acked_at + timedelta(hours=2)).isoformat()


def test_a_task_that_moves_on_within_the_grace_climbs_no_further(cast: dict[str, Persona]) -> None:
    task = make_task()  # grade 2: accept within 4 hours
    alerts_sweep(now=task.accept_due_at)  # the accept-by breach: step 1 to the officer
    supervisor = cast["kent_supervisor"].client
    assert supervisor.post(f"/api/v1/tasks/{task.pk}/acknowledge/", {}, format="json").status_code == 200
    assert cast["kent_officer"].client.post(f"/api/v1/tasks/{task.pk}/accept/").status_code == 200
    alerts_sweep(now=task.accept_due_at + timedelta(days=1))
    climbed = Alert.objects.filter(
        task=task, kind="escalation", clock="accept", step__gt=1, fired_at__isnull=False
    )
    assert not climbed.exists()


def test_an_officer_cannot_acknowledge_their_own_forces_breach(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    alerts_sweep(now=task.due_at)
    refused = cast["kent_officer"].client.post(f"/api/v1/tasks/{task.pk}/acknowledge/", {}, format="json")
    assert refused.status_code == 403
    assert not Alert.objects.filter(task=task, acknowledged_at__isnull=False).exists()
    assert (
        cast["kent_supervisor"]
        .client.post(f"/api/v1/tasks/{task.pk}/acknowledge/", {}, format="json")
        .status_code
        == 200
    )


def test_grades_1_and_2_tell_the_supervisors_before_the_breach(cast: dict[str, Persona]) -> None:
    urgent, routine = (
        make_task(grade=1, risk="very_high", accepted=True),
        make_task(grade=3, risk="low", accepted=True),
    )
    at_75 = urgent.created_at + (urgent.due_at - urgent.created_at) * 75 / 100
    alerts_sweep(now=at_75)
    pre = Alert.objects.get(task=urgent, kind="reminder", clock="act", step=75, fired_at__isnull=False)
    assert pre.fired_at is not None and pre.recipients == ["kent_supervisor"]
    told = Notification.objects.get(alert=pre)
    assert "Before the breach" in told.subject and "grade 1" in told.subject
    assert not Alert.objects.filter(task=routine, step=75).exists(), "grade 3 has no pre-breach step"


def test_escalated_and_overdue_tasks_are_listed_for_the_hub(cast: dict[str, Persona]) -> None:
    late, fine = make_task(accepted=True), make_task(accepted=True)
    Task.objects.filter(pk=late.pk).update(due_at=db_now() - timedelta(minutes=1))
    Alert.objects.filter(task=late, kind="escalation", step=1).update(due_at=db_now() - timedelta(minutes=1))
    alerts_sweep()
    hub = cast["coordinator"].client
    overdue = {t["id"]: t for t in hub.get("/api/v1/tasks/?overdue=true").json()["results"]}
    assert str(late.pk) in overdue and str(fine.pk) not in overdue
    assert overdue[str(late.pk)]["deadline_state"] == "escalated"
    escalated = {t["id"] for t in hub.get("/api/v1/tasks/?escalated=true").json()["results"]}
    assert str(late.pk) in escalated and str(fine.pk) not in escalated
    steps = hub.get(f"/api/v1/escalations/?task={late.pk}").json()["results"]
    assert [(s["step"], s["level"], s["recipients"]) for s in steps] == [(1, "officer", ["kent_officer"])]
    assert cast["gmp_officer"].client.get(f"/api/v1/escalations/?task={late.pk}").json()["results"] == []


def test_reminders_reach_the_inbox_and_email(cast: dict[str, Persona]) -> None:
    officer = cast["kent_officer"].user
    officer.email = "officer@kent.police.example"
    officer.save()
    task = make_task()
    alerts_sweep(now=task.offered_at + (task.accept_due_at - task.offered_at) / 2)
    everything = cast["kent_officer"].client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert [n["kind"] for n in everything] == ["reminder", "task_allocated"]  # newest first
    inbox = [n for n in everything if n["kind"] == "reminder"]
    assert len(inbox) == 1 and "50%" in inbox[0]["subject"]
    assert cast["kent_officer"].client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    assert notification_email(notification_id=inbox[0]["id"]) is True
    assert notification_email(notification_id=inbox[0]["id"]) is False  # claimed once, sent once
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["officer@kent.police.example"]
    read = cast["kent_officer"].client.post(f"/api/v1/notifications/{inbox[0]['id']}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    # Someone else's notification is a 404.
    assert (
        cast["essex_officer"].client.post(f"/api/v1/notifications/{inbox[0]['id']}/read/").status_code == 404
    )


def test_pause_needs_a_supervisor_and_moves_deadlines_on_by_the_paused_time(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    url = f"/api/v1/tasks/{task.pk}"
    assert (
        cast["kent_officer"].client.post(f"{url}/pause/", {"reason": "MLAT"}, format="json").status_code
        == 403
    )
    paused = cast["kent_supervisor"].client.post(
        f"{url}/pause/",
        {"reason": "MLAT to the US", "until": pause_until(hours=24 * 7 * 2 - 1)},
        format="json",
    )
    assert paused.status_code == 400 and "2 days at most" in paused.json()["until"][0]  # grade 2's cap
    paused = cast["kent_supervisor"].client.post(
        f"{url}/pause/", {"reason": "MLAT to the US", "until": pause_until(hours=40)}, format="json"
    )
    assert paused.status_code == 200 and paused.json()["deadline_state"] == "paused"
    assert not pending(task)
    alerts_sweep(now=task.due_at + timedelta(days=5))
    assert not Alert.objects.filter(task=task, fired_at__isnull=False).exists()  # no alarms while paused
    Task.objects.filter(pk=task.pk).update(paused_at=db_now() - timedelta(hours=6))
    resumed = cast["kent_officer"].client.post(f"{url}/resume/")
    assert resumed.status_code == 200 and resumed.json()["paused_at"] is None
    task.refresh_from_db()
    moved = task.due_at - Task.objects.values_list("created_at", flat=True).get(pk=task.pk)
    assert moved == pytest.approx(timedelta(days=2, hours=6), abs=timedelta(seconds=5))
    assert resumed.json()["paused_seconds"] == pytest.approx(6 * 3600, abs=5)
    assert first_step(task).due_at == task.due_at
    actions = list(AuditEvent.objects.filter(task_id=task.pk).values_list("action", flat=True))
    assert "task.paused" in actions and "task.resumed" in actions


def test_reassignment_restarts_the_accept_clock_for_the_new_holder(cast: dict[str, Persona]) -> None:
    make_persona("essex_sup", "ESSEX", "supervisor")
    task = make_task()
    old = first_step(task, "accept")
    cast["coordinator"].client.post(
        f"/api/v1/tasks/{task.pk}/reassign/", {"assignee_org": "ESSEX", "reason": "moved"}, format="json"
    )
    old.refresh_from_db()
    assert old.cancelled_at is not None
    new = first_step(task, "accept")
    alerts_sweep(now=new.due_at)
    new.refresh_from_db()
    assert new.recipients == ["essex_officer"]


def test_completed_tasks_stop_all_alarms(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    cast["kent_officer"].client.post(
        f"/api/v1/referrals/{task.referral_id}/outcome/",
        {"justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": 0,
         "children_safeguarded": 0, "victims_identified": 0, "suspect_has_access_to_children": False,
         "safeguarding_needed": False},
        format="json",
    )  # fmt: skip
    assert not pending(task)


def test_enqueueing_happens_only_after_commit(
    cast: dict[str, Persona], django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    task = make_task()
    step = first_step(task, "accept")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert_fire(alert_id=step.pk, now=step.due_at)
    assert len(callbacks) == 1  # the email job for the one recipient, queued for after commit


def test_declining_tells_the_hub_at_once(cast: dict[str, Persona]) -> None:
    task = make_task()
    cast["kent_officer"].client.post(
        f"/api/v1/tasks/{task.pk}/decline/", {"reason": "not_our_area"}, format="json"
    )
    inbox = cast["coordinator"].client.get("/api/v1/notifications/").json()["results"]
    assert any("declined by KENT" in n["subject"] and n["task"] == str(task.pk) for n in inbox)


def test_acknowledging_a_late_acceptance_keeps_the_act_by_chain(cast: dict[str, Persona]) -> None:
    task = make_task()  # offered: both clocks running
    alerts_sweep(now=task.accept_due_at)  # accept-by breached
    ack = cast["coordinator"].client.post(f"/api/v1/tasks/{task.pk}/acknowledge/", {}, format="json")
    assert ack.status_code == 200
    assert pending(task, kind="escalation", clock="act", step=1)  # still armed
    alerts_sweep(now=task.due_at)
    assert Alert.objects.get(
        task=task, kind="escalation", clock="act", step=1, cancelled_at__isnull=True
    ).fired_at


def test_a_task_moved_away_cannot_be_accepted_through_a_stale_view(cast: dict[str, Persona]) -> None:
    """The permission check and the change happen in different moments; the service re-checks
    the holder under the row lock, so a spoke cannot act on a task that was just moved away."""
    seen_by_kent = make_task(holder="KENT")
    hub = cast["coordinator"].user
    task_reassign(task=Task.objects.get(pk=seen_by_kent.pk), to_org=org("ESSEX"), actor=hub, reason="moved")
    with pytest.raises(NotFound):
        task_accept(task=seen_by_kent, actor=cast["kent_officer"].user)
    fresh = Task.objects.get(pk=seen_by_kent.pk)
    assert (fresh.assignee_org.code, fresh.status, fresh.accepted_by) == ("ESSEX", "offered", None)


def test_a_fired_batch_emails_each_recipient_once_even_if_the_job_runs_twice(
    cast: dict[str, Persona],
) -> None:
    for name in ("kent_officer", "kent_supervisor"):
        cast[name].user.email = f"{name}@kent.police.example"
        cast[name].user.save()
    tasks = [make_task() for _ in range(3)]
    alerts_sweep(now=max(t.accept_due_at for t in tasks))  # reminders and step 1 for all three
    ids = [str(pk) for pk in Notification.objects.filter(task__in=tasks).values_list("pk", flat=True)]
    assert len(ids) >= 3
    assert notification_emails_job(*ids) == len(ids)
    assert notification_emails_job(*ids) == 0  # a redelivered job sends nothing twice
    assert len(mail.outbox) == len(ids)
