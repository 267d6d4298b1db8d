"""Scheduled reminders and escalation steps, and the in-app inbox they fill."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef

from hub.models.referral import Referral
from hub.models.task import Task


class Alert(models.Model):
    """One scheduled reminder or escalation step of a task. The database owns the deadline:
    the beat sweep finds due rows through the partial index below and fires each exactly once
    (row lock + ``fired_at`` check, with the unique constraint as the backstop).

    Rows belong to a ``generation`` of the task's schedule; when the task changes state
    (accepted, moved, paused, resumed, acknowledged) the schedule is rebuilt under a new
    generation and older pending rows are cancelled.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        ESCALATION = "escalation", "Escalation"

    class Clock(models.TextChoices):
        ACCEPT = "accept", "Accept by"
        ACT = "act", "Act by"

    class Level(models.TextChoices):
        OFFICER = "officer", "Holding officer"
        SUPERVISOR = "supervisor", "Force supervisors"
        REGION = "region", "Regional coordinators"
        HUB = "hub", "Hub coordinators"

    LEVEL_ORDER = (Level.OFFICER, Level.SUPERVISOR, Level.REGION, Level.HUB)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="alerts")
    generation = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    clock = models.CharField(max_length=6, choices=Clock.choices)
    # Reminders: 50 or 90 (% of the window). Escalations: step 1..4 (officer → hub).
    step = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=10, choices=Level.choices, blank=True)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "generation", "kind", "clock", "step"], name="alert_once_per_step"
            ),
        ]
        indexes = [
            # Shaped for the sweep: only pending rows, ordered by due time.
            models.Index(
                fields=["due_at"],
                name="alert_pending_due_idx",
                condition=models.Q(fired_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.Index(fields=["task", "kind", "fired_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.clock}/{self.step} for {self.task_id} due {self.due_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """A message in one person's inbox (and, through the email job, their mailbox)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What the message is about when it is a referral rather than a task (an urgent intake).
    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "recipient"],
                name="notification_once_per_alert",
                condition=models.Q(alert__isnull=False),
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"]),
            models.Index(
                fields=["created_at"],
                name="notification_unsent_idx",
                condition=models.Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient_id}"


def escalated_task_filter() -> Exists:
    """Tasks with a fired, unacknowledged escalation step in their current schedule (a query
    expression on Alert rows, used by the deadline state and the sweep alike)."""
    return Exists(
        Alert.objects.filter(
            task=OuterRef("pk"),
            generation=OuterRef("alert_generation"),
            kind=Alert.Kind.ESCALATION,
            fired_at__isnull=False,
            acknowledged_at__isnull=True,
        )
    )
