"""The safeguarding app's pages.

Fragments of the task page: the safeguarding actions (list and form) and the outcome. The
task page (spokes) loads them with htmx ``hx-get``; without JavaScript the same URLs render as
full pages. Each fragment does its own scoped lookup (404 outside scope), its own permission
check (403 for onlookers on POST) and its own read audit, exactly like the API endpoints.

The accountability reports (hub and auditors) and outcome feedback: every agency's endpoint,
the feedback figures, registration and secret rotation (hub), each endpoint's delivery log
(hub, auditors, and the agency for its own, as a fragment of its referrals page) and replay
(hub). Same role sets and scoping as safeguarding.api.webhooks and safeguarding.api.reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hub.exceptions import DomainError
from hub.models import Membership, Organisation, Referral, Task
from hub.policies import (
    HUB_ROLES,
    OUTCOME_ROLES,
    READ_ALL_ROLES,
    TASK_READER_ROLES,
    TASK_WORKER_ROLES,
    can_work_task,
)
from hub.selectors import organisation_list, tasks_for
from hub.services.audit import audit_record
from hub.web.presenters import JUSTICE_LABELS, SAFEGUARDING_LABELS
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    flash_errors_of_hidden_form,
    member,
    page,
    refusals_audited,
    require_role,
    scoped_get,
    show_domain_error,
)
from safeguarding.api.webhooks import endpoints_for
from safeguarding.feedback import delivery_replay, feedback_stats, webhook_endpoint_set, webhook_secret_rotate
from safeguarding.models import DeliveryAttempt, OutboxEvent, Outcome, SafeguardingAction, WebhookEndpoint
from safeguarding.reports import attrition_funnel, spoke_report
from safeguarding.services import outcome_record, safeguarding_action_record
from safeguarding.web.forms import (
    EndpointForm,
    OutcomeForm,
    ReplayForm,
    ReportPeriodForm,
    SafeguardingActionForm,
    default_period,
)
from safeguarding.web.presenters import (
    AGEING_LABELS,
    DELIVERY_BADGES,
    EVENT_LABELS,
    duration_text,
    funnel_steps,
    percent,
    report_charts,
    spoke_rows,
    spoke_totals,
)

R = Membership.Role
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


# --- Accountability reports (the hub and auditors) ---------------------------------------------


@login_required
@refusals_audited
@require_GET
def reports(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Per spoke and period, and the attrition funnel: the API's two reports on one page, each
    view audited as the API's are (``report.spokes_viewed``, ``report.funnel_viewed``)."""
    membership = member(request)
    require_role(membership, READ_ALL_ROLES, "Accountability reports are for the hub and auditors.")
    form = ReportPeriodForm(default_period(request.GET))
    if not form.is_valid():
        return page(request, "safeguarding/reports.html", {"form": form}, status=400)
    period = form.period()
    spokes = spoke_report(period=period)
    funnel = attrition_funnel(period=period)
    for name in ("spokes", "funnel"):
        audit_record(
            actor=request.user,
            action=f"report.{name}_viewed",
            object_type="report",
            changes={"since": period.since.isoformat(), "until": period.until.isoformat()},
        )
    return page(
        request,
        "safeguarding/reports.html",
        {
            "form": form,
            "period": period,
            "last_day": period.until - timedelta(days=1),
            "rows": spoke_rows(spokes),
            "totals": spoke_totals(spokes),
            "funnel": funnel,
            "steps": funnel_steps(funnel),
            "charts": report_charts(spokes, funnel),
            "ageing_labels": list(AGEING_LABELS.values()),
        },
    )


# --- Outcome feedback: endpoints, delivery logs, replay -----------------------------------------

LOG_SIZE = 200  # the delivery log shows an endpoint's latest events, as the API does
SECRET_NOTE = "Copy it now: VIHub shows a signing secret once and cannot show it again."  # noqa: S105  (a sentence, not a secret)


@dataclass(frozen=True)
class DeliveryRow:
    event: OutboxEvent
    label: str
    badge: str
    attempts: list[DeliveryAttempt]
    replay_form: ReplayForm | None


def _no_store(response: HttpResponse) -> HttpResponse:
    """A page showing a signing secret must not be kept by the browser or a proxy."""
    response["Cache-Control"] = "no-store"
    return response


def _feedback_page(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    *,
    form: EndpointForm | None = None,
    status: int = 200,
) -> HttpResponse:
    is_hub = membership.role in HUB_ROLES
    endpoints = {e.agency_id: e for e in endpoints_for(membership)}
    agencies = list(organisation_list().filter(kind=Organisation.Kind.AGENCY).order_by("name"))
    if is_hub and form is None:
        form = EndpointForm(initial=_endpoint_initial(request.GET.get("agency", ""), endpoints.values()))
    stats = feedback_stats()
    return page(
        request,
        "safeguarding/feedback.html",
        {
            "rows": [
                {
                    "agency": agency,
                    "endpoint": endpoints.get(agency.pk),
                    "events": _event_names(endpoints.get(agency.pk)),
                }
                for agency in agencies
            ],
            "stats": stats,
            "fed_back": percent(stats["fed_back_share"]),
            "p50": duration_text(stats["outcome_to_delivery_seconds_p50"]),
            "p95": duration_text(stats["outcome_to_delivery_seconds_p95"]),
            "form": form if is_hub else None,
            "is_hub": is_hub,
        },
        status=status,
    )


def _event_names(endpoint: WebhookEndpoint | None) -> list[str]:
    return [EVENT_LABELS.get(code, code) for code in endpoint.event_types] if endpoint else []


def _endpoint_initial(code: str, endpoints: Any) -> dict[str, Any]:
    """Pre-fill the form to re-point an agency's endpoint (``?agency=CODE``)."""
    for endpoint in endpoints:
        if endpoint.agency.code == code:
            return {"agency": code, "url": endpoint.url, "event_types": endpoint.event_types}
    return {"agency": code} if code else {}


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def feedback(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every agency's endpoint and the feedback figures (hub and auditors); hub coordinators
    register or re-point an endpoint here. A new endpoint's secret is shown once, in the
    answer to the POST (never stored in the session, never shown again)."""
    membership = member(request)
    if membership.role == R.AGENCY and request.method == "GET":
        return redirect(reverse("hub:agency") + "#feedback")  # its own log is on its referrals page
    require_role(membership, READ_ALL_ROLES, "Outcome feedback is run by the hub.")
    if request.method == "GET":
        return _feedback_page(request, membership)
    require_role(membership, HUB_ROLES, "Only hub coordinators register agencies' endpoints.")
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _feedback_page(request, membership, form=form, status=400)
    try:
        endpoint, secret = webhook_endpoint_set(
            agency=form.cleaned_data["agency"],
            url=form.cleaned_data["url"],
            actor=request.user,
            event_types=form.cleaned_data["event_types"],
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        return _feedback_page(request, membership, form=form, status=status)
    if secret is None:
        messages.success(
            request,
            f"{endpoint.agency.name}'s endpoint now points to {endpoint.url}. "
            "Its signing secret is unchanged.",
        )
        return redirect("safeguarding:endpoint", pk=endpoint.pk)
    return _no_store(
        page(
            request,
            "safeguarding/webhook_secret.html",
            {"endpoint": endpoint, "secret": secret, "created": True, "note": SECRET_NOTE},
        )
    )


def _delivery_log(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    endpoint: WebhookEndpoint,
    *,
    replay: tuple[UUID, ReplayForm] | None = None,
    status: int = 200,
    fragment: bool = False,
) -> HttpResponse:
    """The endpoint and its latest events with every attempt, audited as a read of the log
    (``webhook.deliveries_viewed`` with the events' ids, as the API does)."""
    events = list(
        OutboxEvent.objects.filter(agency_id=endpoint.agency_id)
        .select_related("referral")
        .prefetch_related("attempts_log__replayed_by")
        .order_by("-created_at")[:LOG_SIZE]
    )
    audit_record(
        actor=request.user,
        action="webhook.deliveries_viewed",
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        changes={"ids": [str(e.pk) for e in events]},
    )
    is_hub = membership.role in HUB_ROLES
    can_replay = is_hub and endpoint.is_active
    rows = []
    for event in events:
        form = None
        if can_replay:
            form = (
                replay[1] if replay and replay[0] == event.pk else ReplayForm(auto_id=f"replay-{event.pk}-%s")
            )
        rows.append(
            DeliveryRow(
                event=event,
                label=EVENT_LABELS.get(event.event_type, event.event_type),
                badge=DELIVERY_BADGES.get(OutboxEvent.Status(event.status), "muted"),
                attempts=list(event.attempts_log.all()),
                replay_form=form,
            )
        )
    context = {
        "endpoint": endpoint,
        "rows": rows,
        "log_size": LOG_SIZE,
        "is_hub": is_hub,
        # Who re-sent an event is the hub's business; the agency reads "re-sent by the hub".
        "show_people": membership.role in READ_ALL_ROLES,
        "can_replay": can_replay,
        "events": _event_names(endpoint),
    }
    if fragment and request.htmx:
        return page(request, "safeguarding/_delivery_log.html", context, status=status)
    return page(request, "safeguarding/endpoint.html", context, status=status)


@login_required
@refusals_audited
@require_GET
def endpoint_detail(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    endpoint = scoped_get(endpoints_for(membership), pk)
    return _delivery_log(request, membership, endpoint)


@login_required
@refusals_audited
@require_GET
def agency_delivery_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The agency's own endpoint and delivery log: a fragment of its referrals page (a whole
    page without JavaScript). Read-only: no secret, no replay."""
    membership = member(request)
    require_role(membership, {R.AGENCY}, "This delivery log is for referring agencies.")
    endpoint = endpoints_for(membership).first()
    if endpoint is None:
        return page(
            request, "safeguarding/_delivery_log.html" if request.htmx else "safeguarding/endpoint.html", {}
        )
    return _delivery_log(request, membership, endpoint, fragment=True)


@login_required
@refusals_audited
@require_POST
def endpoint_rotate_secret(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    """A new signing secret, shown once; the previous one keeps signing for the overlap."""
    membership = member(request)
    endpoint = scoped_get(endpoints_for(membership), pk)
    require_role(membership, HUB_ROLES, "Only hub coordinators rotate signing secrets.")
    secret = webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    endpoint.refresh_from_db()
    return _no_store(
        page(
            request,
            "safeguarding/webhook_secret.html",
            {"endpoint": endpoint, "secret": secret, "created": False, "note": SECRET_NOTE},
        )
    )


@login_required
@refusals_audited
@require_POST
def delivery_replay_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    """The hub re-sends one event now, with a reason; the service records the disclosure.
    Only the hub sees events to replay (everyone else: 404, as in the API)."""
    membership = member(request)
    events = OutboxEvent.objects.all() if membership.role in HUB_ROLES else OutboxEvent.objects.none()
    event = scoped_get(events, pk)
    endpoint = endpoints_for(membership).filter(agency_id=event.agency_id).first()
    if endpoint is None:
        raise Http404("No such endpoint.")
    form = ReplayForm(request.POST, auto_id=f"replay-{event.pk}-%s")
    if not form.is_valid():
        return _delivery_log(request, membership, endpoint, replay=(event.pk, form), status=400)
    try:
        result = delivery_replay(event=event, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        status = show_domain_error(form, exc)
        # A disabled endpoint's log offers no replay form: say the refusal on the page instead.
        flash_errors_of_hidden_form(request, form, shown=endpoint.is_active)
        return _delivery_log(request, membership, endpoint, replay=(event.pk, form), status=status)
    code = result.status_code
    if code is not None and 200 <= code < 300:
        messages.success(request, f"Re-sent {event.webhook_id}: the agency's receiver answered {code}.")
    else:
        answer = (
            f"answered {code}" if code is not None else f"did not answer ({result.error or 'no response'})"
        )
        messages.error(request, f"Re-sent {event.webhook_id}, but the agency's receiver {answer}.")
    return redirect(reverse("safeguarding:endpoint", kwargs={"pk": endpoint.pk}) + f"#event-{event.pk}")
