"""Naming a person with their organisation ("Sam Fletcher (KENT)") must not cost queries per
row: the lists load each person's membership and organisation with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spokes.services import lead_create
from tests.conftest import Persona
from tests.factories import acting, make_task
from tests.web import Client

pytestmark = pytest.mark.django_db


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_the_board_costs_the_same_queries_for_5_or_25_named_people(cast: dict[str, Persona]) -> None:
    web = Client()
    web.force_login(cast["coordinator"].user)
    for _ in range(5):
        make_task(accepted=True)
    few = _queries(web, "/board/")
    for _ in range(20):
        make_task(accepted=True)
    assert _queries(web, "/board/") == few


def test_a_task_page_costs_the_same_queries_for_2_or_8_leads(cast: dict[str, Persona]) -> None:
    """Leads name who added them. (Children still cost queries each: a permission check and a
    hand-off lookup per child; noted on issue 16.)"""
    task = make_task(accepted=True)
    web = Client()
    web.force_login(cast["kent_officer"].user)

    def add(n: int) -> None:
        for i in range(n):
            lead_create(task=task, actor=acting("KENT"), kind="device", description=f"Lead {i}")

    add(2)
    few = _queries(web, f"/tasks/{task.pk}/")
    add(6)
    assert _queries(web, f"/tasks/{task.pk}/") == few


def test_an_api_read_loads_the_member_with_the_token_not_again() -> None:
    """The token's query brings the user's membership, organisation and region; scoping and
    the policy rows use them (issue 15: CPU per request)."""
    from tests.conftest import make_persona  # noqa: PLC0415

    task = make_task(holder="KENT")
    kent = make_persona("kent-queries", "KENT", "officer").client
    assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 200  # the token's last use written
    with CaptureQueriesContext(connection) as captured:
        assert kent.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    membership_reads = [q["sql"] for q in captured.captured_queries if 'FROM "hub_membership"' in q["sql"]]
    assert membership_reads == []


def test_the_referral_list_counts_each_version_in_its_own_query(cast: dict[str, Persona]) -> None:
    """Each row's version (optimistic concurrency) is counted with the rows, not per row, and
    is the one the referral's own page gives."""
    from tests.factories import make_triaged  # noqa: PLC0415

    hub = cast["coordinator"].client

    def listed() -> tuple[int, dict[str, str]]:
        with CaptureQueriesContext(connection) as captured:
            response = hub.get("/api/v1/referrals/?page_size=50")
        assert response.status_code == 200
        return len(captured.captured_queries), {r["id"]: r["version"] for r in response.json()["results"]}

    for _ in range(2):
        make_triaged()
    listed()  # the session's first request writes its own bookkeeping
    few, _ = listed()
    for _ in range(6):
        make_triaged()
    many, versions = listed()
    assert many == few
    assert len(versions) == 8
    for referral_id, version in versions.items():
        assert hub.get(f"/api/v1/referrals/{referral_id}/").json()["version"] == version != "n0"


@pytest.mark.parametrize("received_at", [None, "2026-11-30T23:15:00.123456+05:30"])
def test_an_agency_is_answered_its_new_referral_as_stored_without_reading_it_back(
    cast: dict[str, Persona], received_at: str | None
) -> None:
    """The 201 is built from the row just inserted (issue 15: a sixth of intake's CPU went on
    reading it back); it says exactly what a read of the stored referral says."""
    body = {
        "external_id": f"CT-{received_at is None}",
        "summary": "s",
        "suspect_force": "kent",
        "urgent": False,
    }
    if received_at:
        body["received_at"] = received_at
    agency = cast["ncmec"].client
    with CaptureQueriesContext(connection) as captured:
        created = agency.post("/api/v1/referrals/", body, format="json")
    assert created.status_code == 201, created.json()
    referral_reads = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "hub_referral"')
    ]
    assert len(referral_reads) == 1  # the check for an earlier post of the same external_id; no re-read
    stored = agency.get(f"/api/v1/referrals/{created.json()['id']}/")
    assert stored.status_code == 200 and created.json() == stored.json()
    assert created.json()["outcome"] is None and created.json()["status"] == "received"


def test_an_urgent_or_repeated_referral_is_answered_as_read_back(cast: dict[str, Persona]) -> None:
    agency = cast["ncmec"].client
    body = {"external_id": "CT-urgent", "summary": "s", "suspect_force": "kent", "urgent": True}
    created = agency.post("/api/v1/referrals/", body, format="json")
    again = agency.post("/api/v1/referrals/", body, format="json")
    stored = agency.get(f"/api/v1/referrals/{created.json()['id']}/")
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json() == again.json() == stored.json()
