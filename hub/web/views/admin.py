"""Administration in the product (issue 16): a person's page (details, organisation and role,
switching off and on, a new invitation, API tokens, second-factor reset), adding a person, every
API token, the organisations' contacts and the deadline policy with a preview.

The hub administrator does all of it; a supervisor manages the officers and supervisors of
their own organisation (the rows of the policy registry say exactly what). Every change goes
through ``hub.services.people`` / ``organisations`` / ``deadline_policy``, which audit it with
before and after; reads of people and tokens are audited here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hub.constants import AuditAction
from hub.models import ApiToken, DeadlinePolicy, Membership, Organisation, User
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed
from hub.selectors import people_for
from hub.services.audit import audit_record
from hub.services.deadline_policy import (
    DURATIONS,
    PolicyPreview,
    deadline_policy_preview,
    deadline_policy_set,
    governed_tasks,
)
from hub.services.factors import factors_summary, with_factors
from hub.services.organisations import CONTACT_FIELDS, organisation_contacts_set
from hub.services.people import (
    Invitation,
    person_add,
    person_edit,
    person_move,
    person_password_set,
    person_reinvite,
    person_set_active,
    person_state,
    person_welcome,
    token_issue,
    token_revoke,
)
from hub.web.shortcuts import AuthenticatedHttpRequest, attempt, page, policy_view, submit
from hub.web.views.people import FactorsResetForm

# --- Forms -----------------------------------------------------------------------------------------


GROUPS = (("hub", "The hub"), ("region", "Regions"), ("force", "Forces"), ("agency", "Agencies"))


def _organisation_choices() -> list[Any]:
    """Grouped by kind, hub first, names in order; nothing chosen until the person chooses."""
    organisations = list(Organisation.objects.filter(is_active=True).order_by("name"))
    grouped = [
        (label, [(org.code, f"{org.name} ({org.code})") for org in organisations if org.kind == kind])
        for kind, label in GROUPS
    ]
    return [("", "Choose an organisation…"), *grouped]


def _role_choices(actor: Actor) -> list[tuple[str, str]]:
    roles = Membership.Role.choices
    if actor.role not in r.ADMIN_ROLES:
        roles = [(value, label) for value, label in roles if value in r.SUPERVISOR_GRANTS]
    return [("", "Choose a role…"), *roles]


class PlacementFields(forms.Form):
    organisation = forms.ChoiceField(label="Organisation")
    role = forms.ChoiceField(label="Role", help_text="What they may do; the role must fit the organisation.")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if actor.role in r.ADMIN_ROLES:
            cast(forms.ChoiceField, self.fields["organisation"]).choices = _organisation_choices()
        else:  # a supervisor places people in their own organisation only
            cast(forms.ChoiceField, self.fields["organisation"]).choices = [
                (actor.org.code, f"{actor.org.name} ({actor.org.code})")
            ]
            self.fields["organisation"].initial = actor.org.code
        cast(forms.ChoiceField, self.fields["role"]).choices = _role_choices(actor)


class PersonAddForm(PlacementFields):
    username = forms.CharField(label="Username", max_length=150, help_text="Letters, digits and @ . + - _")
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Surname", max_length=150, required=False)
    email = forms.EmailField(
        label="Email", required=False, help_text="Their invitation and VIHub's notifications go here."
    )
    field_order = ["username", "first_name", "last_name", "email", "organisation", "role"]
    show_optional = True


class PersonEditForm(forms.Form):
    prefix = "edit"
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Surname", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    show_optional = True


class PersonMoveForm(PlacementFields):
    prefix = "move"
    reason = forms.CharField(
        label="Why",
        max_length=500,
        error_messages={"required": "Say why (for example: joined Essex's VID team)."},
    )


class ActiveForm(forms.Form):
    prefix = "active"
    reason = forms.CharField(
        label="Why", max_length=500, error_messages={"required": "Say why (for example: left the force)."}
    )


class TokenForm(forms.Form):
    prefix = "token"
    name = forms.CharField(
        label="What it is for", max_length=100, required=False, help_text="e.g. CyberTipline feed"
    )
    expires_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=settings.VIHUB_TOKEN_MAX_DAYS,
        initial=settings.VIHUB_TOKEN_DEFAULT_DAYS,
        help_text=f"Between 1 and {settings.VIHUB_TOKEN_MAX_DAYS} days.",
    )
    show_optional = True


class ContactForm(forms.Form):
    contact_name = forms.CharField(label="Victim-ID liaison", max_length=200, required=False)
    contact_email = forms.EmailField(label="Email", required=False)
    contact_phone = forms.CharField(label="Phone", max_length=40, required=False)
    out_of_hours_phone = forms.CharField(
        label="Out-of-hours phone",
        max_length=40,
        required=False,
        help_text="For a threat to life outside office hours.",
    )
    liaison_notes = forms.CharField(
        label="Notes", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    show_optional = True


class DurationInput(forms.DurationField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            help_text="Days and hours, e.g. 2 00:00:00 for two days, 04:00:00 for four hours", **kwargs
        )


class PolicyForm(forms.Form):
    accept_within = DurationInput(label="Time to accept")
    act_within = DurationInput(label="Time to act")
    escalation_step_wait = DurationInput(label="Wait between escalation steps")
    acknowledgement_grace = DurationInput(label="An acknowledgement holds for")
    max_pause = DurationInput(label="Longest pause")
    tighten_running = forms.BooleanField(
        label="Also bring running tasks to these tighter clocks",
        required=False,
        help_text="Only ever earlier: a task whose deadline this would make later keeps the one it has.",
    )
    reason = forms.CharField(
        label="Why",
        max_length=500,
        required=False,
        help_text="Needed to save (for example: HMICFRS recommendation).",
    )


# --- People --------------------------------------------------------------------------------------


def _people(membership: Membership) -> QuerySet[User]:
    return with_factors(people_for(membership))


def _person_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    person: User,
    *,
    forms_: dict[str, forms.Form] | None = None,
    shown: dict[str, Any] | None = None,
    status: int = 200,
    audited: bool = True,
) -> HttpResponse:
    """A person's page: what they are, and each form the caller may use on them."""
    if audited:
        audit_record(
            actor=request.user,
            action=AuditAction.PERSON_VIEWED,
            object_type="user",
            object_id=person.pk,
            changes={"username": person.username},
        )
    given = forms_ or {}
    user = request.user
    membership = person.membership
    offer: dict[str, forms.Form | None] = {
        "edit": given.get("edit")
        or PersonEditForm(
            initial={"first_name": person.first_name, "last_name": person.last_name, "email": person.email}
        )
        if allowed(user, Act.PERSON_EDIT, person)
        else None,
        "move": given.get("move")
        or PersonMoveForm(
            actor=actor, initial={"organisation": membership.organisation.code, "role": membership.role}
        )
        if allowed(user, Act.PERSON_MOVE, person)
        else None,
        "active": given.get("active") or ActiveForm()
        if allowed(user, Act.PERSON_SET_ACTIVE, person)
        else None,
        "token": given.get("token") or TokenForm() if allowed(user, Act.TOKEN_ISSUE, person) else None,
        "reset": given.get("reset") or FactorsResetForm(prefix=f"reset-{person.pk}")
        if allowed(user, Act.FACTORS_RESET, person)
        else None,
    }
    tokens = list(person.api_tokens.order_by("-created_at")) if allowed(user, Act.TOKEN_LIST) else []
    return page(
        request,
        "hub/person.html",
        {
            "person": person,
            "state": person_state(person),
            "factors": factors_summary(person),
            "forms": offer,
            "may_invite": allowed(user, Act.PERSON_EDIT, person) and person.is_active,
            "tokens": tokens,
            "now": timezone.now(),
            **(shown or {}),
        },
        status=status,
    )


@policy_view(Act.PERSON_VIEW, lookup=_people)
def person_detail(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    return _person_page(request, actor, person)


def _add_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    form: PersonAddForm,
    status: int = 200,
    invitation: Invitation | None = None,
) -> HttpResponse:
    link = f"{settings.VIHUB_PUBLIC_URL}{invitation.path}" if invitation else ""
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    return page(
        request,
        "hub/person_add.html",
        {"form": form, "invitation": invitation, "link": link, "timeout_days": days},
        status=status,
    )


@policy_view(Act.PERSON_ADD, methods=["GET", "POST"])
def person_add_view(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """Add a person; the page then shows their one-use invitation link (once: it is not stored)."""
    if request.method == "GET":
        return _add_page(request, actor, PersonAddForm(actor=actor))

    def add(data: dict[str, Any]) -> Invitation:
        return person_add(
            actor=request.user,
            org_code=data["organisation"],
            role=data["role"],
            username=data["username"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
        )

    return submit(
        request,
        PersonAddForm(request.POST, actor=actor),
        add,
        again=lambda form, status: _add_page(request, actor, form, status),
        done=lambda invitation: _add_page(request, actor, PersonAddForm(actor=actor), 200, invitation),
    )


def _after(request: AuthenticatedHttpRequest, person: User, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("hub:person", pk=person.pk)


@policy_view(Act.PERSON_EDIT, methods=["POST"], lookup=_people)
def person_edit_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    return submit(
        request,
        PersonEditForm(request.POST),
        lambda data: person_edit(actor=request.user, person=person, **data),
        again=lambda form, status: _person_page(request, actor, person, forms_={"edit": form}, status=status),
        done=lambda saved: _after(request, saved, f"{saved.display_name}'s details are saved."),
    )


@policy_view(Act.PERSON_MOVE, methods=["POST"], lookup=_people)
def person_move_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    def move(data: dict[str, Any]) -> User:
        return person_move(
            actor=request.user,
            person=person,
            org_code=data["organisation"],
            role=data["role"],
            reason=data["reason"],
        )

    def moved(saved: User) -> HttpResponse:
        if not allowed(request.user, Act.PERSON_VIEW, saved, seen=False):
            messages.success(request, f"{saved.display_name} moved to {saved.membership.organisation.name}.")
            return redirect("hub:people")
        return _after(
            request,
            saved,
            f"{saved.display_name} is now {saved.membership.get_role_display().lower()} "
            f"at {saved.membership.organisation.name}.",
        )

    return submit(
        request,
        PersonMoveForm(request.POST, actor=actor),
        move,
        again=lambda form, status: _person_page(request, actor, person, forms_={"move": form}, status=status),
        done=moved,
    )


@policy_view(Act.PERSON_SET_ACTIVE, methods=["POST"], lookup=_people)
def person_active_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    turn_on = not person.is_active

    def done(changes: dict[str, Any]) -> HttpResponse:
        if turn_on:
            return _after(request, person, f"{person.display_name} is switched on: they can sign in again.")
        return _after(
            request,
            person,
            f"{person.display_name} is switched off: {changes['sessions_ended']} "
            f"session(s) ended, {changes['tokens_revoked']} API token(s) revoked.",
        )

    return submit(
        request,
        ActiveForm(request.POST),
        lambda data: person_set_active(
            actor=request.user, person=person, active=turn_on, reason=data["reason"]
        ),
        again=lambda form, status: _person_page(
            request, actor, person, forms_={"active": form}, status=status
        ),
        done=done,
    )


@policy_view(Act.PERSON_EDIT, methods=["POST"], lookup=_people)
def person_invite_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    invitation, status = attempt(request, None, lambda: person_reinvite(actor=request.user, person=person))
    if invitation is None:
        return _person_page(request, actor, person, status=status, audited=False)
    link = f"{settings.VIHUB_PUBLIC_URL}{invitation.path}"
    return _person_page(request, actor, person, shown={"invitation_link": link}, audited=False)


@policy_view(Act.TOKEN_ISSUE, methods=["POST"], lookup=_people)
def token_issue_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    """Issue a token; the page shows it once (only its hash is kept)."""
    return submit(
        request,
        TokenForm(request.POST),
        lambda data: token_issue(
            actor=request.user, person=person, name=data["name"], expires_days=data["expires_days"]
        ),
        again=lambda form, status: _person_page(
            request, actor, person, forms_={"token": form}, status=status
        ),
        done=lambda issued: _person_page(
            request,
            actor,
            person,
            shown={"issued": issued[0], "raw_token": issued[1]},
            status=200,
            audited=False,
        ),
    )


# --- API tokens ----------------------------------------------------------------------------------


def _tokens(membership: Membership) -> QuerySet[ApiToken]:
    if membership.role not in r.ADMIN_ROLES:
        return ApiToken.objects.none()
    return ApiToken.objects.select_related("user__membership__organisation").order_by("-created_at", "id")


@policy_view(Act.TOKEN_LIST)
def tokens(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    show = request.GET.get("show", "live")
    now = timezone.now()
    rows = _tokens(actor.membership)
    if show != "all":
        rows = rows.filter(revoked_at__isnull=True, expires_at__gt=now)
    shown = list(rows[:500])
    audit_record(
        actor=request.user,
        action=AuditAction.TOKENS_LISTED,
        object_type="token",
        changes={"ids": [str(t.pk) for t in shown], "count": len(shown), "query": {"show": show}},
    )
    soon = now + timedelta(days=14)
    return page(request, "hub/tokens.html", {"tokens": shown, "show": show, "now": now, "soon": soon})


@policy_view(Act.TOKEN_REVOKE, methods=["POST"], lookup=_tokens)
def token_revoke_view(request: AuthenticatedHttpRequest, actor: Actor, token: ApiToken) -> HttpResponse:
    revoked, _status = attempt(request, None, lambda: token_revoke(actor=request.user, token=token))
    if revoked is not None:
        messages.success(
            request, f"Token {token.prefix}… of {token.user.username} is revoked: its next use gets 401."
        )
    return redirect(
        request.POST.get("next") == "person"
        and reverse("hub:person", args=[token.user_id])
        or reverse("hub:tokens")
    )


# --- Organisations' contacts --------------------------------------------------------------------


def _organisations(membership: Membership) -> QuerySet[Organisation]:
    return Organisation.objects.filter(is_active=True).select_related("parent").order_by("kind", "name")


@policy_view(Act.CONTACT_LIST)
def contacts(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:100]
    rows = _organisations(actor.membership)
    if q:
        rows = rows.filter(name__icontains=q) | rows.filter(code__istartswith=q)
    shown = list(rows)
    audit_record(
        actor=request.user,
        action=AuditAction.CONTACTS_LISTED,
        object_type="organisation",
        changes={"count": len(shown), "q": q},
    )
    return page(
        request,
        "hub/contacts.html",
        {
            "organisations": shown,
            "q": q,
            "may_edit": allowed(request.user, Act.ORGANISATION_EDIT) if shown else False,
        },
    )


def _contact_page(
    request: AuthenticatedHttpRequest, org: Organisation, form: ContactForm, status: int = 200
) -> HttpResponse:
    return page(request, "hub/contact_edit.html", {"organisation": org, "form": form}, status=status)


@policy_view(Act.ORGANISATION_EDIT, methods=["GET", "POST"], lookup=_organisations)
def contact_edit(request: AuthenticatedHttpRequest, actor: Actor, org: Organisation) -> HttpResponse:
    if request.method == "GET":
        return _contact_page(
            request, org, ContactForm(initial={name: getattr(org, name) for name in CONTACT_FIELDS})
        )

    def saved(result: Organisation) -> HttpResponse:
        messages.success(request, f"{result.name}'s contacts are saved.")
        return redirect("hub:contacts")

    return submit(
        request,
        ContactForm(request.POST),
        lambda data: organisation_contacts_set(actor=request.user, organisation=org, **data),
        again=lambda form, status: _contact_page(request, org, form, status),
        done=saved,
    )


# --- The deadline policy ------------------------------------------------------------------------


def _policies(membership: Membership) -> QuerySet[DeadlinePolicy]:
    return DeadlinePolicy.objects.order_by("grade", "risk")


@policy_view(Act.DEADLINE_POLICY_VIEW)
def deadline_policy(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    rows = [
        {"policy": policy, "running": governed_tasks(policy).count()}
        for policy in _policies(actor.membership)
    ]
    return page(
        request,
        "hub/deadline_policy.html",
        {
            "rows": rows,
            "may_edit": allowed(request.user, Act.DEADLINE_POLICY_EDIT, rows[0]["policy"]) if rows else False,
        },
    )


def _policy_page(
    request: AuthenticatedHttpRequest,
    policy: DeadlinePolicy,
    form: PolicyForm,
    *,
    preview: PolicyPreview | None = None,
    status: int = 200,
) -> HttpResponse:
    return page(
        request,
        "hub/deadline_policy_edit.html",
        {
            "policy": policy,
            "form": form,
            "preview": preview,
            "changed": [
                (form.fields[name].label, before, after)
                for name, (before, after) in (preview.changes.items() if preview else [])
            ],
            "running": governed_tasks(policy).count(),
        },
        status=status,
    )


@policy_view(Act.DEADLINE_POLICY_EDIT, methods=["GET", "POST"], lookup=_policies)
def deadline_policy_edit(
    request: AuthenticatedHttpRequest, actor: Actor, policy: DeadlinePolicy
) -> HttpResponse:
    """Change one row: "Preview" shows what it would do to running tasks; "Save" makes it so."""
    if request.method == "GET":
        return _policy_page(
            request, policy, PolicyForm(initial={name: getattr(policy, name) for name in DURATIONS})
        )
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _policy_page(request, policy, form, status=400)
    durations = {name: form.cleaned_data[name] for name in DURATIONS}
    if "save" not in request.POST:
        preview, status = attempt(
            request, form, lambda: deadline_policy_preview(actor=request.user, policy=policy, **durations)
        )
        return _policy_page(request, policy, form, preview=preview, status=status)
    if not form.cleaned_data["reason"].strip():
        form.add_error("reason", "Say why the policy changes (for example: HMICFRS recommendation).")
        return _policy_page(request, policy, form, status=400)
    result, status = attempt(
        request,
        form,
        lambda: deadline_policy_set(
            actor=request.user,
            policy=policy,
            reason=form.cleaned_data["reason"],
            tighten_running=form.cleaned_data["tighten_running"],
            **durations,
        ),
    )
    if result is None:
        return _policy_page(request, policy, form, status=status)
    moved = (
        f"; {result['tasks_tightened']} running task(s) tightened"
        if form.cleaned_data["tighten_running"]
        else ""
    )
    messages.success(request, f"Grade {policy.grade} ({policy.risk or 'any risk'}) is saved{moved}.")
    return redirect("hub:deadline-policy")


# --- The invitation link (no sign-in: the link is the credential) ----------------------------------


@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Set a password from an invitation link; then sign in and set up a second factor."""
    person = person_welcome(uidb64=uidb64, token=token)
    if person is None:
        return render(request, "registration/welcome.html", {"spent": True}, status=404)
    form = SetPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        person_password_set(person=person, password=form.cleaned_data["new_password1"])
        messages.success(request, "Your password is set. Sign in, then set up your second factor.")
        return redirect("login")
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/welcome.html", {"form": form, "person": person}, status=status)
