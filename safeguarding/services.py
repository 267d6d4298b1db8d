"""Safeguarding actions and outcomes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.hooks import outcome_view
from hub.models import Referral, Task, User
from hub.policies import roles as r
from hub.policies.rules import Act, authorize
from hub.services.alerts import alerts_cancel_for_tasks
from hub.services.audit import audit_record, audit_task_records_read
from hub.services.locks import referral_lock, task_lock_as_seen
from hub.services.referrals import referral_record_outcome_facts
from safeguarding.feedback import outbox_emit
from safeguarding.models import Outcome, SafeguardingAction, WebhookEndpoint
from safeguarding.selectors import outcome_task_for, safeguarding_actions_of


@transaction.atomic(durable=True)
def safeguarding_action_record(
    *,
    task: Task,
    actor: User,
    action: str,
    children_identified: int = 0,
    children_safeguarded: int = 0,
    referred_to: str = "",
    notes: str = "",
) -> SafeguardingAction:
    """Record a protective step on an accepted task."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.SAFEGUARDING_RECORD, task)
    if (
        action
        in {
            SafeguardingAction.Action.REFERRED_CHILDRENS_SERVICES,
            SafeguardingAction.Action.REFERRED_MASH,
            SafeguardingAction.Action.REFERRED_OVERSEAS_POLICE,
        }
        and not referred_to.strip()
    ):
        raise DomainError("Name the body the children were referred to", field="referred_to")
    if (
        children_safeguarded > children_identified
        and action != SafeguardingAction.Action.CHILDREN_SAFEGUARDED
    ):
        raise DomainError("More children safeguarded than identified", field="children_safeguarded")
    record = SafeguardingAction.objects.create(
        task=task,
        action=action,
        children_identified=children_identified,
        children_safeguarded=children_safeguarded,
        referred_to=referred_to,
        notes=notes,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.SAFEGUARDING_ACTION_RECORDED,
        object_type="safeguarding_action",
        object_id=record.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "action": action,
            "children_identified": children_identified,
            "children_safeguarded": children_safeguarded,
            "referred_to": referred_to,
        },
    )
    return record


def _check_outcome_agrees(*, safeguarding_outcome: str, children_safeguarded: int) -> None:
    """An outcome that contradicts itself is refused, naming both fields."""
    if safeguarding_outcome == "no_child_at_risk" and children_safeguarded > 0:
        raise DomainError(
            f"safeguarding_outcome is 'no child at risk' but children_safeguarded is {children_safeguarded}: "
            "correct one of them",
            field="children_safeguarded",
        )
    if safeguarding_outcome == "child_safeguarded" and children_safeguarded == 0:
        raise DomainError(
            "safeguarding_outcome is 'child safeguarded' but children_safeguarded is 0: correct one of them",
            field="children_safeguarded",
        )


@transaction.atomic(durable=True)
def outcome_record(
    *,
    referral: Referral,
    actor: User,
    justice_outcome: str,
    safeguarding_outcome: str,
    arrests: int,
    children_safeguarded: int,
    victims_identified: int,
    suspect_has_access_to_children: bool | None = None,
    is_safeguarding_needed: bool | None = None,
    summary: str = "",
) -> Outcome:
    """Record the referral's outcome once: the criminal-justice and safeguarding outcomes kept
    apart, the counts, and the two facts closure needs. Completes the referral's open tasks.

    The recording task is the one the actor's organisation holds on the referral
    (``safeguarding.selectors.outcome_task_for``; none when the hub records it), decided on the
    locked rows.
    """
    _check_outcome_agrees(
        safeguarding_outcome=safeguarding_outcome, children_safeguarded=children_safeguarded
    )
    referral = referral_lock(referral.pk)
    actor_ctx = authorize(actor, Act.OUTCOME_RECORD, referral, state=False)
    assert actor_ctx is not None  # noqa: S101  (authorize returns an actor for a user)
    task = outcome_task_for(actor, actor_ctx.membership, referral)
    if task is not None:
        task = task_lock_as_seen(task)  # decide on the row, not a stale copy
    authorize(actor, Act.OUTCOME_RECORD, referral, seen=True)
    referral_record_outcome_facts(
        referral=referral,
        actor=actor,
        suspect_has_access_to_children=suspect_has_access_to_children,
        is_safeguarding_needed=is_safeguarding_needed,
    )
    outcome = Outcome.objects.create(
        referral=referral,
        task=task,
        justice_outcome=justice_outcome,
        safeguarding_outcome=safeguarding_outcome,
        arrests=arrests,
        children_safeguarded=children_safeguarded,
        victims_identified=victims_identified,
        summary=summary,
        recorded_by=actor,
        recorded_org=actor_ctx.org,
    )
    now = db_now()
    completed = list(
        Task.objects.select_for_update(no_key=True, of=("self",))
        .filter(referral=referral, status__in=Task.OPEN_STATUSES)
        .values_list("pk", flat=True)
    )
    Task.objects.filter(pk__in=completed).update(
        status=Task.Status.COMPLETED, completed_at=now, updated_at=now
    )
    alerts_cancel_for_tasks(task_ids=completed)
    outbox_emit(referral, WebhookEndpoint.EventType.OUTCOME_RECORDED)
    audit_record(
        actor=actor,
        action=AuditAction.OUTCOME_RECORDED,
        object_type="outcome",
        object_id=outcome.pk,
        referral_id=referral.pk,
        task_id=task.pk if task else None,
        changes={
            "justice_outcome": justice_outcome,
            "safeguarding_outcome": safeguarding_outcome,
            "arrests": arrests,
            "children_safeguarded": children_safeguarded,
            "victims_identified": victims_identified,
            "suspect_has_access_to_children": suspect_has_access_to_children,
            "safeguarding_needed": is_safeguarding_needed,
            "tasks_completed": [str(pk) for pk in completed],
        },
    )
    return outcome


def safeguarding_actions_consult(*, actor: User, task: Task) -> list[SafeguardingAction]:
    """A task's safeguarding actions as shown to the actor (API list or the task page's panel):
    authorized, and audited as one ``safeguarding_action.listed`` consultation naming the ids
    shown, an empty list included."""
    authorize(actor, Act.SAFEGUARDING_LIST, task, seen=True)
    rows = safeguarding_actions_of(task)
    audit_task_records_read(
        actor=actor, task=task, object_type="safeguarding_action", ids=[row.pk for row in rows]
    )
    return rows


def outcome_consult(*, actor: User, referral: Referral) -> dict[str, Any] | None:
    """The referral's outcome as the actor may see it (codes and counts only for an agency),
    audited as ``outcome.viewed``; None (and nothing audited) when none is recorded yet."""
    actor_ctx = authorize(actor, Act.OUTCOME_VIEW, referral, seen=True)
    internal = actor_ctx is not None and actor_ctx.role in r.INTERNAL_READER_ROLES
    view = outcome_view(referral, internal=internal)
    if view is None:
        return None
    audit_record(
        actor=actor,
        action=AuditAction.OUTCOME_VIEWED,
        object_type="outcome",
        object_id=referral.outcome.pk,
        referral_id=referral.pk,
    )
    return view
