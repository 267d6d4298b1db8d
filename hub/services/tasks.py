"""Allocating victim-ID tasks and moving them between holders."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError, InvalidTransition
from hub.hooks import referral_event
from hub.models import Organisation, Referral, Task, TaskTransfer, User
from hub.policies.rules import Act, authorize
from hub.services.alerts import alerts_reschedule, notify_holder
from hub.services.audit import audit_record
from hub.services.deadlines import clocks_for, deadline_policy_for
from hub.services.locks import referral_lock, task_lock_as_seen
from hub.services.permissions import task_grant_holder, task_move_grants
from hub.services.referrals import referral_triage
from hub.services.versions import version_check


def _check_holder(org: Organisation) -> None:
    if not org.can_hold_tasks:
        raise DomainError(
            f"{org.code} is a {org.kind}: tasks go to a region, a force or the hub itself",
            field="assignee_org",
        )


def _lock_task(task: Task) -> Task:
    return task_lock_as_seen(task)


@transaction.atomic
def task_allocate(
    *,
    referral: Referral,
    to_org: Organisation,
    actor: User,
    instructions: str = "",
    expect_version: str | None = None,
) -> Task:
    """Give a triaged referral's victim-ID work to a region or force.

    Guarantees: the task's clocks come from the deadline policy for the referral's grade and
    risk at this moment; the holder's group (and its region's, read-only) get object
    permissions in the same transaction; the referral moves to ``allocated``.
    """
    _check_holder(to_org)
    referral = referral_lock(referral.pk)
    authorize(actor, Act.TASK_ALLOCATE, referral)
    version_check(referral, expect_version)
    _refuse_second_open_task(referral=referral, to_org=to_org)
    now = db_now()
    clocks = clocks_for(referral=referral, start=now)
    task = Task.objects.create(
        referral=referral,
        assignee_org=to_org,
        instructions=instructions,
        offered_at=now,
        accept_due_at=clocks.accept_due_at,
        due_at=clocks.due_at,
        created_by=actor,
    )
    task_grant_holder(task=task, holder=to_org)
    alerts_reschedule(task=task)
    TaskTransfer.objects.create(task=task, kind=TaskTransfer.Kind.ALLOCATED, to_org=to_org, by=actor)
    if referral.status != Referral.Status.ALLOCATED:
        referral.status = Referral.Status.ALLOCATED
        referral.save(update_fields=["status", "updated_at"])
        referral_event(referral, "referral.allocated")
    ref = f"{referral.agency.code} {referral.external_id}"
    notify_holder(
        task=task,
        kind="task_allocated",
        subject=f"New task {ref} (grade {referral.grade}) for {to_org.code}",
        body=f"Accept it by {task.accept_due_at:%Y-%m-%d %H:%M} UTC; "
        f"act by {task.due_at:%Y-%m-%d %H:%M} UTC.",
    )
    audit_record(
        actor=actor,
        action=AuditAction.TASK_ALLOCATED,
        object_type="task",
        object_id=task.pk,
        referral_id=referral.pk,
        task_id=task.pk,
        changes={
            "assignee_org": to_org.code,
            "accept_due_at": clocks.accept_due_at.isoformat(),
            "due_at": clocks.due_at.isoformat(),
            "grade": referral.grade,
            "risk": referral.risk,
        },
        recipient=to_org.code,
    )
    return task


def _refuse_second_open_task(*, referral: Referral, to_org: Organisation) -> None:
    existing = Task.objects.filter(
        referral=referral, assignee_org=to_org, status__in=Task.OPEN_STATUSES
    ).first()
    if existing is not None:
        ref = f"{referral.agency.code} {referral.external_id}"
        if existing.status == Task.Status.DECLINED:
            declined = f"{existing.declined_at:%d %b %Y}" if existing.declined_at else "earlier"
            hint = f"it declined it on {declined}: cancel that task, or reassign it"
        else:
            hint = f"it is {existing.get_status_display().lower()}"
        raise InvalidTransition(
            f"{to_org.name} already holds a task for {ref} ({hint})",
            code="duplicate_task",
            details={"task": str(existing.pk), "status": existing.status},
        )


def _move(*, task: Task, to_org: Organisation, actor: User, reason: str, kind: str, action: str) -> Task:
    """Shared by reassign and hand-down: new holder, grants moved, acceptance clock restarted
    (the act-by deadline is kept: the child's risk does not wait for our hand-offs)."""
    if to_org.pk == task.assignee_org_id:
        raise DomainError(f"The task is already held by {to_org.code}", field="assignee_org")
    if not reason.strip():
        raise DomainError("Give a reason for moving the task", field="reason")
    from_org = task.assignee_org
    referral = task.referral
    _refuse_second_open_task(referral=referral, to_org=to_org)
    policy = deadline_policy_for(grade=referral.grade or 3, risk=referral.risk)
    now = db_now()
    task.assignee_org = to_org
    task.status = Task.Status.OFFERED
    task.offered_at = now
    task.accept_due_at = min(now + policy.accept_within, task.due_at)
    task.accepted_at = None
    task.accepted_by = None
    task.escalation_wait = None
    task.save(
        update_fields=[
            "assignee_org", "status", "offered_at", "accept_due_at", "accepted_at", "accepted_by",
            "escalation_wait", "updated_at",
        ]
    )  # fmt: skip
    task_move_grants(task=task, holder=to_org)
    alerts_reschedule(task=task)
    notify_holder(
        task=task,
        kind="task_reassigned" if kind == TaskTransfer.Kind.REASSIGNED else "task_handed_down",
        subject=f"Task {referral.agency.code} {referral.external_id} is now {to_org.code}'s",
        body=f"From {from_org.code}: {reason[:300]}. Accept it by {task.accept_due_at:%Y-%m-%d %H:%M} UTC; "
        f"act by {task.due_at:%Y-%m-%d %H:%M} UTC.",
    )
    TaskTransfer.objects.create(
        task=task, kind=kind, from_org=from_org, to_org=to_org, reason=reason, by=actor
    )
    audit_record(
        actor=actor,
        action=action,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "assignee_org": [from_org.code, to_org.code],
            "accept_due_at": task.accept_due_at.isoformat(),
        },
        justification=reason,
        recipient=to_org.code,
    )
    return task


@transaction.atomic(durable=True)
def task_reassign(*, task: Task, to_org: Organisation, actor: User, reason: str) -> Task:
    """The hub moves a task to another region or force; the old holder loses access at commit."""
    _check_holder(to_org)
    task = _lock_task(task)
    authorize(actor, Act.TASK_REASSIGN, task)
    return _move(
        task=task,
        to_org=to_org,
        actor=actor,
        reason=reason,
        kind=TaskTransfer.Kind.REASSIGNED,
        action=AuditAction.TASK_REASSIGNED,
    )


@transaction.atomic(durable=True)
def task_hand_down(*, task: Task, to_org: Organisation, actor: User, reason: str) -> Task:
    """A region passes a task it holds to one of its own forces (keeping read-only oversight)."""
    task = _lock_task(task)
    authorize(actor, Act.TASK_HAND_DOWN, task)
    region = task.assignee_org
    if to_org.kind != Organisation.Kind.FORCE or to_org.parent_id != region.pk:
        raise DomainError(f"{to_org.code} is not a force in {region.code}", field="assignee_org")
    return _move(
        task=task,
        to_org=to_org,
        actor=actor,
        reason=reason,
        kind=TaskTransfer.Kind.HANDED_DOWN,
        action=AuditAction.TASK_HANDED_DOWN,
    )


def task_audit_read(*, actor: User, task: Task, justification: str = "") -> None:
    """A consultation of one task (the caller found it in the actor's scope)."""
    authorize(actor, Act.TASK_VIEW, task, seen=True)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_VIEWED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        justification=justification,
    )


@transaction.atomic(durable=True)
def referral_triage_and_allocate(
    *,
    referral: Referral,
    actor: User,
    grading: dict[str, Any] | None,
    to_org: Organisation | None,
    instructions: str = "",
    expect_version: str | None = None,
) -> Task | None:
    """One decision on the referral page: (re)grade and/or allocate. Both happen or neither,
    and neither if the referral changed since the page was opened (``expect_version``)."""
    if grading is None and to_org is None:
        raise DomainError("Grade the referral, allocate it, or both", code="nothing_to_do")
    if grading is not None:
        referral = referral_triage(referral=referral, actor=actor, expect_version=expect_version, **grading)
        expect_version = None  # checked once, on the view the person decided on
    if to_org is None:
        return None
    return task_allocate(
        referral=referral,
        to_org=to_org,
        actor=actor,
        instructions=instructions,
        expect_version=expect_version,
    )


@transaction.atomic(durable=True)
def task_cancel(*, task: Task, actor: User, reason: str) -> Task:
    """The hub closes a declined task it will not move (the holder can then be offered the
    referral again). Only a declined task; the reason is kept in the trail."""
    task = _lock_task(task)
    authorize(actor, Act.TASK_CANCEL, task)
    if not reason.strip():
        raise DomainError("Say why the task is cancelled", field="reason")
    task.status = Task.Status.CANCELLED
    task.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TASK_CANCELLED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"status": ["declined", "cancelled"], "holder": task.assignee_org.code},
        justification=reason.strip(),
    )
    return task
