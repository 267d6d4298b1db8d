"""Safeguarding actions and outcomes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hub.clock import db_now
from hub.constants import AuditAction, WebhookEvent
from hub.exceptions import DomainError
from hub.hooks import outcome_checks, outcome_view
from hub.models import Referral, Task, User
from hub.policies import roles as r
from hub.policies.rules import Act, authorize
from hub.services.alerts import alerts_cancel_for_tasks, notify_holder, notify_hub
from hub.services.audit import audit_record, audit_task_records_read
from hub.services.locks import referral_lock, task_lock_as_seen
from hub.services.referrals import referral_record_outcome_facts
from hub.services.versions import version_check
from safeguarding.feedback import outbox_emit
from safeguarding.models import Outcome, OutcomeRevision, SafeguardingAction
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
    expect_version: str | None = None,
) -> Outcome:
    """Record the outcome of the caller's part of the case: the criminal-justice and
    safeguarding outcomes kept apart, the counts, and the two facts closure needs. Completes
    only the caller's own task; other holders' tasks stay open and they and the hub are told.
    The first outcome is the referral's; a later holder's updates it (a revision keeps the
    previous values, and the agency hears ``referral.outcome_updated``).

    The recording task is the one the actor's organisation holds on the referral
    (``safeguarding.selectors.outcome_task_for``; none when the hub records it), decided on the
    locked rows.
    """
    _check_outcome_agrees(
        safeguarding_outcome=safeguarding_outcome, children_safeguarded=children_safeguarded
    )
    referral = referral_lock(referral.pk)
    actor_ctx = authorize(actor, Act.OUTCOME_RECORD, referral, state=False)
    version_check(referral, expect_version)
    assert actor_ctx is not None  # noqa: S101  (authorize returns an actor for a user)
    task = outcome_task_for(actor, actor_ctx.membership, referral)
    if task is not None:
        task = task_lock_as_seen(task)  # decide on the row, not a stale copy
    authorize(actor, Act.OUTCOME_RECORD, referral, seen=True)
    values: dict[str, Any] = {
        "justice_outcome": justice_outcome,
        "safeguarding_outcome": safeguarding_outcome,
        "arrests": arrests,
        "children_safeguarded": children_safeguarded,
        "victims_identified": victims_identified,
        "summary": summary,
    }
    if task is not None:
        outcome_checks(task, values)
    existing = Outcome.objects.filter(referral=referral).first()
    if existing is None:
        referral_record_outcome_facts(
            referral=referral,
            actor=actor,
            suspect_has_access_to_children=suspect_has_access_to_children,
            is_safeguarding_needed=is_safeguarding_needed,
        )
        outcome = Outcome.objects.create(
            referral=referral, task=task, recorded_by=actor, recorded_org=actor_ctx.org, **values
        )
        event = WebhookEvent.OUTCOME_RECORDED
    else:
        # Another holder's part of the case: the referral's outcome becomes theirs, the previous
        # values kept as a revision.
        outcome = _revise(
            existing,
            values,
            actor=actor,
            org=actor_ctx.org,
            reason=f"{actor_ctx.org.code} recorded its outcome",
        )
        _fill_facts(referral, suspect_has_access_to_children, is_safeguarding_needed)
        event = WebhookEvent.OUTCOME_UPDATED
    completed: list[str] = []
    if task is not None:  # only the caller's own task completes
        now = db_now()
        Task.objects.filter(pk=task.pk).update(status=Task.Status.COMPLETED, completed_at=now, updated_at=now)
        alerts_cancel_for_tasks(task_ids=[task.pk])
        completed.append(str(task.pk))
    _tell_the_others(referral=referral, done_by=actor_ctx.org.code, except_task=task)
    outbox_emit(referral, event)
    audit_record(
        actor=actor,
        action=AuditAction.OUTCOME_RECORDED,
        object_type="outcome",
        object_id=outcome.pk,
        referral_id=referral.pk,
        task_id=task.pk if task else None,
        changes={
            **{name: value for name, value in values.items() if name != "summary"},
            "suspect_has_access_to_children": suspect_has_access_to_children,
            "safeguarding_needed": is_safeguarding_needed,
            "tasks_completed": completed,
            "updated_the_referrals_outcome": existing is not None,
        },
    )
    return outcome


def _fill_facts(referral: Referral, access: bool | None, needed: bool | None) -> None:
    fields = []
    if access is not None and referral.suspect_has_access_to_children is None:
        referral.suspect_has_access_to_children = access
        fields.append("suspect_has_access_to_children")
    if needed is not None and referral.is_safeguarding_needed is None:
        referral.is_safeguarding_needed = needed
        fields.append("is_safeguarding_needed")
    if fields:
        referral.save(update_fields=[*fields, "updated_at"])


def _revise(outcome: Outcome, values: dict[str, Any], *, actor: User, org: Any, reason: str) -> Outcome:
    """Change the outcome's fields to ``values`` and keep what they were (``OutcomeRevision``)."""
    changed = {name: value for name, value in values.items() if getattr(outcome, name) != value}
    if not changed:
        raise DomainError("Nothing to change: the outcome already says this", code="no_change")
    before = {name: getattr(outcome, name) for name in changed}
    OutcomeRevision.objects.create(
        outcome=outcome, before=before, after=changed, reason=reason, by=actor, org=org
    )
    for name, value in changed.items():
        setattr(outcome, name, value)
    outcome.save(update_fields=list(changed))
    return outcome


def _tell_the_others(*, referral: Referral, done_by: str, except_task: Task | None) -> None:
    """Other holders' tasks on the referral stay open; they and the hub are told."""
    ref = f"{referral.agency.code} {referral.external_id}"
    others = Task.objects.filter(referral=referral, status__in=Task.RUNNING_STATUSES)
    if except_task is not None:
        others = others.exclude(pk=except_task.pk)
    still_open = 0
    for other in others.select_related("assignee_org"):
        still_open += 1
        notify_holder(
            task=other,
            kind="outcome_recorded",
            subject=f"{done_by} recorded an outcome for {ref}",
            body="Your task on this referral stays open: record your own outcome when your part is done.",
        )
    notify_hub(
        kind="outcome_recorded",
        referral=referral,
        subject=f"{done_by} recorded an outcome for {ref}",
        body=f"{still_open} other task(s) on this referral are still open.",
    )


@transaction.atomic(durable=True)
def outcome_amend(*, referral: Referral, actor: User, reason: str, **changes: Any) -> Outcome:
    """Amend a recorded outcome when the case moves on (a charge resolves, a caution is
    completed): the changed fields, with a reason; the previous values are kept and the
    referring agency is told again (``referral.outcome_updated``, a new webhook-id)."""
    if not reason.strip():
        raise DomainError("Say why the outcome changes", field="reason")
    referral = referral_lock(referral.pk)
    actor_ctx = authorize(actor, Act.OUTCOME_AMEND, referral)
    assert actor_ctx is not None  # noqa: S101  (authorize returns an actor for a user)
    outcome = Outcome.objects.select_for_update(no_key=True, of=("self",)).get(referral=referral)
    unknown = set(changes) - set(Outcome.AMENDABLE)
    if unknown:
        raise DomainError(f"These cannot be amended: {', '.join(sorted(unknown))}", code="not_amendable")
    merged = {name: changes.get(name, getattr(outcome, name)) for name in Outcome.AMENDABLE}
    _check_outcome_agrees(
        safeguarding_outcome=merged["safeguarding_outcome"],
        children_safeguarded=merged["children_safeguarded"],
    )
    before = {name: getattr(outcome, name) for name in changes if name != "summary"}
    outcome = _revise(outcome, merged, actor=actor, org=actor_ctx.org, reason=reason)
    Referral.objects.filter(pk=referral.pk).update(updated_at=db_now())
    outbox_emit(referral, WebhookEvent.OUTCOME_UPDATED)
    audit_record(
        actor=actor,
        action=AuditAction.OUTCOME_AMENDED,
        object_type="outcome",
        object_id=outcome.pk,
        referral_id=referral.pk,
        changes={"before": before, "after": {n: v for n, v in changes.items() if n != "summary"}},
        justification=reason,
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
