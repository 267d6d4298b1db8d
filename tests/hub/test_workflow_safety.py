"""Workflow safety (issue 11, first part): the v1 outcome body, need to know ending with a
decline, intake text that is safe everywhere, outcomes that agree with themselves, a queue no
agency clock can jump, and re-posts that never silently drop a different body."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from hub.models import AuditEvent, Notification, Referral, User
from hub.services.alerts import alerts_sweep, pauses_expire
from hub.services.notifications import MAX_EMAIL_ATTEMPTS
from hub.services.organisations import membership_set
from hub.services.tasks import task_allocate
from hub.tasks import notification_emails_job
from safeguarding.feedback import webhook_deliver, webhook_endpoint_set
from safeguarding.models import OutboxEvent, Outcome
from spokes.services import task_accept
from tests.conftest import Persona
from tests.e2e.receiver import Receiver
from tests.factories import acting, hub_user, make_task, make_triaged, org
from tests.web import Client

pytestmark = pytest.mark.django_db

V1_OUTCOME = {"justice_outcome": "caution", "safeguarding_outcome": "referred_to_childrens_services",
              "arrests": 1, "children_safeguarded": 1, "victims_identified": 1}  # fmt: skip


def _web(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


# --- The v1 outcome body, and the two checks asked for before closing --------------------------


def test_the_v1_outcome_body_is_accepted_and_the_checks_are_asked_for_before_closing(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    recorded = cast["kent_officer"].client.post(f"/api/v1/referrals/{task.referral_id}/outcome/", V1_OUTCOME,
                                                format="json")  # fmt: skip
    assert recorded.status_code == 201, recorded.json()
    body = recorded.json()
    assert body["suspect_has_access_to_children"] is None and body["safeguarding_needed"] is None
    hub = cast["coordinator"].client
    refused = hub.post(f"/api/v1/referrals/{task.referral_id}/close/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "checks_missing"
    assert "access to children" in refused.json()["detail"] and "safeguarding" in refused.json()["detail"]
    half = hub.post(f"/api/v1/referrals/{task.referral_id}/close/", {"suspect_has_access_to_children": True},
                    format="json")  # fmt: skip
    assert half.status_code == 409 and "whether safeguarding was needed" in half.json()["detail"]
    referral = Referral.objects.get(pk=task.referral_id)
    assert referral.status == "outcome_recorded" and referral.suspect_has_access_to_children is None
    closed = hub.post(
        f"/api/v1/referrals/{task.referral_id}/close/",
        {"suspect_has_access_to_children": True, "safeguarding_needed": True, "note": "checked"},
        format="json",
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["suspect_has_access_to_children"] is True and closed.json()["status"] == "closed"
    event = AuditEvent.objects.get(action="referral.closed", referral_id=task.referral_id)
    assert event.changes["suspect_has_access_to_children"] is True and event.changes["safeguarding_needed"]


def test_the_referral_page_says_what_is_missing_and_its_close_form_asks_for_it(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    cast["kent_officer"].client.post(
        f"/api/v1/referrals/{task.referral_id}/outcome/", V1_OUTCOME, format="json"
    )
    hub = _web(cast["coordinator"])
    page = hub.get(f"/referrals/{task.referral_id}/").content.decode()
    assert 'id="checks-missing"' in page and 'name="suspect_has_access_to_children"' in page
    response = hub.post(
        f"/referrals/{task.referral_id}/close/",
        {"suspect_has_access_to_children": "no", "safeguarding_needed": "yes", "note": ""},
    )
    assert response.status_code == 302
    referral = Referral.objects.get(pk=task.referral_id)
    assert referral.status == "closed" and referral.suspect_has_access_to_children is False


# --- Need to know ends with a decline -------------------------------------------------------


def test_a_force_that_declined_a_task_no_longer_sees_it_or_its_referral(cast: dict[str, Persona]) -> None:
    task = make_task()
    kent = cast["kent_officer"].client
    declined = kent.post(f"/api/v1/tasks/{task.pk}/decline/", {"reason": "not_our_area"}, format="json")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    for who in ("kent_officer", "kent_supervisor", "ersou_coordinator"):
        client = cast[who].client
        assert client.get(f"/api/v1/tasks/{task.pk}/").status_code == 404, who
        assert client.get(f"/api/v1/referrals/{task.referral_id}/").status_code == 404, who
        assert client.get(f"/api/v1/referrals/{task.referral_id}/outcome/").status_code == 404, who
        assert str(task.pk) not in str(client.get("/api/v1/tasks/").json()), who
    assert _web(cast["kent_officer"]).get(f"/tasks/{task.pk}/").status_code == 404
    assert cast["coordinator"].client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    moved = cast["coordinator"].client.post(
        f"/api/v1/tasks/{task.pk}/reassign/",
        {"assignee_org": "ESSEX", "reason": "Essex address"},
        format="json",
    )
    assert moved.status_code == 200
    assert cast["essex_officer"].client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 404


def test_declining_on_the_web_takes_the_officer_back_to_their_list(cast: dict[str, Persona]) -> None:
    task = make_task()
    response = _web(cast["kent_officer"]).post(f"/tasks/{task.pk}/decline/", {"reason": "duplicate"})
    assert response.status_code == 302 and response["Location"] == "/tasks/"


# --- Intake text is safe to use anywhere -------------------------------------------------------


@pytest.mark.parametrize("external_id", ["CT-1\nBcc: someone@example.org", "CT-\t2", "CT-\r3", "CT-\x1b[31m"])
def test_an_external_id_with_control_characters_is_a_clear_400(
    cast: dict[str, Persona], external_id: str
) -> None:
    response = cast["ncmec"].client.post("/api/v1/referrals/", {"external_id": external_id}, format="json")
    assert response.status_code == 400
    assert "printable" in response.json()["external_id"][0]
    assert not Referral.objects.exists()


def test_an_email_that_cannot_be_built_is_audited_as_failed_and_the_rest_of_its_batch_goes(
    cast: dict[str, Persona],
) -> None:
    broken = cast["kent_officer"].user
    User.objects.filter(pk=broken.pk).update(email="kent@example.org\nBcc: leak@example.org")
    fine = cast["kent_supervisor"].user
    User.objects.filter(pk=fine.pk).update(email="sup@example.org")
    bad = Notification.objects.create(recipient=broken, kind="reminder", subject="About CT-9")
    good = Notification.objects.create(recipient=fine, kind="reminder", subject="About CT-9\nsecond line")
    sent = notification_emails_job(str(bad.pk), str(good.pk))
    assert sent == 1
    assert [m.to for m in mail.outbox] == [["sup@example.org"]]
    assert mail.outbox[0].subject == "[VIHub] About CT-9 second line"
    bad.refresh_from_db()
    assert bad.emailed_at is None and bad.email_attempts == MAX_EMAIL_ATTEMPTS  # never retried
    failed = AuditEvent.objects.get(action="notification.email_failed", object_id=str(bad.pk))
    assert failed.outcome == "failed"
    assert AuditEvent.objects.filter(action="notification.emailed", object_id=str(good.pk)).exists()


# --- Outcomes that agree with themselves ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"safeguarding_outcome": "no_child_at_risk", "children_safeguarded": 2}, "no child at risk"),
        ({"safeguarding_outcome": "child_safeguarded", "children_safeguarded": 0}, "child safeguarded"),
    ],
)
def test_an_outcome_that_contradicts_itself_is_a_400_naming_both_fields(
    cast: dict[str, Persona], changes: dict[str, Any], words: str
) -> None:
    task = make_task(accepted=True)
    response = cast["kent_officer"].client.post(
        f"/api/v1/referrals/{task.referral_id}/outcome/", {**V1_OUTCOME, **changes}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["children_safeguarded"][0]
    assert "safeguarding_outcome" in message and "children_safeguarded" in message and words in message
    assert not Outcome.objects.filter(referral_id=task.referral_id).exists()


# --- An agency's clock never decides the queue -------------------------------------------------------


def test_a_received_at_in_the_future_is_refused(cast: dict[str, Persona]) -> None:
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    response = cast["ncmec"].client.post(
        "/api/v1/referrals/", {"external_id": "CT-F", "received_at": later}, format="json"
    )
    assert response.status_code == 400 and "future" in response.json()["received_at"][0]
    assert not Referral.objects.exists()


def test_a_received_at_from_long_ago_is_refused(cast: dict[str, Persona]) -> None:
    old = datetime(1901, 1, 1, tzinfo=UTC).isoformat()
    response = cast["ncmec"].client.post(
        "/api/v1/referrals/", {"external_id": "CT-1901", "received_at": old}, format="json"
    )
    assert response.status_code == 400 and "more than a year ago" in response.json()["received_at"][0]
    assert not Referral.objects.exists()


def test_the_triage_queue_orders_by_when_vihub_received_a_referral(cast: dict[str, Persona]) -> None:
    client = cast["ncmec"].client
    assert client.post("/api/v1/referrals/", {"external_id": "FIRST"}, format="json").status_code == 201
    old = (timezone.now() - timedelta(days=300)).isoformat()  # received by the agency long ago
    assert client.post("/api/v1/referrals/", {"external_id": "LATE", "received_at": old},
                       format="json").status_code == 201  # fmt: skip
    page = _web(cast["coordinator"]).get("/triage/").content.decode()
    assert page.index("FIRST") < page.index("LATE")


# --- New work is announced; clocks only tighten ----------------------------------------------------


def test_allocation_reassignment_and_hand_down_tell_the_new_holder(cast: dict[str, Persona]) -> None:
    task = make_task(holder="ERSOU")
    notes = Notification.objects.filter(task=task, kind="task_allocated")
    assert {n.recipient.username for n in notes} == {"ersou_coordinator"}
    assert f"NCMEC {task.referral.external_id}" in notes[0].subject
    handed = cast["ersou_coordinator"].client.post(
        f"/api/v1/tasks/{task.pk}/hand-down/",
        {"assignee_org": "KENT", "reason": "Kent address"},
        format="json",
    )
    assert handed.status_code == 200
    kent = Notification.objects.filter(task=task, kind="task_handed_down")
    assert {n.recipient.username for n in kent} == {"kent_officer", "kent_supervisor"}
    cast["coordinator"].client.post(
        f"/api/v1/tasks/{task.pk}/reassign/", {"assignee_org": "ESSEX", "reason": "moved"}, format="json"
    )
    essex = Notification.objects.filter(task=task, kind="task_reassigned")
    assert {n.recipient.username for n in essex} == {"essex_officer"}
    assert cast["essex_officer"].client.get("/api/v1/notifications/").json()["results"][0]["task"] == str(
        task.pk
    )


TRIAGE = {"access_to_children": ["family"], "information_incomplete": False}


def test_re_grading_to_a_tighter_grade_moves_running_deadlines_earlier(cast: dict[str, Persona]) -> None:
    task = make_task(grade=3, risk="low")  # accept within 3 days, act within 30
    before_due, before_accept = task.due_at, task.accept_due_at
    hub = cast["coordinator"].client
    tighter = {**TRIAGE, "grade": 1, "risk": "very_high", "rationale": "chat logs: contact planned"}
    assert (
        hub.post(f"/api/v1/referrals/{task.referral_id}/triage/", tighter, format="json").status_code == 200
    )
    shown = hub.get(f"/api/v1/tasks/{task.pk}/").json()
    task.refresh_from_db()
    assert task.due_at == task.created_at + timedelta(hours=24) < before_due  # grade 1: act within 24 h
    assert task.accept_due_at == task.offered_at + timedelta(hours=1) < before_accept
    assert shown["due_at"] == task.due_at.isoformat().replace("+00:00", "Z")
    pending = task.alerts.filter(fired_at__isnull=True, cancelled_at__isnull=True)  # type: ignore[attr-defined]
    assert pending.exists() and all(a.due_at <= task.due_at for a in pending), "reminders re-planned"
    moved = AuditEvent.objects.get(action="task.deadline_tightened", task_id=task.pk)
    assert moved.changes["due_at"][0] == before_due.isoformat()
    told = Notification.objects.filter(task=task, kind="task_regraded", recipient=cast["kent_officer"].user)
    assert told.exists() and "deadlines moved" in told[0].body


def test_a_looser_grade_never_moves_a_running_deadline_later(cast: dict[str, Persona]) -> None:
    task = make_task(grade=1, risk="very_high")
    due, accept = task.due_at, task.accept_due_at
    looser = {**TRIAGE, "grade": 3, "risk": "low", "rationale": "the child is safe"}
    hub = cast["coordinator"].client
    assert hub.post(f"/api/v1/referrals/{task.referral_id}/triage/", looser, format="json").status_code == 200
    task.refresh_from_db()
    assert (task.due_at, task.accept_due_at) == (due, accept)
    assert not AuditEvent.objects.filter(action="task.deadline_tightened", task_id=task.pk).exists()
    assert (
        "unchanged"
        in Notification.objects.get(task=task, kind="task_regraded", recipient__username="kent_officer").body
    )


# --- Pauses end, are the hub's business, and never reset a climbed escalation --------------------


def _pause(client: Any, task: Any, hours: int = 6, **extra: Any) -> Any:
    body = {
        "reason": "MLAT request to the US",
        "until": (timezone.now() + timedelta(hours=hours)).isoformat(),
    }
    return client.post(f"/api/v1/tasks/{task.pk}/pause/", {**body, **extra}, format="json")


def test_a_pause_needs_an_end_within_the_policys_cap(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)  # grade 2: paused for 2 days at most
    supervisor = cast["kent_supervisor"].client
    no_end = supervisor.post(f"/api/v1/tasks/{task.pk}/pause/", {"reason": "MLAT"}, format="json")
    assert no_end.status_code == 400 and "until" in no_end.json()
    assert _pause(supervisor, task, hours=-1).status_code == 400
    too_long = _pause(supervisor, task, hours=24 * 3)
    assert too_long.status_code == 400 and "2 days at most" in too_long.json()["until"][0]
    task.refresh_from_db()
    assert task.paused_at is None
    assert _pause(supervisor, task, hours=24).status_code == 200


def test_a_grade_1_task_cannot_be_paused_by_a_force_but_the_hub_can_and_is_told_of_every_pause(
    cast: dict[str, Persona],
) -> None:
    urgent = make_task(grade=1, risk="very_high", accepted=True)
    refused = _pause(cast["kent_supervisor"].client, urgent, hours=2)
    assert refused.status_code == 409 and refused.json()["code"] == "grade_1_pause"
    assert _pause(cast["coordinator"].client, urgent, hours=2).status_code == 200
    routine = make_task(grade=3, risk="low", accepted=True)
    assert _pause(cast["kent_supervisor"].client, routine, hours=48).status_code == 200
    told = Notification.objects.filter(kind="task_paused", recipient=cast["coordinator"].user)
    assert {n.task_id for n in told} == {urgent.pk, routine.pk}
    assert all(n.referral_id is not None for n in told)
    assert "until" in told.get(task=routine).subject


def test_a_pause_ends_by_itself_when_it_runs_out(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    assert _pause(cast["kent_supervisor"].client, task, hours=3).status_code == 200
    task.refresh_from_db()
    assert pauses_expire(now=task.paused_until - timedelta(seconds=1)) == 0
    with time_machine.travel(task.paused_until, tick=False):
        assert pauses_expire() == 1
    task.refresh_from_db()
    assert task.paused_at is None and task.paused_until is None
    resumed = AuditEvent.objects.get(action="task.resumed", task_id=task.pk)
    assert resumed.actor is None and resumed.justification == "the pause ran out"
    assert task.alerts.filter(fired_at__isnull=True, cancelled_at__isnull=True).exists()  # type: ignore[attr-defined]


def test_resuming_continues_an_escalation_where_it_had_climbed(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)  # grade 2: an hour between steps
    alerts_sweep(now=task.due_at)
    alerts_sweep(now=task.due_at + timedelta(hours=1))  # officer, then supervisors
    fired_before = set(
        task.alerts.filter(fired_at__isnull=False, kind="escalation").values_list("pk", flat=True)
    )  # type: ignore[attr-defined]
    assert len(fired_before) == 2
    assert _pause(cast["coordinator"].client, task, hours=4).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert cast["coordinator"].client.post(f"/api/v1/tasks/{task.pk}/resume/").status_code == 200
        resumed_at = timezone.now()
    task.refresh_from_db()
    pending = task.alerts.filter(kind="escalation", fired_at__isnull=True, cancelled_at__isnull=True)  # type: ignore[attr-defined]
    assert [(a.step, a.level) for a in pending] == [(3, "region")], "the chain continues, not from the bottom"
    assert pending[0].due_at == resumed_at + timedelta(hours=1)
    alerts_sweep(now=pending[0].due_at)
    fired_after = task.alerts.filter(fired_at__isnull=False, kind="escalation").exclude(pk__in=fired_before)  # type: ignore[attr-defined]
    assert [(a.step, a.recipients) for a in fired_after] == [(3, ["ersou_coordinator"])]


# --- Outcomes per holder; the hub keeps a case; amendments keep the past ----------------------------


def _two_holders() -> tuple[Any, Any]:
    kent = make_task(accepted=True)
    essex = task_allocate(referral=kent.referral, to_org=org("ESSEX"), actor=hub_user())
    essex = task_accept(task=essex, actor=acting("ESSEX"))
    return kent, essex


def test_an_outcome_completes_only_the_recorders_own_task_and_the_others_are_told(
    cast: dict[str, Persona],
) -> None:
    kent, essex = _two_holders()
    first = cast["kent_officer"].client.post(f"/api/v1/referrals/{kent.referral_id}/outcome/", V1_OUTCOME,
                                             format="json")  # fmt: skip
    assert first.status_code == 201
    kent.refresh_from_db()
    essex.refresh_from_db()
    assert kent.status == "completed" and essex.status == "accepted"
    told = Notification.objects.filter(kind="outcome_recorded", task=essex)
    assert {n.recipient.username for n in told} == {"essex_officer"}
    assert Notification.objects.filter(kind="outcome_recorded", recipient=cast["coordinator"].user).exists()
    # Essex records its own part: the referral's outcome is updated, the previous kept.
    second = cast["essex_officer"].client.post(
        f"/api/v1/referrals/{kent.referral_id}/outcome/",
        {**V1_OUTCOME, "justice_outcome": "charge_summons", "arrests": 2},
        format="json",
    )
    assert second.status_code == 201, second.json()
    essex.refresh_from_db()
    assert essex.status == "completed"
    outcome = Outcome.objects.get(referral_id=kent.referral_id)
    assert outcome.justice_outcome == "charge_summons" and outcome.arrests == 2
    revision = outcome.revisions.get()
    assert revision.before == {"justice_outcome": "caution", "arrests": 1} and revision.org.code == "ESSEX"
    again = cast["essex_officer"].client.post(f"/api/v1/referrals/{kent.referral_id}/outcome/", V1_OUTCOME,
                                              format="json")  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "outcome_exists"


def test_the_hub_can_keep_a_case_and_its_officers_work_it(cast: dict[str, Persona]) -> None:
    hub_officer = membership_set(username="nca-vid", org_code="NCA", role="officer", actor=None).user
    referral = make_triaged()
    kept = cast["coordinator"].client.post(
        "/api/v1/tasks/", {"referral": str(referral.pk), "assignee_org": "NCA"}, format="json"
    )
    assert kept.status_code == 201 and kept.json()["assignee_org"] == "NCA"
    task_id = kept.json()["id"]
    client = Client()
    client.force_login(hub_officer)
    assert client.post(f"/tasks/{task_id}/accept/").status_code == 302
    assert client.post(f"/tasks/{task_id}/outcome/", {
        "justice_outcome": "caution", "safeguarding_outcome": "no_child_at_risk", "arrests": "1",
        "children_safeguarded": "0", "victims_identified": "0", "suspect_has_access_to_children": "no",
        "safeguarding_needed": "no",
    }).status_code == 302  # fmt: skip
    assert Outcome.objects.get(referral=referral).recorded_org.code == "NCA"
    assert cast["kent_officer"].client.get(f"/api/v1/tasks/{task_id}/").status_code == 404


def test_an_amendment_keeps_the_previous_values_and_tells_the_agency_again(cast: dict[str, Persona]) -> None:
    with Receiver() as agency:
        endpoint, _ = webhook_endpoint_set(agency=org("NCMEC"), url=agency.url, actor=None)
        task = make_task(accepted=True)
        kent = cast["kent_officer"].client
        assert (
            kent.post(f"/api/v1/referrals/{task.referral_id}/outcome/", V1_OUTCOME, format="json").status_code
            == 201
        )
        no_reason = kent.patch(
            f"/api/v1/referrals/{task.referral_id}/outcome/", {"arrests": 2}, format="json"
        )
        assert no_reason.status_code == 400 and "reason" in no_reason.json()
        amended = kent.patch(
            f"/api/v1/referrals/{task.referral_id}/outcome/",
            {"justice_outcome": "charge_summons", "reason": "charged at court"},
            format="json",
        )
        assert amended.status_code == 200 and amended.json()["justice_outcome"] == "charge_summons"
        assert (
            cast["ersou_coordinator"]
            .client.patch(
                f"/api/v1/referrals/{task.referral_id}/outcome/", {"arrests": 3, "reason": "x"}, format="json"
            )
            .status_code
            == 403
        )  # the overseeing region did not hold it
        events = list(OutboxEvent.objects.filter(referral_id=task.referral_id).order_by("created_at"))
        assert [e.event_type for e in events] == ["referral.outcome_recorded", "referral.outcome_updated"]
        assert events[0].webhook_id != events[1].webhook_id
        assert events[1].payload["data"]["outcome"]["justice_outcome"] == "charge_summons"
        for event in events:
            webhook_deliver(event_id=event.pk)
    assert [json.loads(r["body"])["type"] for r in agency.requests] == [
        "referral.outcome_recorded", "referral.outcome_updated",
    ]  # fmt: skip
    revision = Outcome.objects.get(referral_id=task.referral_id).revisions.get()
    assert revision.before == {"justice_outcome": "caution"} and revision.reason == "charged at court"
    assert AuditEvent.objects.filter(action="outcome.amended", referral_id=task.referral_id).exists()


# --- No silent overwrites ---------------------------------------------------------------------------


def test_a_decision_on_a_stale_view_is_refused_with_what_changed(cast: dict[str, Persona]) -> None:
    referral = make_triaged()
    hub = cast["coordinator"].client
    opened = hub.get(f"/api/v1/referrals/{referral.pk}/")
    version = opened.json()["version"]
    assert opened["ETag"] == f'"{version}"'
    other = membership_set(username="coord2", org_code="NCA", role="coordinator", actor=None).user
    task_allocate(
        referral=referral, to_org=org("KENT"), actor=other, expect_version=version
    )  # the other one first
    second = hub.post(
        "/api/v1/tasks/",
        {"referral": str(referral.pk), "assignee_org": "ESSEX", "version": version},
        format="json",
    )
    assert second.status_code == 409 and second.json()["code"] == "stale"
    assert "changed since you opened it" in second.json()["detail"]
    assert [c["action"] for c in second.json()["details"]["changes"]] == ["task.allocated"]
    assert second.json()["details"]["changes"][0]["by"] == "coord2"
    assert referral.tasks.count() == 1, "no second task at another force"
    regrade = {"grade": 1, "risk": "very_high", "access_to_children": [], "information_incomplete": False,
               "rationale": "worse"}  # fmt: skip
    stale = hub.post(
        f"/api/v1/referrals/{referral.pk}/triage/", regrade, format="json", HTTP_IF_MATCH=f'"{version}"'
    )
    assert stale.status_code == 409
    referral.refresh_from_db()
    assert referral.grade == 2, "the grade was not overwritten"
    fresh = hub.get(f"/api/v1/referrals/{referral.pk}/")["ETag"]
    assert hub.post(f"/api/v1/referrals/{referral.pk}/triage/", regrade, format="json",
                    HTTP_IF_MATCH=fresh).status_code == 200  # fmt: skip
    assert hub.post(f"/api/v1/referrals/{referral.pk}/triage/", {**regrade, "rationale": "v1 client"},
                    format="json").status_code == 200, "no version sent: not checked"  # fmt: skip


def test_the_grade_form_refuses_a_stale_page_and_keeps_what_was_typed(cast: dict[str, Persona]) -> None:
    referral = make_triaged()
    client = Client()
    client.force_login(cast["coordinator"].user)
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    version = page.split('name="version" value="')[1].split('"')[0]
    task_allocate(referral=referral, to_org=org("KENT"), actor=cast["coordinator"].user)  # meanwhile
    refused = client.post(
        f"/referrals/{referral.pk}/grade/",
        {"version": version, "grade": "2", "risk": "high", "access_to_children": ["family"],
         "assignee_org": "ESSEX", "instructions": "Typed with care"},
    )  # fmt: skip
    assert refused.status_code == 409
    body = refused.content.decode()
    assert "changed since you opened it" in body and "Typed with care" in body
    assert referral.tasks.count() == 1


def test_the_hub_can_say_a_looser_grade_moves_deadlines_later_and_it_is_audited(
    cast: dict[str, Persona],
) -> None:
    task = make_task(grade=1, risk="very_high")
    due = task.due_at
    looser = {
        **TRIAGE,
        "grade": 3,
        "risk": "low",
        "rationale": "child located and safe",
        "relax_deadlines": True,
    }
    hub = cast["coordinator"].client
    assert hub.post(f"/api/v1/referrals/{task.referral_id}/triage/", looser, format="json").status_code == 200
    task.refresh_from_db()
    assert task.due_at == task.created_at + timedelta(days=30) > due
    relaxed = AuditEvent.objects.get(action="task.deadline_relaxed", task_id=task.pk)
    assert relaxed.justification == "child located and safe" and relaxed.actor == cast["coordinator"].user


def test_the_referral_page_offers_to_relax_running_deadlines_and_does_it_when_ticked(
    cast: dict[str, Persona],
) -> None:
    task = make_task(grade=1, risk="very_high")
    client = Client()
    client.force_login(cast["coordinator"].user)
    page = client.get(f"/referrals/{task.referral_id}/").content.decode()
    assert 'name="relax_deadlines"' in page
    response = client.post(
        f"/referrals/{task.referral_id}/grade/",
        {"grade": "3", "risk": "low", "rationale": "child located and safe", "relax_deadlines": "on"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.due_at == task.created_at + timedelta(days=30)


# --- Richer intake (issue 12), all optional ---------------------------------------------------------


def test_richer_intake_is_optional_kept_and_shown_and_an_activist_report_needs_its_continuity(
    cast: dict[str, Persona],
) -> None:
    agency = cast["ncmec"].client
    assert agency.post("/api/v1/referrals/", {"external_id": "V1-ONLY"}, format="json").status_code == 201
    body = {"external_id": "RICH-1", "platform": "Snapchat", "offence_type": "sextortion",
            "reporter_type": "industry", "incident_at": "2026-11-20T18:00:00Z"}  # fmt: skip
    made = agency.post("/api/v1/referrals/", body, format="json")
    assert made.status_code == 201
    shown = cast["coordinator"].client.get(f"/api/v1/referrals/{made.json()['id']}/").json()
    assert (shown["platform"], shown["offence_type"], shown["reporter_type"]) == (
        "Snapchat",
        "sextortion",
        "industry",
    )
    assert "platform" not in agency.get(f"/api/v1/referrals/{made.json()['id']}/").json(), "thin for agencies"
    assert agency.post("/api/v1/referrals/", body, format="json").status_code == 200  # the same body
    assert (
        agency.post("/api/v1/referrals/", {**body, "platform": "Discord"}, format="json").status_code == 409
    )
    activist = agency.post("/api/v1/referrals/", {"external_id": "ACT-1", "reporter_type": "online_activist"},
                           format="json")  # fmt: skip
    assert activist.status_code == 400 and "continuity" in activist.json()["evidence_continuity"][0]
    assert not Referral.objects.filter(external_id="ACT-1").exists()
    client = Client()
    client.force_login(cast["coordinator"].user)
    page = client.get(f"/referrals/{made.json()['id']}/").content.decode()
    assert "Sextortion" in page and "Snapchat" in page
