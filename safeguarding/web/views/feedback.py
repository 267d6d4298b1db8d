"""Outcome feedback: every agency's endpoint, registration and secret rotation (hub), each
endpoint's delivery log (hub, auditors, and the agency for its own) and replay (hub)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from hub.constants import AuditAction
from hub.models import Organisation
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed
from hub.selectors import organisation_list
from hub.services.audit import audit_record
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    attempt,
    flash_errors_of_hidden_form,
    page,
    policy_view,
    submit,
)
from safeguarding.feedback import (
    delivery_replay,
    feedback_stats,
    outcomes_outstanding_send,
    webhook_change_decide,
    webhook_change_propose,
    webhook_secret_rotate,
)
from safeguarding.models import DeliveryAttempt, OutboxEvent, WebhookChange, WebhookEndpoint
from safeguarding.selectors import endpoints_for, outbox_events_for, webhook_changes_for
from safeguarding.web.forms import (
    ChangeDecisionForm,
    EndpointForm,
    ReplayForm,
)
from safeguarding.web.presenters import (
    DELIVERY_BADGES,
    EVENT_LABELS,
    duration_text,
    percent,
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
    change_form: tuple[UUID, ChangeDecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    is_hub = allowed(request.user, Act.WEBHOOK_SET)
    endpoints = {e.agency_id: e for e in endpoints_for(actor.membership)}
    changes = []
    for change in webhook_changes_for(actor.membership).filter(status=WebhookChange.Status.PENDING):
        decide: ChangeDecisionForm | None = None
        if allowed(request.user, Act.WEBHOOK_CHANGE_DECIDE, change):
            kept = change_form[1] if change_form and change_form[0] == change.pk else None
            decide = kept or ChangeDecisionForm(prefix=f"change-{change.pk}")
        changes.append({"change": change, "current": endpoints.get(change.agency_id), "form": decide})
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
            "changes": changes,
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

    def proposed(change: WebhookChange) -> HttpResponse:
        messages.success(
            request,
            f"Proposed: {change.agency.name}'s endpoint → {change.url}. Nothing changes until another hub "
            "coordinator approves it below; they will see the new signing secret once.",
        )
        return redirect(reverse("safeguarding:feedback") + "#changes")

    return submit(
        request,
        EndpointForm(request.POST),
        lambda data: webhook_change_propose(
            agency=data["agency"], url=data["url"], actor=request.user, event_types=data["event_types"]
        ),
        again=lambda form, status: _feedback_page(request, actor, form=form, status=status),
        done=proposed,
    )


@policy_view(Act.WEBHOOK_CHANGE_DECIDE, methods=["POST"], lookup=webhook_changes_for)
def webhook_change_decide_view(
    request: AuthenticatedHttpRequest, actor: Actor, change: WebhookChange
) -> HttpResponse:
    """Approve (the endpoint moves; its new secret shown once, here) or refuse, with a reason."""
    form = ChangeDecisionForm(request.POST, prefix=f"change-{change.pk}")

    def decided(done: tuple[WebhookEndpoint | None, str | None]) -> HttpResponse:
        endpoint, secret = done
        if endpoint is None:
            messages.success(request, f"Refused: {change.agency.name}'s endpoint stays as it was.")
            return redirect(reverse("safeguarding:feedback") + "#changes")
        return _no_store(
            page(
                request,
                "safeguarding/webhook_secret.html",
                {
                    "endpoint": endpoint,
                    "secret": secret,
                    "created": True,
                    "approved": True,
                    "note": SECRET_NOTE,
                },
            )
        )

    return submit(
        request,
        form,
        lambda data: webhook_change_decide(
            change=change, actor=request.user, approve=data["decision"] == "approve", reason=data["reason"]
        ),
        again=lambda form, status: _feedback_page(
            request, actor, change_form=(change.pk, form), status=status
        ),
        done=decided,
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
    can_replay = bool(events) and allowed(request.user, Act.DELIVERY_REPLAY, events[0])
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


@policy_view(Act.WEBHOOK_SEND_OUTSTANDING, methods=["POST"], lookup=endpoints_for)
def endpoint_send_outstanding(
    request: AuthenticatedHttpRequest, actor: Actor, endpoint: WebhookEndpoint
) -> HttpResponse:
    """Offer the agency every outcome recorded before its endpoint existed."""
    done, _status = attempt(
        request, None, lambda: outcomes_outstanding_send(endpoint=endpoint, actor=request.user)
    )
    if done is not None:
        messages.success(
            request,
            f"{done} outstanding outcome(s) queued for {endpoint.agency.name}."
            if done
            else f"Nothing outstanding: every outcome of {endpoint.agency.name} was already offered.",
        )
    return redirect("safeguarding:endpoint", pk=endpoint.pk)


@policy_view(Act.DELIVERY_REPLAY, methods=["POST"], lookup=outbox_events_for)
def delivery_replay_view(request: AuthenticatedHttpRequest, actor: Actor, event: OutboxEvent) -> HttpResponse:
    """The hub re-sends one event now, with a reason; the service records the disclosure.
    Only the hub sees events to replay (everyone else: 404, as in the API)."""
    endpoint = endpoints_for(actor.membership).filter(agency_id=event.agency_id).first()
    if endpoint is None:
        raise Http404("No such endpoint.")

    def refused(form: ReplayForm, status: int) -> HttpResponse:
        # A disabled endpoint's log offers no replay form: say the refusal on the page instead.
        flash_errors_of_hidden_form(request, form, shown=endpoint.is_active)
        return _delivery_log(request, actor, endpoint, replay=(event.pk, form), status=status)

    def replayed(result: Any) -> HttpResponse:
        code = result.status_code
        if code is not None and 200 <= code < 300:
            messages.success(request, f"Re-sent {event.webhook_id}: the agency's receiver answered {code}.")
        else:
            answer = (
                f"answered {code}"
                if code is not None
                else f"did not answer ({result.error or 'no response'})"
            )
            messages.error(request, f"Re-sent {event.webhook_id}, but the agency's receiver {answer}.")
        return redirect(reverse("safeguarding:endpoint", kwargs={"pk": endpoint.pk}) + f"#event-{event.pk}")

    return submit(
        request,
        ReplayForm(request.POST, auto_id=f"replay-{event.pk}-%s"),
        lambda data: delivery_replay(event=event, actor=request.user, reason=data["reason"]),
        again=refused,
        done=replayed,
    )
