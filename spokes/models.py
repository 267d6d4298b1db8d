"""Lines of enquiry recorded by the spoke holding a task."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from hub.models import Task


class Lead(models.Model):
    """A line of enquiry towards identifying or locating a child (an account, a device, a school
    uniform in an image…). Visible to the task's holder, its region, the hub and auditors; never
    to the referring agency."""

    class Kind(models.TextChoices):
        ONLINE_ACCOUNT = "online_account", "Online account"
        IP_ADDRESS = "ip_address", "IP address / subscriber check"
        DEVICE = "device", "Device / forensics"
        IMAGE_ANALYSIS = "image_analysis", "Image / scene analysis"
        LOCATION = "location", "Location"
        SCHOOL_OR_CLUB = "school_or_club", "School, club or uniform"
        ASSOCIATE = "associate", "Associate or family member"
        PLATFORM_REQUEST = "platform_request", "Platform disclosure request"
        MLAT = "mlat", "MLAT / overseas request"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting on a third party"
        POSITIVE = "positive", "Closed: positive"
        NEGATIVE = "negative", "Closed: negative"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="leads")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["task", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"
