"""Issue 17: an outcome recorded before the agency's endpoint existed is offered for sending."""

from __future__ import annotations

import pytest

from hub.models import AuditEvent
from safeguarding.feedback import webhook_endpoint_set
from safeguarding.models import OutboxEvent
from safeguarding.services import outcome_record
from tests.conftest import Persona
from tests.factories import acting, make_task, org

pytestmark = pytest.mark.django_db


def _outcome(task: object) -> None:
    outcome_record(
        referral=task.referral, actor=acting("KENT"), justice_outcome="outcome_21",  # type: ignore[attr-defined]
        safeguarding_outcome="no_child_at_risk", arrests=0, children_safeguarded=0, victims_identified=0,
    )  # fmt: skip


def test_outcomes_recorded_before_the_endpoint_are_sent_once_on_request(cast: dict[str, Persona]) -> None:
    early = make_task(accepted=True)
    _outcome(early)
    assert not OutboxEvent.objects.exists(), "no endpoint yet: nothing was offered"
    endpoint, _ = webhook_endpoint_set(agency=org("NCMEC"), url="http://127.0.0.1:9/hook", actor=None)
    later = make_task(accepted=True)
    _outcome(later)  # after the endpoint: queued at once, as always
    assert OutboxEvent.objects.filter(referral=later.referral).count() == 1
    hub = cast["coordinator"].client
    url = f"/api/v1/webhooks/{endpoint.pk}/send-outstanding/"
    sent = hub.post(url)
    assert sent.status_code == 200 and sent.json() == {"queued": 1}
    queued = OutboxEvent.objects.get(referral=early.referral)
    assert queued.event_type == "referral.outcome_recorded"
    assert queued.payload["data"]["outcome"]["justice_outcome"] == "outcome_21"
    assert hub.post(url).json() == {"queued": 0}, "never twice"
    audited = AuditEvent.objects.filter(action="webhook.outstanding_sent").order_by("seq")
    assert [e.changes["referrals"] for e in audited] == [[str(early.referral_id)], []]
    assert cast["kent_officer"].client.post(url).status_code == 404
    narrow, _ = webhook_endpoint_set(
        agency=org("NCMEC"), url="http://127.0.0.1:9/hook", actor=None, event_types=["referral.triaged"]
    )
    refused = hub.post(f"/api/v1/webhooks/{narrow.pk}/send-outstanding/")
    assert refused.status_code == 409 and refused.json()["code"] == "not_subscribed"
