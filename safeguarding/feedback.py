"""Outcome feedback to the referring agency: the outbox, signed delivery with retries, the
delivery log, replay, endpoint registration and the accountability figures.

Guarantees: an event is written in the same transaction as the change it reports (rolled
back → nothing sent); delivery is at least once with a stable ``webhook-id``; a 2xx ends it
and is audited as a disclosure (who, what, to which agency, when); a 410 disables the
endpoint and tells the hub; other failures retry with exponential backoff and jitter until
the retry horizon (3 days by default), then the hub is told.
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.clock import db_now
from hub.constants import AuditAction, WebhookEvent, webhook_event
from hub.exceptions import DomainError, NotPermitted
from hub.jobs import enqueue_now, enqueue_on_commit
from hub.models import Organisation, Referral, User
from hub.policies.rules import Act, authorize
from hub.services.alerts import notify_hub
from hub.services.audit import audit_record
from safeguarding.models import DeliveryAttempt, OutboxEvent, Outcome, WebhookChange, WebhookEndpoint
from safeguarding.webhooks import HttpResult, UnsafeTarget, new_secret, post, signature_header, vet_url

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # longer than one attempt's timeout; a crashed sender's lease expires
MAX_BACKOFF = timedelta(hours=6)
USER_AGENT = "VIHub-Webhooks/1"


# --- Payloads -------------------------------------------------------------------------------


def referral_payload(referral: Referral, event_type: str, at: datetime) -> dict[str, Any]:
    """Thin by design: ids, status and outcome codes/counts. Never free text, never anything
    that could identify a victim, never a spoke's internal notes."""
    outcome = Outcome.objects.filter(referral=referral).first()
    return {
        "type": event_type,
        "timestamp": at.isoformat(),
        "data": {
            "referral_id": str(referral.pk),
            "external_id": referral.external_id,
            "status": referral.status,
            "outcome": None
            if outcome is None
            else {
                "justice_outcome": outcome.justice_outcome,
                "safeguarding_outcome": outcome.safeguarding_outcome,
                "arrests": outcome.arrests,
                "children_safeguarded": outcome.children_safeguarded,
                "victims_identified": outcome.victims_identified,
            },
        },
    }


def outbox_emit(referral: Referral, event_type: WebhookEvent | str) -> OutboxEvent | None:
    """Write the event for the referring agency, if it has an active endpoint subscribed to
    this type. Runs inside the caller's transaction; the delivery job is enqueued on commit.

    ``event_type`` must be a ``WebhookEvent`` member or its value: anything else raises
    ``ValueError`` (before any query), never a silent "not subscribed"."""
    event_name = webhook_event(event_type).value
    endpoint = WebhookEndpoint.objects.filter(agency_id=referral.agency_id, is_active=True).first()
    subscribed = set(endpoint.event_types) if endpoint is not None else set()
    if WebhookEvent.OUTCOME_RECORDED.value in subscribed:
        # Who hears of an outcome hears of its changes too: "the agency is told again".
        subscribed.add(WebhookEvent.OUTCOME_UPDATED.value)
    if endpoint is None or event_name not in subscribed:
        return None
    now = db_now()
    event = OutboxEvent.objects.create(
        agency_id=referral.agency_id,
        referral=referral,
        event_type=event_name,
        payload=referral_payload(referral, event_name, now),
        next_attempt_at=now,
        created_at=now,
    )
    enqueue_on_commit("safeguarding.tasks.webhook_deliver_job", event.pk)
    return event


# --- Delivery -------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    base = timedelta(seconds=settings.VIHUB_WEBHOOK_RETRY_BASE_SECONDS)
    delay: timedelta = min(base * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not a secret)


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


@dataclass(frozen=True)
class DeliveryResult:
    status: str
    status_code: int | None = None
    error: str = ""


def _claim(event_id: UUID | str, now: datetime) -> bool:
    """Compare-and-set lease: only one sender at a time, and a crashed sender's lease expires.

    The attempt is counted when it is claimed, not when its result comes back, so a send that
    dies (worker killed, time limit) still counts towards the backoff and the give-up horizon;
    taking over a lapsed lease records the lost attempt in the delivery log."""
    due = OutboxEvent.objects.filter(pk=event_id, next_attempt_at__lte=now)
    lapsed = due.filter(status=OutboxEvent.Status.SENDING, lease_expires_at__lt=now).first()
    claimed = (
        due.filter(
            Q(status=OutboxEvent.Status.PENDING)
            | Q(status=OutboxEvent.Status.SENDING, lease_expires_at__lt=now)
        ).update(status=OutboxEvent.Status.SENDING, lease_expires_at=now + LEASE, attempts=F("attempts") + 1)
        == 1
    )
    if claimed and lapsed is not None:
        DeliveryAttempt.objects.create(
            event=lapsed,
            url="",
            attempted_at=lapsed.lease_expires_at or now,
            error="sender lost before the result",
        )
    return claimed


def _endpoint_for(event: OutboxEvent) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.select_related("agency").filter(agency_id=event.agency_id).first()


def _record_attempt(
    event: OutboxEvent,
    endpoint: WebhookEndpoint,
    at: datetime,
    result: HttpResult,
    replayed_by: User | None = None,
) -> DeliveryAttempt:
    """The delivery log: one row per HTTP attempt, scheduled or replayed."""
    return DeliveryAttempt.objects.create(
        event=event,
        url=endpoint.url,
        attempted_at=at,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        is_replay=replayed_by is not None,
        replayed_by=replayed_by,
    )


def _send(event: OutboxEvent, endpoint: WebhookEndpoint, now: datetime) -> HttpResult:
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_=_signing_secrets(endpoint, now), msg_id=event.webhook_id, timestamp=timestamp, body=body
        ),
    }
    return post(
        url=endpoint.url, body=body, headers=headers, allow_loopback=settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS
    )


def _audit_disclosure(
    event: OutboxEvent, endpoint: WebhookEndpoint, actor: User | None, justification: str
) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.REFERRAL_DISCLOSED,
        object_type="outbox_event",
        object_id=event.pk,
        referral_id=event.referral_id,
        recipient=f"{endpoint.agency.code} {endpoint.url}",
        changes={"webhook_id": event.webhook_id, "type": event.event_type, "payload": event.payload["data"]},
        justification=justification or f"{event.event_type} feedback to the referring agency",
    )


def _reached(result: HttpResult) -> bool:
    """Did the payload reach the receiver? It answered (any status), or the wait for its answer
    timed out after the body was sent."""
    return result.status_code is not None or "timed out" in (result.error or "")


def _audit_end_state(event: OutboxEvent, status: str, why: str) -> None:
    audit_record(
        actor=None,
        action=f"webhook.{status}",
        object_type="outbox_event",
        object_id=event.pk,
        referral_id=event.referral_id,
        recipient=event.agency.code,
        changes={"webhook_id": event.webhook_id, "type": event.event_type, "reason": why[:300]},
    )


def _give_up(event: OutboxEvent, endpoint: WebhookEndpoint, error: str) -> None:
    """The retry horizon has passed: stop, record it, and tell the hub (another channel)."""
    OutboxEvent.objects.filter(pk=event.pk).update(
        status=OutboxEvent.Status.FAILED, last_error=error[:300], lease_expires_at=None
    )
    _audit_end_state(event, "failed", error)
    notify_hub(
        kind="webhook",
        subject=f"Outcome feedback to {endpoint.agency.code} failed for good",
        body=f"Event {event.webhook_id} could not be delivered to {endpoint.url}: {error}",
    )


def webhook_deliver(*, event_id: UUID | str) -> DeliveryResult:
    """One delivery attempt, if the event is due and nobody else holds it. Safe to run twice."""
    now = db_now()
    if not _claim(event_id, now):
        return DeliveryResult("not_claimed")
    event = OutboxEvent.objects.select_related("agency").get(pk=event_id)
    endpoint = _endpoint_for(event)
    if endpoint is None or not endpoint.is_active:
        with transaction.atomic():
            OutboxEvent.objects.filter(pk=event.pk).update(
                status=OutboxEvent.Status.DISABLED, lease_expires_at=None
            )
            _audit_end_state(event, "disabled", "the agency has no active endpoint")
        return DeliveryResult("disabled")
    if now - event.created_at >= settings.VIHUB_WEBHOOK_RETRY_FOR:
        with transaction.atomic():
            _give_up(event, endpoint, event.last_error or "retry horizon passed")
        return DeliveryResult("failed", None, event.last_error)
    result = _send(event, endpoint, now)  # outside any transaction: no locks held during I/O
    finished = db_now()
    with transaction.atomic():
        _record_attempt(event, endpoint, now, result)
        attempts = event.attempts  # counted at claim time
        code = result.status_code
        if _reached(result):
            # The receiver had the payload, whatever it answered: that is a disclosure.
            ok = code is not None and 200 <= code < 300
            why = "" if ok else f" (it answered {f'HTTP {code}' if code is not None else result.error})"
            _audit_disclosure(
                event, endpoint, None, f"{event.event_type} feedback to the referring agency{why}"
            )
        if code is not None and 200 <= code < 300:
            OutboxEvent.objects.filter(pk=event.pk).update(
                status=OutboxEvent.Status.DELIVERED,
                attempts=attempts,
                delivered_at=finished,
                lease_expires_at=None,
            )
            return DeliveryResult("delivered", code)
        if code == 410:
            OutboxEvent.objects.filter(pk=event.pk).update(
                status=OutboxEvent.Status.DISABLED,
                attempts=attempts,
                last_error="410 Gone",
                lease_expires_at=None,
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False, disabled_at=finished, disabled_reason="Receiver answered 410 Gone"
            )
            audit_record(
                actor=None,
                action=AuditAction.WEBHOOK_DISABLED,
                object_type="webhook_endpoint",
                object_id=endpoint.pk,
                recipient=endpoint.agency.code,
                changes={"reason": "410 Gone", "url": endpoint.url},
            )
            notify_hub(
                kind="webhook",
                subject=f"Webhook for {endpoint.agency.code} disabled (410 Gone)",
                body=f"{endpoint.url} answered 410; outcome feedback to {endpoint.agency.name} has stopped.",
            )
            return DeliveryResult("disabled", code)
        error = result.error or f"HTTP {code}"
        if finished - event.created_at >= settings.VIHUB_WEBHOOK_RETRY_FOR:
            _give_up(event, endpoint, error)
            return DeliveryResult("failed", code, error)
        delay = _backoff(attempts)
        OutboxEvent.objects.filter(pk=event.pk).update(
            status=OutboxEvent.Status.PENDING,
            attempts=attempts,
            last_error=error[:300],
            next_attempt_at=finished + delay,
            lease_expires_at=None,
        )
        if delay.total_seconds() <= 300:  # short retries ride an ETA; longer ones wait for the drain
            transaction.on_commit(
                lambda: enqueue_now(
                    "safeguarding.tasks.webhook_deliver_job", event.pk, countdown=delay.total_seconds()
                )
            )
        return DeliveryResult("retrying", code, error)


def outbox_drain(*, limit: int = 500) -> int:
    """Enqueue delivery for everything due: lost jobs (a Redis flush, a crash between commit
    and enqueue), expired leases, and retries beyond the ETA horizon."""
    now = db_now()
    due = list(
        OutboxEvent.objects.filter(next_attempt_at__lte=now)
        .filter(
            Q(status=OutboxEvent.Status.PENDING)
            | Q(status=OutboxEvent.Status.SENDING, lease_expires_at__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in due:
        enqueue_now("safeguarding.tasks.webhook_deliver_job", event_id)
    return len(due)


def delivery_replay(*, event: OutboxEvent, actor: User, reason: str) -> DeliveryResult:
    """The hub re-sends an event now (same webhook-id, fresh signature), with a reason. The
    replay is audited as a disclosure by that person, whatever the receiver answers."""
    if not reason.strip():
        raise DomainError("Give a reason for re-sending this to the agency", field="reason")
    authorize(actor, Act.DELIVERY_REPLAY, event)
    endpoint = _endpoint_for(event)
    assert endpoint is not None  # noqa: S101  (the registry's state check requires an active one)
    now = db_now()
    result = _send(event, endpoint, now)
    with transaction.atomic():
        _record_attempt(event, endpoint, now, result, replayed_by=actor)
        _audit_disclosure(event, endpoint, actor, f"replay: {reason}")
        if (
            result.status_code
            and 200 <= result.status_code < 300
            and event.status != OutboxEvent.Status.DELIVERED
        ):
            OutboxEvent.objects.filter(pk=event.pk).update(
                status=OutboxEvent.Status.DELIVERED, delivered_at=db_now()
            )
    return DeliveryResult("replayed", result.status_code, result.error)


# --- Endpoints ------------------------------------------------------------------------------


def _endpoint_checked(agency: Organisation, url: str, event_types: list[str] | None) -> list[str]:
    """The agency is an agency, the URL is one VIHub may send to, the events exist: the event
    list as stored (sorted, default when none). Checked at the proposal and again at approval."""
    if agency.kind != Organisation.Kind.AGENCY:
        raise DomainError(f"{agency.code} is not an upstream agency", field="agency")
    try:
        vet_url(url, allow_loopback=settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS)
    except UnsafeTarget as exc:
        raise DomainError(str(exc), field="url") from exc
    events = sorted(set(event_types or WebhookEndpoint.DEFAULT_EVENTS))
    unknown = set(events) - set(WebhookEvent.values)
    if unknown:
        raise DomainError(f"Unknown event types: {', '.join(sorted(unknown))}", field="event_types")
    return events


def _endpoint_apply(
    agency: Organisation, url: str, events: list[str], *, new_secret_always: bool
) -> tuple[WebhookEndpoint, str | None, dict[str, Any] | None]:
    """Point the agency's endpoint at ``url`` (created if none): (endpoint, the new secret if
    one was made, what it was before). ``new_secret_always``: a re-pointed endpoint gets a new
    secret too (the old one is not for the new receiver: no overlap)."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(agency=agency).first()
    secret: str | None = None
    if endpoint is None:
        secret = new_secret()
        endpoint = WebhookEndpoint.objects.create(agency=agency, url=url, event_types=events, secret=secret)
        return endpoint, secret, None
    before = {"url": endpoint.url, "event_types": endpoint.event_types, "is_active": endpoint.is_active}
    endpoint.url, endpoint.event_types = url, events
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    fields = ["url", "event_types", "is_active", "disabled_at", "disabled_reason", "updated_at"]
    if new_secret_always:
        secret = new_secret()
        endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_expires_at = secret, "", None
        fields += ["secret", "previous_secret", "previous_secret_expires_at"]
    endpoint.save(update_fields=fields)
    return endpoint, secret, before


@transaction.atomic
def webhook_endpoint_set(
    *, agency: Organisation, url: str, actor: User | None, event_types: list[str] | None = None
) -> tuple[WebhookEndpoint, str | None]:
    """The shell operator's registration (``set_agency_webhook``, actor None): register or
    re-point an agency's endpoint at once. Returns the secret when a new one was made (first
    registration); it is shown once. People in the hub propose a change instead
    (``webhook_change_propose``), which a second coordinator approves."""
    authorize(actor, Act.WEBHOOK_SET)
    if actor is not None:
        raise NotPermitted("An endpoint change is proposed by one hub coordinator and approved by another.")
    events = _endpoint_checked(agency, url, event_types)
    endpoint, secret, before = _endpoint_apply(agency, url, events, new_secret_always=False)
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_REGISTERED,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        recipient=agency.code,
        changes={"before": before, "after": {"url": url, "event_types": events}},
    )
    return endpoint, secret


@transaction.atomic
def webhook_change_propose(
    *, agency: Organisation, url: str, actor: User, event_types: list[str] | None = None
) -> WebhookChange:
    """A hub coordinator proposes where an agency's disclosures go (a first endpoint, or a new
    URL or events for its endpoint). Nothing changes until another coordinator approves; a
    newer proposal for the same agency replaces a pending one."""
    authorize(actor, Act.WEBHOOK_SET)
    events = _endpoint_checked(agency, url, event_types)
    Organisation.objects.select_for_update().filter(pk=agency.pk).first()  # one proposal at a time
    replaced = WebhookChange.objects.filter(agency=agency, status=WebhookChange.Status.PENDING).update(
        status=WebhookChange.Status.SUPERSEDED, decided_at=timezone.now()
    )
    current = WebhookEndpoint.objects.filter(agency=agency).first()
    change = WebhookChange.objects.create(agency=agency, url=url, event_types=events, proposed_by=actor)
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_CHANGE_PROPOSED,
        object_type="webhook_change",
        object_id=change.pk,
        recipient=agency.code,
        changes={
            "before": {"url": current.url, "event_types": current.event_types} if current else None,
            "after": {"url": url, "event_types": events},
            "replaced_pending": replaced,
        },
    )
    return change


@transaction.atomic
def webhook_change_decide(
    *, change: WebhookChange, actor: User, approve: bool, reason: str = ""
) -> tuple[WebhookEndpoint | None, str | None]:
    """A second hub coordinator approves (the endpoint moves, with a new secret shown once to
    them) or refuses (with the reason) a pending change. Queued deliveries are signed at each
    send, so from approval on they go to the new URL with the new secret, and never before."""
    change = WebhookChange.objects.select_for_update().select_related("agency").get(pk=change.pk)
    authorize(actor, Act.WEBHOOK_CHANGE_DECIDE, change)
    reason = reason.strip()
    change.decided_by, change.decided_at, change.reason = actor, timezone.now(), reason[:500]
    if not approve:
        if not reason:
            raise DomainError("Say why the change is refused.", field="reason")
        change.status = WebhookChange.Status.REFUSED
        change.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        audit_record(actor=actor, action=AuditAction.WEBHOOK_CHANGE_REFUSED, object_type="webhook_change",
                     object_id=change.pk, recipient=change.agency.code, justification=reason,
                     changes={"url": change.url, "proposed_by": str(change.proposed_by_id)})  # fmt: skip
        return None, None
    events = _endpoint_checked(change.agency, change.url, change.event_types)  # vetted again now
    endpoint, secret, before = _endpoint_apply(change.agency, change.url, events, new_secret_always=True)
    change.status = WebhookChange.Status.APPROVED
    change.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_CHANGE_APPROVED,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        recipient=change.agency.code,
        justification=reason,
        changes={
            "change": str(change.pk),
            "proposed_by": str(change.proposed_by_id),
            "before": before,
            "after": {"url": change.url, "event_types": events},
            "secret": "new",
        },
    )
    return endpoint, secret


@transaction.atomic
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor: User | None) -> str:
    """New secret now; the old one keeps signing alongside it for the overlap period, so a
    receiver can switch without missing a message."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    authorize(actor, Act.WEBHOOK_ROTATE, endpoint)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + settings.VIHUB_WEBHOOK_SECRET_OVERLAP
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_SECRET_ROTATED,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        recipient=endpoint.agency.code,
        changes={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    return secret


# --- Accountability figures ----------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def feedback_stats() -> dict[str, Any]:
    """Share of outcomes fed back, outcome→confirmed-delivery time (p50/p95), failing endpoints."""
    outcomes = Outcome.objects.count()
    delivered = OutboxEvent.objects.filter(
        event_type=WebhookEvent.OUTCOME_RECORDED, status=OutboxEvent.Status.DELIVERED
    )
    fed_back = delivered.values("referral").distinct().count()
    seconds = [
        (row["delivered_at"] - row["created_at"]).total_seconds()
        for row in delivered.values("created_at", "delivered_at")
        if row["delivered_at"]
    ]
    failing = []
    for endpoint in WebhookEndpoint.objects.select_related("agency"):
        stuck = OutboxEvent.objects.filter(
            agency_id=endpoint.agency_id,
            status=OutboxEvent.Status.PENDING,
            attempts__gt=0,
        )
        if not endpoint.is_active or stuck.exists():
            failing.append(
                {
                    "agency": endpoint.agency.code,
                    "url": endpoint.url,
                    "is_active": endpoint.is_active,
                    "disabled_reason": endpoint.disabled_reason,
                    "events_waiting": stuck.count(),
                    "last_error": stuck.order_by("-next_attempt_at")
                    .values_list("last_error", flat=True)
                    .first()
                    or "",
                }
            )
    return {
        "outcomes_recorded": outcomes,
        "outcomes_fed_back": fed_back,
        "fed_back_share": round(fed_back / outcomes, 4) if outcomes else None,
        "outcome_to_delivery_seconds_p50": _percentile(seconds, 50),
        "outcome_to_delivery_seconds_p95": _percentile(seconds, 95),
        "failing_endpoints": failing,
    }


@transaction.atomic(durable=True)
def outcomes_outstanding_send(*, endpoint: WebhookEndpoint, actor: User) -> int:
    """Queue ``referral.outcome_recorded`` for each of the agency's referrals whose outcome was recorded
    before its endpoint existed (or was subscribed): nothing was ever offered for sending. A
    referral already queued once is not queued again. Audited with the referrals."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    authorize(actor, Act.WEBHOOK_SEND_OUTSTANDING, endpoint)  # active and subscribed (the registry)
    sent = OutboxEvent.objects.filter(
        agency_id=endpoint.agency_id, event_type=WebhookEvent.OUTCOME_RECORDED.value
    )
    referrals = list(
        Referral.objects.filter(agency_id=endpoint.agency_id, outcome__isnull=False)
        .exclude(pk__in=sent.values("referral_id"))
        .order_by("created_at")
    )
    for referral in referrals:
        outbox_emit(referral, WebhookEvent.OUTCOME_RECORDED)
    audit_record(
        actor=actor,
        action=AuditAction.OUTCOMES_OUTSTANDING_SENT,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        recipient=endpoint.agency.code,
        changes={"referrals": [str(referral.pk) for referral in referrals]},
    )
    return len(referrals)
