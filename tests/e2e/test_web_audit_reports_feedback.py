"""The auditor's export and chain verification, the accountability reports and outcome
feedback pages obey the API's rules, checked fast with Django's test client: the same role
sets (403) and scoping (404), refused forms keep what was typed, signing secrets are shown
once, and every view is audited as the API's is."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import StreamingHttpResponse

from hub.api.audit import EXPORT_FIELDS
from hub.models import AuditEvent, AuditVerification
from hub.services.audit_integrity import _Tampered, audit_checkpoint
from safeguarding.feedback import webhook_deliver, webhook_endpoint_set
from safeguarding.models import DeliveryAttempt, OutboxEvent, WebhookChange, WebhookEndpoint
from safeguarding.services import outcome_record
from tests.conftest import Persona, make_persona
from tests.e2e.receiver import Receiver
from tests.factories import acting, make_task, org
from tests.web import Client

pytestmark = pytest.mark.django_db

NOT_HUB = ["kent_officer", "kent_supervisor", "ersou_coordinator", "gmp_officer", "ncmec"]


def web(persona: Persona) -> Client:
    client = Client()
    client.force_login(persona.user)
    return client


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


def streamed(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


def record_outcome(task: Any) -> None:
    outcome_record(
        referral=task.referral,
        actor=acting(task.assignee_org.code),
        justice_outcome="charge_summons",
        safeguarding_outcome="child_safeguarded",
        arrests=1,
        children_safeguarded=2,
        victims_identified=2,
        suspect_has_access_to_children=True,
        is_safeguarding_needed=True,
        summary="Internal: devices seized.",
    )


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    for url in ["/audit/export/", "/audit/verification/", "/reports/", "/feedback/", "/feedback/ours/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url


# --- Export and verification: auditors only ---------------------------------------------------------


def test_only_auditors_export_the_trail_or_verify_it(cast: dict[str, Persona]) -> None:
    for who in ["coordinator", *NOT_HUB]:
        client = web(cast[who])
        assert client.get("/audit/export/", {"format": "csv"}).status_code == 403, who
        assert client.get("/audit/verification/").status_code == 403, who
        assert client.post("/audit/verification/").status_code == 403, who
    assert not events("audit.exported") and not events("audit.status_viewed") and not events("audit.verified")
    assert not AuditVerification.objects.exists()


def test_the_export_streams_the_search_in_chain_order_and_is_audited(cast: dict[str, Persona]) -> None:
    task = make_task()
    web(cast["kent_officer"]).get(f"/tasks/{task.pk}/")
    auditor = web(cast["auditor"])
    query = {"actor": "kent_officer", "action": "task.*", "purpose": "HMICFRS inspection 2025-11"}
    page = auditor.get("/audit/", query).content.decode()
    # The export form carries the search as typed, and the purpose.
    assert 'name="actor" value="kent_officer"' in page and 'name="action" value="task.*"' in page
    assert 'value="HMICFRS inspection 2025-11"' in page

    response = auditor.get("/audit/export/", {**query, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="vihub-audit-')
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert rows and list(rows[0]) == EXPORT_FIELDS
    assert {r["action"] for r in rows} == {"task.viewed"} and {r["actor"] for r in rows} == {"kent_officer"}
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs)
    exported = events("audit.exported", actor=cast["auditor"].user)
    assert len(exported) == 1
    assert exported[0].changes["query"] == {"actor": "kent_officer", "action": "task.*"}
    assert exported[0].changes["format"] == "csv" and exported[0].changes["count"] == len(rows)
    assert exported[0].justification == "HMICFRS inspection 2025-11"

    as_json = auditor.get("/audit/export/", {"format": "json", "action": "audit.*"})
    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/json"
    body = json.loads(streamed(as_json))
    last = events("audit.exported")[-1]
    assert last.changes["format"] == "json" and last.changes["count"] == len(body)
    # Exactly what was counted: the export's own event (appended after) is not in the file.
    assert last.seq not in {row["seq"] for row in body} and body[-1]["seq"] < last.seq
    assert isinstance(body[0]["changes"], dict) and body[0]["hash"]


def test_a_refused_export_keeps_the_search(cast: dict[str, Persona]) -> None:
    auditor = web(cast["auditor"])
    bad_format = auditor.get("/audit/export/", {"format": "xml", "actor": "kent_officer"})
    assert bad_format.status_code == 400 and b"Choose the file format: CSV or JSON." in bad_format.content
    assert b'value="kent_officer"' in bad_format.content
    bad_date = auditor.get("/audit/export/", {"format": "csv", "since": "last tuesday"})
    assert bad_date.status_code == 400 and b"Enter a date and time" in bad_date.content
    assert b"last tuesday" in bad_date.content
    assert not events("audit.exported")


def test_the_verification_page_and_verify_now(cast: dict[str, Persona]) -> None:
    make_task()
    checkpoint = audit_checkpoint()
    assert checkpoint is not None
    auditor = web(cast["auditor"])
    before = auditor.get("/audit/verification/")
    body = before.content.decode()
    assert before.status_code == 200 and 'data-verified="never"' in body
    assert f"#{checkpoint.seq}" in body and checkpoint.head_hash in body and checkpoint.key_id in body
    assert "Matches the verification key" in body
    assert len(events("audit.status_viewed", actor=cast["auditor"].user)) == 1

    done = auditor.post("/audit/verification/", follow=True)
    page = done.content.decode()
    assert done.redirect_chain == [("/audit/verification/", 302)]
    assert "The trail is intact" in page and 'data-verified="ok"' in page
    run = AuditVerification.objects.get()
    assert run.is_ok and run.events_checked >= checkpoint.seq
    verified = events("audit.verified", actor=cast["auditor"].user)
    assert len(verified) == 1 and verified[0].outcome == "success"
    assert verified[0].changes == {"ok": True, "events": run.events_checked, "first_bad_seq": None}
    assert len(events("audit.status_viewed")) == 2  # every view of the page


def test_a_failed_verification_is_said_and_recorded_as_failed(
    cast: dict[str, Persona], monkeypatch: pytest.MonkeyPatch
) -> None:
    def tampered(*args: object, **kwargs: object) -> None:
        raise _Tampered(42, "event #42 was altered (its content no longer matches its hash)")

    # Whichever walk runs (the Python one on SQLite, the COPY segments on PostgreSQL) finds it.
    monkeypatch.setattr("hub.services.audit_integrity._walk", tampered)
    monkeypatch.setattr("hub.services.audit_integrity.walk_postgresql", tampered)
    page = web(cast["auditor"]).post("/audit/verification/", follow=True).content.decode()
    assert "Verification FAILED at event #42" in page
    event = events("audit.verified")[-1]
    assert event.outcome == "failed" and event.changes["first_bad_seq"] == 42


# --- Accountability reports: the hub and auditors --------------------------------------------------


def test_reports_are_for_the_hub_and_auditors(cast: dict[str, Persona]) -> None:
    for who in NOT_HUB:
        assert web(cast[who]).get("/reports/").status_code == 403, who
    assert not events("report.spokes_viewed")
    for who in ["coordinator", "auditor"]:
        assert web(cast[who]).get("/reports/").status_code == 200, who
    assert len(events("report.spokes_viewed")) == 2 and len(events("report.funnel_viewed")) == 2


def test_the_report_defaults_to_the_last_12_months_and_shows_each_spoke(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    record_outcome(task)
    make_task(holder="ESSEX")
    response = web(cast["coordinator"]).get("/reports/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="period_since"' in body and 'type="date"' in body
    assert body.count("<canvas data-chart=") == 4  # funnel, days to outcome, two outcome breakdowns
    for chart in ["funnel-chart", "days-chart", "justice-chart", "safeguarding-chart"]:
        assert f'<script id="{chart}" type="application/json">' in body
    assert 'data-org="KENT"' in body and 'data-org="ESSEX"' in body
    assert "Charged / summonsed" in body and "Child safeguarded" in body
    viewed = events("report.spokes_viewed", actor=cast["coordinator"].user)[0]
    assert set(viewed.changes) == {"since", "until", "waiting_requests"}  # the requests it named
    assert viewed.changes["waiting_requests"] == []
    assert events("report.funnel_viewed", actor=cast["coordinator"].user)


def test_a_refused_period_keeps_what_was_typed(cast: dict[str, Persona]) -> None:
    hub = web(cast["coordinator"])
    backwards = hub.get("/reports/", {"since": "2025-06-01", "until": "2025-05-01"})
    body = backwards.content.decode()
    assert backwards.status_code == 400 and "The period must end on or after the day it starts." in body
    assert 'value="2025-06-01"' in body and 'value="2025-05-01"' in body
    assert "<canvas" not in body
    garbled = hub.get("/reports/", {"since": "1st of May", "until": ""})
    body = garbled.content.decode()
    assert garbled.status_code == 400 and "Enter a date, for example 2025-04-01." in body
    assert "Enter the last day of the period." in body and 'value="1st of May"' in body
    one_day = hub.get("/reports/", {"since": "2025-05-01", "until": "2025-05-01"})
    assert one_day.status_code == 200
    viewed = events("report.spokes_viewed")
    assert len(viewed) == 1 and viewed[0].changes["since"].startswith("2025-05-01T00:00:00")
    assert viewed[0].changes["until"].startswith("2025-05-02T00:00:00")


# --- Outcome feedback ----------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def ncmec_log(receiver: Receiver) -> tuple[WebhookEndpoint, OutboxEvent]:
    """NCMEC's endpoint with one outcome event delivered (one attempt)."""
    endpoint, _ = webhook_endpoint_set(agency=org("NCMEC"), url=receiver.url, actor=None)
    task = make_task(accepted=True)
    record_outcome(task)
    event = OutboxEvent.objects.get(referral=task.referral)
    assert webhook_deliver(event_id=event.pk).status == "delivered"
    return endpoint, event


def test_the_feedback_page_is_for_the_hub_and_auditors(cast: dict[str, Persona]) -> None:
    for who in NOT_HUB[:-1]:
        assert web(cast[who]).get("/feedback/").status_code == 403, who
    agency = web(cast["ncmec"]).get("/feedback/")
    assert agency.status_code == 302 and agency["Location"] == "/agency/#feedback"
    hub = web(cast["coordinator"]).get("/feedback/").content.decode()
    assert 'id="register-form"' in hub and 'data-agency="NCMEC"' in hub and 'data-agency="IWF"' in hub
    auditor = web(cast["auditor"]).get("/feedback/").content.decode()
    assert 'data-agency="NCMEC"' in auditor and 'id="register-form"' not in auditor
    for who in ["auditor", "ncmec"]:
        refused = web(cast[who]).post("/feedback/", {"agency": "IWF", "url": "http://127.0.0.1:9/"})
        assert refused.status_code == 403, who
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_change_needs_a_second_coordinator_and_its_secret_is_shown_once(
    cast: dict[str, Persona],
) -> None:
    """Issue 14: one coordinator proposes where an agency's disclosures go; nothing changes until
    another approves; the approver sees the new secret once; the proposer cannot approve."""
    hub = web(cast["coordinator"])
    second = make_persona("second.coord", "NCA", "coordinator")
    other = web(second)
    proposed = hub.post(
        "/feedback/",
        {"agency": "IWF", "url": "http://127.0.0.1:9/iwf", "event_types": ["referral.outcome_recorded"]},
    )
    assert proposed.status_code == 302 and proposed["Location"] == "/feedback/#changes"
    assert not WebhookEndpoint.objects.filter(agency__code="IWF").exists(), "nothing until approved"
    change = WebhookChange.objects.get(agency__code="IWF", status="pending")
    assert events("webhook.change_proposed", actor=cast["coordinator"].user)
    decide = f"/feedback/changes/{change.pk}/decide/"
    approve = {f"change-{change.pk}-decision": "approve", f"change-{change.pk}-reason": ""}
    own = hub.get("/feedback/").content.decode()
    assert "you proposed it: another coordinator decides" in own and decide not in own
    assert hub.post(decide, approve).status_code == 403, "nobody approves their own proposal"
    assert decide in other.get("/feedback/").content.decode()

    approved = other.post(decide, approve)
    endpoint = WebhookEndpoint.objects.get(agency__code="IWF")
    body = approved.content.decode()
    assert approved.status_code == 200 and approved["Cache-Control"] == "no-store"
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in body and "Copy it now" in body
    assert events("webhook.change_approved", actor=second.user)
    # Never again: not on the log, the overview, to the agency.
    for url in [f"/feedback/endpoints/{endpoint.pk}/", "/feedback/"]:
        assert endpoint.secret not in hub.get(url).content.decode(), url
    iwf = web(cast["iwf"])
    for url in [f"/feedback/endpoints/{endpoint.pk}/", "/feedback/ours/", "/agency/"]:
        page = iwf.get(url)
        assert page.status_code == 200 and endpoint.secret not in page.content.decode(), url
    assert other.post(decide, approve).status_code == 409, "decided once"

    # Re-pointing: proposed, refused with a reason (nothing moves), proposed again, approved with
    # a new secret (the old receiver's secret is not the new one's).
    old_secret = endpoint.secret
    hub.post("/feedback/", {"agency": "IWF", "url": "http://127.0.0.1:9/v2",
                            "event_types": ["referral.outcome_recorded"]})  # fmt: skip
    change = WebhookChange.objects.get(agency__code="IWF", status="pending")
    decide = f"/feedback/changes/{change.pk}/decide/"
    no_reason = other.post(decide, {f"change-{change.pk}-decision": "refuse"})
    assert no_reason.status_code == 400 and "Say why the change is refused." in no_reason.content.decode()
    other.post(
        decide, {f"change-{change.pk}-decision": "refuse", f"change-{change.pk}-reason": "Not IWF's host"}
    )
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/iwf" and endpoint.secret == old_secret
    hub.post("/feedback/", {"agency": "IWF", "url": "http://127.0.0.1:9/v2",
                            "event_types": ["referral.outcome_recorded"]})  # fmt: skip
    change = WebhookChange.objects.get(agency__code="IWF", status="pending")
    confirmed = {
        f"change-{change.pk}-decision": "approve",
        f"change-{change.pk}-reason": "Confirmed by phone",
    }
    other.post(f"/feedback/changes/{change.pk}/decide/", confirmed)
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/v2" and endpoint.secret != old_secret
    assert endpoint.previous_secret == ""


def test_a_refused_endpoint_keeps_what_was_typed(cast: dict[str, Persona]) -> None:
    hub = web(cast["coordinator"])
    missing = hub.post("/feedback/", {"agency": "IWF", "url": "", "event_types": []})
    body = missing.content.decode()
    assert missing.status_code == 400
    assert (
        "Enter the URL of the agency&#x27;s receiver." in body
        and "Choose at least one event to send." in body
    )
    assert '<option value="IWF" selected>' in body
    private = hub.post(
        "/feedback/",
        {"agency": "IWF", "url": "http://10.1.2.3/hook", "event_types": ["referral.outcome_recorded"]},
    )
    body = private.content.decode()
    assert private.status_code == 400 and "private, loopback or link-local" in body
    assert 'value="http://10.1.2.3/hook"' in body and '<option value="IWF" selected>' in body
    assert not WebhookEndpoint.objects.exists()


def test_rotating_a_secret_is_for_the_hub_and_shows_the_new_one_once(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent]
) -> None:
    endpoint, _ = ncmec_log
    url = f"/feedback/endpoints/{endpoint.pk}/rotate-secret/"
    assert web(cast["auditor"]).post(url).status_code == 403
    assert web(cast["ncmec"]).post(url).status_code == 403  # its own: it sees it, may not rotate it
    for who in ["iwf", "kent_officer", "ersou_coordinator"]:
        assert web(cast[who]).post(url).status_code == 404, who
    old = endpoint.secret
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == old
    hub = web(cast["coordinator"])
    rotated = hub.post(url)
    endpoint.refresh_from_db()
    body = rotated.content.decode()
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    assert endpoint.secret != old and endpoint.secret in body and old not in body
    assert endpoint.previous_secret == old and "Still signs alongside the new one" in body
    assert events("webhook.secret_rotated", actor=cast["coordinator"].user)
    assert endpoint.secret not in hub.get(f"/feedback/endpoints/{endpoint.pk}/").content.decode()


def test_the_delivery_log_is_scoped_like_the_api(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent]
) -> None:
    endpoint, event = ncmec_log
    url = f"/feedback/endpoints/{endpoint.pk}/"
    for who in ["coordinator", "auditor", "ncmec"]:
        page = web(cast[who]).get(url)
        body = page.content.decode()
        assert page.status_code == 200 and event.webhook_id in body and "HTTP 200" in body, who
        assert endpoint.secret not in body
        viewed = events("webhook.deliveries_viewed", actor=cast[who].user)
        assert viewed and viewed[-1].changes["ids"] == [str(event.pk)], who
    assert 'id="replay-' in web(cast["coordinator"]).get(url).content.decode()
    for who in ["auditor", "ncmec"]:
        assert 'id="replay-' not in web(cast[who]).get(url).content.decode(), who
    for who in ["iwf", "kent_officer", "ersou_coordinator", "gmp_officer"]:
        assert web(cast[who]).get(url).status_code == 404, who
    assert not events("webhook.deliveries_viewed", actor=cast["iwf"].user)
    refused = events("access.not_found", actor=cast["iwf"].user)  # refusals are audited as in the API
    assert refused and refused[0].object_id == str(endpoint.pk)


def test_the_agency_reads_its_own_log_on_its_referrals_page(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent]
) -> None:
    _, event = ncmec_log
    ncmec = web(cast["ncmec"])
    assert 'hx-get="/feedback/ours/"' in ncmec.get("/agency/").content.decode()
    fragment = ncmec.get("/feedback/ours/", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert event.webhook_id in body and "Delivered" in body and "Re-send now" not in body
    assert "Rotate secret" not in body
    assert "<html" in ncmec.get("/feedback/ours/").content.decode()  # without JavaScript: a page
    other = web(cast["iwf"]).get("/feedback/ours/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="no-endpoint"' in other and event.webhook_id not in other
    for who in ["coordinator", "auditor", "kent_officer"]:
        assert web(cast[who]).get("/feedback/ours/").status_code == 403, who


def test_replay_needs_a_reason_and_only_the_hub_may(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent], receiver: Receiver
) -> None:
    endpoint, event = ncmec_log
    url = f"/feedback/deliveries/{event.pk}/replay/"
    for who in ["auditor", "ncmec", "iwf", "kent_officer", "ersou_coordinator"]:
        assert web(cast[who]).post(url, {"reason": "again"}).status_code == 404, who
    hub = web(cast["coordinator"])
    refused = hub.post(url, {"reason": "  "})
    body = refused.content.decode()
    assert refused.status_code == 400 and "Give a reason for re-sending this event to the agency." in body
    assert f'id="replay-{event.pk}-reason"' in body
    assert not DeliveryAttempt.objects.filter(is_replay=True).exists() and len(receiver.requests) == 1
    done = hub.post(url, {"reason": "NCMEC ticket 4471: their queue lost it"}, follow=True)
    assert done.redirect_chain == [(f"/feedback/endpoints/{endpoint.pk}/#event-{event.pk}", 302)]
    assert f"Re-sent {event.webhook_id}: the agency&#x27;s receiver answered 200." in done.content.decode()
    attempt = DeliveryAttempt.objects.get(is_replay=True)
    assert attempt.replayed_by == cast["coordinator"].user and len(receiver.requests) == 2
    assert receiver.requests[-1]["headers"]["webhook-id"] == event.webhook_id
    disclosed = events("referral.disclosed", actor=cast["coordinator"].user)
    assert (
        len(disclosed) == 1 and disclosed[0].justification == "replay: NCMEC ticket 4471: their queue lost it"
    )


def test_replaying_to_a_disabled_endpoint_says_why_not(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent]
) -> None:
    endpoint, event = ncmec_log
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="Receiver answered 410 Gone"
    )
    refused = web(cast["coordinator"]).post(f"/feedback/deliveries/{event.pk}/replay/", {"reason": "again"})
    body = refused.content.decode()
    assert refused.status_code == 400 and "The agency has no active webhook endpoint" in body
    assert "Receiver answered 410 Gone" in body and "Re-send now" not in body
    assert not DeliveryAttempt.objects.filter(is_replay=True).exists()


def test_a_failed_replay_says_what_the_receiver_answered(
    cast: dict[str, Persona], ncmec_log: tuple[WebhookEndpoint, OutboxEvent], receiver: Receiver
) -> None:
    _, event = ncmec_log
    receiver.statuses.append(503)
    page = web(cast["coordinator"]).post(
        f"/feedback/deliveries/{event.pk}/replay/", {"reason": "check"}, follow=True
    )
    body = page.content.decode()
    assert "but the agency&#x27;s receiver answered 503." in body and "HTTP 503" in body
