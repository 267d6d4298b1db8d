"""Forms for the hub's pages: grading and allocation, closure, reassignment, the board's and the
audit trail's filters. Labels and messages are written for the person filling them in."""

from __future__ import annotations

from typing import Any

from django import forms

from hub.models import (
    AccessToChildren,
    Membership,
    Missing,
    Organisation,
    Referral,
    Risk,
    RiskFactor,
    Task,
    Team,
    User,
)
from hub.selectors import organisation_list

GRADE_CHOICES = [
    (1, "Grade 1: immediate threat to a child's life"),
    (2, "Grade 2: serious crime against a child (act within 2 days)"),
    (3, "Grade 3: prioritise by risk"),
]
DEADLINE_CHOICES = [
    ("overdue", "Overdue (incl. escalated)"),
    ("escalated", "Escalated"),
    ("due_soon", "Due soon"),
    ("on_time", "On time"),
    ("paused", "Paused"),
    ("declined", "Declined, to reassign"),
    ("closed", "Closed (completed or cancelled)"),
]

Choices = list[tuple[Any, Any]]


class PageForm(forms.Form):
    """A form whose element ids are unique on a page that shows several forms (a label must
    point at its own input: ``id_notes`` twice on one page breaks screen readers and clicks)."""

    id_prefix = "id"
    # Label optional fields "(optional)"; filter and search forms, where all are, do not.
    show_optional = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            _house_messages(field)


# Django's stock messages name no field ("Ensure this value is less than or equal to 10000."):
# in the house style each one says which field and what to do. Messages a form sets itself stay.
STOCK_MESSAGES = {
    "required": "This field is required.",
    "invalid_choice": "Select a valid choice. %(value)s is not one of the available choices.",
}
HOUSE_MESSAGES = {
    "required": "{label}: this is needed.",
    "invalid_choice": "{label}: choose one of the options offered.",
    "max_value": "{label}: enter %(limit_value)s or less.",
    "min_value": "{label}: enter %(limit_value)s or more.",
    "max_length": "{label}: keep it to %(limit_value)d characters (it has %(show_value)d).",
}


def _house_messages(field: forms.Field) -> None:
    """Replace the stock messages (and give the validators' codes a message naming the field)."""
    label = str(field.label or "This field").rstrip(":")
    for key, ours in HOUSE_MESSAGES.items():
        current = field.error_messages.get(key)
        if current is None or str(current) == STOCK_MESSAGES.get(key):
            field.error_messages[key] = ours.replace("{label}", label)


def holder_choices(*, exclude: str = "", blank: str = "Choose a region or force…") -> Choices:
    """The hub itself, then regions and their forces grouped by region: the organisations a
    task can go to (the hub keeps a case under CEOP primacy)."""
    orgs = list(organisation_list().filter(kind__in=[Organisation.Kind.REGION, Organisation.Kind.FORCE]))
    hubs = [
        (o.code, f"{o.name} (the hub keeps it)")
        for o in organisation_list().filter(kind=Organisation.Kind.HUB)
    ]
    regions = sorted((o for o in orgs if o.kind == Organisation.Kind.REGION), key=lambda o: o.name)
    groups: Choices = []
    for region in regions:
        forces = sorted((o for o in orgs if o.parent_id == region.pk), key=lambda o: o.name)
        options = [(region.code, f"{region.name} (whole region)")] + [(f.code, f.name) for f in forces]
        groups.append((region.name, [option for option in options if option[0] != exclude]))
    kept = [option for option in hubs if option[0] != exclude]
    return [("", blank), *([("The hub", kept)] if kept else []), *groups]


def region_choices(blank: str = "All regions") -> Choices:
    regions = organisation_list().filter(kind=Organisation.Kind.REGION).order_by("name")
    return [("", blank), *((r.code, r.name) for r in regions)]


def organisation_choices(blank: str = "Any organisation") -> Choices:
    return [("", blank), *((o.code, f"{o.name} ({o.code})") for o in organisation_list().order_by("name"))]


def _holder(code: str) -> Organisation | None:
    if not code:
        return None
    org = (
        organisation_list()
        .filter(code=code, kind__in=[Organisation.Kind.REGION, Organisation.Kind.FORCE])
        .first()
    )
    if org is None:
        raise forms.ValidationError("Choose a region or force from the list.")
    return org


class ConditionalCharField(forms.CharField):
    """Required in some cases only (the form's ``clean`` says which): not labelled optional."""

    conditional = True


class GradeAndAllocateForm(PageForm):
    """Grade a referral and, in the same submission, allocate its victim-ID task."""

    # The referral's version the page showed: a decision on a stale view is refused (409).
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    grade = forms.TypedChoiceField(
        label="Grade",
        choices=GRADE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a grade: 1, 2 or 3."},
    )
    risk = forms.ChoiceField(
        label="Risk",
        choices=[("", "Choose a risk level…"), *Risk.choices],
        help_text="KIRAT-style risk of harm to a child.",
        error_messages={"required": "Choose a risk level."},
    )
    access_to_children = forms.MultipleChoiceField(
        label="Access to children",
        choices=AccessToChildren.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where the suspect can reach children. Leave all unticked if none is known.",
    )
    risk_factors = forms.MultipleChoiceField(
        label="Risk factors",
        choices=RiskFactor.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the risk level rests on, besides access to children.",
    )
    offence_type = forms.ChoiceField(
        label="Offence",
        choices=[("", "Not known yet"), *Referral.OffenceType.choices],
        required=False,
    )
    relax_deadlines = forms.BooleanField(
        label="Move running deadlines later to match a looser grading",
        required=False,
        help_text="A tighter grading always moves them earlier; a looser one only when you say so here "
        "(recorded with the rationale).",
    )
    information_incomplete = forms.BooleanField(
        label="Information is incomplete",
        required=False,
        help_text="Tick when the grade rests on missing information, so nobody reads it as low risk.",
    )
    missing_information = forms.MultipleChoiceField(
        label="What is missing",
        choices=Missing.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Needed when the information is incomplete.",
    )
    team = forms.ChoiceField(label="Route to a team", required=False)
    rationale = ConditionalCharField(
        label="Rationale",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why this grade and risk (needed whenever the grading changes). Kept in the history.",
    )
    assignee_org = forms.ChoiceField(
        label="Allocate to",
        required=False,
        help_text="The region or force that will hold the task. Only they (and their region) will see it.",
    )
    instructions = forms.CharField(
        label="Instructions for the holder",
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.referral = referral
        blank = "No new task" if referral.status == Referral.Status.ALLOCATED else "Do not allocate yet"
        self.fields["assignee_org"].choices = holder_choices(blank=blank)  # type: ignore[attr-defined]
        teams = Team.objects.filter(is_active=True).order_by("name")
        self.fields["team"].choices = [("", "No team"), *((t.code, t.name) for t in teams)]  # type: ignore[attr-defined]

    def clean_team(self) -> Team | None:
        code = self.cleaned_data.get("team", "")
        return Team.objects.filter(code=code, is_active=True).first() if code else None

    def clean_assignee_org(self) -> Organisation | None:
        return _holder(self.cleaned_data.get("assignee_org", ""))

    def grading_changed(self) -> bool:
        referral, data = self.referral, self.cleaned_data
        if referral.grade is None:
            return True
        team = data.get("team")
        return (
            data.get("grade"),
            data.get("risk"),
            sorted(data.get("access_to_children", [])),
            bool(data.get("information_incomplete")),
            sorted(data.get("risk_factors", [])),
            sorted(data.get("missing_information", [])) if data.get("information_incomplete") else [],
            data.get("offence_type", ""),
            team.pk if team else None,
        ) != (
            referral.grade,
            referral.risk,
            sorted(referral.access_to_children),
            referral.is_information_incomplete,
            sorted(referral.risk_factors),
            sorted(referral.missing_information),
            referral.triage_offence_type,
            referral.team_id,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        data["regrade"] = self.grading_changed()
        if data.get("information_incomplete") and not data.get("missing_information"):
            self.add_error("missing_information", "Say what is missing, so the grade is read for what it is.")
        if data["regrade"] and not data.get("rationale", "").strip():
            message = (
                "Give a rationale for the grading."
                if self.referral.grade is None
                else "Say why the grading changes (or put the grading back and only allocate)."
            )
            self.add_error("rationale", message)
        elif not data["regrade"] and data.get("assignee_org") is None:
            raise forms.ValidationError(
                "Nothing to save: change the grading, or choose who to allocate the task to."
            )
        return data


class NonActionableForm(PageForm):
    id_prefix = "na"

    reason = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose a reason…"), *Referral.NonActionableReason.choices],
        error_messages={"required": "Choose why the referral cannot be acted on."},
    )
    note = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the referral cannot be acted on."},
    )


def _known(label: str) -> forms.TypedChoiceField:
    """Yes / No / not known yet (None)."""
    return forms.TypedChoiceField(
        label=label,
        required=False,
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        widget=forms.RadioSelect,
    )


class CloseReferralForm(PageForm):
    """Close after the outcome; asks for the two checks when the outcome came without them."""

    id_prefix = "close"

    suspect_has_access_to_children = _known("Does the suspect have access to children?")
    safeguarding_needed = _known("Was safeguarding needed?")
    note = forms.CharField(
        label="Closing note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReassignForm(forms.Form):
    assignee_org = forms.ChoiceField(
        label="Reassign to", error_messages={"required": "Choose the region or force to give the task to."}
    )
    reason = forms.CharField(
        label="Reason",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded on the task and in the audit trail. The current holder loses access at once.",
        error_messages={"required": "Give a reason for moving the task."},
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee_org"].choices = holder_choices(exclude=task.assignee_org.code)  # type: ignore[attr-defined]

    def clean_assignee_org(self) -> Organisation | None:
        return _holder(self.cleaned_data.get("assignee_org", ""))


class AcknowledgeForm(PageForm):
    """Take responsibility for a breached task (stops its escalation chain)."""

    id_prefix = "ack"
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you are doing about it. Recorded with your acknowledgement.",
    )


BOARD_SORTS = {
    "due": ("due_at", "id"),
    "-due": ("-due_at", "id"),
    "grade": ("referral__grade", "due_at", "id"),
    "holder": ("assignee_org__name", "due_at", "id"),
    "status": ("status", "due_at", "id"),
    "received": ("referral__received_at", "id"),
    "-received": ("-referral__received_at", "id"),
}


class BoardFilterForm(forms.Form):
    """Filters for the board of all tasks (GET)."""

    q = forms.CharField(
        label="Reference or id", required=False, max_length=100,
        help_text="The agency's reference (or its start), or a VIHub task or referral id.",
    )  # fmt: skip
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", "Most urgent first"), *((k, k) for k in BOARD_SORTS)],
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Task.Status.choices]
    )
    deadline = forms.ChoiceField(
        label="Deadline", required=False, choices=[("", "Any deadline state"), *DEADLINE_CHOICES]
    )
    grade = forms.TypedChoiceField(
        label="Grade",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any grade"), (1, "Grade 1"), (2, "Grade 2"), (3, "Grade 3")],
    )
    region = forms.ChoiceField(label="Region", required=False)
    holder = forms.ChoiceField(label="Holder", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices()  # type: ignore[attr-defined]
        self.fields["holder"].choices = holder_choices(blank="Any holder")  # type: ignore[attr-defined]
        for field in self.fields.values():
            _house_messages(field)


class AuditSearchForm(forms.Form):
    """The auditor's search over the trail (GET). Every field is optional."""

    reference = forms.CharField(
        label="Agency reference",
        required=False,
        max_length=100,
        help_text="Every event about the referrals with this reference (or starting with it).",
    )
    object_id = forms.CharField(
        label="Object id",
        required=False,
        max_length=64,
        help_text="A task, referral, lead or user id. Matches events about it or naming it.",
    )
    actor = forms.CharField(label="Actor username", required=False, max_length=150)
    action = forms.CharField(
        label="Action",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "known-actions"}),
        help_text="For example task.viewed; end with * for every action of a kind (task.*).",
    )
    organisation = forms.ChoiceField(label="Actor's organisation", required=False)
    since = forms.DateTimeField(
        label="Since",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"invalid": "Enter a date and time, for example 2025-11-22 09:00."},
    )
    until = forms.DateTimeField(
        label="Until",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"invalid": "Enter a date and time, for example 2025-11-22 17:30."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = organisation_choices()  # type: ignore[attr-defined]

    purpose = forms.CharField(
        label="Purpose",
        required=False,
        max_length=500,
        help_text="Why you are searching, e.g. a case or complaint reference. Recorded with your search.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "'Until' must be after 'since'.")
        for name in ("object_id", "actor", "action", "purpose"):
            data[name] = (data.get(name) or "").strip()
        return data


class OnCallShiftForm(PageForm):
    """Put a hub coordinator on the on-call rota."""

    id_prefix = "shift"

    coordinator = forms.ChoiceField(
        label="Coordinator", error_messages={"required": "Choose who is on call."}
    )
    starts_at = forms.DateTimeField(
        label="From",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"required": "Enter when the shift starts.", "invalid": "Enter a date and time."},
    )
    ends_at = forms.DateTimeField(
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"required": "Enter when the shift ends.", "invalid": "Enter a date and time."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True, membership__role=Membership.Role.COORDINATOR).order_by(
            "last_name", "username"
        )
        self.fields["coordinator"].choices = [("", "Choose a coordinator…")] + [  # type: ignore[attr-defined]
            (user.username, user.get_full_name() or user.username) for user in people
        ]

    def clean_coordinator(self) -> User:
        return User.objects.get(username=self.cleaned_data["coordinator"])


class CancelForm(PageForm):
    """Close a declined task the hub will not move."""

    id_prefix = "cancel"
    reason = forms.CharField(
        label="Why cancel it",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the task is cancelled."},
    )
