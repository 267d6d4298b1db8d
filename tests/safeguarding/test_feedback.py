"""Outcome feedback: every referring agency learns what happened, reliably, verifiably, and
every disclosure is on the audit trail."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.management import call_command
from standardwebhooks import Webhook, WebhookVerificationError

from config.celery import app
from hub.clock import db_now
from hub.models import AuditEvent, Notification, Organisation
from safeguarding.feedback import (
    _claim,
    outbox_drain,
    webhook_deliver,
    webhook_endpoint_set,
    webhook_secret_rotate,
)
from safeguarding.models import OutboxEvent, WebhookEndpoint
from safeguarding.services import outcome_record
from safeguarding.webhooks import sign
from tests.conftest import Persona
from tests.factories import acting, make_task, org

OUTCOME = {
    "justice_outcome": "charge_summons",
    "safeguarding_outcome": "child_safeguarded",
    "arrests": 1,
    "children_safeguarded": 2,
    "victims_identified": 2,
    "suspect_has_access_to_children": True,
    "is_safeguarding_needed": True,
    "summary": "Spoke-internal: victim is the suspect's niece, school X.",
}


class Receiver:
    """A real HTTP receiver on loopback that verifies signatures with the reference library and
    processes each webhook-id once (as a well-behaved agency system would). ``fail_for_seconds``:
    an outage that starts with the first request it gets (so how long the test took to get there,
    on a loaded machine, does not decide whether the sender meets it)."""

    def __init__(self, secret: str = "", fail_for_seconds: float = 0.0, status: int = 200) -> None:
        self.secret, self.status = secret, status
        self.fail_for = fail_for_seconds
        self.fail_until: float | None = None
        self.requests: list[dict[str, Any]] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append({"headers": headers, "body": body})
                    if receiver.fail_until is None:
                        receiver.fail_until = time.monotonic() + receiver.fail_for
                    if time.monotonic() < receiver.fail_until:
                        code = 503
                    else:
                        code = receiver.status
                        if code == 200:
                            payload = Webhook(receiver.secret).verify(body, headers)
                            receiver.processed.setdefault(headers["webhook-id"], payload)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vihub-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def register(receiver: Receiver, events: list[str] | None = None) -> WebhookEndpoint:
    endpoint, secret = webhook_endpoint_set(
        agency=org("NCMEC"), url=receiver.url, actor=None, event_types=events
    )
    receiver.secret = secret or receiver.secret
    return endpoint


def record_outcome(task: Any) -> None:
    outcome_record(referral=task.referral, actor=acting("KENT"), **OUTCOME)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.mark.django_db
def test_signature_verifies_with_an_independent_implementation_and_tampering_fails(
    receiver: Receiver,
) -> None:
    register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    event = OutboxEvent.objects.get(referral=task.referral)
    assert webhook_deliver(event_id=event.pk).status == "delivered"
    request = receiver.requests[-1]
    body, headers = request["body"], request["headers"]
    verifier = Webhook(receiver.secret)
    payload = verifier.verify(body, headers)
    assert payload["type"] == "referral.outcome_recorded"
    assert payload["data"]["referral_id"] == str(task.referral_id)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace(b'"arrests":1', b'"arrests":9'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    stale["webhook-signature"] = sign(secret=receiver.secret, msg_id=headers["webhook-id"],
                                      timestamp=int(stale["webhook-timestamp"]), body=body)  # fmt: skip
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, stale)


@pytest.mark.django_db
def test_payload_is_thin_codes_counts_and_ids_only(receiver: Receiver) -> None:
    register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    payload = OutboxEvent.objects.get(referral=task.referral).payload
    assert set(payload) == {"type", "timestamp", "data"}
    assert set(payload["data"]) == {"referral_id", "external_id", "status", "outcome"}
    assert set(payload["data"]["outcome"]) == {
        "justice_outcome", "safeguarding_outcome", "arrests", "children_safeguarded", "victims_identified"
    }  # fmt: skip
    assert "niece" not in json.dumps(payload) and "Hash match" not in json.dumps(payload)


@pytest.mark.django_db
def test_rolled_back_outcome_sends_nothing(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outcome's transaction fails after its outbox row was written (here: its audit row
    cannot be written): nothing of it stays, so nothing is ever sent."""
    register(receiver)
    task = make_task(accepted=True)

    def audit_fails(**kwargs: Any) -> None:
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr("safeguarding.services.audit_record", audit_fails)
    with pytest.raises(RuntimeError, match="audit trail"):
        record_outcome(task)
    assert not OutboxEvent.objects.filter(referral=task.referral).exists()
    task.refresh_from_db()
    assert task.status == "accepted"
    assert outbox_drain() == 0 and receiver.requests == []


@pytest.mark.django_db
def test_status_events_only_for_subscribers(receiver: Receiver) -> None:
    register(receiver, ["referral.outcome_recorded", "referral.allocated"])
    task = make_task()  # triaged then allocated
    types = list(OutboxEvent.objects.filter(referral=task.referral).values_list("event_type", flat=True))
    assert types == ["referral.allocated"]
    assert not OutboxEvent.objects.filter(agency__code="IWF").exists()


@pytest.mark.django_db
def test_gone_disables_the_endpoint_and_tells_the_hub(cast: dict[str, Persona]) -> None:
    with Receiver(status=410) as gone:
        endpoint = register(gone)
        task = make_task(accepted=True)
        record_outcome(task)
        assert (
            webhook_deliver(event_id=OutboxEvent.objects.get(referral=task.referral).pk).status == "disabled"
        )
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason
    assert Notification.objects.filter(
        recipient__username="coordinator", subject__contains="disabled"
    ).exists()
    stats = cast["coordinator"].client.get("/api/v1/feedback/stats/").json()
    assert (
        stats["failing_endpoints"][0]["agency"] == "NCMEC"
        and stats["failing_endpoints"][0]["is_active"] is False
    )


def test_a_send_the_receiver_refused_is_still_a_disclosure_on_the_trail(cast: dict[str, Persona]) -> None:
    """Issue 14: the payload reached the receiver, whatever it answered; a send that never
    connected disclosed nothing."""
    with Receiver(status=500) as refusing:
        register(refusing)
        task = make_task(accepted=True)
        record_outcome(task)
        event = OutboxEvent.objects.get(referral=task.referral)
        assert webhook_deliver(event_id=event.pk).status == "retrying"
    disclosed = AuditEvent.objects.filter(action="referral.disclosed", referral_id=task.referral_id)
    assert disclosed.count() == 1 and "answered HTTP 500" in disclosed.get().justification
    assert disclosed.get().recipient.startswith("NCMEC http://127.0.0.1:")
    # Nothing listens there now: the next attempt connects to nothing and discloses nothing.
    WebhookEndpoint.objects.filter(agency__code="NCMEC").update(url="http://127.0.0.1:9/hook")
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=db_now() - timedelta(seconds=1))
    webhook_deliver(event_id=event.pk)
    assert disclosed.count() == 1


def test_an_attempt_that_did_not_deliver_says_so_in_the_log(
    cast: dict[str, Persona], caplog: pytest.LogCaptureFixture
) -> None:
    """The job's line in the worker log is Celery's "succeeded": the attempt's own warning says
    what happened to the feedback."""
    from safeguarding.tasks import webhook_deliver_job

    with Receiver(status=503) as refusing:
        register(refusing)
        task = make_task(accepted=True)
        record_outcome(task)
        event = OutboxEvent.objects.get(referral=task.referral)
        with caplog.at_level("WARNING", logger="safeguarding.tasks"):
            answer = webhook_deliver_job(str(event.pk))
    assert answer == "not delivered (HTTP 503); will retry"
    assert [r.getMessage() for r in caplog.records if r.name == "safeguarding.tasks"] == [
        f"outcome feedback {event.pk} not delivered (HTTP 503); will retry"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "https://10.1.2.3/x", "https://169.254.169.254/latest", "https://localhost/x",
            "https://[::1]/x", "https://192.168.0.10/hook"],
)  # fmt: skip
def test_production_refuses_private_loopback_and_link_local_targets(url: str, settings: Any) -> None:
    settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS = False
    with pytest.raises(Exception, match="private, loopback or link-local|must use https"):
        webhook_endpoint_set(agency=org("IWF"), url=url, actor=None)
    assert not WebhookEndpoint.objects.filter(agency__code="IWF").exists()


@pytest.mark.django_db
def test_send_time_check_refuses_a_target_that_became_private(receiver: Receiver, settings: Any) -> None:
    endpoint = register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS = False  # e.g. DNS now points at an internal address
    event = OutboxEvent.objects.get(referral=task.referral)
    assert webhook_deliver(event_id=event.pk).status == "retrying"
    assert receiver.requests == []
    assert "refused" in event.attempts_log.get().error and endpoint.url in event.attempts_log.get().url


@pytest.mark.django_db
def test_rotation_sends_both_signatures_during_the_overlap(receiver: Receiver) -> None:
    endpoint = register(receiver)
    old = receiver.secret
    new = webhook_secret_rotate(endpoint=endpoint, actor=None)
    task = make_task(accepted=True)
    record_outcome(task)
    receiver.secret = new
    assert webhook_deliver(event_id=OutboxEvent.objects.get(referral=task.referral).pk).status == "delivered"
    request = receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request["body"], request["headers"])  # a receiver not yet switched over
    Webhook(new).verify(request["body"], request["headers"])


@pytest.mark.django_db
def test_delivery_log_replay_and_disclosure_audit(receiver: Receiver, cast: dict[str, Persona]) -> None:
    endpoint = register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    event = OutboxEvent.objects.get(referral=task.referral)
    webhook_deliver(event_id=event.pk)
    hub, ncmec, iwf = cast["coordinator"].client, cast["ncmec"].client, cast["iwf"].client
    log = ncmec.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()
    assert log[0]["webhook_id"] == event.webhook_id and log[0]["attempts_log"][0]["status_code"] == 200
    assert iwf.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").status_code == 404
    assert hub.post(f"/api/v1/deliveries/{event.pk}/replay/", {}, format="json").status_code == 400
    replay = hub.post(f"/api/v1/deliveries/{event.pk}/replay/", {"reason": "agency lost it"}, format="json")
    assert replay.status_code == 200 and replay.json()["status_code"] == 200
    assert (
        ncmec.post(f"/api/v1/deliveries/{event.pk}/replay/", {"reason": "x"}, format="json").status_code
        == 404
    )
    assert receiver.requests[-1]["headers"]["webhook-id"] == event.webhook_id  # the same id: dedupable
    disclosures = AuditEvent.objects.filter(action="referral.disclosed", referral_id=task.referral_id)
    assert [(d.actor_display, d.recipient.split()[0]) for d in disclosures] == [
        ("system", "NCMEC"),
        ("coordinator", "NCMEC"),
    ]
    assert disclosures.last().justification == "replay: agency lost it"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_set_agency_webhook_prints_the_secret_once(receiver: Receiver) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("set_agency_webhook", "ncmec", receiver.url, stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("whsec_") and WebhookEndpoint.objects.get(agency__code="NCMEC").secret == secret
    out2 = io.StringIO()
    call_command("set_agency_webhook", "NCMEC", receiver.url, stdout=out2, stderr=io.StringIO())
    assert out2.getvalue() == ""  # an existing secret is never printed again


@pytest.mark.redis
def test_outage_then_recovery_every_event_processed_exactly_once(committed_db: Any) -> None:
    """A receiver returns 503 for a while; a real worker retries with backoff on real Redis;
    after recovery every event arrives, and each is processed once (deduplicated by id)."""
    with Receiver(fail_for_seconds=3.0) as flaky:
        register(flaky)
        tasks = [make_task(accepted=True) for _ in range(5)]
        for task in tasks:
            record_outcome(task)  # its own durable transaction: the outbox row commits with it
        with start_worker(  # the five sends wait in Redis for a worker, then meet the outage together
            app, pool="solo", perform_ping_check=False, queues=["default"], shutdown_timeout=10
        ):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(flaky.processed) < len(tasks):
                outbox_drain()  # what beat does every 15 s
                time.sleep(0.5)
    assert len(flaky.processed) == 5
    assert (
        any(r for r in flaky.requests if r["headers"]["webhook-id"] in flaky.processed)
        and len(flaky.requests) > 5
    )
    events = OutboxEvent.objects.filter(referral__in=[t.referral for t in tasks])
    assert set(events.values_list("status", flat=True)) == {"delivered"}
    assert {e.webhook_id for e in events} == set(flaky.processed)
    assert all(e.attempts >= 2 for e in events)  # each saw at least one 503 first


@pytest.mark.redis
def test_crash_between_commit_and_send_loses_nothing(committed_db: Any) -> None:
    with Receiver() as r:
        register(r)
        task = make_task(accepted=True)
        record_outcome(task)  # commits, and enqueues the send after commit
        redis.Redis.from_url(settings.REDIS_URL).flushall()  # the enqueued job is gone, as in a crash
        assert r.requests == []
        with start_worker(
            app, pool="solo", perform_ping_check=False, queues=["default"], shutdown_timeout=10
        ):
            assert outbox_drain() == 1
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not r.processed:
                time.sleep(0.2)
    assert len(r.processed) == 1
    event = OutboxEvent.objects.get(referral=task.referral)
    assert event.status == "delivered" and event.delivered_at is not None
    assert event.delivered_at - event.created_at < timedelta(minutes=1)
    assert Organisation.objects.filter(code="NCMEC").exists()


@pytest.mark.django_db
def test_a_sender_killed_mid_send_is_logged_counted_and_retried(receiver: Receiver) -> None:
    register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    event = OutboxEvent.objects.get(referral=task.referral)
    assert _claim(event.pk, db_now())  # a worker claims it … and dies before recording a result
    OutboxEvent.objects.filter(pk=event.pk).update(lease_expires_at=db_now() - timedelta(seconds=1))
    assert webhook_deliver(event_id=event.pk).status == "delivered"
    event.refresh_from_db()
    assert event.attempts == 2
    assert [a.error for a in event.attempts_log.order_by("attempted_at")] == [
        "sender lost before the result",
        "",
    ]


@pytest.mark.django_db
def test_past_the_retry_horizon_it_gives_up_audits_and_tells_the_hub(
    receiver: Receiver, cast: dict[str, Persona]
) -> None:
    register(receiver)
    task = make_task(accepted=True)
    record_outcome(task)
    event = OutboxEvent.objects.get(referral=task.referral)
    OutboxEvent.objects.filter(pk=event.pk).update(
        created_at=db_now() - timedelta(days=4), last_error="HTTP 503"
    )
    assert webhook_deliver(event_id=event.pk).status == "failed"
    assert OutboxEvent.objects.get(pk=event.pk).status == "failed" and receiver.requests == []
    assert AuditEvent.objects.filter(action="webhook.failed", object_id=str(event.pk)).exists()
    assert Notification.objects.filter(
        recipient__username="coordinator", subject__contains="failed for good"
    ).exists()
