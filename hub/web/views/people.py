"""People's accounts (issue 14's part of administration): who is here, whether they have a
second factor, and resetting it when they lose their app. The hub sees everyone; a supervisor
the people of their own organisation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect

from hub.constants import AuditAction
from hub.models import Membership, User
from hub.policies.rules import Act, Actor, allowed, rule_for
from hub.selectors import people_for
from hub.services.audit import audit_record
from hub.services.factors import factors_summary, with_factors
from hub.services.people import factors_reset, person_state
from hub.web.shortcuts import AuthenticatedHttpRequest, page, policy_view, submit

SHOWN = 200


class FactorsResetForm(forms.Form):
    reason = forms.CharField(
        label="Why",
        max_length=500,
        widget=forms.TextInput,
        error_messages={"required": "Say why the second factor is being reset (for example: phone lost)."},
    )


def _people(membership: Membership) -> QuerySet[User]:
    return people_for(membership)


def _people_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    *,
    failed: tuple[User, FactorsResetForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:100]
    people = with_factors(_people(actor.membership))
    if q:
        people = people.filter(
            Q(username__istartswith=q) | Q(first_name__istartswith=q) | Q(last_name__istartswith=q)
        )
    shown = list(people[:SHOWN])
    audit_record(
        actor=request.user,
        action=AuditAction.PEOPLE_LISTED,
        object_type="user",
        changes={"q": q, "count": len(shown)},
    )
    rows: list[dict[str, Any]] = []
    for person in shown:
        form = failed[1] if failed and failed[0].pk == person.pk else None
        may_reset = allowed(request.user, Act.FACTORS_RESET, person)
        rows.append(
            {
                "person": person,
                "factors": factors_summary(person),
                "state": person_state(person),
                "may_reset": may_reset,
                "form": (form or FactorsResetForm(prefix=f"reset-{person.pk}")) if may_reset else None,
            }
        )
    return page(request, "hub/people.html", {"rows": rows, "q": q, "capped": len(shown) == SHOWN,
                                             "may_add": actor.role in rule_for(Act.PERSON_ADD).roles},
                status=status)  # fmt: skip


@policy_view(Act.PEOPLE_LIST)
def people(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    return _people_page(request, actor)


@policy_view(Act.FACTORS_RESET, methods=["POST"], lookup=_people)
def factors_reset_view(request: AuthenticatedHttpRequest, actor: Actor, person: User) -> HttpResponse:
    """Remove a person's second factors (they enrol again at their next sign-in), with the reason."""

    def done(changes: dict[str, object]) -> HttpResponse:
        messages.success(
            request,
            f"{person.display_name}'s second factor was reset ({changes['before']}). They set up a new "
            "app the next time they sign in; any session they had has ended.",
        )
        return redirect("hub:people")

    return submit(
        request,
        FactorsResetForm(request.POST, prefix=f"reset-{person.pk}"),
        lambda data: factors_reset(person=person, actor=request.user, reason=data["reason"]),
        again=lambda form, status: _people_page(request, actor, failed=(person, form), status=status),
        done=done,
    )
