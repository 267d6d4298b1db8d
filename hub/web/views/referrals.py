"""The triage queue and the referral page: grade and allocate in one decision, close as
non-actionable, close after the outcome. The agency's own view of a referral is here too (its
codes and status, never internal text)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from hub.clock import db_now
from hub.hooks import outcome_view
from hub.models import Membership, Referral, Risk, Team
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed, available_actions
from hub.selectors import referral_list_for, referral_search, tasks_for, team_suggested, triage_queue
from hub.services.audit import audit_list_read
from hub.services.matching import referral_match_media, referral_matches_consult
from hub.services.referrals import referral_audit_read, referral_close, referral_mark_non_actionable
from hub.services.tasks import referral_triage_and_allocate
from hub.services.urgent import on_call_at
from hub.services.versions import referral_version
from hub.web.forms import CloseReferralForm, GradeAndAllocateForm, NonActionableForm
from hub.web.presenters import access_labels, outcome_display, prioritisation, task_rows
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    flash_errors_of_hidden_form,
    page,
    policy_view,
    scoped_get,
    submit,
)

PAGE_SIZE = 50

# What a referring agency is told about each status, in plain words.
AGENCY_STATUS_TEXT: dict[str, str] = {
    Referral.Status.RECEIVED: "Received by the hub; waiting to be graded.",
    Referral.Status.TRIAGED: "Graded by the hub; waiting to be allocated.",
    Referral.Status.NON_ACTIONABLE: "Closed by the hub: it could not be acted on.",
    Referral.Status.ALLOCATED: "With a police force or regional unit.",
    Referral.Status.OUTCOME_RECORDED: "The force or unit has recorded what happened.",
    Referral.Status.CLOSED: "Closed by the hub after the outcome.",
}

# Sortable columns of the triage queue (the default is the queue's own order: urgent first,
# then first-generation material, then the longest waiting).
TRIAGE_SORTS = {
    "received": ("received_at", "id"),
    "-received": ("-received_at", "id"),
    "waiting": ("created_at", "id"),
    "grade": ("grade", "created_at", "id"),
}

REFERRAL_PAGE_ACTS = (Act.REFERRAL_TRIAGE, Act.REFERRAL_NON_ACTIONABLE, Act.REFERRAL_CLOSE)


def referrals_of(membership: Membership) -> QuerySet[Referral]:
    return referral_list_for(membership).select_related("agency", "suspect_force")


@policy_view(Act.TRIAGE_QUEUE)
def triage(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    show = request.GET.get("show", "")
    q = request.GET.get("q", "").strip()[:100]
    scoped = referral_list_for(actor.membership)
    ready = (
        scoped.filter(status=Referral.Status.OUTCOME_RECORDED)
        .select_related("agency", "suspect_force", "team")
        .order_by("updated_at", "id")
    )
    queryset = triage_queue(scoped)
    if q:
        queryset, ready = referral_search(queryset, q), referral_search(ready, q)
    counts = {
        "all": queryset.count(),
        "new": queryset.filter(status=Referral.Status.RECEIVED).count(),
        "graded": queryset.filter(status=Referral.Status.TRIAGED).count(),
        "urgent": queryset.filter(is_urgent=True).count(),
        "ready": ready.count(),
    }
    teams = [
        {"team": team, "n": queryset.filter(team=team).count()}
        for team in Team.objects.filter(is_active=True).order_by("name")
    ]
    if show == "new":
        queryset = queryset.filter(status=Referral.Status.RECEIVED)
    elif show == "graded":
        queryset = queryset.filter(status=Referral.Status.TRIAGED)
    elif show.startswith("team:"):
        queryset = queryset.filter(team__code=show.removeprefix("team:"))
    elif show == "ready":
        queryset = ready  # outcome recorded: the hub closes them, the longest waiting first
    sort, status = request.GET.get("sort", ""), 200
    if sort in TRIAGE_SORTS:
        queryset = queryset.order_by(*TRIAGE_SORTS[sort])
    elif sort:
        messages.error(request, "Sort: choose one of the column headings.")
        sort, status = "", 400
    referrals = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_list_read(
        actor=request.user,
        object_type="referral",
        ids=[referral.pk for referral in referrals],
        query={"page": "triage", **request.GET.dict()},
    )
    return page(
        request,
        "hub/triage.html",
        {
            "referrals": referrals,
            "counts": counts,
            "teams": teams,
            "show": show,
            "q": q,
            "query": urlencode({k: v for k, v in (("show", show), ("q", q), ("sort", sort)) if v}),
            "unsorted": urlencode({k: v for k, v in (("show", show), ("q", q)) if v}),
            "sort": sort,
            "now": timezone.now(),
            "on_call": on_call_at(db_now()),
        },
        status=status,
    )


def _referral_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    referral: Referral,
    *,
    grade_form: GradeAndAllocateForm | None = None,
    non_actionable_form: NonActionableForm | None = None,
    close_form: CloseReferralForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The referral page, audited as a read each time it is shown (also after a refused POST);
    it offers exactly the decisions the registry allows the caller now."""
    referral_audit_read(actor=request.user, referral=referral)
    if actor.role not in r.INTERNAL_READER_ROLES:
        return page(
            request,
            "hub/agency_referral.html",
            {
                "referral": referral,
                "status_text": AGENCY_STATUS_TEXT.get(referral.status, ""),
                "outcome": outcome_display(outcome_view(referral, internal=False)),
            },
            status=status,
        )
    can = available_actions(request.user, referral, among=REFERRAL_PAGE_ACTS)
    for refused, act in [
        (grade_form, Act.REFERRAL_TRIAGE),
        (non_actionable_form, Act.REFERRAL_NON_ACTIONABLE),
        (close_form, Act.REFERRAL_CLOSE),
    ]:
        flash_errors_of_hidden_form(request, refused, shown=act in can)
    if Act.REFERRAL_TRIAGE in can and grade_form is None:
        grade_form = GradeAndAllocateForm(referral=referral, initial=_grade_initial(referral))
    now = timezone.now()
    tasks = [
        {
            "task": row.task,
            "deadline": row.deadline,
            "priority": prioritisation(referral, list(row.task.reassessments.all())),
        }
        for row in task_rows(
            tasks_for(actor.membership)
            .filter(referral=referral)
            .prefetch_related("reassessments__organisation", "reassessments__assessed_by")
            .order_by("created_at"),
            now,
        )
    ]
    history = list(referral.triage_history.select_related("decided_by", "team").order_by("-decided_at"))
    matches = (
        referral_matches_consult(actor=request.user, referral=referral)
        if allowed(request.user, Act.MATCH_LIST, referral)
        else None
    )
    return page(
        request,
        "hub/referral.html",
        {
            "referral": referral,
            "tasks": tasks,
            "history": history,
            "access": access_labels(referral.access_to_children),
            "priority": prioritisation(referral, []),
            "media": list(referral.media.all()[:20]),
            "media_count": referral.media.count(),
            "outcome": outcome_display(outcome_view(referral, internal=True)),
            "grade_form": grade_form if Act.REFERRAL_TRIAGE in can else None,
            "non_actionable_form": (non_actionable_form or NonActionableForm())
            if Act.REFERRAL_NON_ACTIONABLE in can
            else None,
            "close_form": (close_form or CloseReferralForm()) if Act.REFERRAL_CLOSE in can else None,
            "is_hub": actor.role in r.HUB_ROLES,
            "matches": matches,
            "may_rematch": allowed(request.user, Act.MATCH_RUN, referral),
            "version": referral_version(referral),
        },
        status=status,
    )


def _grade_initial(referral: Referral) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    if referral.grade is not None:
        initial = {
            "grade": referral.grade,
            "risk": referral.risk,
            "access_to_children": referral.access_to_children,
            "information_incomplete": referral.is_information_incomplete,
            "risk_factors": referral.risk_factors,
            "missing_information": referral.missing_information,
            "offence_type": referral.triage_offence_type,
            "team": referral.team.code if referral.team else "",
        }
    else:
        # First grading: start from what the agency said and the team its routes suggest.
        suggested = team_suggested(referral)
        initial = {"offence_type": referral.offence_type, "team": suggested.code if suggested else ""}
    if referral.status != Referral.Status.ALLOCATED and referral.suspect_force is not None:
        initial["assignee_org"] = referral.suspect_force.code
    return initial


def _fresh(actor: Actor, referral: Referral) -> Referral:
    return scoped_get(referrals_of(actor.membership), referral.pk)


@policy_view(Act.REFERRAL_VIEW, lookup=referrals_of)
def referral_detail(request: AuthenticatedHttpRequest, actor: Actor, referral: Referral) -> HttpResponse:
    return _referral_page(request, actor, referral)


def _grading(data: dict[str, Any]) -> dict[str, Any] | None:
    """The grading part of the decision, when the coordinator changed it."""
    if not data["regrade"]:
        return None
    return {
        "grade": data["grade"],
        "risk": data["risk"],
        "access_to_children": data["access_to_children"],
        "is_information_incomplete": data["information_incomplete"],
        "rationale": data["rationale"],
        "relax_deadlines": data["relax_deadlines"],
        "risk_factors": data["risk_factors"],
        "missing_information": data["missing_information"],
        "offence_type": data["offence_type"],
        "team": data["team"],
    }


def _decided(request: AuthenticatedHttpRequest, referral: Referral, data: dict[str, Any]) -> HttpResponse:
    done = []
    if data["regrade"]:
        done.append(f"Graded {data['grade']} ({Risk(data['risk']).label.lower()} risk)")
    if data["assignee_org"] is not None:
        done.append(f"allocated to {data['assignee_org'].name}")
    sentence = " and ".join(done)
    messages.success(request, sentence[:1].upper() + sentence[1:] + ".")
    return redirect("hub:referral", pk=referral.pk)


@policy_view(Act.REFERRAL_TRIAGE, methods=["POST"], lookup=referrals_of)
def referral_grade(request: AuthenticatedHttpRequest, actor: Actor, referral: Referral) -> HttpResponse:
    form = GradeAndAllocateForm(request.POST, referral=referral)
    return submit(
        request,
        form,
        lambda data: referral_triage_and_allocate(
            referral=referral,
            actor=request.user,
            grading=_grading(data),
            to_org=data["assignee_org"],
            instructions=data["instructions"],
            expect_version=data["version"] or None,
        ),
        again=lambda form, status: _referral_page(
            request, actor, _fresh(actor, referral), grade_form=form, status=status
        ),
        done=lambda _: _decided(request, referral, form.cleaned_data),
    )


@policy_view(Act.REFERRAL_NON_ACTIONABLE, methods=["POST"], lookup=referrals_of)
def referral_non_actionable(
    request: AuthenticatedHttpRequest, actor: Actor, referral: Referral
) -> HttpResponse:
    def closed(_: Referral) -> HttpResponse:
        messages.success(request, "Referral closed as non-actionable.")
        return redirect("hub:triage")

    return submit(
        request,
        NonActionableForm(request.POST),
        lambda data: referral_mark_non_actionable(
            referral=referral, actor=request.user, reason=data["reason"], note=data["note"]
        ),
        again=lambda form, status: _referral_page(
            request, actor, _fresh(actor, referral), non_actionable_form=form, status=status
        ),
        done=closed,
    )


@policy_view(Act.REFERRAL_CLOSE, methods=["POST"], lookup=referrals_of)
def referral_close_view(request: AuthenticatedHttpRequest, actor: Actor, referral: Referral) -> HttpResponse:
    def closed(_: Referral) -> HttpResponse:
        messages.success(request, "Referral closed.")
        return redirect("hub:referral", pk=referral.pk)

    return submit(
        request,
        CloseReferralForm(request.POST),
        lambda data: referral_close(
            referral=referral,
            actor=request.user,
            note=data["note"],
            suspect_has_access_to_children=data["suspect_has_access_to_children"],
            is_safeguarding_needed=data["safeguarding_needed"],
        ),
        again=lambda form, status: _referral_page(
            request, actor, _fresh(actor, referral), close_form=form, status=status
        ),
        done=closed,
    )


@policy_view(Act.MATCH_RUN, methods=["POST"], lookup=referrals_of)
def referral_rematch(request: AuthenticatedHttpRequest, actor: Actor, referral: Referral) -> HttpResponse:
    done = referral_match_media(referral=referral, actor=request.user)
    messages.success(request, f"Media matched again: {len(done.new)} new match(es), {done.total} in all.")
    return redirect(reverse("hub:referral", kwargs={"pk": referral.pk}) + "#matches")
