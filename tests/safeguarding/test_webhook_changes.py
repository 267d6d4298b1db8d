"""Where an agency's disclosures go is decided by two hub coordinators (issue 14): proposed by
one through the API or the page, approved or refused by another; until then the endpoint and
its queued deliveries are untouched; on approval the endpoint moves with a new secret, and the
deliveries still queued go to the new receiver signed with it, never before."""

from __future__ import annotations

import pytest

from hub.models import AuditEvent
from safeguarding.feedback import webhook_change_decide, webhook_change_propose, webhook_deliver
from safeguarding.models import OutboxEvent, WebhookChange, WebhookEndpoint
from tests.conftest import Persona, make_persona
from tests.factories import make_task, org
from tests.safeguarding.test_feedback import Receiver, record_outcome, register

pytestmark = pytest.mark.django_db


def test_the_api_proposes_and_only_another_coordinator_approves(cast: dict[str, Persona]) -> None:
    hub = cast["coordinator"].client
    second = make_persona("second.coord", "NCA", "coordinator")
    proposed = hub.post(
        "/api/v1/webhooks/", {"agency": "IWF", "url": "http://127.0.0.1:9/iwf"}, format="json"
    )
    assert proposed.status_code == 202
    body = proposed.json()
    assert body["status"] == "pending" and body["proposed_by"] == "coordinator" and "secret" not in body
    assert not WebhookEndpoint.objects.filter(agency__code="IWF").exists()
    listed = second.client.get("/api/v1/webhook-changes/").json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert cast["auditor"].client.get("/api/v1/webhook-changes/").status_code == 200
    assert cast["ncmec"].client.get("/api/v1/webhook-changes/").status_code == 403

    own = hub.post(f"/api/v1/webhook-changes/{body['id']}/approve/", {}, format="json")
    assert own.status_code == 403 and "another hub coordinator" in own.json()["detail"]
    approved = second.client.post(f"/api/v1/webhook-changes/{body['id']}/approve/", {}, format="json")
    assert approved.status_code == 200
    endpoint = WebhookEndpoint.objects.get(agency__code="IWF")
    assert approved.json()["secret"] == endpoint.secret and endpoint.url == "http://127.0.0.1:9/iwf"
    again = second.client.post(f"/api/v1/webhook-changes/{body['id']}/approve/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_pending"
    event = AuditEvent.objects.get(action="webhook.change_approved")
    assert event.actor == second.user and event.changes["proposed_by"] == str(cast["coordinator"].user.pk)
    assert event.recipient == "IWF"


def test_a_refusal_needs_a_reason_and_a_newer_proposal_replaces_a_pending_one(
    cast: dict[str, Persona],
) -> None:
    coordinator = cast["coordinator"].user
    second = make_persona("second.coord", "NCA", "coordinator")
    first = webhook_change_propose(agency=org("IWF"), url="http://127.0.0.1:9/a", actor=coordinator)
    newer = webhook_change_propose(agency=org("IWF"), url="http://127.0.0.1:9/b", actor=coordinator)
    first.refresh_from_db()
    assert first.status == WebhookChange.Status.SUPERSEDED and newer.status == WebhookChange.Status.PENDING
    refused = second.client.post(f"/api/v1/webhook-changes/{newer.pk}/refuse/", {}, format="json")
    assert refused.status_code == 400
    refused = second.client.post(
        f"/api/v1/webhook-changes/{newer.pk}/refuse/", {"reason": "Not IWF's domain"}, format="json"
    )
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert not WebhookEndpoint.objects.filter(agency__code="IWF").exists()
    assert AuditEvent.objects.get(action="webhook.change_refused").justification == "Not IWF's domain"


def test_queued_deliveries_follow_the_new_endpoint_only_after_approval(cast: dict[str, Persona]) -> None:
    with Receiver() as old, Receiver(status=503) as new:
        register(old)  # NCMEC's current receiver
        task = make_task(accepted=True)
        record_outcome(task)
        event = OutboxEvent.objects.get(referral=task.referral)
        change = webhook_change_propose(agency=org("NCMEC"), url=new.url, actor=cast["coordinator"].user)
        new.status = 200
        assert webhook_deliver(event_id=event.pk).status == "delivered"
        assert len(old.requests) == 1 and new.requests == [], "pending: still the current receiver"

        later = make_task(accepted=True)
        record_outcome(later)
        queued = OutboxEvent.objects.get(referral=later.referral)
        second = make_persona("second.coord", "NCA", "coordinator")
        endpoint, secret = webhook_change_decide(change=change, actor=second.user, approve=True)
        assert endpoint is not None and secret is not None and endpoint.url == new.url
        new.secret = secret  # given to the agency through a secure channel
        assert webhook_deliver(event_id=queued.pk).status == "delivered"
        assert len(new.requests) == 1 and len(old.requests) == 1
        assert list(new.processed) == [queued.webhook_id], "verified with the new secret"
        endpoint.refresh_from_db()
        assert endpoint.previous_secret == "", "the old receiver's secret does not sign for the new one"
