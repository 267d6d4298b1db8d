"""What happened to the children and the case: safeguarding actions and the outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
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
