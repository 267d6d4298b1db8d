"""Victim-identification tasks held by a region or force, and their object permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from hub.models.organisation import Organisation
from hub.models.referral import Referral


class Task(models.Model):
    """A piece of victim-ID work allocated to one organisation (the holder).

    Who may see or work it is decided by django-guardian object permissions granted to the
    holder's group (``view_task`` + ``work_task``) and its region's group (``view_task``);
    allocation, reassignment and hand-down move those grants in the same transaction.
    """

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.OFFERED, Status.ACCEPTED, Status.DECLINED)
    # Statuses whose deadlines run: offered (the accept-by and act-by clocks) and accepted (the
    # act-by clock). A paused task is still running; its clocks are stopped, not finished.
    RUNNING_STATUSES = (Status.OFFERED, Status.ACCEPTED)

    class DeclineReason(models.TextChoices):
        NOT_OUR_AREA = "not_our_area", "Suspect or victim not in our area"
        INSUFFICIENT_INFORMATION = "insufficient_information", "Insufficient information to act"
        ALREADY_INVESTIGATED = "already_investigated", "Already under investigation"
        DUPLICATE = "duplicate", "Duplicate of another task"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="tasks")
    assignee_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="tasks_held")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED)
    instructions = models.TextField(blank=True)
    offered_at = models.DateTimeField(
        default=timezone.now, help_text="Start of the current accept-by window."
    )
    accept_due_at = models.DateTimeField()
    due_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=30, choices=DeclineReason.choices, blank=True)
    decline_note = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Pausing (waiting on an MLAT, a platform disclosure…) stops the clocks; resuming moves the
    # deadlines on by the paused time. ``paused_total`` excludes a pause still running.
    paused_at = models.DateTimeField(null=True, blank=True)
    # A pause always ends: the sweep resumes the task at this time if nobody has before.
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    # How far each clock's escalation chain had climbed when the task was paused
    # ({clock: highest step fired}), so resuming continues it instead of starting again.
    escalation_carry = models.JSONField(default=dict, blank=True)
    paused_total = models.DurationField(default=timedelta(0))
    # Frozen from the policy when the first escalation step fires, so editing the policy never
    # changes a chain in flight.
    escalation_wait = models.DurationField(null=True, blank=True)
    # Token for scheduled alerts: rescheduling bumps it, and alerts of older generations are void.
    alert_generation = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("work_task", "Can work on the task as its holder")]
        constraints = [
            # A repeated allocation (double click, client retry) must not give the same
            # organisation a second open task for the same referral.
            models.UniqueConstraint(
                fields=["referral", "assignee_org"],
                condition=models.Q(status__in=["offered", "accepted", "declined"]),
                name="one_open_task_per_referral_and_holder",
            )
        ]
        indexes = [
            models.Index(fields=["assignee_org", "due_at", "id"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["due_at", "id"]),
            models.Index(fields=["referral"]),
            # The sweep's "pauses that have run out" query.
            models.Index(
                fields=["paused_until"],
                name="task_pause_ends_idx",
                condition=models.Q(paused_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Task {self.id} → {self.assignee_org_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class TaskGroupObjectPermission(GroupObjectPermissionBase):
    """Direct-FK guardian grants to organisation groups (indexed for the scoped task list)."""

    content_object = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False


class TaskUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian grants to single users (kept for completeness; VIHub grants to groups)."""

    content_object = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False


class TaskTransfer(models.Model):
    """Each time a task changes holder: allocation, reassignment, hand-down. Who, when, why."""

    class Kind(models.TextChoices):
        ALLOCATED = "allocated", "Allocated"
        REASSIGNED = "reassigned", "Reassigned"
        HANDED_DOWN = "handed_down", "Handed down"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="transfers")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_org = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    to_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.task_id} → {self.to_org_id}"
