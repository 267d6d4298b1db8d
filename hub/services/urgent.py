"""A threat to life comes first: an urgent intake or a grade-1 triage tells every hub
coordinator at once and pages whoever is on call.

The inbox rows and the page are written in the referral's own transaction; the emails and the
page go out after it commits. A page is an outbox row (``Page``), sent with the PagerDuty
Events API v2 body (which Grafana OnCall, Opsgenie and PagerDuty accept) and retried with
backoff until the paging service takes it; a drain job re-sends what a crash or a lost job
left behind, so nothing is lost and, by its ``dedup_key``, nothing pages twice.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.jobs import enqueue_now, enqueue_on_commit
from hub.models import AuditEvent, Membership, OnCallShift, Page, Referral, User
from hub.outbound import post
from hub.policies.rules import Act, authorize
from hub.services.alerts import notify_hub
from hub.services.audit import audit_record

log = logging.getLogger(__name__)

URGENT_INTAKE = "urgent_intake"
GRADE_1 = "grade_1"
REASON_TEXT = {URGENT_INTAKE: "posted as urgent", GRADE_1: "graded 1 (immediate threat to a child's life)"}
MAX_PAGE_ATTEMPTS = 12  # about an hour of backoff, then the hub is told the pager failed
PAGE_BACKOFF_CAP = timedelta(minutes=10)


# --- The on-call rota --------------------------------------------------------------------------


def on_call_at(at: datetime) -> list[User]:
    """The hub coordinators whose shift covers ``at`` (several if shifts overlap)."""
    return list(
        User.objects.filter(
            is_active=True,
            membership__role=Membership.Role.COORDINATOR,
            pk__in=OnCallShift.objects.filter(starts_at__lte=at, ends_at__gt=at).values("coordinator_id"),
        ).order_by("username")
    )


@transaction.atomic(durable=True)
def on_call_shift_add(
    *, actor: User, coordinator: User, starts_at: datetime, ends_at: datetime
) -> OnCallShift:
    """Put a hub coordinator on the rota from ``starts_at`` to ``ends_at``."""
    authorize(actor, Act.ONCALL_SET)
    if ends_at <= starts_at:
        raise DomainError("A shift ends after it starts", field="ends_at")
    if not Membership.objects.filter(user=coordinator, role=Membership.Role.COORDINATOR).exists():
        raise DomainError(f"{coordinator.username} is not a hub coordinator", field="coordinator")
    shift = OnCallShift.objects.create(
        coordinator=coordinator, starts_at=starts_at, ends_at=ends_at, created_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.ON_CALL_SHIFT_ADDED,
        object_type="on_call_shift",
        object_id=shift.pk,
        changes={
            "coordinator": coordinator.username,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
    )
    return shift


@transaction.atomic(durable=True)
def on_call_shift_remove(*, actor: User, shift: OnCallShift) -> None:
    authorize(actor, Act.ONCALL_REMOVE, shift)
    audit_record(
        actor=actor,
        action=AuditAction.ON_CALL_SHIFT_REMOVED,
        object_type="on_call_shift",
        object_id=shift.pk,
        changes={
            "coordinator": shift.coordinator.username,
            "starts_at": shift.starts_at.isoformat(),
            "ends_at": shift.ends_at.isoformat(),
        },
    )
    shift.delete()


# --- Raising the alarm ---------------------------------------------------------------------------


def _link(referral: Referral) -> str:
    return settings.VIHUB_PUBLIC_URL + reverse("hub:referral", kwargs={"pk": referral.pk})


def _reference(referral: Referral) -> str:
    return f"{referral.agency.code} {referral.external_id}"


def urgent_referral_raise(*, referral: Referral, reason: str) -> None:
    """Tell every hub coordinator now (inbox; email after commit) and page the on-call
    coordinator. Call inside the transaction that made the referral urgent."""
    ref = _reference(referral)
    notify_hub(
        kind="urgent_referral",
        referral=referral,
        subject=f"URGENT referral {ref}: {REASON_TEXT[reason]}",
        body=f"Referral {ref} was {REASON_TEXT[reason]}. Open it in VIHub now: {_link(referral)}",
    )
    _page_record(referral=referral, reason=reason)


def _page_record(*, referral: Referral, reason: str) -> Page | None:
    if not settings.VIHUB_PAGER_URL:
        return None  # no paging service configured: the inbox and email still go
    now = db_now()
    on_call = on_call_at(now)
    dedup_key = f"vihub-{reason}-{referral.pk}"
    ref = _reference(referral)
    payload = {
        "routing_key": "",  # added at send time: the key is a secret, never stored in a row
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": f"VIHub: urgent referral {ref} ({REASON_TEXT[reason]})"[:1024],
            "source": "vihub",
            "severity": "critical",
            "timestamp": now.isoformat(),
            "component": "triage",
            "group": referral.agency.code,
            "class": "urgent_referral",
            "custom_details": {
                "referral_id": str(referral.pk),
                "reference": ref,
                "reason": reason,
                "grade": referral.grade,
                "on_call": [user.get_full_name() or user.username for user in on_call],
            },
        },
        "links": [{"href": _link(referral), "text": "Open in VIHub"}],
    }
    page, created = Page.objects.get_or_create(
        referral=referral,
        reason=reason,
        defaults={"dedup_key": dedup_key, "payload": payload, "next_attempt_at": now},
    )
    if created:
        enqueue_on_commit("hub.tasks.page_send_job", page.pk)
    return page


# --- Sending a page ------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    delay: timedelta = min(timedelta(seconds=5) * (2 ** max(attempts - 1, 0)), PAGE_BACKOFF_CAP)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not a secret)


def page_send(*, page_id: str) -> str:
    """Send one page once it is due. The claim (attempts + 1, next attempt pushed out) commits
    before the send, so two workers never send it at once and a killed one is retried later;
    a 2xx ends it (audited as a disclosure to the paging service)."""
    now = db_now()
    with transaction.atomic():
        page = (
            Page.objects.select_for_update(skip_locked=True)
            .filter(pk=page_id, status=Page.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if page is None:
            return "not due"
        page.attempts += 1
        page.next_attempt_at = now + _backoff(page.attempts)
        page.save(update_fields=["attempts", "next_attempt_at"])
    body = json.dumps({**page.payload, "routing_key": settings.VIHUB_PAGER_ROUTING_KEY}).encode()
    result = post(
        url=settings.VIHUB_PAGER_URL,
        body=body,
        headers={"Content-Type": "application/json"},
        allow_loopback=settings.VIHUB_ALLOW_LOOPBACK_WEBHOOKS,
    )
    accepted = result.status_code is not None and 200 <= result.status_code < 300
    with transaction.atomic():
        fields: dict[str, object] = {"last_status_code": result.status_code, "last_error": result.error[:300]}
        if accepted:
            fields.update(status=Page.Status.SENT, sent_at=db_now())
        elif page.attempts >= MAX_PAGE_ATTEMPTS:
            fields["status"] = Page.Status.FAILED
        Page.objects.filter(pk=page.pk).update(**fields)
        host = urlsplit(settings.VIHUB_PAGER_URL).hostname or ""
        if accepted:
            audit_record(
                actor=None,
                action=AuditAction.PAGE_SENT,
                object_type="page",
                object_id=page.pk,
                referral_id=page.referral_id,
                recipient=f"paging service {host}",
                changes={"dedup_key": page.dedup_key, "status_code": result.status_code},
            )
        elif fields.get("status") == Page.Status.FAILED:
            audit_record(
                actor=None,
                action=AuditAction.PAGE_FAILED,
                object_type="page",
                object_id=page.pk,
                referral_id=page.referral_id,
                outcome=AuditEvent.Outcome.FAILED,
                recipient=f"paging service {host}",
                changes={"dedup_key": page.dedup_key, "error": result.error[:300], "attempts": page.attempts},
            )
            notify_hub(
                kind="page_failed",
                referral=page.referral,
                subject=f"The on-call page for {_reference(page.referral)} could not be sent",
                body="The paging service did not accept it after repeated tries. Call the on-call "
                "coordinator directly.",
            )
    return "sent" if accepted else "retry"


def pages_due(*, limit: int = 200) -> list[str]:
    """Pages waiting to be sent now: what a crash, a lost job or a retry left."""
    return [
        str(pk)
        for pk in Page.objects.filter(status=Page.Status.PENDING, next_attempt_at__lte=db_now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def pages_drain(*, limit: int = 200) -> int:
    """Re-enqueue every page that is due."""
    due = pages_due(limit=limit)
    for page_id in due:
        enqueue_now("hub.tasks.page_send_job", str(page_id))
    return len(due)
