"""Organisations (hub / region / force / agency), people, roles and API tokens."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser, Group
from django.db import models


class User(AbstractUser):
    """A person or an integration account. What they may do comes from their ``membership``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Organisation(models.Model):
    """A node in the hub → region → force tree, or an upstream agency (no parent).

    Each organisation owns exactly one Django group; django-guardian grants object permissions
    to that group, so membership of the organisation is what grants access to its tasks.
    """

    class Kind(models.TextChoices):
        HUB = "hub", "Hub"
        REGION = "region", "Region"
        FORCE = "force", "Force"
        AGENCY = "agency", "Agency"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="organisation")
    is_active = models.BooleanField(default=True)
    # Who to call: the organisation's named victim-ID liaison and how to reach them (domain §9,
    # "a named liaison in each force"), kept by the hub administrator.
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    out_of_hours_phone = models.CharField(max_length=40, blank=True)
    liaison_notes = models.TextField(max_length=2000, blank=True)
    contacts_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z0-9_]+$"), name="organisation_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def can_hold_tasks(self) -> bool:
        """Victim-ID tasks are held by regions, forces and the hub itself (CEOP primacy: the hub
        keeps a case and its own officers work it); never by an agency."""
        return self.kind in TASK_HOLDER_KINDS and self.is_active

    @property
    def region(self) -> Organisation | None:
        """The region this organisation sits in: itself for a region, the parent for a force."""
        if self.kind == self.Kind.REGION:
            return self
        if self.kind == self.Kind.FORCE:
            return self.parent
        return None


TASK_HOLDER_KINDS = frozenset({Organisation.Kind.REGION, Organisation.Kind.FORCE, Organisation.Kind.HUB})


class Membership(models.Model):
    """A user's single organisation and role. Role and organisation kind must agree."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", "Hub coordinator"
        REGIONAL_COORDINATOR = "regional_coordinator", "Regional coordinator"
        OFFICER = "officer", "Victim-ID officer"
        SUPERVISOR = "supervisor", "Supervisor"
        AUDITOR = "auditor", "Auditor"
        AGENCY = "agency", "Agency integration"
        ADMINISTRATOR = "administrator", "Hub administrator"

    # Which organisation kinds each role may belong to.
    ALLOWED_KINDS: dict[str, frozenset[str]] = {
        Role.COORDINATOR: frozenset({Organisation.Kind.HUB}),
        Role.REGIONAL_COORDINATOR: frozenset({Organisation.Kind.REGION}),
        Role.OFFICER: frozenset({Organisation.Kind.FORCE, Organisation.Kind.REGION, Organisation.Kind.HUB}),
        Role.SUPERVISOR: frozenset(
            {Organisation.Kind.FORCE, Organisation.Kind.REGION, Organisation.Kind.HUB}
        ),
        Role.AUDITOR: frozenset({Organisation.Kind.HUB}),
        Role.AGENCY: frozenset({Organisation.Kind.AGENCY}),
        Role.ADMINISTRATOR: frozenset({Organisation.Kind.HUB}),
    }

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=24, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} at {self.organisation.code}"


class ApiToken(models.Model):
    """A bearer token for scripts. Only the SHA-256 of the token is stored; it always expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Heartbeat(models.Model):
    """Liveness of a periodic job: the beat heartbeat, the deadline sweep. One row per name."""

    name = models.CharField(max_length=50, primary_key=True)
    last_beat_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_beat_at:%Y-%m-%d %H:%M:%S}"
