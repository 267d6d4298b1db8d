"""The path a referral takes: intake → triage → allocation → spoke work → outcome → closure,
with each organisation seeing exactly what it holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub.models import AuditEvent, MediaHash, Referral, Task, TaskGroupObjectPermission, TriageDecision
from tests.conftest import Persona
from tests.factories import make_referral, make_task, make_triaged
from tests.web import Client

pytestmark = pytest.mark.django_db

SHA = "ab" * 32


def post_referral(p: Persona, **overrides: object) -> dict:  # type: ignore[type-arg]
    body = {
        "external_id": "CT-1001",
        "summary": "Upload flagged by hash match",
        "suspect_force": "kent",
        "urgent": True,
        "media": [{"sha256": SHA, "md5": "c" * 32}],
    }
    body.update(overrides)
    return p.client.post("/api/v1/referrals/", body, format="json")  # type: ignore[return-value]


def test_agency_posts_a_referral_and_a_repost_returns_the_same_one(cast: dict[str, Persona]) -> None:
    first = post_referral(cast["ncmec"])
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["status"] == "received" and body["external_id"] == "CT-1001" and body["urgent"] is True
    again = post_referral(cast["ncmec"])  # a client's retry: the same body
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    changed = post_referral(cast["ncmec"], summary="changed text", urgent=False)
    assert changed.status_code == 409, changed.json()
    conflict = changed.json()
    assert conflict["code"] == "external_id_conflict" and conflict["details"]["id"] == body["id"]
    assert conflict["details"]["differences"]["summary"]["sent"] == "changed text"
    assert conflict["details"]["differences"]["urgent"] == {"stored": True, "sent": False}
    assert set(conflict["details"]["differences"]) == {"summary", "urgent"}
    referral = Referral.objects.get(external_id="CT-1001")
    assert referral.summary != "changed text" and referral.is_urgent, "nothing was overwritten"
    assert Referral.objects.filter(external_id="CT-1001").count() == 1
    # Another agency's referral with the same external id is a different referral.
    other = post_referral(cast["iwf"])
    assert other.status_code == 201 and other.json()["id"] != body["id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": ""}, "external_id"),
        ({"suspect_force": "ATLANTIS"}, "suspect_force"),
        ({"suspect_force": "NCMEC"}, "suspect_force"),
        ({"media": [{"sha256": "not-hex"}]}, "media"),
        ({"media": [{"sha256": SHA, "md5": "zz"}]}, "media"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"urgent": "perhaps"}, "urgent"),
    ],
)
def test_bad_intake_gets_400_with_field_errors_and_stores_nothing(
    cast: dict[str, Persona], overrides: dict[str, object], field: str
) -> None:
    before = (
        Referral.objects.count(),
        MediaHash.objects.count(),
        AuditEvent.objects.filter(action="referral.received").count(),
    )
    response = post_referral(cast["ncmec"], **overrides)
    assert response.status_code == 400
    assert field in response.json()
    after = (
        Referral.objects.count(),
        MediaHash.objects.count(),
        AuditEvent.objects.filter(action="referral.received").count(),
    )
    assert after == before


def test_coordinator_entering_by_hand_must_name_the_agency(cast: dict[str, Persona]) -> None:
    response = post_referral(cast["coordinator"])
    assert response.status_code == 400 and "agency" in response.json()
    ok = post_referral(cast["coordinator"], agency="iwf", external_id="PHONE-7")
    assert ok.status_code == 201 and ok.json()["agency"] == "IWF"


def test_end_to_end_from_intake_to_closure(cast: dict[str, Persona]) -> None:
    hub, kent, ncmec = cast["coordinator"].client, cast["kent_officer"].client, cast["ncmec"].client
    referral_id = post_referral(cast["ncmec"]).json()["id"]

    triage = {
        "grade": 2,
        "risk": "high",
        "access_to_children": ["family", "work"],
        "information_incomplete": True,
        "rationale": "First-generation images; works at a school.",
    }
    response = hub.post(f"/api/v1/referrals/{referral_id}/triage/", triage, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "triaged" and response.json()["information_incomplete"] is True

    before = timezone.now()
    response = hub.post("/api/v1/tasks/", {"referral": referral_id, "assignee_org": "KENT"}, format="json")
    assert response.status_code == 201, response.json()
    task = response.json()
    assert task["status"] == "offered" and task["assignee_org"] == "KENT"
    due_at = Task.objects.get(pk=task["id"]).due_at
    assert timedelta(days=2) <= due_at - before < timedelta(days=2, seconds=30)  # grade 2: within 2 days

    assert kent.post(f"/api/v1/tasks/{task['id']}/accept/").json()["status"] == "accepted"
    lead = kent.post(
        f"/api/v1/tasks/{task['id']}/leads/",
        {"kind": "online_account", "description": "Chat handle"},
        format="json",
    )
    assert lead.status_code == 201, lead.json()
    patched = kent.patch(f"/api/v1/leads/{lead.json()['id']}/", {"status": "positive"}, format="json")
    assert patched.status_code == 200 and patched.json()["status"] == "positive"
    action = kent.post(
        f"/api/v1/tasks/{task['id']}/safeguarding-actions/",
        {
            "action": "referred_mash",
            "children_identified": 2,
            "children_safeguarded": 2,
            "referred_to": "Kent MASH",
        },
        format="json",
    )
    assert action.status_code == 201, action.json()

    outcome = {
        "justice_outcome": "outcome_21",
        "safeguarding_outcome": "referred_to_childrens_services",
        "arrests": 1,
        "children_safeguarded": 2,
        "victims_identified": 2,
        "suspect_has_access_to_children": True,
        "safeguarding_needed": True,
        "summary": "Internal note: suspect is 15; diversion.",
    }
    response = kent.post(f"/api/v1/referrals/{referral_id}/outcome/", outcome, format="json")
    assert response.status_code == 201, response.json()
    assert Task.objects.get(pk=task["id"]).status == "completed"

    # The agency learns status and outcome codes, never spoke-internal text.
    seen = ncmec.get(f"/api/v1/referrals/{referral_id}/").json()
    assert seen["status"] == "outcome_recorded"
    assert seen["outcome"]["justice_outcome"] == "outcome_21" and seen["outcome"]["children_safeguarded"] == 2
    assert "summary" not in seen and "summary" not in seen["outcome"]
    assert "Internal note" not in str(seen)

    closed = hub.post(f"/api/v1/referrals/{referral_id}/close/", {"note": "done"}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    actions = list(AuditEvent.objects.filter(referral_id=referral_id).values_list("action", flat=True))
    for expected in [
        "referral.received",
        "referral.triaged",
        "task.allocated",
        "task.accepted",
        "lead.created",
        "lead.updated",
        "safeguarding_action.recorded",
        "outcome.recorded",
        "referral.viewed",
        "referral.closed",
    ]:
        assert expected in actions


def test_regrading_keeps_history_with_who_when_and_why(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    hub = cast["coordinator"].client
    for grade, risk, why in [
        (3, "low", "little known"),
        (2, "high", "new intelligence: lives with children"),
    ]:
        response = hub.post(
            f"/api/v1/referrals/{referral.pk}/triage/",
            {
                "grade": grade,
                "risk": risk,
                "access_to_children": [],
                "information_incomplete": grade == 3,
                "rationale": why,
            },
            format="json",
        )
        assert response.status_code == 200
    history = response.json()["triage_history"]
    assert [(h["grade"], h["risk"], h["rationale"]) for h in history] == [
        (3, "low", "little known"),
        (2, "high", "new intelligence: lives with children"),
    ]
    assert all(h["decided_by"] == "coordinator" for h in history)
    assert TriageDecision.objects.filter(referral=referral).count() == 2
    regrade = AuditEvent.objects.filter(referral_id=referral.pk, action="referral.regraded").get()
    assert regrade.changes["before"]["grade"] == 3 and regrade.changes["after"]["grade"] == 2


@pytest.mark.parametrize(
    ("grade", "risk", "accept", "act"),
    [
        (1, "very_high", timedelta(hours=1), timedelta(hours=24)),
        (2, "low", timedelta(hours=4), timedelta(days=2)),
        (3, "very_high", timedelta(hours=4), timedelta(hours=24)),
        (3, "high", timedelta(days=1), timedelta(days=7)),
        (3, "medium", timedelta(days=2), timedelta(days=14)),
        (3, "low", timedelta(days=3), timedelta(days=30)),
    ],
)
def test_deadlines_come_from_the_policy_for_grade_and_risk(
    grade: int, risk: str, accept: timedelta, act: timedelta
) -> None:
    task = make_task(grade=grade, risk=risk)
    assert task.accept_due_at - task.created_at == pytest.approx(accept, abs=timedelta(seconds=5))
    assert task.due_at - task.created_at == pytest.approx(act, abs=timedelta(seconds=5))


def test_illegal_moves_get_409_with_a_clear_message(cast: dict[str, Persona]) -> None:
    hub, kent = cast["coordinator"].client, cast["kent_officer"].client
    untriaged = make_referral()
    response = hub.post(
        "/api/v1/tasks/", {"referral": str(untriaged.pk), "assignee_org": "KENT"}, format="json"
    )
    assert response.status_code == 409 and "triaged" in response.json()["detail"]
    assert hub.post(f"/api/v1/referrals/{untriaged.pk}/close/", {}, format="json").status_code == 409
    task = make_task(accepted=True)
    again = kent.post(f"/api/v1/tasks/{task.pk}/accept/")
    assert again.status_code == 409 and "offered" in again.json()["detail"]
    assert (
        kent.post(f"/api/v1/tasks/{task.pk}/decline/", {"reason": "duplicate"}, format="json").status_code
        == 409
    )


def test_closing_needs_the_children_access_and_safeguarding_checks(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    referral = task.referral
    referral.status = Referral.Status.OUTCOME_RECORDED
    referral.save(update_fields=["status"])  # an outcome without the two checks (e.g. legacy import)
    response = cast["coordinator"].client.post(f"/api/v1/referrals/{referral.pk}/close/", {}, format="json")
    assert response.status_code == 409
    assert "access to children" in response.json()["detail"] and "safeguarding" in response.json()["detail"]


def test_non_actionable_closure_needs_a_coded_reason(cast: dict[str, Persona]) -> None:
    referral = make_triaged()
    hub = cast["coordinator"].client
    bad = hub.post(
        f"/api/v1/referrals/{referral.pk}/non-actionable/", {"reason": "bored", "note": "x"}, format="json"
    )
    assert bad.status_code == 400 and "reason" in bad.json()
    ok = hub.post(
        f"/api/v1/referrals/{referral.pk}/non-actionable/",
        {"reason": "adult_material", "note": "Subject verified adult"},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["status"] == "non_actionable"
    assert ok.json()["non_actionable_reason"] == "adult_material"


def test_decline_needs_a_coded_reason_and_the_hub_reassigns(cast: dict[str, Persona]) -> None:
    task = make_task()
    kent, hub, essex = cast["kent_officer"].client, cast["coordinator"].client, cast["essex_officer"].client
    assert (
        kent.post(f"/api/v1/tasks/{task.pk}/decline/", {"reason": "other"}, format="json").status_code == 400
    )
    declined = kent.post(
        f"/api/v1/tasks/{task.pk}/decline/",
        {"reason": "not_our_area", "note": "Moved to Essex"},
        format="json",
    )
    assert declined.status_code == 200 and declined.json()["decline_reason"] == "not_our_area"
    moved = hub.post(
        f"/api/v1/tasks/{task.pk}/reassign/",
        {"assignee_org": "ESSEX", "reason": "Suspect moved"},
        format="json",
    )
    assert (
        moved.status_code == 200
        and moved.json()["assignee_org"] == "ESSEX"
        and moved.json()["status"] == "offered"
    )
    # The old holder loses access at once (404, as if it never existed); the new holder has it.
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert essex.post(f"/api/v1/tasks/{task.pk}/accept/").status_code == 200
    assert moved.json()["due_at"] == declined.json()["due_at"]  # the act-by deadline does not reset


def test_region_hands_a_task_down_to_one_of_its_forces_only(cast: dict[str, Persona]) -> None:
    task = make_task(holder="ERSOU")
    ersou, kent = cast["ersou_coordinator"].client, cast["kent_officer"].client
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    wrong = ersou.post(
        f"/api/v1/tasks/{task.pk}/hand-down/", {"assignee_org": "GMP", "reason": "x"}, format="json"
    )
    assert wrong.status_code == 400 and "not a force in ERSOU" in str(wrong.json())
    ok = ersou.post(
        f"/api/v1/tasks/{task.pk}/hand-down/", {"assignee_org": "KENT", "reason": "Kent area"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["assignee_org"] == "KENT"
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    # The region keeps read-only oversight: it sees the task but can no longer act on it.
    assert ersou.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    assert ersou.post(f"/api/v1/tasks/{task.pk}/accept/").status_code == 403


def test_scoped_task_list_shows_each_spoke_exactly_what_it_holds(cast: dict[str, Persona]) -> None:
    kent_task, essex_task, gmp_task, ersou_task = (
        make_task(holder=h) for h in ("KENT", "ESSEX", "GMP", "ERSOU")
    )

    def ids(name: str, query: str = "") -> set[str]:
        response = cast[name].client.get(f"/api/v1/tasks/{query}")
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    mine = {str(t.pk) for t in (kent_task, essex_task, gmp_task, ersou_task)}
    assert ids("kent_officer") & mine == {str(kent_task.pk)}
    assert ids("essex_officer") & mine == {str(essex_task.pk)}
    assert ids("ersou_coordinator") & mine == {str(kent_task.pk), str(essex_task.pk), str(ersou_task.pk)}
    assert ids("titan_coordinator") & mine == {str(gmp_task.pk)}
    assert ids("coordinator") >= mine and ids("auditor") >= mine
    assert ids("ncmec") == set()
    # Filters narrow within the scope and never widen it.
    assert ids("kent_officer", "?assignee_org=ESSEX") == set()
    assert ids("coordinator", "?assignee_org=essex") & mine == {str(essex_task.pk)}


def test_agency_sees_only_its_own_referrals(cast: dict[str, Persona]) -> None:
    ours, theirs = make_referral(agency="NCMEC"), make_referral(agency="IWF")
    ncmec = cast["ncmec"].client
    listed = {r["id"] for r in ncmec.get("/api/v1/referrals/").json()["results"]}
    assert str(ours.pk) in listed and str(theirs.pk) not in listed
    assert ncmec.get(f"/api/v1/referrals/{theirs.pk}/").status_code == 404
    since = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert ncmec.get("/api/v1/referrals/", {"updated_since": since}).json()["results"] == []


def test_other_spoke_gets_the_same_404_as_a_missing_id(cast: dict[str, Persona]) -> None:
    task = make_task(holder="KENT")
    gmp = cast["gmp_officer"].client
    foreign = gmp.get(f"/api/v1/tasks/{task.pk}/")
    missing = gmp.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert (
        gmp.post(
            f"/api/v1/tasks/{task.pk}/leads/", {"kind": "other", "description": "x"}, format="json"
        ).status_code
        == 404
    )


def test_task_list_query_count_does_not_grow_with_rows(
    cast: dict[str, Persona], django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    kent = cast["kent_officer"].client
    make_task()
    kent.get("/api/v1/tasks/")  # warm-up: the token's last-used time is written once a minute
    with django_assert_max_num_queries(40) as small:
        kent.get("/api/v1/tasks/")
    for _ in range(12):
        make_task()
    with django_assert_max_num_queries(40) as large:
        assert len(kent.get("/api/v1/tasks/").json()["results"]) >= 13
    assert len(large.captured_queries) == len(small.captured_queries)


def test_view_grants_only_ever_cover_the_holder_and_its_region(cast: dict[str, Persona]) -> None:
    """The scoped task list narrows by holder before checking the guardian grant; that is only
    right while every view grant names the holder's group or its region's. Pin it through
    allocation, reassignment and hand-down."""
    moved = make_task(holder="KENT")
    cast["coordinator"].client.post(
        f"/api/v1/tasks/{moved.pk}/reassign/", {"assignee_org": "GMP", "reason": "moved"}, format="json"
    )
    handed = make_task(holder="ERSOU")
    cast["ersou_coordinator"].client.post(
        f"/api/v1/tasks/{handed.pk}/hand-down/", {"assignee_org": "ESSEX", "reason": "area"}, format="json"
    )
    for task in Task.objects.filter(pk__in=[moved.pk, handed.pk]).select_related("assignee_org__parent"):
        holder = task.assignee_org
        region = {holder.parent.group_id} if holder.parent and holder.kind == "force" else set()
        grants = TaskGroupObjectPermission.objects.filter(content_object=task)
        grants = grants.values_list("group_id", flat=True)
        assert set(grants) == {holder.group_id} | region, holder.code


def test_allocating_twice_to_the_same_holder_is_refused(cast: dict[str, Persona]) -> None:
    referral = make_triaged()
    hub = cast["coordinator"].client
    body = {"referral": str(referral.pk), "assignee_org": "KENT"}
    assert hub.post("/api/v1/tasks/", body, format="json").status_code == 201
    again = hub.post("/api/v1/tasks/", body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "duplicate_task"
    assert Task.objects.filter(referral=referral).count() == 1
    # A second force for the same referral (e.g. the victim's force) is fine.
    assert hub.post("/api/v1/tasks/", {**body, "assignee_org": "ESSEX"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "query",
    ["?escalated=yes", "?overdue=1", "?assignee_org=%00", "?status=%00", "?foo=bar%00"],
)
def test_bad_list_parameters_get_400_not_a_silent_full_list(cast: dict[str, Persona], query: str) -> None:
    response = cast["coordinator"].client.get(f"/api/v1/tasks/{query}")
    assert response.status_code == 400, response.content


def test_reports_period_out_of_range_is_a_400(cast: dict[str, Persona]) -> None:
    response = cast["auditor"].client.get("/api/v1/reports/spokes/", {"until": "0001-06-01T00:00:00Z"})
    assert response.status_code == 400


def test_q_finds_referrals_and_tasks_by_the_agency_reference_within_what_the_caller_sees(
    cast: dict[str, Persona],
) -> None:
    """Contract v1.1 "Finding things": ``q`` is the agency's reference (exact or prefix) or an id."""
    kent = make_task(agency="NCMEC")
    Referral.objects.filter(pk=kent.referral_id).update(external_id="CT-2025-004105")
    other = make_task(holder="GMP")
    Referral.objects.filter(pk=other.referral_id).update(external_id="CT-2025-004199")
    hub = cast["coordinator"].client
    found = hub.get("/api/v1/referrals/?q=CT-2025-0041").json()["results"]
    assert {r["external_id"] for r in found} == {"CT-2025-004105", "CT-2025-004199"}
    exact = hub.get("/api/v1/referrals/?q=CT-2025-004105").json()["results"]
    assert [r["id"] for r in exact] == [str(kent.referral_id)]
    by_id = hub.get(f"/api/v1/referrals/?q={kent.referral_id}").json()["results"]
    assert [r["id"] for r in by_id] == [str(kent.referral_id)]
    assert hub.get("/api/v1/referrals/?q=2025-004105").json()["results"] == [], "a prefix, not a substring"
    tasks = hub.get("/api/v1/tasks/?q=CT-2025-0041").json()["results"]
    assert {t["id"] for t in tasks} == {str(kent.pk), str(other.pk)}
    by_referral = hub.get(f"/api/v1/tasks/?q={other.referral_id}").json()["results"]
    assert [t["id"] for t in by_referral] == [str(other.pk)]
    # Kent searches the same prefix: only its own task, never GMP's.
    mine = cast["kent_officer"].client.get("/api/v1/tasks/?q=CT-2025-0041").json()["results"]
    assert [t["id"] for t in mine] == [str(kent.pk)]
    assert cast["kent_officer"].client.get(f"/api/v1/tasks/?q={other.pk}").json()["results"] == []


def test_the_hub_cancels_a_stale_declined_task_and_can_then_allocate_to_that_holder_again(
    cast: dict[str, Persona],
) -> None:
    """Issue 17: a declined task blocked a new allocation to the same holder, with a raw id in
    the error and no way out but reassigning."""
    task = make_task()
    kent = cast["kent_officer"].client
    assert kent.post(f"/api/v1/tasks/{task.pk}/decline/", {"reason": "insufficient_information"},
                     format="json").status_code == 200  # fmt: skip
    hub = cast["coordinator"].client
    again = hub.post(
        "/api/v1/tasks/", {"referral": str(task.referral_id), "assignee_org": "KENT"}, format="json"
    )
    assert again.status_code == 409
    message = again.json()["detail"]
    assert "Kent Police already holds a task for NCMEC" in message and "cancel that task" in message
    assert str(task.pk) not in message, "the reference, not a raw id"
    page = Client()
    page.force_login(cast["coordinator"].user)
    assert 'id="cancel"' in page.get(f"/tasks/{task.pk}/").content.decode(), "offered on the task page"
    assert hub.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": ""}, format="json").status_code == 400
    cancelled = hub.post(
        f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "New information arrived"}, format="json"
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert hub.post(f"/api/v1/tasks/{task.pk}/cancel/", {"reason": "twice"}, format="json").status_code == 409
    fresh = hub.post(
        "/api/v1/tasks/", {"referral": str(task.referral_id), "assignee_org": "KENT"}, format="json"
    )
    assert fresh.status_code == 201, fresh.json()
    audited = AuditEvent.objects.get(action="task.cancelled", task_id=task.pk)
    assert audited.justification == "New information arrived"
