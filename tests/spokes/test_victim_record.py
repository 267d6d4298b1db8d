"""The victim-identification record: children, their checks, and the release gate (no bail or
release while a child the suspect can reach is unchecked, unless a supervisor overrides)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub.models import AuditEvent, Notification
from safeguarding.models import Outcome
from spokes.models import Child, Handoff, SuspectEvent
from spokes.services import handoffs_overdue
from tests.conftest import Persona
from tests.factories import make_task
from tests.web import Client

pytestmark = pytest.mark.django_db


def _add(client: object, task: object, reference: str, relation: str = "reachable", **extra: object) -> dict:  # type: ignore[type-arg]
    response = client.post(  # type: ignore[attr-defined]
        f"/api/v1/tasks/{task.pk}/children/",  # type: ignore[attr-defined]
        {"reference": reference, "relation": relation, **extra},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()  # type: ignore[no-any-return]


def test_bail_is_refused_while_a_reachable_child_is_unchecked_then_allowed_once_checked(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    niece = _add(officer, task, "C1", access_route="family", identified=True)
    pupil = _add(officer, task, "C2", access_route="work")
    _add(officer, task, "D1", relation="depicted")  # a depicted child does not hold the release
    arrested = officer.post(f"/api/v1/tasks/{task.pk}/suspect-events/", {"kind": "arrested"}, format="json")
    assert arrested.status_code == 201
    refused = officer.post(f"/api/v1/tasks/{task.pk}/suspect-events/", {"kind": "bailed"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "children_unchecked"
    assert set(refused.json()["details"]["unchecked_children"]) == {niece["id"], pupil["id"]}
    assert not SuspectEvent.objects.filter(task=task, kind="bailed").exists()
    check = officer.post(
        f"/api/v1/children/{niece['id']}/checks/",
        {"kind": "safe_and_well", "result": "Seen at home, well"},
        format="json",
    )
    assert check.status_code == 201
    still = officer.post(f"/api/v1/tasks/{task.pk}/suspect-events/", {"kind": "bailed"}, format="json")
    assert still.status_code == 409 and still.json()["details"]["unchecked_children"] == [pupil["id"]]
    officer.post(
        f"/api/v1/children/{pupil['id']}/checks/",
        {"kind": "strategy_discussion", "result": "Strategy meeting with the school"},
        format="json",
    )
    assert (
        officer.post(
            f"/api/v1/tasks/{task.pk}/suspect-events/", {"kind": "bailed"}, format="json"
        ).status_code
        == 201
    )
    listed = officer.get(f"/api/v1/tasks/{task.pk}/children/").json()
    assert [len(c["checks"]) for c in listed] == [1, 1, 0]
    assert AuditEvent.objects.filter(action="child.listed", task_id=task.pk).exists()


def test_only_a_supervisor_overrides_the_release_gate_and_the_hub_is_told(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    _add(cast["kent_officer"].client, task, "C1")
    body = {"kind": "released_under_investigation", "override_reason": "Custody clock ran out"}
    officer_try = cast["kent_officer"].client.post(
        f"/api/v1/tasks/{task.pk}/suspect-events/", body, format="json"
    )
    assert officer_try.status_code == 403
    override = cast["kent_supervisor"].client.post(
        f"/api/v1/tasks/{task.pk}/suspect-events/", body, format="json"
    )
    assert override.status_code == 201 and override.json()["override_reason"] == "Custody clock ran out"
    told = Notification.objects.filter(kind="release_override", recipient=cast["coordinator"].user)
    assert told.count() == 1 and "unchecked" in told[0].subject
    event = AuditEvent.objects.get(action="suspect_event.recorded", task_id=task.pk)
    assert event.justification == "Custody clock ran out" and event.changes["unchecked_reachable_children"]


def test_bad_input_is_refused_and_nothing_stored(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    assert (
        officer.post(
            f"/api/v1/tasks/{task.pk}/children/", {"reference": "C1", "relation": "cousin"}, format="json"
        ).status_code
        == 400
    )
    kid = _add(officer, task, "C1")
    assert (
        officer.post(
            f"/api/v1/tasks/{task.pk}/children/", {"reference": "C1", "relation": "reachable"}, format="json"
        ).status_code
        == 400
    ), "one reference once per task"
    later = (timezone.now() + timedelta(days=1)).isoformat()
    future = officer.post(
        f"/api/v1/children/{kid['id']}/checks/",
        {"kind": "safe_and_well", "result": "x", "checked_at": later},
        format="json",
    )
    assert future.status_code == 400 and "future" in future.json()["checked_at"][0]
    assert Child.objects.get(pk=kid["id"]).checks.count() == 0
    # Another force sees none of it; the region reads but does not write; an agency nothing.
    assert cast["essex_officer"].client.get(f"/api/v1/tasks/{task.pk}/children/").status_code == 404
    assert cast["ncmec"].client.get(f"/api/v1/tasks/{task.pk}/children/").status_code == 404
    assert cast["ersou_coordinator"].client.get(f"/api/v1/tasks/{task.pk}/children/").status_code == 200
    assert (
        cast["ersou_coordinator"]
        .client.post(f"/api/v1/children/{kid['id']}/checks/", {"kind": "other", "result": "x"}, format="json")
        .status_code
        == 403
    )
    offered = make_task()
    assert (
        officer.post(
            f"/api/v1/tasks/{offered.pk}/children/",
            {"reference": "C1", "relation": "reachable"},
            format="json",
        ).status_code
        == 409
    ), "accept the task first"


def test_an_outcome_names_no_more_victims_than_children_identified(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    _add(officer, task, "C1", identified=True)
    _add(officer, task, "C2")
    outcome = {
        "justice_outcome": "charge_summons",
        "safeguarding_outcome": "child_safeguarded",
        "arrests": 1,
        "children_safeguarded": 1,
        "victims_identified": 2,
    }
    refused = officer.post(f"/api/v1/referrals/{task.referral_id}/outcome/", outcome, format="json")
    assert refused.status_code == 400 and "1 identified child" in refused.json()["victims_identified"][0]
    assert not Outcome.objects.filter(referral_id=task.referral_id).exists()
    ok = officer.post(
        f"/api/v1/referrals/{task.referral_id}/outcome/", {**outcome, "victims_identified": 1}, format="json"
    )
    assert ok.status_code == 201


def test_the_task_page_lists_children_and_highlights_the_unchecked(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    client = Client()
    client.force_login(cast["kent_officer"].user)
    assert (
        client.post(
            f"/tasks/{task.pk}/children/",
            {"reference": "C1", "relation": "reachable", "access_route": "family"},
        ).status_code
        == 302
    )
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert 'id="unchecked-children"' in page and 'data-child="C1"' in page and "Not checked" in page
    refused = client.post(f"/tasks/{task.pk}/suspect-events/", {"kind": "bailed"})
    assert (
        refused.status_code == 409 and "Check the children the suspect can reach" in refused.content.decode()
    )
    kid = Child.objects.get(task=task)
    assert (
        client.post(
            f"/children/{kid.pk}/checks/",
            {f"check-{kid.pk}-kind": "safe_and_well", f"check-{kid.pk}-result": "Seen"},
        ).status_code
        == 302
    )
    assert 'id="unchecked-children"' not in client.get(f"/tasks/{task.pk}/").content.decode()
    assert client.post(f"/tasks/{task.pk}/suspect-events/", {"kind": "bailed"}).status_code == 302


def test_a_child_handed_to_another_force_is_accepted_and_the_sender_sees_the_answer(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    kid = _add(cast["kent_officer"].client, task, "C7", access_route="family")
    offered = cast["kent_officer"].client.post(
        f"/api/v1/children/{kid['id']}/handoffs/",
        {"to_org": "ESSEX", "note": "Lives in Essex"},
        format="json",
    )
    assert offered.status_code == 201 and offered.json()["status"] == "pending"
    handoff_id = offered.json()["id"]
    again = cast["kent_officer"].client.post(
        f"/api/v1/children/{kid['id']}/handoffs/", {"to_org": "GMP"}, format="json"
    )
    assert again.status_code == 409, "one hand-off waiting at a time"
    told = Notification.objects.filter(kind="handoff_offered", recipient=cast["essex_officer"].user)
    assert told.exists() and told[0].task_id is None, "the receiver is told without seeing the task"
    essex = cast["essex_officer"].client
    listed = essex.get("/api/v1/handoffs/").json()
    assert [h["id"] for h in listed] == [handoff_id]
    assert listed[0]["child"]["reference"] == "C7" and "task" not in listed[0]["child"]
    assert task.referral.summary not in str(listed), "nothing else of the task"
    assert essex.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert cast["gmp_officer"].client.get("/api/v1/handoffs/").json() == []
    assert (
        cast["kent_officer"]
        .client.post(f"/api/v1/handoffs/{handoff_id}/accept/", {}, format="json")
        .status_code
        == 403
    )  # only the receiver
    declined = essex.post(f"/api/v1/handoffs/{handoff_id}/decline/", {}, format="json")
    assert declined.status_code == 400, "a decline says why"
    accepted = essex.post(f"/api/v1/handoffs/{handoff_id}/accept/", {}, format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    twice = essex.post(f"/api/v1/handoffs/{handoff_id}/accept/", {}, format="json")
    assert twice.status_code == 409 and twice.json()["code"] == "answered"
    answer = Notification.objects.filter(kind="handoff_answered", recipient=cast["kent_officer"].user)
    assert answer.exists() and "accepted" in answer[0].subject
    trail = AuditEvent.objects.filter(object_id=handoff_id, outcome="success").order_by("seq")
    assert list(trail.values_list("action", flat=True)) == ["handoff.offered", "handoff.accepted"]
    assert AuditEvent.objects.filter(object_id=handoff_id, action="access.denied").count() == 1  # Kent's try


def test_a_hand_off_nobody_answers_tells_the_senders_supervisors_and_the_hub_once(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    kid = _add(cast["kent_officer"].client, task, "C8")
    offered = cast["kent_officer"].client.post(
        f"/api/v1/children/{kid['id']}/handoffs/", {"to_org": "IWF", "lawful_basis": "consent"}, format="json"
    )
    assert offered.status_code == 201
    due = timezone.now() + timedelta(hours=24, minutes=1)
    assert handoffs_overdue(now=due - timedelta(hours=1)) == 0
    assert handoffs_overdue(now=due) == 1
    assert handoffs_overdue(now=due) == 0, "told once"
    overdue = Notification.objects.filter(kind="handoff_overdue")
    assert {n.recipient.username for n in overdue} == {"kent_supervisor", "coordinator"}


def test_an_agency_outside_policing_receives_a_child_only_with_consent_or_a_reason(
    cast: dict[str, Persona],
) -> None:
    """The consent gate (Primero's): police share for a policing purpose; an agency gets a child
    only with consent, or with the sender's recorded reason to share without it."""
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    kid = _add(officer, task, "G1")
    url = f"/api/v1/children/{kid['id']}/handoffs/"
    refused = {
        "no basis": {"to_org": "INTERPOL"},
        "policing purpose": {"to_org": "INTERPOL", "lawful_basis": "policing_purpose"},
        "no reason": {"to_org": "INTERPOL", "lawful_basis": "safeguarding_duty", "basis_reason": " "},
        "unknown basis": {"to_org": "INTERPOL", "lawful_basis": "because"},
    }
    for what, body in refused.items():
        response = officer.post(url, body, format="json")
        assert response.status_code == 400, what
        field = "basis_reason" if what == "no reason" else "lawful_basis"
        assert field in str(response.json()), (what, response.json())
    assert not Handoff.objects.exists(), "nothing stored"
    made = officer.post(
        url,
        {"to_org": "INTERPOL", "lawful_basis": "safeguarding_duty", "basis_reason": "Abroad, at risk now"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["lawful_basis"] == "safeguarding_duty"
    offered = AuditEvent.objects.get(action="handoff.offered", object_id=made.json()["id"])
    assert offered.changes["lawful_basis"] == "safeguarding_duty"
    assert offered.justification == "Abroad, at risk now"
    police = _add(officer, task, "G2")
    to_essex = officer.post(f"/api/v1/children/{police['id']}/handoffs/", {"to_org": "ESSEX"}, format="json")
    assert to_essex.status_code == 201 and to_essex.json()["lawful_basis"] == "policing_purpose"


def test_the_sender_withdraws_an_unanswered_hand_off_and_the_receiver_loses_the_child(
    cast: dict[str, Persona],
) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    kid = _add(officer, task, "W1")
    officer.post(f"/api/v1/children/{kid['id']}/checks/", {"kind": "safe_and_well", "result": "Well"},
                 format="json")  # fmt: skip
    handoff_id = officer.post(
        f"/api/v1/children/{kid['id']}/handoffs/", {"to_org": "ESSEX"}, format="json"
    ).json()["id"]
    essex = cast["essex_officer"].client
    assert (
        essex.post(f"/api/v1/handoffs/{handoff_id}/revoke/", {"reason": "x"}, format="json").status_code
        == 403
    )
    no_reason = officer.post(f"/api/v1/handoffs/{handoff_id}/revoke/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    assert Handoff.objects.get(pk=handoff_id).status == "pending", "nothing changed"
    revoked = officer.post(
        f"/api/v1/handoffs/{handoff_id}/revoke/", {"reason": "Wrong force: moved to Kent"}, format="json"
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    told = Notification.objects.get(kind="handoff_revoked", recipient=cast["essex_officer"].user)
    assert "W1" in told.subject and told.body == "Wrong force: moved to Kent"
    seen = essex.get("/api/v1/handoffs/").json()
    assert seen[0]["status"] == "revoked"
    assert seen[0]["child"] == {"id": kid["id"], "reference": "W1"}, "no checks once withdrawn"
    late = essex.post(f"/api/v1/handoffs/{handoff_id}/accept/", {}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "revoked"
    again = officer.post(f"/api/v1/handoffs/{handoff_id}/revoke/", {"reason": "again"}, format="json")
    assert again.status_code == 409
    anew = officer.post(f"/api/v1/children/{kid['id']}/handoffs/", {"to_org": "GMP"}, format="json")
    assert anew.status_code == 201, "a withdrawn offer frees the child for another hand-off"
    assert handoffs_overdue(now=timezone.now() + timedelta(days=3)) == 1, "only the live offer is chased"
    trail = AuditEvent.objects.filter(object_id=handoff_id, outcome="success").order_by("seq")
    assert list(trail.values_list("action", flat=True)) == ["handoff.offered", "handoff.revoked"]
    auditor = Client()
    auditor.force_login(cast["auditor"].user)
    html = auditor.get("/review/").content.decode()
    custody = html[html.index('data-child="W1" data-holder') :]
    assert "withdrawn: Wrong force: moved to Kent" in custody[: custody.index("</ol>")]
    page = Client()
    page.force_login(cast["kent_officer"].user)
    listing = page.get("/handoffs/").content.decode()
    assert f'action="/handoffs/{anew.json()["id"]}/revoke/"' in listing, "the live offer can be withdrawn"
    assert f'action="/handoffs/{handoff_id}/revoke/"' not in listing


def test_requests_outside_vihub_show_their_age_whatever_the_pauses(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    sent = (timezone.now() - timedelta(days=40)).isoformat()
    made = officer.post(
        f"/api/v1/tasks/{task.pk}/requests/",
        {"kind": "mlat", "counterpart": "US Department of Justice", "sent_at": sent},
        format="json",
    )
    assert made.status_code == 201 and made.json()["waiting_days"] >= 40
    future = (timezone.now() + timedelta(days=2)).isoformat()
    assert (
        officer.post(
            f"/api/v1/tasks/{task.pk}/requests/",
            {"kind": "platform", "counterpart": "X", "sent_at": future},
            format="json",
        ).status_code
        == 400
    )
    waiting = cast["kent_supervisor"].client.get("/api/v1/requests/?waiting=true").json()
    assert [r["id"] for r in waiting] == [made.json()["id"]]
    assert cast["essex_officer"].client.get("/api/v1/requests/").json() == []
    page = Client()
    page.force_login(cast["kent_officer"].user)
    assert "waiting 40" in page.get(f"/tasks/{task.pk}/").content.decode()
    auditor = Client()
    auditor.force_login(cast["auditor"].user)
    report = auditor.get("/reports/").content.decode()
    waiting_row = report[report.index(f'data-request="{made.json()["id"]}"') :]
    waiting_row = waiting_row[: waiting_row.index("</tr>")]
    assert "US Department of Justice" in waiting_row and "Kent Police" in waiting_row
    assert '<td class="num" data-col="days-waiting">40</td>' in waiting_row, (
        "the reports name the oldest waits"
    )
    viewed = AuditEvent.objects.filter(action="report.spokes_viewed", actor=cast["auditor"].user).get()
    assert viewed.changes["waiting_requests"] == [made.json()["id"]]
    answered = officer.post(f"/api/v1/requests/{made.json()['id']}/answer/")
    assert answered.status_code == 200 and answered.json()["answered_at"] is not None
    assert officer.post(f"/api/v1/requests/{made.json()['id']}/chase/").status_code == 409
    assert cast["kent_supervisor"].client.get("/api/v1/requests/?waiting=true").json() == []
    answered_report = auditor.get("/reports/").content.decode()
    assert made.json()["id"] not in answered_report, "an answered request leaves the list"


def test_an_auditor_sees_checks_before_each_release_custody_and_unaccepted_hand_offs(
    cast: dict[str, Persona],
) -> None:
    """Issue 12: from the UI alone, an auditor answers which reachable children were checked
    before a release, who held each child and from when, and which hand-offs nobody accepted."""
    task = make_task(accepted=True)
    officer = cast["kent_officer"].client
    seen = _add(officer, task, "R1", access_route="family")
    missed = _add(officer, task, "R2", access_route="work")
    before = (timezone.now() - timedelta(hours=2)).isoformat()
    checked = officer.post(f"/api/v1/children/{seen['id']}/checks/",
                           {"kind": "safe_and_well", "result": "Seen, well", "checked_at": before},
                           format="json")  # fmt: skip
    assert checked.status_code == 201, checked.json()
    released = cast["kent_supervisor"].client.post(
        f"/api/v1/tasks/{task.pk}/suspect-events/",
        {"kind": "released_under_investigation", "override_reason": "Custody clock ran out"},
        format="json",
    )
    assert released.status_code == 201
    late_check = {"kind": "strategy_discussion", "result": "Checked the day after"}
    late = officer.post(f"/api/v1/children/{missed['id']}/checks/", late_check, format="json")
    assert late.status_code == 201  # after the release: it must not count as checked before it
    to_essex = officer.post(f"/api/v1/children/{seen['id']}/handoffs/", {"to_org": "ESSEX"}, format="json")
    assert cast["essex_officer"].client.post(f"/api/v1/handoffs/{to_essex.json()['id']}/accept/", {},
                                             format="json").status_code == 200  # fmt: skip
    to_gmp = officer.post(f"/api/v1/children/{missed['id']}/handoffs/", {"to_org": "GMP"}, format="json")
    decline = {"reason": "Not our area"}
    gmp = cast["gmp_officer"].client
    assert (
        gmp.post(f"/api/v1/handoffs/{to_gmp.json()['id']}/decline/", decline, format="json").status_code
        == 200
    )
    to_iwf = officer.post(f"/api/v1/children/{missed['id']}/handoffs/",
                          {"to_org": "IWF", "lawful_basis": "consent"}, format="json")  # fmt: skip
    assert to_iwf.status_code == 201

    auditor = Client()
    auditor.force_login(cast["auditor"].user)
    response = auditor.get("/review/")
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f'data-event="{released.json()["id"]}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-unchecked="1"' in row and "Custody clock ran out" in row
    assert 'data-child="R1" data-checked="yes"' in row and 'data-child="R2" data-checked="no"' in row
    assert 'data-child="R1" data-holder="ESSEX"' in html, "R1 is now Essex's"
    assert 'data-child="R2" data-holder="KENT"' in html, "nobody took R2 on: Kent still holds it"
    custody = html[html.index('data-child="R2" data-holder') :]
    custody = custody[: custody.index("</ol>")]
    assert "declined: Not our area" in custody and "offered, not yet held" in custody
    never = html[html.index('id="never-accepted"') :]
    assert to_gmp.json()["id"] in never and to_iwf.json()["id"] in never
    assert to_essex.json()["id"] not in never
    one = auditor.get("/review/", {"q": task.referral.external_id}).content.decode()
    assert f'data-event="{released.json()["id"]}"' in one
    other_case = make_task(accepted=True)
    elsewhere = auditor.get("/review/", {"q": other_case.referral.external_id}).content.decode()
    assert released.json()["id"] not in elsewhere and to_gmp.json()["id"] not in elsewhere
    reviews = AuditEvent.objects.filter(action="safeguarding.reviewed", actor=cast["auditor"].user)
    assert reviews.latest("seq").changes["q"] == other_case.referral.external_id, "the search is audited"
    event = reviews.earliest("seq")
    assert set(event.changes["handoffs"]) == {to_gmp.json()["id"], to_iwf.json()["id"]}
    assert released.json()["id"] in event.changes["suspect_events"]
    officer_page = Client()
    officer_page.force_login(cast["kent_officer"].user)
    assert officer_page.get("/review/").status_code == 403, "a force officer does not review every force"


def test_suicide_risk_and_family_signposting_at_arrest_are_counted_for_the_annual_statistics(
    cast: dict[str, Persona],
) -> None:
    """Domain §9 story 17 (Recs 10 and 11): recorded with the arrest, shown on the task, counted
    per holder on the hub's safeguarding review; an arrest without them counts too."""
    flagged, plain = make_task(accepted=True), make_task(accepted=True)
    officer = cast["kent_officer"].client
    answer = officer.post(
        f"/api/v1/tasks/{flagged.pk}/suspect-events/",
        {"kind": "arrested", "suicide_risk_flagged": True, "family_signposted": True},
        format="json",
    )
    assert answer.status_code == 201 and answer.json()["suicide_risk_flagged"] is True
    assert officer.post(f"/api/v1/tasks/{plain.pk}/suspect-events/", {"kind": "arrested"},
                        format="json").json()["family_signposted"] is False  # fmt: skip
    # v1's body still works, and a later event on the same suspect is not a second arrest.
    assert officer.post(f"/api/v1/tasks/{flagged.pk}/suspect-events/", {"kind": "interviewed"},
                        format="json").status_code == 201  # fmt: skip
    web = Client()
    web.force_login(cast["kent_officer"].user)
    assert "data-suicide-risk" in web.get(f"/tasks/{flagged.pk}/").content.decode()
    hub = Client()
    hub.force_login(cast["coordinator"].user)
    review = hub.get("/review/").content.decode()
    row = review.split('<tr data-org="KENT">', 1)[1].split("</tr>", 1)[0]
    assert 'data-col="arrested">2<' in row and 'data-col="suicide-risk">1<' in row
    assert 'data-col="signposted">1<' in row
    recorded = AuditEvent.objects.filter(action="suspect_event.recorded", task_id=flagged.pk).first()
    assert recorded is not None and recorded.changes["suicide_risk_flagged"] is True
