"""Fragments of the task page: its safeguarding actions (list and form) and its outcome. The
task page (spokes) loads them with htmx ``hx-get``; without JavaScript the same URLs render as
full pages. Same rows of the rulebook, same read audits as the API endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from hub.models import Referral, Task
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed
from hub.selectors import tasks_for
from hub.services.versions import referral_version
from hub.web.presenters import JUSTICE_LABELS, SAFEGUARDING_LABELS
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    page,
    policy_view,
    scoped_get,
    submit,
)
from safeguarding.models import Outcome
from safeguarding.services import (
    outcome_amend,
    outcome_consult,
    outcome_record,
    safeguarding_action_record,
    safeguarding_actions_consult,
)
from safeguarding.web.forms import (
    OutcomeAmendForm,
    OutcomeForm,
    SafeguardingActionForm,
)


def _render(
    request: AuthenticatedHttpRequest, fragment: str, context: dict[str, Any], status: int
) -> HttpResponse:
    """The fragment alone for htmx; otherwise a full page around it (works without JavaScript)."""
    if request.htmx:
        return page(request, fragment, context, status=status)
    return page(request, "safeguarding/fragment_page.html", {**context, "fragment": fragment}, status=status)


def _task_url(task: Task, anchor: str) -> str:
    return reverse("spokes:task", kwargs={"pk": task.pk}) + anchor


def _tasks(membership: Any) -> Any:
    return tasks_for(membership)


# --- Safeguarding actions ------------------------------------------------------------------------


def _actions_panel(
    request: AuthenticatedHttpRequest,
    task: Task,
    *,
    form: SafeguardingActionForm | None = None,
    status: int = 200,
    saved: bool = False,
) -> HttpResponse:
    """The panel, audited as the API's list is (``safeguarding_action.listed``, empty or not)."""
    rows = safeguarding_actions_consult(actor=request.user, task=task)
    can_record = allowed(request.user, Act.SAFEGUARDING_RECORD, task)
    # A refused form the panel no longer offers (the task moved on) still shows its error.
    refused = form if form is not None and form.errors and not can_record else None
    if can_record and form is None:
        form = SafeguardingActionForm()
    totals = {
        "identified": sum(row.children_identified for row in rows),
        "safeguarded": sum(row.children_safeguarded for row in rows),
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


@policy_view({"GET": Act.SAFEGUARDING_LIST, "POST": Act.SAFEGUARDING_RECORD}, lookup=_tasks)
def task_safeguarding(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    if request.method == "GET":
        return _actions_panel(request, task)

    def recorded(_: Any) -> HttpResponse:
        if request.htmx:
            return _actions_panel(request, task, saved=True)
        messages.success(request, "Safeguarding action recorded.")
        return redirect(_task_url(task, "#safeguarding"))

    return submit(
        request,
        SafeguardingActionForm(request.POST),
        lambda data: safeguarding_action_record(task=task, actor=request.user, **data),
        again=lambda form, status: _actions_panel(
            request, scoped_get(_tasks(actor.membership), task.pk), form=form, status=status
        ),
        done=recorded,
    )


# --- The outcome ---------------------------------------------------------------------------------


def _outcome_panel(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    task: Task,
    *,
    form: OutcomeForm | None = None,
    amend_form: OutcomeAmendForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The outcome, audited as the API's read is; the form only where the registry allows the
    caller to record it now (so never on a task nobody has accepted)."""
    referral = Referral.objects.select_related("outcome").get(pk=task.referral_id)
    outcome_consult(actor=request.user, referral=referral)
    outcome = Outcome.objects.filter(referral=referral).select_related("recorded_by", "recorded_org").first()
    may_record = allowed(request.user, Act.OUTCOME_RECORD, referral)
    may_amend = outcome is not None and allowed(request.user, Act.OUTCOME_AMEND, referral)
    refused = form if form is not None and form.errors and not may_record else None
    if may_record and form is None:
        form = OutcomeForm()
    if may_amend and amend_form is None and outcome is not None:
        amend_form = OutcomeAmendForm(initial={name: getattr(outcome, name) for name in Outcome.AMENDABLE})
    context = {
        "task": task,
        "referral": referral,
        "outcome": outcome,
        "form": form if may_record else None,
        "amend_form": amend_form if may_amend else None,
        "revisions": list(outcome.revisions.select_related("by", "org")) if outcome is not None else [],
        "refused": refused,
        "as_hub": actor.role in r.HUB_ROLES,
        "justice_labels": JUSTICE_LABELS,
        "safeguarding_labels": SAFEGUARDING_LABELS,
        "title": "Outcome",
        "version": referral_version(referral),
        "needs_acceptance": outcome is None and task.status == Task.Status.OFFERED,
    }
    return _render(request, "safeguarding/_outcome_panel.html", context, status)


@policy_view(
    {"GET": Act.TASK_VIEW, "POST": Act.OUTCOME_RECORD}, lookup=_tasks, target=lambda task: task.referral
)
def task_outcome(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    if request.method == "GET":
        return _outcome_panel(request, actor, task)

    def recorded(_: Any) -> HttpResponse:
        messages.success(request, "Outcome recorded. The task is complete.")
        if request.htmx:
            # The whole task page changes (status, forms): go to its outcome and reload, since a
            # redirect to the same page that differs only by #fragment would not reload it.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = _task_url(task, "#outcome")
            response["HX-Refresh"] = "true"
            return response
        return redirect(_task_url(task, "#outcome"))

    def record(data: dict[str, Any]) -> Any:
        values = dict(data)
        values["is_safeguarding_needed"] = values.pop("safeguarding_needed")
        values["expect_version"] = values.pop("version") or None
        return outcome_record(referral=task.referral, actor=request.user, **values)

    return submit(
        request,
        OutcomeForm(request.POST),
        record,
        again=lambda form, status: _outcome_panel(
            request, actor, scoped_get(_tasks(actor.membership), task.pk), form=form, status=status
        ),
        done=recorded,
    )


@policy_view(Act.OUTCOME_AMEND, methods=["POST"], lookup=_tasks, target=lambda task: task.referral)
def task_outcome_amend(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    def amend(data: dict[str, Any]) -> Any:
        values = {name: value for name, value in data.items() if name in Outcome.AMENDABLE}
        return outcome_amend(referral=task.referral, actor=request.user, reason=data["reason"], **values)

    def amended(_: Any) -> HttpResponse:
        messages.success(request, "Outcome amended. The referring agency is told of the change.")
        return redirect(_task_url(task, "#outcome"))

    return submit(
        request,
        OutcomeAmendForm(request.POST),
        amend,
        again=lambda form, status: _outcome_panel(request, actor, task, amend_form=form, status=status),
        done=amended,
    )
