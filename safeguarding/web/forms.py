"""Forms for safeguarding actions and the referral's outcome."""

from __future__ import annotations

from typing import Any

from django import forms

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
from hub.web.forms import ConditionalCharField, PageForm
from safeguarding.models import SafeguardingAction

REFERRAL_ACTIONS = {
    SafeguardingAction.Action.REFERRED_CHILDRENS_SERVICES,
    SafeguardingAction.Action.REFERRED_MASH,
    SafeguardingAction.Action.REFERRED_OVERSEAS_POLICE,
}
YES_NO = [("yes", "Yes"), ("no", "No")]


def _count(label: str, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=10000,
        initial=0,
        help_text=help_text,
        error_messages={
            "required": f"Enter the number ({label.lower()}); 0 if none.",
            "min_value": "Enter 0 or more.",
            "invalid": "Enter a whole number.",
        },
    )


def _yes_no(label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        help_text=help_text,
        error_messages={"required": "Answer yes or no."},
    )


class SafeguardingActionForm(PageForm):
    id_prefix = "sg"

    action = forms.ChoiceField(
        label="Action",
        choices=[("", "Choose an action…"), *SafeguardingAction.Action.choices],
        error_messages={"required": "Choose the safeguarding action taken."},
    )
    children_identified = _count("Children identified")
    children_safeguarded = _count("Children safeguarded")
    referred_to = ConditionalCharField(
        label="Referred to",
        required=False,
        max_length=200,
        help_text="The body the children were referred to, e.g. Kent MASH. Required for referrals.",
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") in REFERRAL_ACTIONS and not (data.get("referred_to") or "").strip():
            self.add_error("referred_to", "Name the body the children were referred to.")
        return data


class OutcomeForm(PageForm):
    id_prefix = "outcome"

    justice_outcome = forms.ChoiceField(
        label="Criminal-justice outcome",
        choices=[("", "Choose an outcome…"), *JUSTICE_OUTCOMES],
        error_messages={"required": "Choose the criminal-justice outcome."},
    )
    safeguarding_outcome = forms.ChoiceField(
        label="Safeguarding outcome",
        choices=[("", "Choose an outcome…"), *SAFEGUARDING_OUTCOMES],
        help_text="Recorded separately: children can be protected without any judicial outcome.",
        error_messages={"required": "Choose the safeguarding outcome."},
    )
    arrests = _count("Arrests")
    children_safeguarded = _count("Children safeguarded")
    victims_identified = _count("Victims identified")
    suspect_has_access_to_children = _yes_no(
        "Does the suspect have access to children?",
        "Someone must have checked before the referral can close.",
    )
    safeguarding_needed = _yes_no("Was safeguarding needed?", "Whether any child needed protecting.")
    summary = forms.CharField(
        label="Summary (internal)",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Seen by the hub, your region and auditors. Never sent to the referring agency.",
    )
