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
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from hub.constants import AuditAction
from hub.models import Organisation, Referral, Task
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed
from hub.selectors import organisation_list, tasks_for
from hub.services.audit import audit_record
from hub.web.presenters import JUSTICE_LABELS, SAFEGUARDING_LABELS
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    attempt,
    flash_errors_of_hidden_form,
    page,
    policy_view,
    scoped_get,
)
from safeguarding.feedback import delivery_replay, feedback_stats, webhook_endpoint_set, webhook_secret_rotate
from safeguarding.models import DeliveryAttempt, OutboxEvent, Outcome, WebhookEndpoint
from safeguarding.reports import attrition_funnel, spoke_report
from safeguarding.selectors import endpoints_for, outbox_events_for
from safeguarding.services import (
    outcome_consult,
    outcome_record,
    safeguarding_action_record,
    safeguarding_actions_consult,
)
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
    form = SafeguardingActionForm(request.POST)
    if not form.is_valid():
        return _actions_panel(request, task, form=form, status=400)
    done, status = attempt(
        request, form, lambda: safeguarding_action_record(task=task, actor=request.user, **form.cleaned_data)
    )
    if done is None:
        return _actions_panel(
            request, scoped_get(_tasks(actor.membership), task.pk), form=form, status=status
        )
    if request.htmx:
        return _actions_panel(request, task, saved=True)
    messages.success(request, "Safeguarding action recorded.")
    return redirect(_task_url(task, "#safeguarding"))


# --- The outcome ---------------------------------------------------------------------------------


def _outcome_panel(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    task: Task,
    *,
    form: OutcomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The outcome, audited as the API's read is; the form only where the registry allows the
    caller to record it now (so never on a task nobody has accepted)."""
    referral = Referral.objects.select_related("outcome").get(pk=task.referral_id)
    outcome_consult(actor=request.user, referral=referral)
    outcome = Outcome.objects.filter(referral=referral).select_related("recorded_by", "recorded_org").first()
    may_record = allowed(request.user, Act.OUTCOME_RECORD, referral)
    refused = form if form is not None and form.errors and not may_record else None
    if may_record and form is None:
        form = OutcomeForm()
    context = {
        "task": task,
        "referral": referral,
        "outcome": outcome,
        "form": form if may_record else None,
        "refused": refused,
        "as_hub": actor.role in r.HUB_ROLES,
        "justice_labels": JUSTICE_LABELS,
        "safeguarding_labels": SAFEGUARDING_LABELS,
        "title": "Outcome",
        "needs_acceptance": outcome is None and task.status == Task.Status.OFFERED,
    }
    return _render(request, "safeguarding/_outcome_panel.html", context, status)


@policy_view(
    {"GET": Act.TASK_VIEW, "POST": Act.OUTCOME_RECORD}, lookup=_tasks, target=lambda task: task.referral
)
def task_outcome(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    if request.method == "GET":
        return _outcome_panel(request, actor, task)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _outcome_panel(request, actor, task, form=form, status=400)
    values = dict(form.cleaned_data)
    values["is_safeguarding_needed"] = values.pop("safeguarding_needed")
    done, status = attempt(
        request, form, lambda: outcome_record(referral=task.referral, actor=request.user, **values)
    )
    if done is None:
        return _outcome_panel(
            request, actor, scoped_get(_tasks(actor.membership), task.pk), form=form, status=status
        )
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


@policy_view(Act.REPORT_VIEW)
def reports(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """Per spoke and period, and the attrition funnel: the API's two reports on one page, each
    view audited as the API's are (``report.spokes_viewed``, ``report.funnel_viewed``)."""
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
    actor: Actor,
    *,
    form: EndpointForm | None = None,
    status: int = 200,
) -> HttpResponse:
    is_hub = allowed(request.user, Act.WEBHOOK_SET)
    endpoints = {e.agency_id: e for e in endpoints_for(actor.membership)}
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


@policy_view({"GET": Act.WEBHOOK_LIST, "POST": Act.WEBHOOK_SET})
def feedback(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """Every agency's endpoint and the feedback figures (hub and auditors); hub coordinators
    register or re-point an endpoint here. A new endpoint's secret is shown once, in the
    answer to the POST (never stored in the session, never shown again)."""
    if request.method == "GET":
        if actor.role in r.AGENCY_ROLES:  # its own log is on its referrals page
            return redirect(reverse("hub:agency") + "#feedback")
        return _feedback_page(request, actor)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _feedback_page(request, actor, form=form, status=400)
    done, status = attempt(
        request,
        form,
        lambda: webhook_endpoint_set(
            agency=form.cleaned_data["agency"],
            url=form.cleaned_data["url"],
            actor=request.user,
            event_types=form.cleaned_data["event_types"],
        ),
    )
    if done is None:
        return _feedback_page(request, actor, form=form, status=status)
    endpoint, secret = done
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
    actor: Actor,
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
        action=AuditAction.WEBHOOK_DELIVERIES_VIEWED,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        changes={"ids": [str(e.pk) for e in events]},
    )
    is_hub = actor.role in r.HUB_ROLES
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
        "show_people": actor.role in r.READ_ALL_ROLES,
        "can_replay": can_replay,
        "events": _event_names(endpoint),
    }
    if fragment and request.htmx:
        return page(request, "safeguarding/_delivery_log.html", context, status=status)
    return page(request, "safeguarding/endpoint.html", context, status=status)


@policy_view(Act.DELIVERY_LOG, lookup=endpoints_for)
def endpoint_detail(
    request: AuthenticatedHttpRequest, actor: Actor, endpoint: WebhookEndpoint
) -> HttpResponse:
    return _delivery_log(request, actor, endpoint)


@policy_view(Act.AGENCY_DELIVERY_LOG)
def agency_delivery_log(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """The agency's own endpoint and delivery log: a fragment of its referrals page (a whole
    page without JavaScript). Read-only: no secret, no replay."""
    endpoint = endpoints_for(actor.membership).first()
    if endpoint is None:
        return page(
            request, "safeguarding/_delivery_log.html" if request.htmx else "safeguarding/endpoint.html", {}
        )
    return _delivery_log(request, actor, endpoint, fragment=True)


@policy_view(Act.WEBHOOK_ROTATE, methods=["POST"], lookup=endpoints_for)
def endpoint_rotate_secret(
    request: AuthenticatedHttpRequest, actor: Actor, endpoint: WebhookEndpoint
) -> HttpResponse:
    """A new signing secret, shown once; the previous one keeps signing for the overlap."""
    secret = webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    endpoint.refresh_from_db()
    return _no_store(
        page(
            request,
            "safeguarding/webhook_secret.html",
            {"endpoint": endpoint, "secret": secret, "created": False, "note": SECRET_NOTE},
        )
    )


@policy_view(Act.DELIVERY_REPLAY, methods=["POST"], lookup=outbox_events_for)
def delivery_replay_view(request: AuthenticatedHttpRequest, actor: Actor, event: OutboxEvent) -> HttpResponse:
    """The hub re-sends one event now, with a reason; the service records the disclosure.
    Only the hub sees events to replay (everyone else: 404, as in the API)."""
    endpoint = endpoints_for(actor.membership).filter(agency_id=event.agency_id).first()
    if endpoint is None:
        raise Http404("No such endpoint.")
    form = ReplayForm(request.POST, auto_id=f"replay-{event.pk}-%s")
    if not form.is_valid():
        return _delivery_log(request, actor, endpoint, replay=(event.pk, form), status=400)
    result, status = attempt(
        request,
        form,
        lambda: delivery_replay(event=event, actor=request.user, reason=form.cleaned_data["reason"]),
    )
    if result is None:
        # A disabled endpoint's log offers no replay form: say the refusal on the page instead.
        flash_errors_of_hidden_form(request, form, shown=endpoint.is_active)
        return _delivery_log(request, actor, endpoint, replay=(event.pk, form), status=status)
    code = result.status_code
    if code is not None and 200 <= code < 300:
        messages.success(request, f"Re-sent {event.webhook_id}: the agency's receiver answered {code}.")
    else:
        answer = (
            f"answered {code}" if code is not None else f"did not answer ({result.error or 'no response'})"
        )
        messages.error(request, f"Re-sent {event.webhook_id}, but the agency's receiver {answer}.")
    return redirect(reverse("safeguarding:endpoint", kwargs={"pk": endpoint.pk}) + f"#event-{event.pk}")
