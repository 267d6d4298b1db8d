"""A threat to life comes first: an urgent intake or a grade-1 triage reaches every hub
coordinator at once, and the on-call coordinator is paged through a PagerDuty Events API v2
receiver (here a real HTTP server on loopback)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from hub.models import AuditEvent, Notification, OnCallShift, Page, User
from hub.services.organisations import membership_set
from hub.services.urgent import MAX_PAGE_ATTEMPTS, page_send, pages_due
from hub.tasks import notification_email_job
from tests.conftest import PASSWORD, Persona
from tests.e2e.receiver import Receiver
from tests.factories import make_referral, make_triaged
from tests.web import Client

pytestmark = pytest.mark.django_db

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefabcdef"  # noqa: S105  (a test's stand-in)


@pytest.fixture
def second_coordinator(cast: dict[str, Persona]) -> User:
    user = membership_set(
        username="nightshift", org_code="NCA", role="coordinator", actor=None, password=PASSWORD
    ).user
    User.objects.filter(pk=user.pk).update(first_name="Nia", last_name="Night", email="nia@example.org")
    user.refresh_from_db()
    return user


def _urgent_notes(referral_id: object) -> list[Notification]:
    return list(Notification.objects.filter(kind="urgent_referral", referral_id=referral_id))


def test_an_urgent_intake_tells_every_hub_coordinator_at_once(
    cast: dict[str, Persona], second_coordinator: User, django_capture_on_commit_callbacks: object
) -> None:
    response = cast["ncmec"].client.post(
        "/api/v1/referrals/", {"external_id": "CT-URGENT-1", "urgent": True}, format="json"
    )
    assert response.status_code == 201
    referral_id = response.json()["id"]
    notes = _urgent_notes(referral_id)
    assert {n.recipient.username for n in notes} == {"coordinator", "nightshift"}
    inbox = cast["coordinator"].client.get("/api/v1/notifications/").json()["results"]
    assert inbox[0]["kind"] == "urgent_referral" and inbox[0]["referral"] == referral_id
    assert "NCMEC CT-URGENT-1" in inbox[0]["subject"]
    nobody_else = Notification.objects.filter(kind="urgent_referral").exclude(
        recipient__membership__role="coordinator"
    )
    assert not nobody_else.exists()
    for note in notes:
        notification_email_job(str(note.pk))
    assert any("nia@example.org" in m.to for m in mail.outbox)
    assert all("URGENT" in m.subject for m in mail.outbox)


def test_a_non_urgent_intake_tells_nobody_and_grading_it_1_does(cast: dict[str, Persona]) -> None:
    referral = make_referral()
    assert not _urgent_notes(referral.pk)
    hub = cast["coordinator"].client
    triage = {"grade": 2, "risk": "high", "access_to_children": [], "information_incomplete": False,
              "rationale": "serious"}  # fmt: skip
    assert hub.post(f"/api/v1/referrals/{referral.pk}/triage/", triage, format="json").status_code == 200
    assert not _urgent_notes(referral.pk)
    graded_1 = {**triage, "grade": 1, "risk": "very_high", "rationale": "threat to life"}
    assert hub.post(f"/api/v1/referrals/{referral.pk}/triage/", graded_1, format="json").status_code == 200
    assert len(_urgent_notes(referral.pk)) == 1
    again = {**graded_1, "rationale": "still grade 1, more detail"}
    assert hub.post(f"/api/v1/referrals/{referral.pk}/triage/", again, format="json").status_code == 200
    assert len(_urgent_notes(referral.pk)) == 1, "re-grading within grade 1 raises no second alarm"


def test_the_on_call_coordinator_is_paged_in_the_events_api_v2_format(
    cast: dict[str, Persona], second_coordinator: User
) -> None:
    now = timezone.now()
    hub = cast["coordinator"].user
    OnCallShift.objects.create(
        coordinator=second_coordinator, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=7),
        created_by=hub,
    )  # fmt: skip
    OnCallShift.objects.create(
        coordinator=hub, starts_at=now + timedelta(hours=7), ends_at=now + timedelta(hours=19), created_by=hub
    )
    with (
        Receiver(503) as pager,
        override_settings(VIHUB_PAGER_URL=pager.url, VIHUB_PAGER_ROUTING_KEY=ROUTING_KEY),
    ):
        referral = make_triaged(grade=1, risk="very_high")
        page = Page.objects.get(referral=referral)
        assert page_send(page_id=str(page.pk)) == "retry"  # the pager answered 503
        Page.objects.filter(pk=page.pk).update(next_attempt_at=timezone.now())
        assert page_send(page_id=str(page.pk)) == "sent"
        assert page_send(page_id=str(page.pk)) == "not due", "a sent page is never sent again"
    assert len(pager.requests) == 2
    first, second = (json.loads(r["body"]) for r in pager.requests)
    assert first["dedup_key"] == second["dedup_key"] == f"vihub-grade_1-{referral.pk}"
    assert second["routing_key"] == ROUTING_KEY and second["event_action"] == "trigger"
    assert pager.requests[1]["headers"]["Content-Type"] == "application/json"
    body = second["payload"]
    assert body["severity"] == "critical" and body["source"] == "vihub"
    assert set(body) >= {"summary", "source", "severity", "timestamp"}
    assert body["custom_details"]["on_call"] == ["Nia Night"]  # whose shift covers now
    assert body["custom_details"]["referral_id"] == str(referral.pk)
    assert referral.summary not in json.dumps(second), "no case text goes to the pager"
    assert second["links"][0]["href"].endswith(f"/referrals/{referral.pk}/")
    page.refresh_from_db()
    assert page.status == "sent" and page.attempts == 2
    sent = AuditEvent.objects.get(action="page.sent", referral_id=referral.pk)
    assert sent.recipient.startswith("paging service")
    assert ROUTING_KEY not in json.dumps(page.payload), "the routing key is never stored"


def test_a_lost_page_job_is_sent_by_the_drain_and_a_page_the_pager_never_takes_tells_the_hub(
    cast: dict[str, Persona],
) -> None:
    with Receiver(*[500] * MAX_PAGE_ATTEMPTS) as pager, override_settings(VIHUB_PAGER_URL=pager.url):
        referral = make_referral(urgent=True)  # its page job is "lost": nothing runs it
        page = Page.objects.get(referral=referral)
        assert str(page.pk) in pages_due()  # the drain re-enqueues it; here we send it by hand
        for _ in range(MAX_PAGE_ATTEMPTS):
            Page.objects.filter(pk=page.pk).update(next_attempt_at=timezone.now())
            page_send(page_id=str(page.pk))
    page.refresh_from_db()
    assert page.status == "failed" and page.attempts == MAX_PAGE_ATTEMPTS
    assert Notification.objects.filter(kind="page_failed", referral=referral).exists()
    assert AuditEvent.objects.filter(action="page.failed", referral_id=referral.pk, outcome="failed").exists()


def test_without_a_pager_configured_the_inbox_and_email_still_go(cast: dict[str, Persona]) -> None:
    referral = make_referral(urgent=True)
    assert not Page.objects.filter(referral=referral).exists()
    assert _urgent_notes(referral.pk)


def test_the_hub_keeps_the_rota_in_the_product(cast: dict[str, Persona], second_coordinator: User) -> None:
    client = Client()
    client.force_login(cast["coordinator"].user)
    with time_machine.travel("2026-12-01 20:30:00+00:00", tick=False):
        added = client.post(
            "/on-call/",
            {"coordinator": "nightshift", "starts_at": "2026-12-01T20:00", "ends_at": "2026-12-02T08:00"},
        )
        assert added.status_code == 302
        page = client.get("/on-call/").content.decode()
        now_section = page[page.index('id="now-title"') : page.index(">Shifts<")]
        assert "Nia Night" in now_section
        triage = client.get("/triage/").content.decode()
        assert "On call: Nia Night" in triage
        refused = client.post(
            "/on-call/",
            {"coordinator": "nightshift", "starts_at": "2026-12-02T08:00", "ends_at": "2026-12-02T07:00"},
        )
        assert refused.status_code == 400 and "ends after it starts" in refused.content.decode()
    assert AuditEvent.objects.filter(action="on_call.shift_added").count() == 1


def test_the_inbox_shows_an_urgent_referral_with_a_link_to_open_it(cast: dict[str, Persona]) -> None:
    referral = make_referral(urgent=True)
    client = Client()
    client.force_login(cast["coordinator"].user)
    inbox = client.get("/inbox/").content.decode()
    assert 'data-kind="urgent_referral"' in inbox and f"/referrals/{referral.pk}/" in inbox
