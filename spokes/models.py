"""Lines of enquiry recorded by the spoke holding a task."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from hub.models import MediaHash, Referral, Risk, Task


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


class Child(models.Model):
    """A child on a task, by the force's own pseudonymous ``reference`` (never a name): one the
    suspect can reach, one depicted in the media, or one met in the chats; whether identified
    and located, and the checks made on them. Seen by the task's holder, its region, the hub and
    auditors; never by an agency or in a webhook."""

    class Relation(models.TextChoices):
        REACHABLE = "reachable", "Reachable by the suspect"
        DEPICTED = "depicted", "Depicted in the media"
        CONTACT = "contact", "Contact in chats"

    class AccessRoute(models.TextChoices):
        FAMILY = "family", "Family"
        WORK = "work", "Work"
        LEISURE = "leisure", "Leisure"
        ONLINE = "online", "Online"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="children")
    reference = models.CharField(max_length=60)
    relation = models.CharField(max_length=10, choices=Relation.choices)
    access_route = models.CharField(max_length=10, choices=AccessRoute.choices, blank=True)
    is_identified = models.BooleanField(default=False)
    is_located = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "reference"], name="child_reference_once_per_task")
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.relation}) on {self.task_id}"


class ChildCheck(models.Model):
    """A check made on a child: safe and well, a strategy discussion, children's services."""

    class Kind(models.TextChoices):
        SAFE_AND_WELL = "safe_and_well", "Safe and well check"
        STRATEGY_DISCUSSION = "strategy_discussion", "Strategy discussion"
        CHILDRENS_SERVICES = "childrens_services", "Children's services"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    result = models.TextField()
    checked_at = models.DateTimeField()
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["checked_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.child_id}"


class SuspectEvent(models.Model):
    """What happened to the suspect, when: the release gate reads these against the checks."""

    class Kind(models.TextChoices):
        ARRESTED = "arrested", "Arrested"
        INTERVIEWED = "interviewed", "Interviewed"
        BAILED = "bailed", "Bailed"
        RELEASED_UNDER_INVESTIGATION = "released_under_investigation", "Released under investigation"
        CHARGED = "charged", "Charged"
        RELEASED_NO_FURTHER_ACTION = "released_no_further_action", "Released, no further action"
        OTHER = "other", "Other"

    # A suspect back among children: refused while a reachable child is unchecked.
    RELEASES = (Kind.BAILED, Kind.RELEASED_UNDER_INVESTIGATION, Kind.RELEASED_NO_FURTHER_ACTION)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="suspect_events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    override_reason = models.TextField(blank=True)
    unchecked_at_the_time = models.JSONField(default=list, blank=True)
    # For the annual statistics the inquiry recommends (domain.md §9, Recs 10 and 11): the
    # suspect was assessed as a suicide risk, and their family was signposted to support.
    suicide_risk_flagged = models.BooleanField(default=False)
    family_signposted = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M} on {self.task_id}"


class Handoff(models.Model):
    """A child's safeguarding handed from the task's holder to another organisation known to
    VIHub (a force, a region, the hub or an agency), which accepts or declines it. Until it
    accepts, the sender stays responsible; the trail records who held the child at every moment.
    The receiver sees the child record and nothing else of the task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Withdrawn by the sender"

    class LawfulBasis(models.TextChoices):
        """Why the child's record may be shared with the receiver (the consent gate)."""

        POLICING_PURPOSE = "policing_purpose", "Police to police, for a policing purpose"
        CONSENT = "consent", "Consent given by the child or their family"
        SAFEGUARDING_DUTY = "safeguarding_duty", "Shared without consent to protect the child from harm"

    # An agency outside policing receives a child only with consent, or with a recorded reason to
    # share without it; the police, the regions and the hub share for a policing purpose.
    CONSENT_GATED_KINDS = frozenset({"agency"})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="handoffs")
    from_org = models.ForeignKey("hub.Organisation", on_delete=models.PROTECT, related_name="+")
    to_org = models.ForeignKey("hub.Organisation", on_delete=models.PROTECT, related_name="handoffs_received")
    note = models.TextField(blank=True)
    lawful_basis = models.CharField(
        max_length=20, choices=LawfulBasis.choices, default=LawfulBasis.POLICING_PURPOSE
    )
    basis_reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    answer_reason = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_due_at = models.DateTimeField()
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One open hand-off per child: a child is never offered to two places at once.
            models.UniqueConstraint(
                fields=["child"], condition=models.Q(status="pending"), name="one_pending_handoff_per_child"
            ),
            models.CheckConstraint(
                condition=~models.Q(lawful_basis="safeguarding_duty") | ~models.Q(basis_reason=""),
                name="handoff_without_consent_says_why",
            ),
        ]
        indexes = [
            models.Index(
                fields=["answer_due_at"],
                name="handoff_overdue_idx",
                condition=models.Q(status="pending", overdue_notified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.child_id} → {self.to_org_id} ({self.status})"


class ExternalRequest(models.Model):
    """A request the holder made to someone outside VIHub (a platform's disclosure, an MLAT
    request overseas): dated when sent, chased and answered, so its age is always visible and
    a pause never hides how long the case has waited on it."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", "Platform disclosure"
        MLAT = "mlat", "Overseas (MLAT)"
        OTHER = "other", "Other agency"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="external_requests")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    counterpart = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField()
    chased_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            models.Index(
                fields=["sent_at"], name="request_waiting_idx", condition=models.Q(answered_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.counterpart} for {self.task_id}"


class Reassessment(models.Model):
    """A holder's own assessment of the risk, beside the hub's grade (which stays): the force
    knows the suspect's household, work and record better than the hub did at triage. Every
    re-assessment is kept; the latest is shown next to the hub's grading with the differences."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reassessments")
    organisation = models.ForeignKey("hub.Organisation", on_delete=models.PROTECT, related_name="+")
    risk = models.CharField(max_length=10, choices=Risk.choices)
    access_to_children = models.JSONField(default=list, blank=True)
    risk_factors = models.JSONField(default=list, blank=True)
    offence_type = models.CharField(max_length=20, choices=Referral.OffenceType.choices, blank=True)
    rationale = models.TextField()
    # What differed from the hub's grading when it was made (field names), for the hub's eye.
    differs_from_hub = models.JSONField(default=list, blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assessed_at", "id"]
        indexes = [models.Index(fields=["task", "assessed_at"])]

    def __str__(self) -> str:
        return f"{self.organisation_id} re-assessed {self.task_id}: {self.risk}"


class ConferenceRequest(models.Model):
    """A holder whose task's media matches other cases asks the hub for a deconfliction
    conference; the hub grants (both sides are introduced) or refuses, with a reason. Nothing of
    another force's case is shown before the hub decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the hub"
        GRANTED = "granted", "Granted"
        REFUSED = "refused", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="conference_requests")
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=models.Q(status="pending"), name="one_pending_conference_per_task"
            )
        ]

    def __str__(self) -> str:
        return f"conference on {self.task_id} ({self.status})"


class MediaReview(models.Model):
    """An officer's review of one media item of the task's referral: who, when, and the
    category (A/B/C) they graded it (the agency's category, if any, is on the item)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="media_reviews")
    media = models.ForeignKey("hub.MediaHash", on_delete=models.CASCADE, related_name="reviews")
    category = models.CharField(max_length=1, choices=MediaHash.Category.choices, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reviewed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["task", "media"], name="media_reviewed_once_per_task")]

    def __str__(self) -> str:
        return f"{self.media_id} reviewed on {self.task_id}"


class ExposureLog(models.Model):
    """Minutes a person spent reviewing abuse material for a task. Guidance: no more than four
    hours a day; passing it tells the person's supervisors (once a day)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exposure")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="exposure")
    minutes = models.PositiveSmallIntegerField()
    day = models.DateField(help_text="The UK calendar day it counts towards")
    logged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["logged_at", "id"]
        indexes = [models.Index(fields=["user", "day"], name="exposure_per_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minutes__gte=1, minutes__lte=720), name="exposure_minutes"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.minutes} min on {self.day}"


class ExposureAlert(models.Model):
    """That a person's supervisors were told of a day over the limit (once per person per day)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    minutes = models.PositiveIntegerField()
    told_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="exposure_alert_once_a_day")]

    def __str__(self) -> str:
        return f"{self.user_id} over the limit on {self.day}"


class WelfareDebrief(models.Model):
    """A debrief or welfare review a supervisor held with a person who reviews material."""

    class Kind(models.TextChoices):
        DEBRIEF = "debrief", "Monthly debrief"
        WELFARE_REVIEW = "welfare_review", "Welfare review"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="debriefs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    held_on = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.kind} with {self.person_id} on {self.held_on}"
