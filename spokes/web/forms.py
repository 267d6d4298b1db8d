"""Forms for the holder's work on a task: decline, hand down, leads."""

from __future__ import annotations

from typing import Any

from django import forms

from hub.models import AccessToChildren, MediaHash, Organisation, Referral, Risk, RiskFactor, Task
from hub.selectors import organisation_list
from hub.web.forms import ConditionalCharField, PageForm
from spokes.models import Child, ChildCheck, ExternalRequest, Handoff, Lead, SuspectEvent, WelfareDebrief


class DeclineForm(PageForm):
    id_prefix = "decline"

    reason = forms.ChoiceField(
        label="Reason for declining",
        choices=[("", "Choose a reason…"), *Task.DeclineReason.choices],
        error_messages={"required": "Choose why you are declining the task."},
    )
    note = ConditionalCharField(
        label="Note for the hub",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the reason is 'Other'. The hub reads it before reassigning.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason") == Task.DeclineReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Explain the reason in a note when it is 'Other'.")
        return data


class HandDownForm(PageForm):
    """A region hands a task it holds to one of its own forces."""

    id_prefix = "handdown"

    assignee_org = forms.ChoiceField(
        label="Hand down to", error_messages={"required": "Choose the force that will take the task."}
    )
    reason = forms.CharField(
        label="Reason",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your region keeps read-only oversight of the task.",
        error_messages={"required": "Give a reason for handing the task down."},
    )

    def __init__(self, *args: Any, region: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.forces = {
            org.code: org
            for org in organisation_list()
            .filter(parent=region, kind=Organisation.Kind.FORCE)
            .order_by("name")
        }
        choices = [("", "Choose a force…"), *((code, org.name) for code, org in self.forces.items())]
        self.fields["assignee_org"].choices = choices  # type: ignore[attr-defined]

    def clean_assignee_org(self) -> Organisation:
        code = self.cleaned_data["assignee_org"]
        if code not in self.forces:
            raise forms.ValidationError("Choose one of your region's forces.")
        return self.forces[code]


class PauseForm(PageForm):
    """A supervisor stops the clocks while the holder waits on an outside body."""

    id_prefix = "pause"
    reason = forms.CharField(
        label="Waiting for",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example an MLAT request or a platform disclosure. Deadlines move on by the pause.",
        error_messages={"required": "Say what the task is waiting for."},
    )
    until = forms.DateTimeField(
        label="Restart the clocks at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="A pause always ends: the clocks restart by themselves then (the grade caps how long).",
        error_messages={"required": "Say when the clocks restart.", "invalid": "Enter a date and time."},
    )


class LeadForm(PageForm):
    id_prefix = "lead"

    kind = forms.ChoiceField(
        label="Kind of lead",
        choices=[("", "Choose a kind…"), *Lead.Kind.choices],
        error_messages={"required": "Choose what kind of lead this is."},
    )
    description = forms.CharField(
        label="Description",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Describe the lead."},
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )


class LeadUpdateForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=Lead.Status.choices)
    notes = forms.CharField(
        label="Notes", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChildForm(PageForm):
    """A child on the task, by your own pseudonymous reference."""

    id_prefix = "child"
    reference = forms.CharField(
        label="Reference",
        max_length=60,
        help_text="Your own label for the child (for example C1 or a case number), never a name.",
        error_messages={"required": "Give the child a reference."},
    )
    relation = forms.ChoiceField(label="How the child is involved", choices=Child.Relation.choices)
    access_route = forms.ChoiceField(
        label="Through which part of the suspect's life", required=False,
        choices=[("", "Not known"), *Child.AccessRoute.choices],
    )  # fmt: skip
    is_identified = forms.BooleanField(label="Identified", required=False)
    is_located = forms.BooleanField(label="Located", required=False)


class ChildCheckForm(PageForm):
    """A check made on one child (the form's prefix names the child)."""

    kind = forms.ChoiceField(label="Check", choices=ChildCheck.Kind.choices)
    result = forms.CharField(
        label="What it found", max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what the check found."},
    )  # fmt: skip
    checked_at = forms.DateTimeField(
        label="When", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for now.", error_messages={"invalid": "Enter a date and time."},
    )  # fmt: skip


class SuspectEventForm(PageForm):
    """What happened to the suspect."""

    id_prefix = "suspect"
    kind = forms.ChoiceField(label="What happened", choices=SuspectEvent.Kind.choices)
    occurred_at = forms.DateTimeField(
        label="When", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for now.", error_messages={"invalid": "Enter a date and time."},
    )  # fmt: skip
    override_reason = forms.CharField(
        label="Supervisor's reason to release before every reachable child is checked", required=False,
        max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only a supervisor can; the hub is told at once.",
    )  # fmt: skip
    suicide_risk_flagged = forms.BooleanField(
        label="The suspect was assessed as a suicide risk", required=False,
        help_text="Counted for the annual suicide statistics (never shown outside the force and the hub).",
    )  # fmt: skip
    family_signposted = forms.BooleanField(
        label="The suspect's family was signposted to support", required=False,
        help_text="E.g. to the Lucy Faithfull Foundation's family support, at arrest.",
    )  # fmt: skip


class HandoffForm(PageForm):
    """Hand a child's safeguarding to another organisation known to VIHub."""

    to_org = forms.ChoiceField(label="Hand to")
    note = forms.CharField(
        label="Note for them", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    lawful_basis = forms.ChoiceField(
        label="On what basis is the record shared",
        required=False,
        choices=[("", "Police, region or hub: for a policing purpose")]
        + [c for c in Handoff.LawfulBasis.choices if c[0] != Handoff.LawfulBasis.POLICING_PURPOSE],
        help_text="An agency outside policing needs consent, or your reason to share without it.",
    )
    basis_reason = forms.CharField(
        label="Why share without consent",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, exclude: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = [
            Organisation.Kind.FORCE,
            Organisation.Kind.REGION,
            Organisation.Kind.HUB,
            Organisation.Kind.AGENCY,
        ]
        orgs = organisation_list().filter(kind__in=kinds).exclude(code=exclude).order_by("kind", "name")
        self.fields["to_org"].choices = [("", "Choose an organisation…")] + [  # type: ignore[attr-defined]
            (org.code, org.name) for org in orgs
        ]

    def clean_to_org(self) -> Organisation:
        return Organisation.objects.get(code=self.cleaned_data["to_org"])


class HandoffRevokeForm(PageForm):
    """The sender withdraws an offer nobody has answered yet."""

    reason = forms.CharField(
        label="Why withdraw it",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why you withdraw the hand-off."},
    )


class HandoffAnswerForm(PageForm):
    """Accept or decline a hand-off (a decline says why)."""

    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    reason = forms.CharField(
        label="Why (needed to decline)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ExternalRequestForm(PageForm):
    """A request made outside VIHub: a platform disclosure, an MLAT request overseas."""

    id_prefix = "request"
    kind = forms.ChoiceField(label="Kind of request", choices=ExternalRequest.Kind.choices)
    counterpart = forms.CharField(
        label="Sent to", max_length=200, error_messages={"required": "Say who the request went to."}
    )
    reference = forms.CharField(label="Their reference", required=False, max_length=100)


class ReassessmentForm(PageForm):
    """The holder's own assessment of the risk, beside the hub's grade (which stays)."""

    id_prefix = "reassess"
    risk = forms.ChoiceField(
        label="Your assessment of the risk",
        choices=[("", "Choose a risk level…"), *Risk.choices],
        error_messages={"required": "Choose a risk level."},
    )
    access_to_children = forms.MultipleChoiceField(
        label="Access to children", choices=AccessToChildren.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    risk_factors = forms.MultipleChoiceField(
        label="Risk factors", choices=RiskFactor.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    offence_type = forms.ChoiceField(
        label="Offence", choices=[("", "As the hub graded it"), *Referral.OffenceType.choices], required=False
    )
    rationale = forms.CharField(
        label="What it rests on", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what your re-assessment rests on."},
        help_text="What you know that the hub did not: the household, work, previous offending.",
    )  # fmt: skip


class ConferenceForm(PageForm):
    """Ask the hub to convene a deconfliction conference about shared media."""

    id_prefix = "conference"
    note = forms.CharField(
        label="What the conference should settle", required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip


class ConferenceAnswerForm(PageForm):
    """The hub grants or refuses a conference (a refusal says why)."""

    decision = forms.ChoiceField(choices=[("grant", "Grant"), ("refuse", "Refuse")])
    reason = forms.CharField(
        label="Note (needed to refuse)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MediaReviewForm(PageForm):
    """Mark one media item of the referral reviewed on this task, with the category you graded."""

    id_prefix = "media"
    sha256 = forms.RegexField(regex=r"^[0-9a-fA-F]{64}$", widget=forms.HiddenInput)
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "Not graded"), *MediaHash.Category.choices]
    )


class ExposureForm(PageForm):
    """Log your own media-review time on this task."""

    id_prefix = "exposure"
    task = forms.UUIDField(widget=forms.HiddenInput)
    minutes = forms.IntegerField(
        label="Minutes spent reviewing material", min_value=1, max_value=720,
        error_messages={"required": "Say how many minutes.", "min_value": "Log at least 1 minute.",
                        "max_value": "Log at most 720 minutes (12 hours) at a time."},
    )  # fmt: skip


class DebriefForm(PageForm):
    """Record a debrief or welfare review held with a person of your team."""

    id_prefix = "debrief"
    person = forms.ChoiceField(label="With")
    kind = forms.ChoiceField(label="Kind", choices=WelfareDebrief.Kind.choices)
    held_on = forms.DateField(label="Held on", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(
        label="Note", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, people: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Choose a person…")] + [  # type: ignore[attr-defined]
            (person.username, person.display_name) for person in people or []
        ]
