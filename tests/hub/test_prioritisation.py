"""The prioritisation record behind a grade (issue 12): KIRAT-style factors, the offence type,
what information is missing, routing to a named team, and a force's own re-assessment kept
beside the hub's grade."""

from __future__ import annotations

import pytest

from hub.models import AuditEvent, Notification, Referral, Team, TriageDecision
from hub.services.organisations import team_member_add
from tests.conftest import Persona
from tests.factories import make_referral, make_task
from tests.web import Client

pytestmark = pytest.mark.django_db

GRADING = {
    "grade": 2,
    "risk": "high",
    "access_to_children": ["family"],
    "information_incomplete": True,
    "rationale": "Grooming chats with a 12-year-old; suspect's address not yet known.",
}


def test_triage_records_the_factors_what_is_missing_and_routes_to_a_team(cast: dict[str, Persona]) -> None:
    team_member_add(team_code="GROOMING", user=cast["coordinator"].user, actor=None)
    referral = make_referral()
    hub = cast["coordinator"].client
    response = hub.post(
        f"/api/v1/referrals/{referral.pk}/triage/",
        {**GRADING, "risk_factors": ["online_escalation", "previous_offending"],
         "missing_information": ["suspect_location"], "offence_type": "grooming", "team": "GROOMING"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    shown = response.json()
    assert shown["risk_factors"] == ["online_escalation", "previous_offending"]
    assert shown["missing_information"] == ["suspect_location"]
    assert shown["triage_offence_type"] == "grooming" and shown["offence_type"] == "", (
        "the hub's reading sits beside what the agency sent"
    )
    assert shown["team"] == "GROOMING"
    assert shown["triage_history"][-1]["team"] == "GROOMING"
    told = Notification.objects.get(kind="routed_to_team", recipient=cast["coordinator"].user)
    assert told.referral_id == referral.pk and "Online grooming" in told.subject
    routed = hub.get("/api/v1/referrals/?team=GROOMING").json()["results"]
    assert [r["id"] for r in routed] == [str(referral.pk)]
    assert hub.get("/api/v1/referrals/?team=NOPE").status_code == 400
    triaged = AuditEvent.objects.get(action="referral.triaged", object_id=referral.pk)
    assert triaged.changes["after"]["team"] == "GROOMING"
    assert triaged.changes["after"]["risk_factors"] == ["online_escalation", "previous_offending"]

    # A v1 client re-grades without the new fields: nothing of the record is wiped.
    v1 = hub.post(f"/api/v1/referrals/{referral.pk}/triage/",
                  {**GRADING, "grade": 1, "risk": "very_high", "rationale": "Now meeting in person"},
                  format="json")  # fmt: skip
    assert v1.status_code == 200
    kept = Referral.objects.get(pk=referral.pk)
    assert kept.risk_factors == ["online_escalation", "previous_offending"]
    assert kept.team is not None and kept.team.code == "GROOMING" and kept.triage_offence_type == "grooming"
    assert Notification.objects.filter(kind="routed_to_team").count() == 1, "told once, when routed"
    # Complete information clears what was missing; team null takes it off the team.
    off = hub.post(f"/api/v1/referrals/{referral.pk}/triage/",
                   {**GRADING, "information_incomplete": False, "team": None, "rationale": "Address found"},
                   format="json")  # fmt: skip
    assert off.status_code == 200 and off.json()["team"] is None and off.json()["missing_information"] == []


def test_bad_prioritisation_input_is_refused_and_nothing_stored(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    hub = cast["coordinator"].client
    Team.objects.filter(code="FIRSTGEN").update(is_active=False)
    for body in [
        {**GRADING, "risk_factors": ["astrology"]},
        {**GRADING, "missing_information": ["everything"]},
        {**GRADING, "offence_type": "shoplifting"},
        {**GRADING, "team": "NOPE"},
        {**GRADING, "team": "FIRSTGEN"},  # retired
    ]:
        response = hub.post(f"/api/v1/referrals/{referral.pk}/triage/", body, format="json")
        assert response.status_code == 400, body
    assert not TriageDecision.objects.filter(referral=referral).exists()
    assert Referral.objects.get(pk=referral.pk).grade is None


def test_the_grading_form_suggests_the_team_whose_routes_match(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    Referral.objects.filter(pk=referral.pk).update(offence_type="sextortion")
    page = Client()
    page.force_login(cast["coordinator"].user)
    html = page.get(f"/referrals/{referral.pk}/").content.decode()
    assert '<option value="GROOMING" selected>' in html
    graded = page.post(
        f"/referrals/{referral.pk}/grade/",
        {"grade": "2", "risk": "high", "risk_factors": ["first_generation"], "offence_type": "sextortion",
         "team": "FIRSTGEN", "rationale": "Self-made images of the child"},
    )  # fmt: skip
    assert graded.status_code == 302
    queue = page.get("/triage/?show=team:FIRSTGEN").content.decode()
    assert referral.external_id in queue and 'data-team="FIRSTGEN">First-generation' in queue


def test_a_force_reassesses_beside_the_hubs_grade_and_the_hub_sees_the_difference(
    cast: dict[str, Persona],
) -> None:
    task = make_task()
    officer = cast["kent_officer"].client
    url = f"/api/v1/tasks/{task.pk}/reassessment/"
    body = {
        "risk": "very_high",
        "access_to_children": ["family", "leisure"],
        "risk_factors": ["previous_offending"],
        "rationale": "Coaches an under-12s team; 2009 caution",
    }
    early = officer.post(url, body, format="json")
    assert early.status_code == 409, "accept the task first"
    task = make_task(accepted=True)
    url = f"/api/v1/tasks/{task.pk}/reassessment/"
    assert cast["essex_officer"].client.post(url, body, format="json").status_code == 404
    assert cast["coordinator"].client.post(url, body, format="json").status_code == 403, "the hub re-grades"
    assert officer.post(url, {**body, "rationale": " "}, format="json").status_code == 400
    made = officer.post(url, body, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["differs_from_hub"] == ["risk", "access_to_children", "risk_factors"]
    referral = Referral.objects.get(pk=task.referral_id)
    assert (referral.grade, referral.risk) == (2, "high"), "the hub's grade stays"
    told = Notification.objects.get(kind="risk_reassessed", recipient=cast["coordinator"].user)
    assert "very high risk (hub: grade 2, high risk)" in told.subject
    audited = AuditEvent.objects.get(action="task.reassessed", task_id=task.pk)
    assert audited.changes["hub"]["risk"] == "high" and audited.changes["holder"]["risk"] == "very_high"
    assert audited.justification == body["rationale"]
    listed = cast["ersou_coordinator"].client.get(url)
    assert listed.status_code == 200 and [r["risk"] for r in listed.json()] == ["very_high"]
    assert cast["gmp_officer"].client.get(url).status_code == 404

    agree = officer.post(url, {"risk": "high", "rationale": "Checked again: as the hub said"}, format="json")
    assert agree.status_code == 201 and agree.json()["differs_from_hub"] == []
    assert Notification.objects.filter(kind="risk_reassessed").count() == 1, "agreement is not news"

    officer.post(url, body, format="json")
    hub_page = Client()
    hub_page.force_login(cast["coordinator"].user)
    html = hub_page.get(f"/referrals/{task.referral_id}/").content.decode()
    cell = html[html.index(f'data-reassessed="{task.pk}"') :]
    cell = cell[: cell.index("</td>")]
    assert "Very high risk" in cell and "differs on" in cell and "risk factors" in cell
    task_page = Client()
    task_page.force_login(cast["kent_officer"].user)
    shown = task_page.get(f"/tasks/{task.pk}/").content.decode()
    row = shown[shown.index('<tr data-field="risk" class="differs">') :]
    row = row[: row.index("</tr>")]
    assert "High" in row and "Very high" in row and "differs" in row
    assert "Earlier re-assessments (2)" in shown
    posted = task_page.post(f"/tasks/{task.pk}/reassessment/", {"risk": "", "rationale": ""})
    assert posted.status_code == 400 and b"Choose a risk level." in posted.content
