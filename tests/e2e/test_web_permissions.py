"""The web UI obeys the API's rules, checked fast with Django's test client (no browser):
outsiders get 404, insiders without the right get 403, refused forms keep what was typed, and
every page that shows a sensitive record writes the same audit row an API read would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hub.models import AuditEvent, DeadlinePolicy, Notification, Referral, Task, TriageDecision
from hub.selectors import task_deadline_state, with_escalation_flag
from hub.services.alerts import alerts_sweep, task_pause
from safeguarding.models import Outcome, SafeguardingAction
from spokes.models import Lead
from spokes.services import lead_create, task_decline
from tests.conftest import PASSWORD, Persona
from tests.factories import acting, make_referral, make_task, make_triaged
from tests.policy_cases import pause_until_local
from tests.web import Client

pytestmark = pytest.mark.django_db

OUTCOME = {
    "justice_outcome": "outcome_21",
    "safeguarding_outcome": "referred_to_childrens_services",
    "arrests": "1",
    "children_safeguarded": "2",
    "victims_identified": "2",
    "suspect_has_access_to_children": "yes",
    "safeguarding_needed": "yes",
    "summary": "Internal note: suspect is 15; diversion.",
}


def web(persona: Persona, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(persona.user)
    return client


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters))


# --- Sign-in and landing --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    for url in ["/", "/triage/", "/board/", "/tasks/", "/audit/", "/agency/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        ("coordinator", "/triage/"),
        ("auditor", "/audit/"),
        ("kent_officer", "/tasks/"),
        ("kent_supervisor", "/tasks/"),
        ("ersou_coordinator", "/tasks/"),
        ("ncmec", "/agency/"),
    ],
)
def test_each_role_lands_on_its_own_page(cast: dict[str, Persona], who: str, landing: str) -> None:
    response = web(cast[who]).get("/")
    assert response.status_code == 302 and response["Location"] == landing
    assert web(cast[who]).get(landing).status_code == 200


def test_sign_in_uses_csrf_and_sign_out_is_a_post(cast: dict[str, Persona]) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    refused = client.post("/login/", {"username": "kent_officer", "password": PASSWORD})
    assert refused.status_code == 403  # no CSRF token
    signed_in = client.post(
        "/login/", {"username": "kent_officer", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    # The password is the first factor: the second comes next, then the landing page.
    assert signed_in.status_code == 302 and signed_in["Location"] == "/two-factor/enrol/?next=%2F"
    assert client.get("/logout/").status_code == 405
    assert events("auth.login", actor=cast["kent_officer"].user)


# --- 404 for outsiders, 403 for insiders without the right -----------------------------------------


def test_an_officer_of_another_force_gets_404_everywhere_for_a_kent_task(cast: dict[str, Persona]) -> None:
    task = make_task(holder="KENT", accepted=True)
    lead = lead_create(task=task, actor=acting("KENT"), kind="online_account", description="Chat handle")
    for who in ["essex_officer", "gmp_officer", "titan_coordinator"]:
        client = web(cast[who])
        for url in [
            f"/tasks/{task.pk}/",
            f"/tasks/{task.pk}/safeguarding/",
            f"/tasks/{task.pk}/outcome/",
            f"/referrals/{task.referral_id}/",
        ]:
            assert client.get(url).status_code == 404, (who, url)
        for url, data in [
            (f"/tasks/{task.pk}/accept/", {}),
            (f"/tasks/{task.pk}/decline/", {"reason": "duplicate"}),
            (f"/tasks/{task.pk}/hand-down/", {"assignee_org": "ESSEX", "reason": "x"}),
            (f"/tasks/{task.pk}/leads/", {"kind": "other", "description": "x"}),
            (f"/leads/{lead.pk}/", {f"lead-{lead.pk}-status": "positive"}),
            (f"/tasks/{task.pk}/safeguarding/", {"action": "safe_and_well_check"}),
            (f"/tasks/{task.pk}/outcome/", OUTCOME),
        ]:
            assert client.post(url, data).status_code == 404, (who, url)
    assert Lead.objects.get(pk=lead.pk).status == "open"
    assert not SafeguardingAction.objects.exists() and not Outcome.objects.exists()


def test_a_nonexistent_task_is_the_same_404(cast: dict[str, Persona]) -> None:
    response = web(cast["kent_officer"]).get("/tasks/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404 and b"not yours to see" in response.content


def test_the_region_overseeing_a_force_task_reads_it_but_gets_403_on_work(cast: dict[str, Persona]) -> None:
    task = make_task(holder="KENT")
    region = web(cast["ersou_coordinator"])
    page = region.get(f"/tasks/{task.pk}/")
    assert page.status_code == 200 and b"Your region oversees this task" in page.content
    assert b"Accept task" not in page.content
    assert region.post(f"/tasks/{task.pk}/accept/").status_code == 403
    assert (
        region.post(f"/tasks/{task.pk}/hand-down/", {"assignee_org": "ESSEX", "reason": "x"}).status_code
        == 403
    )
    assert (
        region.post(f"/tasks/{task.pk}/safeguarding/", {"action": "safe_and_well_check"}).status_code == 403
    )
    assert Task.objects.get(pk=task.pk).status == "offered"


def test_hub_pages_are_for_the_hub(cast: dict[str, Persona]) -> None:
    task = make_task()
    for who in ["kent_officer", "ersou_coordinator", "ncmec"]:
        client = web(cast[who])
        assert client.get("/triage/").status_code == 403, who
        assert client.get("/board/").status_code == 403, who
    assert web(cast["kent_officer"]).get(f"/board/{task.pk}/reassign/").status_code == 403
    assert web(cast["essex_officer"]).get(f"/board/{task.pk}/reassign/").status_code == 404
    assert web(cast["auditor"]).get("/board/").status_code == 200
    assert (
        web(cast["auditor"])
        .post(f"/board/{task.pk}/reassign/", {"assignee_org": "ESSEX", "reason": "x"})
        .status_code
        == 403
    )
    assert web(cast["ncmec"]).get("/tasks/").status_code == 403


def test_only_auditors_read_the_audit_trail(cast: dict[str, Persona]) -> None:
    task = make_task()
    for who in ["coordinator", "kent_officer", "ersou_coordinator", "ncmec"]:
        client = web(cast[who])
        for url in ["/audit/", f"/audit/tasks/{task.pk}/", f"/audit/referrals/{task.referral_id}/"]:
            # A task the agency cannot see is a 404 before it is a 403, as in the API.
            expected = 404 if who == "ncmec" and "/tasks/" in url else 403
            assert client.get(url).status_code == expected, (who, url)
    assert not events("audit.searched")
    auditor = web(cast["auditor"])
    query = {"actor": "factory-system", "action": "task.*", "purpose": "Complaint 2025/17"}
    assert auditor.get("/audit/", query).status_code == 200
    searched = events("audit.searched", actor=cast["auditor"].user)
    assert len(searched) == 1 and searched[0].changes["query"] == {
        "actor": "factory-system",
        "action": "task.*",
    }
    assert searched[0].justification == "Complaint 2025/17"  # the purpose of the consultation (DPA s.62)
    timeline = auditor.get(f"/audit/tasks/{task.pk}/")
    assert timeline.status_code == 200 and b"task.allocated" in timeline.content
    assert events("audit.searched", task_id=task.pk)


def test_the_audit_search_filters(cast: dict[str, Persona]) -> None:
    task = make_task()
    web(cast["kent_officer"]).get(f"/tasks/{task.pk}/")
    auditor = web(cast["auditor"])
    body = auditor.get("/audit/", {"object_id": str(task.pk), "actor": "kent_officer"}).content.decode()
    assert 'data-action="task.viewed"' in body and 'data-action="task.allocated"' not in body
    body = auditor.get("/audit/", {"organisation": "KENT", "action": "task.viewed"}).content.decode()
    assert 'data-action="task.viewed"' in body
    assert (
        'data-action="task.viewed"'
        not in auditor.get("/audit/", {"until": "2000-01-01T00:00"}).content.decode()
    )
    bad = auditor.get("/audit/", {"since": "yesterday-ish"})
    assert (
        bad.status_code == 400 and b"Enter a date and time" in bad.content and b"yesterday-ish" in bad.content
    )


# --- The board's deadline states -----------------------------------------------------------------


def test_the_boards_deadline_filter_agrees_with_the_apis_deadline_state(cast: dict[str, Persona]) -> None:
    """One meaning of overdue: the board's "overdue" filter lists exactly the API's
    ``?overdue=true`` (escalated tasks included, a paused task never, however late), and every
    row's word on the board is the API's ``deadline_state`` for that task."""
    escalated = make_task(holder="ESSEX")  # first: the sweep below fires whatever is due by then
    alerts_sweep(now=escalated.accept_due_at + timedelta(seconds=1))  # step 1 fires; nobody acknowledges
    now = timezone.now()
    on_time = make_task()
    due_soon = make_task(accepted=True)
    Task.objects.filter(pk=due_soon.pk).update(
        created_at=now - timedelta(days=10), due_at=now + timedelta(hours=2)
    )
    overdue = make_task(accepted=True)
    Task.objects.filter(pk=overdue.pk).update(due_at=now - timedelta(minutes=5))
    accept_late = make_task()
    Task.objects.filter(pk=accept_late.pk).update(accept_due_at=now - timedelta(minutes=1))
    paused = make_task(accepted=True)
    task_pause(
        task=paused,
        actor=cast["kent_supervisor"].user,
        reason="MLAT request to the US",
        until=timezone.now() + timedelta(days=1),
    )
    Task.objects.filter(pk=paused.pk).update(due_at=now - timedelta(hours=1))  # late, but stopped
    declined = make_task()
    task_decline(task=declined, actor=cast["kent_officer"].user, reason="duplicate")
    closed = make_task(accepted=True)
    Task.objects.filter(pk=closed.pk).update(status=Task.Status.CANCELLED)
    expected = {
        "on_time": {on_time.pk}, "due_soon": {due_soon.pk},
        "overdue": {overdue.pk, accept_late.pk, escalated.pk},  # escalated is overdue too
        "escalated": {escalated.pk}, "paused": {paused.pk}, "declined": {declined.pk}, "closed": {closed.pk},
    }  # fmt: skip
    hub = web(cast["coordinator"])
    api = cast["coordinator"].client
    for state, ids in expected.items():
        body = hub.get("/board/", {"deadline": state}).content.decode()
        shown = {task.pk for task in Task.objects.all() if f'data-task="{task.pk}"' in body}
        assert shown == ids, state
    api_overdue = {row["id"] for row in api.get("/api/v1/tasks/?overdue=true").json()["results"]}
    assert api_overdue == {str(pk) for pk in expected["overdue"]}  # the board's filter, exactly
    assert str(paused.pk) not in api_overdue
    # Each row's word on the board, the API's deadline_state and the Python rule agree.
    api_states = {row["id"]: row["deadline_state"] for row in api.get("/api/v1/tasks/").json()["results"]}
    board = hub.get("/board/").content.decode()
    board_states = {}
    for row in board.split('data-task="')[1:]:
        pk, _, rest = row.partition('"')
        board_states[pk] = rest.split('data-deadline="', 1)[1].partition('"')[0]
    python_states = {
        str(task.pk): task_deadline_state(task, timezone.now())
        for task in with_escalation_flag(Task.objects.all())
    }
    assert board_states == api_states == python_states
    assert api_states[str(paused.pk)] == "paused" and api_states[str(escalated.pk)] == "escalated"
    assert board.index(f'data-task="{overdue.pk}"') < board.index(
        f'data-task="{on_time.pk}"'
    )  # most urgent first
    assert board.index(f'data-task="{on_time.pk}"') < board.index(f'data-task="{closed.pk}"')
    assert "Overdue (incl. escalated)" in board
    bad = hub.get("/board/", {"deadline": "whenever"})
    assert bad.status_code == 400 and b"Deadline: choose one of the options offered." in bad.content


# --- Inbox, acknowledging an escalation, pausing the clocks -------------------------------------


def test_an_escalation_reaches_the_officers_inbox_and_acknowledging_stops_it(
    cast: dict[str, Persona],
) -> None:
    task = make_task(holder="KENT")
    alerts_sweep(now=task.accept_due_at + timedelta(seconds=1))
    kent = web(cast["kent_officer"])
    listing = kent.get("/tasks/").content.decode()
    assert 'data-kind="escalation"' in listing and f"/tasks/{task.pk}/acknowledge/" not in listing
    inbox = kent.get("/inbox/").content.decode()
    assert "ESCALATION step 1" in inbox and "supervisors are told next" in inbox
    assert f"/tasks/{task.pk}/acknowledge/" not in inbox
    page = kent.get(f"/tasks/{task.pk}/").content.decode()
    assert "Escalated: this task missed its deadline" in page
    # The officer cannot acknowledge their own force's breach; their supervisor can.
    assert "Acknowledge escalation" not in page
    assert kent.post(f"/tasks/{task.pk}/acknowledge/", {"note": "mine"}).status_code == 403
    supervisor = web(cast["kent_supervisor"])
    assert "Acknowledge escalation" in supervisor.get(f"/tasks/{task.pk}/").content.decode()
    # Outsiders: another force cannot see the task; an auditor is not in the chain.
    assert web(cast["essex_officer"]).post(f"/tasks/{task.pk}/acknowledge/").status_code == 404
    assert web(cast["auditor"]).post(f"/tasks/{task.pk}/acknowledge/").status_code == 403
    done = supervisor.post(f"/tasks/{task.pk}/acknowledge/", {"note": "On it", "next": "/inbox/"})
    assert done.status_code == 302 and done["Location"] == "/inbox/"
    event = AuditEvent.objects.get(task_id=task.pk, action="task.escalation_acknowledged")
    assert event.actor == cast["kent_supervisor"].user and event.justification == "On it"
    assert "Escalated: this task" not in kent.get(f"/tasks/{task.pk}/").content.decode()
    kent = supervisor
    again = kent.post(f"/tasks/{task.pk}/acknowledge/", {"note": "typed twice"})
    assert again.status_code == 409 and b"no escalation in progress" in again.content
    assert b"typed twice" in again.content
    offsite = kent.post(f"/tasks/{task.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert offsite.status_code == 409  # refused, and never redirected off-site


def test_marking_read_is_for_the_recipient_only(cast: dict[str, Persona]) -> None:
    task = make_task(holder="KENT")
    alerts_sweep(now=task.accept_due_at + timedelta(seconds=1))
    note = Notification.objects.filter(recipient=cast["kent_officer"].user).first()
    assert note is not None
    assert web(cast["kent_supervisor"]).post(f"/inbox/{note.pk}/read/").status_code == 404
    assert web(cast["kent_officer"]).post(f"/inbox/{note.pk}/read/").status_code == 302
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_only_a_supervisor_pauses_and_the_reason_is_kept(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    assert web(cast["kent_officer"]).post(f"/tasks/{task.pk}/pause/", {"reason": "MLAT"}).status_code == 403
    supervisor = web(cast["kent_supervisor"])
    refused = supervisor.post(f"/tasks/{task.pk}/pause/", {"reason": ""})
    assert refused.status_code == 400 and b"Say what the task is waiting for." in refused.content
    missing_end = supervisor.post(f"/tasks/{task.pk}/pause/", {"reason": "MLAT request to the US"})
    assert missing_end.status_code == 400 and b"Say when the clocks restart." in missing_end.content
    assert b"MLAT request to the US" in missing_end.content  # what was typed is kept
    assert (
        supervisor.post(
            f"/tasks/{task.pk}/pause/", {"reason": "MLAT request to the US", "until": pause_until_local()}
        ).status_code
        == 302
    )
    page = supervisor.get(f"/tasks/{task.pk}/").content.decode()
    assert "Clocks stopped since" in page and "MLAT request to the US" in page
    assert supervisor.post(f"/tasks/{task.pk}/resume/").status_code == 302
    assert Task.objects.get(pk=task.pk).paused_at is None
    again = supervisor.post(f"/tasks/{task.pk}/resume/")
    assert again.status_code == 409 and b"not paused" in again.content


def test_web_refusals_are_audited_like_the_apis(cast: dict[str, Persona]) -> None:
    task = make_task(holder="KENT")
    web(cast["essex_officer"]).get(f"/tasks/{task.pk}/")
    web(cast["coordinator"]).get("/audit/")
    missing = AuditEvent.objects.get(action="access.not_found", actor=cast["essex_officer"].user)
    assert missing.object_id == str(task.pk) and missing.outcome == "not_found"
    denied = AuditEvent.objects.get(action="access.denied", actor=cast["coordinator"].user)
    assert denied.changes["path"] == "/audit/" and denied.outcome == "denied"


# --- Forms: clear messages, nothing the user typed is lost ------------------------------------------


def test_grading_without_a_rationale_is_refused_and_keeps_the_input(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    response = web(cast["coordinator"]).post(
        f"/referrals/{referral.pk}/grade/",
        {
            "grade": "2",
            "risk": "high",
            "access_to_children": ["work"],
            "rationale": "",
            "assignee_org": "KENT",
            "instructions": "Check the school staff list first",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body and "Give a rationale for the grading." in body
    assert "Check the school staff list first" in body
    assert 'value="2" id="id_grade_1" required checked' in body
    assert '<option value="KENT" selected>' in body
    assert Referral.objects.get(pk=referral.pk).status == "received" and not Task.objects.exists()


def test_grade_and_allocate_is_one_decision_all_or_nothing(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    DeadlinePolicy.objects.filter(grade=3, risk="low").delete()  # allocation will be refused
    response = web(cast["coordinator"]).post(
        f"/referrals/{referral.pk}/grade/",
        {
            "grade": "3",
            "risk": "low",
            "rationale": "Little known",
            "assignee_org": "KENT",
        },
    )
    assert response.status_code == 400 and b"No deadline policy" in response.content
    assert b"Little known" in response.content
    assert Referral.objects.get(pk=referral.pk).grade is None and not TriageDecision.objects.exists()


def test_grading_and_allocating_from_the_referral_page(cast: dict[str, Persona]) -> None:
    referral = make_referral(urgent=True)
    hub = web(cast["coordinator"])
    queue = hub.get("/triage/").content.decode()
    assert referral.external_id in queue
    response = hub.post(
        f"/referrals/{referral.pk}/grade/",
        {
            "grade": "2",
            "risk": "high",
            "access_to_children": ["family", "work"],
            "information_incomplete": "on",
            "missing_information": ["suspect_location"],
            "rationale": "First-generation images; works at a school.",
            "assignee_org": "KENT",
        },
        follow=True,
    )
    assert (
        response.status_code == 200
        and b"Graded 2 (high risk) and allocated to Kent Police." in response.content
    )
    task = Task.objects.get(referral=referral)
    assert task.assignee_org.code == "KENT" and task.status == "offered"
    referral.refresh_from_db()
    assert referral.status == "allocated" and referral.is_information_incomplete and referral.grade == 2
    assert referral.missing_information == ["suspect_location"], "what is missing is kept with the flag"
    # Allocating again without changing the grading needs no rationale and adds no regrade.
    again = hub.post(
        f"/referrals/{referral.pk}/grade/",
        {
            "grade": "2",
            "risk": "high",
            "access_to_children": ["work", "family"],
            "information_incomplete": "on",
            "missing_information": ["suspect_location"],
            "assignee_org": "ESSEX",
        },
    )
    assert again.status_code == 302 and TriageDecision.objects.filter(referral=referral).count() == 1
    nothing = hub.post(
        f"/referrals/{referral.pk}/grade/",
        {
            "grade": "2",
            "risk": "high",
            "access_to_children": ["work", "family"],
            "information_incomplete": "on",
            "missing_information": ["suspect_location"],
        },
    )
    assert nothing.status_code == 400 and b"Nothing to save" in nothing.content
    unsaid = hub.post(
        f"/referrals/{referral.pk}/grade/",
        {"grade": "1", "risk": "very_high", "information_incomplete": "on", "rationale": "Worse"},
    )
    assert unsaid.status_code == 400 and b"Say what is missing" in unsaid.content
    assert Referral.objects.get(pk=referral.pk).grade == 2, "nothing stored"


def test_decline_other_without_a_note_keeps_the_reason(cast: dict[str, Persona]) -> None:
    task = make_task()
    response = web(cast["kent_officer"]).post(f"/tasks/{task.pk}/decline/", {"reason": "other", "note": ""})
    assert response.status_code == 400
    assert (
        b"Explain the reason in a note" in response.content
        and b'<option value="other" selected>' in response.content
    )
    assert Task.objects.get(pk=task.pk).status == "offered"


def test_a_refused_transition_is_a_409_with_the_services_message(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    response = web(cast["kent_officer"]).post(f"/tasks/{task.pk}/accept/")
    assert response.status_code == 409 and b"Only an offered task can be accepted" in response.content


def test_safeguarding_fragment_keeps_input_and_answers_htmx_with_the_fragment(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    kent = web(cast["kent_officer"])
    refused = kent.post(
        f"/tasks/{task.pk}/safeguarding/",
        {
            "action": "referred_mash",
            "children_identified": "3",
            "children_safeguarded": "2",
            "referred_to": "",
            "notes": "Two siblings at the address",
        },
        HTTP_HX_REQUEST="true",
    )
    body = refused.content.decode()
    assert refused.status_code == 400 and "<html" not in body
    assert "Name the body the children were referred to." in body and "Two siblings at the address" in body
    assert 'value="3"' in body
    saved = kent.post(
        f"/tasks/{task.pk}/safeguarding/",
        {
            "action": "referred_mash",
            "children_identified": "3",
            "children_safeguarded": "2",
            "referred_to": "Kent MASH",
            "notes": "Two siblings",
        },
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200 and b"Safeguarding action recorded." in saved.content
    assert b"Kent MASH" in saved.content and SafeguardingAction.objects.filter(task=task).count() == 1
    # Without htmx the same URL is a whole page (works with JavaScript off).
    full = kent.get(f"/tasks/{task.pk}/safeguarding/")
    assert full.status_code == 200 and b"<html" in full.content


def test_recording_the_outcome_completes_the_task(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    kent = web(cast["kent_officer"])
    missing = kent.post(
        f"/tasks/{task.pk}/outcome/",
        {**OUTCOME, "suspect_has_access_to_children": ""},
        HTTP_HX_REQUEST="true",
    )
    assert missing.status_code == 400 and b"Answer yes or no." in missing.content
    assert b"Internal note: suspect is 15" in missing.content
    done = kent.post(f"/tasks/{task.pk}/outcome/", OUTCOME, HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Redirect"] == f"/tasks/{task.pk}/#outcome"
    assert Task.objects.get(pk=task.pk).status == "completed"
    again = kent.post(f"/tasks/{task.pk}/outcome/", OUTCOME)
    assert again.status_code == 409 and b"An outcome is already recorded" in again.content


# --- Every page that shows a sensitive record is audited like an API read ---------------------------


def test_page_loads_are_audited_like_api_reads(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    lead_create(task=task, actor=acting("KENT"), kind="device", description="Laptop")
    kent = web(cast["kent_officer"])
    user = cast["kent_officer"].user
    kent.get(f"/tasks/{task.pk}/")
    assert events("task.viewed", actor=user, task_id=task.pk)
    assert events("lead.listed", actor=user, task_id=task.pk)  # the API's name for the same read
    kent.post(
        f"/tasks/{task.pk}/safeguarding/",
        {"action": "safe_and_well_check", "children_identified": "1", "children_safeguarded": "1"},
    )
    kent.get(f"/tasks/{task.pk}/safeguarding/", HTTP_HX_REQUEST="true")
    assert events("safeguarding_action.listed", actor=user, task_id=task.pk)
    kent.post(f"/tasks/{task.pk}/outcome/", OUTCOME)
    kent.get(f"/tasks/{task.pk}/outcome/", HTTP_HX_REQUEST="true")
    assert events("outcome.viewed", actor=user, referral_id=task.referral_id)
    listed = events("task.listed", actor=user)
    kent.get("/tasks/", {"show": "all"})
    listed = events("task.listed", actor=user)
    assert listed and str(task.pk) in listed[-1].changes["ids"]
    kent.get(f"/referrals/{task.referral_id}/")
    assert events("referral.viewed", actor=user, referral_id=task.referral_id)
    hub = web(cast["coordinator"])
    hub.get("/board/", {"holder": "KENT"})
    board = events("task.listed", actor=cast["coordinator"].user)[-1]
    assert board.changes["query"]["holder"] == "KENT" and str(task.pk) in board.changes["ids"]
    hub.get("/triage/")
    assert events("referral.listed", actor=cast["coordinator"].user)


# --- The agency's read-only view --------------------------------------------------------------------


def test_the_agency_sees_status_and_outcome_codes_never_internal_text(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    lead_create(task=task, actor=acting("KENT"), kind="device", description="Secret lead text")
    web(cast["kent_officer"]).post(f"/tasks/{task.pk}/outcome/", OUTCOME)
    ncmec = web(cast["ncmec"])
    listing = ncmec.get("/agency/").content.decode()
    detail = ncmec.get(f"/referrals/{task.referral_id}/").content.decode()
    for body in (listing, detail):
        assert task.referral.external_id in body
        assert "Outcome 21" in body and "Referred to children" in body
        for secret in ["Internal note", "Secret lead text", "Hash match on upload", "Kent Police"]:
            assert secret not in body
    assert events("referral.viewed", actor=cast["ncmec"].user, referral_id=task.referral_id)
    assert ncmec.get(f"/tasks/{task.pk}/").status_code == 404
    other = make_triaged(agency="IWF")
    assert ncmec.get(f"/referrals/{other.pk}/").status_code == 404
