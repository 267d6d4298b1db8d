"""The safeguarding app's rows of the policy registry: safeguarding actions, the outcome,
outcome feedback (endpoints, delivery log, replay) and the accountability reports."""

from __future__ import annotations

from hub.constants import WebhookEvent
from hub.exceptions import DomainError, InvalidTransition
from hub.models import Referral, Task
from hub.policies import roles as r
from hub.policies.rules import (
    Act,
    Actor,
    Rule,
    holds,
    register,
    register_visibility,
    task_accepted,
)
from safeguarding.models import MonthlySummary, OutboxEvent, Outcome, WebhookChange, WebhookEndpoint
from safeguarding.selectors import endpoints_for, monthly_summaries_for, outbox_events_for, outcome_task_for

ENDPOINT_READERS = r.READ_ALL_ROLES | r.AGENCY_ROLES
HOLDER_OR_HUB = "Only the organisation holding this referral's task, or the hub, records its outcome"

register_visibility(
    WebhookEndpoint, lambda actor, endpoint: endpoints_for(actor.membership).filter(pk=endpoint.pk).exists()
)
register_visibility(
    MonthlySummary,
    lambda actor, summary: monthly_summaries_for(actor.membership).filter(pk=summary.pk).exists(),
)
# Proposed endpoint changes: the hub decides them, auditors read them.
register_visibility(WebhookChange, lambda actor, change: actor.role in r.READ_ALL_ROLES)
register_visibility(
    OutboxEvent, lambda actor, event: outbox_events_for(actor.membership).filter(pk=event.pk).exists()
)


def _records_outcome(actor: Actor, referral: Referral) -> bool:
    return actor.is_hub or outcome_task_for(actor.user, actor.membership, referral) is not None


def _outcome_open(actor: Actor, referral: Referral) -> None:
    """Each holder records the outcome of its own accepted task (the first one is the
    referral's outcome; another holder's later one updates it, the previous values kept); the
    hub records one on a referral that has none. After that, changes are amendments."""
    exists = Outcome.objects.filter(referral=referral).exists()
    task = outcome_task_for(actor.user, actor.membership, referral)
    if exists and (task is None or task.status != Task.Status.ACCEPTED):
        raise InvalidTransition(
            "An outcome is already recorded for this referral: amend it instead", code="outcome_exists"
        )
    if task is not None and task.status != Task.Status.ACCEPTED:
        raise InvalidTransition(f"Accept the task before recording its outcome (it is {task.status})")
    allowed = Referral.Status.OUTCOME_RECORDED if exists else Referral.Status.ALLOCATED
    if referral.status != allowed:
        label = Referral.Status(referral.status).label
        raise InvalidTransition(
            f"Cannot record an outcome for a referral that is '{label}' ({referral.status})"
        )


def _outcome_amendable(actor: Actor, referral: Referral) -> None:
    if not Outcome.objects.filter(referral=referral).exists():
        raise InvalidTransition("No outcome is recorded yet: record it first", code="no_outcome")
    if referral.status not in {Referral.Status.OUTCOME_RECORDED, Referral.Status.CLOSED}:
        raise InvalidTransition(f"Cannot amend the outcome of a referral that is {referral.status}")


def _replayable(actor: Actor, event: OutboxEvent) -> None:
    endpoint = WebhookEndpoint.objects.filter(agency_id=event.agency_id).first()
    if endpoint is None or not endpoint.is_active:
        # A 400, as before the rulebook: the request names an event nobody can receive now.
        raise DomainError("The agency has no active webhook endpoint", code="no_endpoint")


def _not_the_proposer(actor: Actor, change: WebhookChange) -> bool:
    return change.proposed_by_id != actor.user.pk


def _change_pending(actor: Actor, change: WebhookChange) -> None:
    if change.status != WebhookChange.Status.PENDING:
        label = WebhookChange.Status(change.status).label.lower()
        raise InvalidTransition(f"This change is no longer waiting: {label}", code="not_pending")


def _outcomes_sendable(actor: Actor, endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise InvalidTransition("This endpoint is switched off", code="inactive")
    if WebhookEvent.OUTCOME_RECORDED.value not in endpoint.event_types:
        raise InvalidTransition(
            "This endpoint is not subscribed to referral.outcome_recorded", code="not_subscribed"
        )


_ROWS = {
    Act.SAFEGUARDING_LIST: Rule(
        r.TASK_READER_ROLES, "Tasks are for the hub, regions, forces and auditors.", on=Task
    ),
    Act.SAFEGUARDING_RECORD: Rule(
        r.TASK_WORKER_ROLES,
        "Only the organisation holding this task can record safeguarding on it.",
        on=Task,
        scope=holds,
        state=task_accepted("safeguarding"),
    ),
    Act.OUTCOME_VIEW: Rule(
        r.TASK_READER_ROLES | r.AGENCY_ROLES, "Outcomes are not shown to your role.", on=Referral
    ),
    Act.OUTCOME_RECORD: Rule(
        r.OUTCOME_ROLES, HOLDER_OR_HUB, on=Referral, scope=_records_outcome, state=_outcome_open
    ),
    # When the case moves on (a charge resolves): the holders of the referral's tasks, or the hub.
    Act.OUTCOME_AMEND: Rule(
        r.OUTCOME_ROLES,
        "Only an organisation that held this referral's task, or the hub, amends its outcome",
        on=Referral,
        scope=_records_outcome,
        state=_outcome_amendable,
    ),
    Act.WEBHOOK_LIST: Rule(ENDPOINT_READERS, "Outcome feedback is run by the hub."),
    Act.WEBHOOK_VIEW: Rule(ENDPOINT_READERS, "Outcome feedback is run by the hub.", on=WebhookEndpoint),
    Act.WEBHOOK_SET: Rule(
        r.HUB_ROLES, "Only hub coordinators register agencies' endpoints.", operator=True, step_up=True
    ),
    Act.WEBHOOK_CHANGE_LIST: Rule(r.READ_ALL_ROLES, "Outcome feedback is run by the hub."),
    Act.WEBHOOK_CHANGE_DECIDE: Rule(
        r.HUB_ROLES,
        "A change to where an agency's disclosures go is approved by another hub coordinator "
        "than the one who proposed it.",
        on=WebhookChange,
        scope=_not_the_proposer,
        state=_change_pending,
        step_up=True,
    ),
    Act.WEBHOOK_SEND_OUTSTANDING: Rule(
        r.HUB_ROLES,
        "Only hub coordinators send an agency its outstanding outcomes.",
        on=WebhookEndpoint,
        state=_outcomes_sendable,
    ),
    Act.WEBHOOK_ROTATE: Rule(
        r.HUB_ROLES,
        "Only hub coordinators rotate signing secrets.",
        on=WebhookEndpoint,
        operator=True,
        step_up=True,
    ),
    Act.DELIVERY_LOG: Rule(ENDPOINT_READERS, "Outcome feedback is run by the hub.", on=WebhookEndpoint),
    Act.AGENCY_DELIVERY_LOG: Rule(r.AGENCY_ROLES, "This delivery log is for referring agencies."),
    Act.DELIVERY_REPLAY: Rule(
        r.HUB_ROLES, "Only hub coordinators re-send events.", on=OutboxEvent, state=_replayable, step_up=True
    ),
    Act.FEEDBACK_STATS: Rule(r.READ_ALL_ROLES, "Outcome feedback is run by the hub."),
    Act.REPORT_VIEW: Rule(r.READ_ALL_ROLES, "Accountability reports are for the hub and auditors."),
    # Each spoke sees its own line (a region its forces too) beside the national median.
    Act.TRENDS_VIEW: Rule(
        r.READ_ALL_ROLES | r.SPOKE_ROLES, "Trends are for the hub, auditors and the spokes."
    ),
    Act.MONTHLY_LIST: Rule(
        r.READ_ALL_ROLES | r.SPOKE_ROLES, "Monthly summaries are for the hub, auditors and the spokes."
    ),
    Act.MONTHLY_DOWNLOAD: Rule(
        r.READ_ALL_ROLES | r.SPOKE_ROLES,
        "Monthly summaries are for the hub, auditors and the spokes.",
        on=MonthlySummary,
    ),
    Act.RESEARCH_EXPORT: Rule(
        r.HUB_ROLES,
        "Only the hub releases the anonymised research extract (audited as a disclosure).",
        step_up=True,
    ),
}
for _act, _rule in _ROWS.items():
    register(_act, _rule)
