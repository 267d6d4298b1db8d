"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class ImmutableQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only")

    def delete(self) -> NoReturn:
        raise PermissionError("Audit events are append-only")


class AuditRecord(models.Model):
    """What an audit event says: who, what, to which object, when. Shared by the chained event
    and the event waiting for the sequencer, so both hold exactly the same fields."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        DENIED = "denied"
        NOT_FOUND = "not_found"
        FAILED = "failed"

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

    class Meta:
        abstract = True


class AuditEvent(AuditRecord):
    """One thing someone did, changed, viewed or disclosed. Never updated, never deleted.

    ``seq`` is gap-free and strictly increasing; ``hash`` chains each event to the previous
    one (``prev_hash``), so any edit, deletion, insertion or reordering is detectable by
    ``manage.py verify_audit``. On PostgreSQL a trigger also refuses UPDATE/DELETE/TRUNCATE.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    seq = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # When the sequencer linked it into the chain (empty when chained in its own transaction):
    # the chain delay, measured. Not covered by the hash: it says nothing about what happened.
    chained_at = models.DateTimeField(null=True, blank=True)

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


class AuditPending(AuditRecord):
    """An audit event written but not yet linked into the hash chain (``VIHUB_AUDIT_CHAIN =
    "sequencer"``): the request's own transaction inserts it here, with no chain lock, and the
    sequencer (``hub.services.audit_sequencer``) moves it into ``AuditEvent`` in the order the
    events became visible, giving it ``seq``, ``prev_hash`` and ``hash``, in the same
    transaction as it deletes it here. The database refuses any UPDATE, and a DELETE of a row
    whose event is not in the chain, so an event is never lost or altered while it waits.
    """

    queued = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["queued"]
        indexes = [models.Index(fields=["referral_id", "queued"])]

    def __str__(self) -> str:
        return f"pending {self.action} by {self.actor_display or 'system'}"


class AuditCheckpoint(models.Model):
    """A signed statement "the trail had ``seq`` events and its head hash was ``head_hash``".

    Signed with an Ed25519 key that lives outside the database (env or file), so someone who
    can rewrite the table and recompute every hash still cannot forge a checkpoint, and a
    truncated tail shows as events missing below a checkpoint. Append-only like the trail.
    """

    seq = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=100)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} {self.head_hash[:12]}…"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit checkpoints are append-only")
        super().save(*args, **kwargs)


class AuditVerification(models.Model):
    """The result of one ``verify_audit`` run, shown to auditors."""

    ran_at = models.DateTimeField()
    is_ok = models.BooleanField()
    events_checked = models.BigIntegerField()
    checkpoints_checked = models.IntegerField()
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    message = models.TextField()
    duration_ms = models.IntegerField()
    # The ``audit.verified`` event that recorded this run, with the same verdict: a row without
    # one (written straight into the table) is not believed (``verification_on_trail``).
    event_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{'ok' if self.is_ok else 'FAILED'} at {self.ran_at:%Y-%m-%d %H:%M}"
