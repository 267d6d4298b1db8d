"""The inbox and its email copies."""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core.mail import BadHeaderError, send_mail
from django.db import transaction
from django.utils import timezone

from hub.constants import AuditAction
from hub.models import AuditEvent, Notification, User
from hub.policies.rules import Act, authorize
from hub.services.audit import audit_record

log = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 5


def notification_email(*, notification_id: UUID | str) -> bool:
    """Email one notification at most once per successful send.

    Claims the row first (compare-and-set on ``emailed_at``), sends outside any transaction,
    and on failure releases the claim so a later retry or sweep sends it again. A sent email is
    a disclosure of case references to a mailbox, so it is audited with its recipient. (A
    worker killed between the claim and the send loses that one email: the in-app inbox,
    which is the record, still has it.)
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS
    ).update(emailed_at=now)
    if claimed != 1:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    address = notification.recipient.email
    if not address:
        return True  # in-app only; nothing to send, and nothing to retry
    # A subject is one header line: whatever text went into it (an agency's reference, say),
    # line breaks never reach the mail header.
    subject = " ".join(f"[VIHub] {notification.subject}".split())
    try:
        send_mail(
            subject=subject,
            message=f"{notification.body}\n\n— VIHub",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except (BadHeaderError, ValueError) as exc:
        # This email can never be built (a bad address or header): say so, never retry it, and
        # let the rest of its batch go. The in-app notification stands.
        log.warning("email for notification %s cannot be sent: %s", notification_id, exc)
        Notification.objects.filter(pk=notification_id).update(
            emailed_at=None, email_attempts=MAX_EMAIL_ATTEMPTS
        )
        audit_record(
            actor=None,
            action=AuditAction.NOTIFICATION_EMAIL_FAILED,
            object_type="notification",
            object_id=notification.pk,
            task_id=notification.task_id,
            recipient=f"{notification.recipient.username} <{address}>",
            outcome=AuditEvent.Outcome.FAILED,
            changes={"error": str(exc)[:300]},
        )
        return False
    except OSError:
        Notification.objects.filter(pk=notification_id).update(
            emailed_at=None, email_attempts=notification.email_attempts + 1
        )
        raise
    audit_record(
        actor=None,
        action=AuditAction.NOTIFICATION_EMAILED,
        object_type="notification",
        object_id=notification.pk,
        task_id=notification.task_id,
        recipient=f"{notification.recipient.username} <{address}>",
        changes={"subject": notification.subject[:200]},
    )
    return True


def notifications_unsent(*, older_than: timedelta = timedelta(minutes=2)) -> list[UUID]:
    """Notifications whose email job was lost (e.g. a Redis flush): the sweep re-enqueues them."""
    cutoff = timezone.now() - older_than
    return list(
        Notification.objects.filter(
            emailed_at__isnull=True, created_at__lte=cutoff, email_attempts__lt=MAX_EMAIL_ATTEMPTS
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:1000]
    )


@transaction.atomic(durable=True)
def notification_mark_read(*, notification: Notification, actor: User) -> Notification:
    """Mark a message read. Only its recipient can: to anyone else it does not exist (404)."""
    authorize(actor, Act.NOTIFICATION_READ, notification)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        audit_record(
            actor=actor,
            action=AuditAction.NOTIFICATION_READ,
            object_type="notification",
            object_id=notification.pk,
            referral_id=notification.referral_id,
            task_id=notification.task_id,
            changes={"kind": notification.kind},
        )
    return notification
