"""What happened to the children and the case: safeguarding actions and the outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES, WebhookEvent
from hub.crypto import EncryptedTextField
from hub.models import Organisation, Referral, Task


class SafeguardingAction(models.Model):
    """One protective step taken on a task: a safe-and-well check, a referral to children's
    services, MASH or overseas police, with the counts of children it concerned."""

    class Action(models.TextChoices):
        SAFE_AND_WELL_CHECK = "safe_and_well_check", "Safe and well check"
        CHILDREN_IDENTIFIED = "children_identified", "Children identified"
        CHILDREN_SAFEGUARDED = "children_safeguarded", "Children safeguarded"
        REFERRED_CHILDRENS_SERVICES = "referred_childrens_services", "Referred to children's services"
        REFERRED_MASH = "referred_mash", "Referred to MASH"
        REFERRED_OVERSEAS_POLICE = "referred_overseas_police", "Referred to overseas police"
        NSPCC_OUTREACH = "nspcc_outreach", "NSPCC outreach"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="safeguarding_actions")
    action = models.CharField(max_length=30, choices=Action.choices)
    children_identified = models.PositiveIntegerField(default=0)
    children_safeguarded = models.PositiveIntegerField(default=0)
    referred_to = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(children_safeguarded__lte=models.F("children_identified"))
                | models.Q(action="children_safeguarded"),
                name="safeguarded_not_more_than_identified",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.task_id}"


class Outcome(models.Model):
    """The referral's outcome: the criminal-justice outcome and, separately, the safeguarding
    outcome, because protective results happen without any judicial outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="outcome")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    justice_outcome = models.CharField(max_length=30, choices=JUSTICE_OUTCOMES)
    safeguarding_outcome = models.CharField(max_length=40, choices=SAFEGUARDING_OUTCOMES)
    arrests = models.PositiveIntegerField(default=0)
    children_safeguarded = models.PositiveIntegerField(default=0)
    victims_identified = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.justice_outcome}/{self.safeguarding_outcome} for {self.referral_id}"

    # The fields an amendment may change (and a revision records).
    AMENDABLE = (
        "justice_outcome", "safeguarding_outcome", "arrests", "children_safeguarded", "victims_identified",
        "summary",
    )  # fmt: skip


class OutcomeRevision(models.Model):
    """One change of a referral's outcome after it was first recorded (a charge resolved, a
    second force's part of the case): the values before and after, who, why and when. Nothing
    of an outcome is ever overwritten without one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="revisions")
    before = models.JSONField()
    after = models.JSONField()
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"revision of {self.outcome_id} at {self.at:%Y-%m-%d %H:%M}"


class WebhookEndpoint(models.Model):
    """Where an agency wants to hear about its referrals. Signed per Standard Webhooks with a
    per-endpoint secret; during a rotation the previous secret signs too, until it expires."""

    # The event types are the hub's (hub.constants.WebhookEvent); this alias keeps existing
    # ``WebhookEndpoint.EventType`` references working. ``event_types`` holds their values.
    EventType = WebhookEvent
    DEFAULT_EVENTS = [WebhookEvent.OUTCOME_RECORDED.value]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="webhook")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    # Encrypted at rest under VIHUB_SECRETS_KEYS (hub/crypto.py); plain in Python.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.agency.code} → {self.url}"


class WebhookChange(models.Model):
    """A proposed registration or re-pointing of an agency's endpoint (issue 14): where
    disclosures go is decided by two hub coordinators. Until a second one approves, nothing
    changes (queued deliveries keep going to the current endpoint, signed as now); on approval
    the endpoint points at the new URL with a new secret, shown once to the approver."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second coordinator"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        SUPERSEDED = "superseded", "Replaced by a later proposal"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="webhook_changes")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=models.Q(status="pending"),
                name="one_pending_webhook_change_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency.code} → {self.url} ({self.status})"


class OutboxEvent(models.Model):
    """A message to an agency, written in the same transaction as the change it reports.

    Its ``id`` is the ``webhook-id`` of every delivery attempt, so a receiver deduplicates
    retries. Delivery is at least once: pending rows are picked up by the drain job until a
    2xx, a 410 (endpoint disabled), or the retry horizon (3 days) ends them.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"
        DISABLED = "disabled", "Endpoint disabled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["agency", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.agency_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt to deliver an outbox event: when, what came back, how long it took."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="attempts_log")
    url = models.URLField(max_length=500)
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    is_replay = models.BooleanField(default=False)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["attempted_at"]
        indexes = [models.Index(fields=["event", "attempted_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S} → {self.status_code or self.error}"


class MonthlySummary(models.Model):
    """A spoke's month in figures (issue 16), produced once on the first of the next month by
    the scheduled job and kept as it was then: arrests, children safeguarded, outcomes, missed
    deadlines, and the oldest requests still waiting. Downloadable as CSV and PDF."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="monthly_summaries")
    month = models.DateField(help_text="The first day of the month summarised")
    figures = models.JSONField()
    produced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "organisation__code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month"], name="one_summary_per_spoke_month")
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code} {self.month:%Y-%m}"
