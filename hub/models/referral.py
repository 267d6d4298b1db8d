"""Referrals from upstream agencies, their triage history, and the deadline policy."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from hub.models.organisation import Organisation


class Risk(models.TextChoices):
    """KIRAT-style risk levels."""

    VERY_HIGH = "very_high", "Very high"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class AccessToChildren(models.TextChoices):
    """The access-based model: through which part of life the suspect can reach children."""

    FAMILY = "family", "Family"
    WORK = "work", "Work"
    LEISURE = "leisure", "Leisure"
    OTHER = "other", "Other"


class RiskFactor(models.TextChoices):
    """The KIRAT-style factors behind a risk level, besides the routes of access to children."""

    PREVIOUS_OFFENDING = "previous_offending", "Previous offending"
    FIRST_GENERATION = "first_generation", "First-generation material (made by the suspect)"
    ONLINE_ESCALATION = "online_escalation", "Escalating online harm (grooming, sextortion)"


class Missing(models.TextChoices):
    """What a grade resting on incomplete information lacks, so a low grade is not read as low risk."""

    SUSPECT_IDENTITY = "suspect_identity", "Who the suspect is"
    SUSPECT_LOCATION = "suspect_location", "Where the suspect is"
    VICTIM_DETAILS = "victim_details", "Who or where the child is"
    PLATFORM_DATA = "platform_data", "Subscriber or platform data"
    MEDIA = "media", "The media itself"
    OTHER = "other", "Something else (explain it in the grading notes)"


class Team(models.Model):
    """A named team a referral can be routed to (e.g. the hub's grooming and sextortion team):
    its members are told when a referral is routed to it, and the triage queue filters by it.
    ``routes`` names what it takes: offence types and ``first_generation``; the referral page
    suggests the team whose routes match."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="teams")
    routes = models.JSONField(default=list, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Referral(models.Model):
    """A report from an upstream agency. Unique per (agency, external_id): a re-post is the same
    referral, never a duplicate, enforced by the database."""

    class OffenceType(models.TextChoices):
        INDECENT_IMAGES = "indecent_images", "Indecent images"
        GROOMING = "grooming", "Grooming"
        SEXTORTION = "sextortion", "Sextortion"
        LIVE_STREAMING = "live_streaming", "Live-streaming"
        OTHER = "other", "Other"

    class ReporterType(models.TextChoices):
        INDUSTRY = "industry", "Industry platform"
        HOTLINE = "hotline", "Hotline"
        PUBLIC = "public", "Member of the public"
        ONLINE_ACTIVIST = "online_activist", "Online activist group"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        TRIAGED = "triaged", "Triaged"
        NON_ACTIONABLE = "non_actionable", "Closed: non-actionable"
        ALLOCATED = "allocated", "Allocated"
        OUTCOME_RECORDED = "outcome_recorded", "Outcome recorded"
        CLOSED = "closed", "Closed"

    class NonActionableReason(models.TextChoices):
        INFORMATIONAL = "informational", "Informational (e.g. viral image)"
        ADULT_MATERIAL = "adult_material", "Adult material"
        TECHNICAL_ERROR = "technical_error", "Technical error"
        DUPLICATE = "duplicate", "Duplicate of another referral"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="referrals_made")
    external_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    summary = models.TextField(blank=True)
    suspect_force = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_urgent = models.BooleanField(default=False)
    # Richer intake, all optional (a v1 client sends none of it).
    platform = models.CharField(max_length=100, blank=True)
    incident_at = models.DateTimeField(null=True, blank=True)
    offence_type = models.CharField(max_length=20, choices=OffenceType.choices, blank=True)
    reporter_type = models.CharField(max_length=20, choices=ReporterType.choices, blank=True)
    # For an online activist group's evidence: who captured it, when and how it was kept.
    evidence_continuity = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Current triage (history in TriageDecision).
    grade = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    risk = models.CharField(max_length=10, choices=Risk.choices, blank=True)
    access_to_children = models.JSONField(default=list, blank=True)
    is_information_incomplete = models.BooleanField(default=False)
    # The prioritisation record behind the grade (current; history in TriageDecision).
    risk_factors = models.JSONField(default=list, blank=True)
    missing_information = models.JSONField(default=list, blank=True)
    # The hub's own reading of the offence (the agency's ``offence_type`` stays as it was sent).
    triage_offence_type = models.CharField(max_length=20, choices=OffenceType.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    triaged_at = models.DateTimeField(null=True, blank=True)
    non_actionable_reason = models.CharField(max_length=20, choices=NonActionableReason.choices, blank=True)
    # Recorded with the outcome; a referral cannot close until both are known (not None).
    suspect_has_access_to_children = models.BooleanField(null=True, blank=True)
    is_safeguarding_needed = models.BooleanField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closure_note = models.TextField(blank=True)
    # Media matching (set by the match job after intake).
    matched_at = models.DateTimeField(null=True, blank=True)
    is_first_generation = models.BooleanField(default=False)
    is_known_victim = models.BooleanField(default=False)
    media_match_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "external_id"], name="referral_unique_per_agency"),
            models.CheckConstraint(
                condition=models.Q(grade__isnull=True) | models.Q(grade__gte=1, grade__lte=3),
                name="referral_grade_1_to_3",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "is_urgent", "received_at"]),
            # The triage queue: urgent first, then by when VIHub received it (an agency's own
            # received_at can be anything it says, so it never decides who waits longest).
            models.Index(fields=["status", "is_urgent", "created_at"], name="referral_triage_queue"),
            models.Index(fields=["agency", "updated_at"]),
            models.Index(fields=["-created_at", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}:{self.external_id}"


class MediaHash(models.Model):
    """A hash of a media item in the referral (never the media itself)."""

    class Category(models.TextChoices):
        A = "A", "Category A"
        B = "B", "Category B"
        C = "C", "Category C"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="media")
    sha256 = models.CharField(max_length=64)
    md5 = models.CharField(max_length=32, blank=True)
    pdq = models.CharField(max_length=64, blank=True)
    # Made by the offender (proof of access to a child): the most urgent lead there is.
    is_first_generation = models.BooleanField(default=False)
    category = models.CharField(max_length=1, choices=Category.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sha256"]), models.Index(fields=["md5"], name="media_md5")]

    def __str__(self) -> str:
        return self.sha256


class TriageDecision(models.Model):
    """One grading of a referral. Re-grading adds a row; nothing is overwritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="triage_history")
    grade = models.PositiveSmallIntegerField()
    risk = models.CharField(max_length=10, choices=Risk.choices)
    access_to_children = models.JSONField(default=list)
    is_information_incomplete = models.BooleanField()
    risk_factors = models.JSONField(default=list, blank=True)
    missing_information = models.JSONField(default=list, blank=True)
    offence_type = models.CharField(max_length=20, choices=Referral.OffenceType.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rationale = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at"]

    def __str__(self) -> str:
        return f"G{self.grade}/{self.risk} for {self.referral_id}"


class DeadlinePolicy(models.Model):
    """How long a holder has to accept and to act, by grade and (for grade 3) risk.

    A row with an empty ``risk`` applies to every risk of that grade unless a risk-specific row
    exists. Kept in the database and editable by the hub; a task's clocks are computed once,
    at allocation, so editing the policy never moves a deadline already given.
    """

    grade = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(3)])
    risk = models.CharField(max_length=10, choices=Risk.choices, blank=True)
    accept_within = models.DurationField()
    act_within = models.DurationField()
    escalation_step_wait = models.DurationField(
        default=timedelta(hours=1), help_text="Wait between escalation steps after a breach."
    )
    acknowledgement_grace = models.DurationField(
        default=timedelta(hours=4),
        help_text="How long an acknowledgement holds a breached chain before it climbs again.",
    )
    max_pause = models.DurationField(
        default=timedelta(days=7), help_text="The longest a holder may stop this grade's clocks."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grade", "risk"], name="deadline_policy_unique")]
        ordering = ["grade", "risk"]

    def __str__(self) -> str:
        return f"G{self.grade} {self.risk or 'any risk'}: accept {self.accept_within}, act {self.act_within}"
