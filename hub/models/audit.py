"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class ImmutableQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise PermissionError("Audit events are append-only")


class AuditEvent(models.Model):
    """One thing someone did, changed, viewed or disclosed. Never updated, never deleted.

    ``seq`` is gap-free and strictly increasing; ``hash`` chains each event to the previous
    one (``prev_hash``), so any edit, deletion, insertion or reordering is detectable by
    ``manage.py verify_audit``. On PostgreSQL a trigger also refuses UPDATE/DELETE/TRUNCATE.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        DENIED = "denied"
        NOT_FOUND = "not_found"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_display = models.CharField(max_length=200, blank=True)
    actor_org = models.CharField(max_length=32, blank=True)
    actor_role = models.CharField(max_length=24, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    referral_id = models.UUIDField(null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    justification = models.TextField(blank=True)
    recipient = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["actor_org", "action", "occurred_at"]),
            models.Index(fields=["object_id", "seq"]),
            models.Index(fields=["referral_id", "seq"]),
            models.Index(fields=["task_id", "seq"]),
            models.Index(fields=["actor", "seq"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_display or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only")
