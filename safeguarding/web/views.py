"""Fragments of the task page: the safeguarding actions (list and form) and the outcome.

The task page (spokes) loads them with htmx ``hx-get``; without JavaScript the same URLs render
as full pages. Each fragment does its own scoped lookup (404 outside scope), its own permission
check (403 for onlookers on POST) and its own read audit, exactly like the API endpoints.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from hub.exceptions import DomainError
from hub.models import Membership, Referral, Task
from hub.policies import HUB_ROLES, OUTCOME_ROLES, TASK_READER_ROLES, TASK_WORKER_ROLES, can_work_task
from hub.services.audit import audit_record
from hub.web.presenters import JUSTICE_LABELS, SAFEGUARDING_LABELS
from hub.web.queries import tasks_for
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    member,
    page,
    refusals_audited,
    require_role,
    scoped_get,
    show_domain_error,
)
from safeguarding.models import Outcome, SafeguardingAction
from safeguarding.services import outcome_record, safeguarding_action_record
from safeguarding.web.forms import OutcomeForm, SafeguardingActionForm

NOT_HOLDER = "Only the organisation holding this task can record safeguarding on it."


def _task(membership: Membership, pk: UUID) -> Task:
    require_role(membership, TASK_READER_ROLES, "Tasks are for the hub, regions, forces and auditors.")
    return scoped_get(tasks_for(membership), pk)


def _render(
    request: AuthenticatedHttpRequest, fragment: str, context: dict[str, Any], status: int
) -> HttpResponse:
    """The fragment alone for htmx; otherwise a full page around it (works without JavaScript)."""
    if request.htmx:
        return page(request, fragment, context, status=status)
    return page(request, "safeguarding/fragment_page.html", {**context, "fragment": fragment}, status=status)


def _task_url(task: Task, anchor: str) -> str:
    return reverse("spokes:task", kwargs={"pk": task.pk}) + anchor


# --- Safeguarding actions ------------------------------------------------------------------------


def _actions_panel(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    task: Task,
    *,
    form: SafeguardingActionForm | None = None,
    status: int = 200,
    saved: bool = False,
) -> HttpResponse:
    rows = list(SafeguardingAction.objects.filter(task=task).select_related("recorded_by"))
    if rows:  # the same read audit as GET /tasks/{id}/safeguarding-actions/
        audit_record(
            actor=request.user,
            action="safeguarding_action.listed",
            object_type="safeguarding_action",
            referral_id=task.referral_id,
            task_id=task.pk,
            changes={"ids": [str(r.pk) for r in rows]},
        )
    can_record = can_work_task(request.user, membership, task) and task.status == Task.Status.ACCEPTED
    # A refused form the panel no longer offers (the task moved on) still shows its error.
    refused = form if form is not None and form.errors and not can_record else None
    if can_record and form is None:
        form = SafeguardingActionForm()
    totals = {
        "identified": sum(r.children_identified for r in rows),
        "safeguarded": sum(r.children_safeguarded for r in rows),
    }
    context = {
        "task": task,
        "rows": rows,
        "form": form if can_record else None,
        "refused": refused,
        "totals": totals,
        "saved": saved,
        "title": "Safeguarding actions",
    }
    return _render(request, "safeguarding/_actions_panel.html", context, status)


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def task_safeguarding(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = _task(membership, pk)
    if request.method == "GET":
        return _actions_panel(request, membership, task)
    require_role(membership, TASK_WORKER_ROLES, NOT_HOLDER)
    if not can_work_task(request.user, membership, task):
        raise PermissionDenied(NOT_HOLDER)
    form = SafeguardingActionForm(request.POST)
    if not form.is_valid():
        return _actions_panel(request, membership, task, form=form, status=400)
    try:
        safeguarding_action_record(task=task, actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task.refresh_from_db()
        return _actions_panel(request, membership, task, form=form, status=status)
    if request.htmx:
        return _actions_panel(request, membership, task, saved=True)
    messages.success(request, "Safeguarding action recorded.")
    return redirect(_task_url(task, "#safeguarding"))


# --- The outcome ---------------------------------------------------------------------------------


def _may_record_outcome(request: AuthenticatedHttpRequest, membership: Membership, task: Task) -> bool:
    if membership.role in HUB_ROLES:
        return True
    return membership.role in OUTCOME_ROLES and can_work_task(request.user, membership, task)


def _outcome_panel(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    task: Task,
    *,
    form: OutcomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    referral = Referral.objects.get(pk=task.referral_id)
    outcome = Outcome.objects.filter(referral=referral).select_related("recorded_by", "recorded_org").first()
    if outcome is not None:  # the same read audit as GET /referrals/{id}/outcome/
        audit_record(
            actor=request.user,
            action="outcome.viewed",
            object_type="outcome",
            object_id=outcome.pk,
            referral_id=referral.pk,
        )
    may_record = (
        outcome is None
        and referral.status == Referral.Status.ALLOCATED
        and _may_record_outcome(request, membership, task)
    )
    refused = form if form is not None and form.errors and not may_record else None
    if may_record and form is None:
        form = OutcomeForm()
    context = {
        "task": task,
        "referral": referral,
        "outcome": outcome,
        "form": form if may_record else None,
        "refused": refused,
        "as_hub": membership.role in HUB_ROLES,
        "justice_labels": JUSTICE_LABELS,
        "safeguarding_labels": SAFEGUARDING_LABELS,
        "title": "Outcome",
        "needs_acceptance": outcome is None and task.status == Task.Status.OFFERED,
    }
    return _render(request, "safeguarding/_outcome_panel.html", context, status)


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def task_outcome(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = _task(membership, pk)
    if request.method == "GET":
        return _outcome_panel(request, membership, task)
    require_role(
        membership, OUTCOME_ROLES, "Only the organisation holding this task, or the hub, records its outcome."
    )
    if not _may_record_outcome(request, membership, task):
        raise PermissionDenied("Only the organisation holding this task, or the hub, records its outcome.")
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _outcome_panel(request, membership, task, form=form, status=400)
    values = dict(form.cleaned_data)
    values["is_safeguarding_needed"] = values.pop("safeguarding_needed")
    try:
        outcome_record(
            referral=task.referral,
            actor=request.user,
            actor_org=membership.organisation,
            task=None if membership.role in HUB_ROLES else task,
            **values,
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task.refresh_from_db()
        return _outcome_panel(request, membership, task, form=form, status=status)
    messages.success(request, "Outcome recorded. The task is complete.")
    if request.htmx:
        # The whole task page changes (status, forms): go to its outcome and reload, since a
        # redirect to the same page that differs only by #fragment would not reload it.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = _task_url(task, "#outcome")
        response["HX-Refresh"] = "true"
        return response
    return redirect(_task_url(task, "#outcome"))
