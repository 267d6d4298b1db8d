"""Work by the spoke holding a task: accept, decline, leads."""

from __future__ import annotations

from django.db import transaction

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import Task, User
from hub.policies.rules import Act, authorize
from hub.services.alerts import alerts_reschedule, notify_hub
from hub.services.audit import audit_record, audit_task_records_read
from hub.services.locks import task_lock_as_seen
from hub.services.permissions import task_revoke_all
from spokes.models import Lead
from spokes.selectors import leads_of


@transaction.atomic(durable=True)
def task_accept(*, task: Task, actor: User) -> Task:
    """The holder takes responsibility: records who accepted and when (the accept-by clock stops)."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_ACCEPT, task)
    task.status = Task.Status.ACCEPTED
    task.accepted_at = db_now()
    task.accepted_by = actor
    task.save(update_fields=["status", "accepted_at", "accepted_by", "updated_at"])
    alerts_reschedule(task=task)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_ACCEPTED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"status": ["offered", "accepted"]},
    )
    return task


@transaction.atomic(durable=True)
def task_decline(*, task: Task, actor: User, reason: str, note: str = "") -> Task:
    """The holder declines with a coded reason; the hub then reassigns it. Declining is for an
    offered task only: once accepted, the spoke records an outcome or asks the hub to move it.
    The decliner's access to the task and its referral ends in the same transaction."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_DECLINE, task)
    if reason not in Task.DeclineReason.values:
        raise DomainError(
            f"Unknown reason {reason!r}; choose one of: {', '.join(Task.DeclineReason.values)}",
            field="reason",
        )
    if reason == Task.DeclineReason.OTHER and not note.strip():
        raise DomainError("Explain the reason in a note when it is 'other'", field="note")
    task.status = Task.Status.DECLINED
    task.declined_at = db_now()
    task.decline_reason = reason
    task.decline_note = note
    task.save(update_fields=["status", "declined_at", "decline_reason", "decline_note", "updated_at"])
    # Need to know ends with the decline: the organisation (and its region's oversight) no
    # longer sees the task or its referral, from this commit on. The hub reassigns it.
    task_revoke_all(task=task)
    alerts_reschedule(task=task)
    notify_hub(
        task=task,
        kind="declined",
        subject=f"Task declined by {task.assignee_org.code}: reassign it",
        body=f"Reason: {Task.DeclineReason(reason).label}. The act-by deadline still runs.",
    )
    audit_record(
        actor=actor,
        action=AuditAction.TASK_DECLINED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"status": ["offered", "declined"], "reason": reason},
        justification=note,
    )
    return task


@transaction.atomic(durable=True)
def lead_create(*, task: Task, actor: User, kind: str, description: str, notes: str = "") -> Lead:
    task = task_lock_as_seen(task)
    authorize(actor, Act.LEAD_CREATE, task)
    lead = Lead.objects.create(task=task, kind=kind, description=description, notes=notes, created_by=actor)
    audit_record(
        actor=actor,
        action=AuditAction.LEAD_CREATED,
        object_type="lead",
        object_id=lead.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"kind": kind, "status": lead.status},
    )
    return lead


@transaction.atomic(durable=True)
def lead_update(
    *,
    lead: Lead,
    actor: User,
    status: str | None = None,
    notes: str | None = None,
    description: str | None = None,
) -> Lead:
    """Change a lead's status or text. The audit row names the fields changed, not their text."""
    task_lock_as_seen(lead.task)  # task before lead: the one lock order
    lead = Lead.objects.select_for_update(no_key=True, of=("self",)).select_related("task").get(pk=lead.pk)
    authorize(actor, Act.LEAD_UPDATE, lead)
    changes: dict[str, object] = {}
    fields: list[str] = []
    if status is not None and status != lead.status:
        changes["status"] = [lead.status, status]
        lead.status = status
        fields.append("status")
    for name, value in (("notes", notes), ("description", description)):
        if value is not None and value != getattr(lead, name):
            setattr(lead, name, value)
            fields.append(name)
            changes[name] = "changed"
    if not fields:
        return lead
    lead.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.LEAD_UPDATED,
        object_type="lead",
        object_id=lead.pk,
        referral_id=lead.task.referral_id,
        task_id=lead.task_id,
        changes=changes,
    )
    return lead


def lead_list_consult(*, actor: User, task: Task) -> list[Lead]:
    """A task's leads as shown to the actor (API list or task page): authorized, and audited as
    one ``lead.listed`` consultation naming the ids shown (an empty list is recorded too)."""
    authorize(actor, Act.LEAD_LIST, task, seen=True)
    leads = leads_of(task)
    audit_task_records_read(actor=actor, task=task, object_type="lead", ids=[lead.pk for lead in leads])
    return leads


def lead_view_consult(*, actor: User, lead: Lead) -> Lead:
    """One lead as shown to the actor, audited as ``lead.viewed``."""
    authorize(actor, Act.LEAD_VIEW, lead, seen=True)
    audit_record(
        actor=actor,
        action=AuditAction.LEAD_VIEWED,
        object_type="lead",
        object_id=lead.pk,
        referral_id=lead.task.referral_id,
        task_id=lead.task_id,
        changes={"ids": [str(lead.pk)]},
    )
    return lead
