"""Who at the hub is on call when, and the pages sent to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from hub.models.referral import Referral


class OnCallShift(models.Model):
    """One hub coordinator on call from ``starts_at`` until ``ends_at`` (the rota is these rows).
    An urgent referral pages whoever's shift covers that moment; overlapping shifts page each."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.coordinator_id} on call {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class Page(models.Model):
    """A page to the paging service (PagerDuty Events API v2 format), recorded in the same
    transaction as the urgent referral it is about, then sent after commit and retried until
    the service accepts it: an outbox, so a crash or a lost job never loses a page."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="pages")
    reason = models.CharField(max_length=40)
    # The paging service's incident key: a re-send of this page updates one incident there.
    dedup_key = models.CharField(max_length=100, unique=True)
    # The Events API v2 body, built when the page is recorded: references and names only,
    # never a referral's text.
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One page per referral and reason: a re-triage to grade 1 again, a redelivered job
            # or a second beat never pages twice.
            models.UniqueConstraint(fields=["referral", "reason"], name="page_once_per_reason")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="page_pending_idx", condition=models.Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"page {self.dedup_key} ({self.status})"
