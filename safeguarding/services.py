"""Safeguarding actions and outcomes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hub.exceptions import DomainError, InvalidTransition
from hub.models import Organisation, Referral, Task, User
from hub.services.alerts import alerts_cancel_for_tasks
from hub.services.audit import audit_record
from hub.services.locks import referral_lock, task_lock_as_seen
from hub.services.referrals import referral_record_outcome_facts
from safeguarding.feedback import outbox_emit
from safeguarding.models import Outcome, SafeguardingAction, WebhookEndpoint


@transaction.atomic
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
    if task.status != Task.Status.ACCEPTED:
        raise InvalidTransition(f"Accept the task before recording safeguarding on it (it is {task.status})")
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
        action="safeguarding_action.recorded",
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


@transaction.atomic
def outcome_record(
    *,
    referral: Referral,
    actor: User,
    actor_org: Organisation,
    task: Task | None,
    justice_outcome: str,
    safeguarding_outcome: str,
    arrests: int,
    children_safeguarded: int,
    victims_identified: int,
    suspect_has_access_to_children: bool,
    is_safeguarding_needed: bool,
    summary: str = "",
) -> Outcome:
    """Record the referral's outcome once: the criminal-justice and safeguarding outcomes kept
    apart, the counts, and the two facts closure needs. Completes the referral's open tasks.

    ``task`` is the recording spoke's accepted task (None when the hub records it).
    """
    referral = referral_lock(referral.pk)
    if Outcome.objects.filter(referral=referral).exists():
        raise InvalidTransition("An outcome is already recorded for this referral", code="outcome_exists")
    if task is not None:
        task = task_lock_as_seen(task)  # decide on the row, not a stale copy
    if task is not None and task.status != Task.Status.ACCEPTED:
        raise InvalidTransition(f"Accept the task before recording its outcome (it is {task.status})")
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
        recorded_org=actor_org,
    )
    now = timezone.now()
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
        action="outcome.recorded",
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
