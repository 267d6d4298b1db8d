"""Forms for safeguarding actions and the referral's outcome, the accountability reports'
period, and outcome feedback (agency endpoints, replay)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
from hub.models import Organisation
from hub.selectors import organisation_list
from hub.web.forms import ConditionalCharField, PageForm
from safeguarding.models import SafeguardingAction, WebhookEndpoint
from safeguarding.reports import Period

REFERRAL_ACTIONS = {
    SafeguardingAction.Action.REFERRED_CHILDRENS_SERVICES,
    SafeguardingAction.Action.REFERRED_MASH,
    SafeguardingAction.Action.REFERRED_OVERSEAS_POLICE,
}
YES_NO = [("yes", "Yes"), ("no", "No")]
DATE_EXAMPLE = "Enter a date, for example 2025-04-01."


def _count(label: str, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=10000,
        initial=0,
        help_text=help_text,
        error_messages={
            "required": f"Enter the number ({label.lower()}); 0 if none.",
            "min_value": f"{label}: enter 0 or more.",
            "max_value": f"{label}: enter at most 10,000.",
            "invalid": f"{label}: enter a whole number.",
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
    # The referral's version the page showed: a decision on a stale view is refused (409).
    version = forms.CharField(required=False, widget=forms.HiddenInput)

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


class OutcomeAmendForm(OutcomeForm):
    """Amend a recorded outcome: the same fields (shown as they are now) and why."""

    id_prefix = "amend"
    # The two checks are asked at closure, not here.
    suspect_has_access_to_children = None  # type: ignore[assignment]
    safeguarding_needed = None  # type: ignore[assignment]
    reason = forms.CharField(
        label="Why it changes",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: the charge resolved at court. Kept with the previous values.",
        error_messages={"required": "Say why the outcome changes."},
    )


# --- Accountability reports -------------------------------------------------------------------


class ReportPeriodForm(PageForm):
    """The period of the accountability reports (GET): whole days, both ends included."""

    id_prefix = "period"
    show_optional = False

    since = forms.DateField(
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Enter the first day of the period.", "invalid": DATE_EXAMPLE},
    )
    until = forms.DateField(
        label="To (included)",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Enter the last day of the period.", "invalid": DATE_EXAMPLE},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The period must end on or after the day it starts.")
        return data

    def period(self) -> Period:
        """From the start of the first day to the start of the day after the last (local time)."""
        since, until = self.cleaned_data["since"], self.cleaned_data["until"] + timedelta(days=1)
        zone = timezone.get_current_timezone()
        return Period(
            since=datetime.combine(since, time.min, tzinfo=zone),
            until=datetime.combine(until, time.min, tzinfo=zone),
        )


def default_period(params: QueryDict) -> QueryDict | dict[str, str]:
    """The form's data: what was asked for, or the last 12 months when nothing was."""
    if "since" in params or "until" in params:
        return params
    today = timezone.localdate()
    return {"since": (today - timedelta(days=365)).isoformat(), "until": today.isoformat()}


# --- Outcome feedback: endpoints and replay ----------------------------------------------------


def agency_choices() -> list[tuple[str, str]]:
    agencies = organisation_list().filter(kind=Organisation.Kind.AGENCY).order_by("name")
    return [("", "Choose an agency…"), *((a.code, f"{a.name} ({a.code})") for a in agencies)]


class EndpointForm(PageForm):
    """Register an agency's webhook endpoint, or point an existing one somewhere else."""

    id_prefix = "endpoint"

    agency = forms.ChoiceField(
        label="Agency", error_messages={"required": "Choose the agency whose endpoint this is."}
    )
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where VIHub POSTs signed events. Must be https and reachable on the internet.",
        error_messages={
            "required": "Enter the URL of the agency's receiver.",
            "invalid": "Enter a full URL, for example https://receiver.example.org/vihub.",
        },
    )
    event_types = forms.MultipleChoiceField(
        label="Events to send",
        choices=WebhookEndpoint.EventType.choices,
        initial=WebhookEndpoint.DEFAULT_EVENTS,
        widget=forms.CheckboxSelectMultiple,
        help_text="The outcome is what agencies need; the others report each step of the referral.",
        error_messages={"required": "Choose at least one event to send."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = agency_choices()  # type: ignore[attr-defined]

    def clean_agency(self) -> Organisation:
        code = self.cleaned_data["agency"]
        agency = organisation_list().filter(code=code, kind=Organisation.Kind.AGENCY).first()
        if agency is None:
            raise forms.ValidationError("Choose an agency from the list.")
        return agency


class ChangeDecisionForm(PageForm):
    """Approve or refuse another coordinator's proposed endpoint change."""

    decision = forms.ChoiceField(
        label="Decision",
        choices=[("approve", "Approve"), ("refuse", "Refuse")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether to approve or refuse the change."},
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        help_text="Needed to refuse; kept on the audit trail either way.",
    )


class ReplayForm(forms.Form):
    """Re-send one event to the agency, with the reason recorded as the disclosure's."""

    reason = forms.CharField(
        label="Reason for re-sending",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail with the disclosure, e.g. the agency's ticket number.",
        error_messages={"required": "Give a reason for re-sending this event to the agency."},
    )
