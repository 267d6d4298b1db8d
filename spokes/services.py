"""Work by the spoke holding a task: accept, decline, leads."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError, InvalidTransition, NotPermitted
from hub.models import MediaHash, MediaMatch, Organisation, Risk, Task, User
from hub.policies.roles import EXPOSURE_ROLES, HANDOFF_RECEIVER_ROLES, SUPERVISOR_ROLES
from hub.policies.rules import Act, authorize
from hub.services.alerts import alerts_reschedule, notify_holder, notify_hub, notify_members
from hub.services.audit import audit_record, audit_task_records_read
from hub.services.locks import task_lock_as_seen
from hub.services.permissions import task_revoke_all
from spokes.models import (
    Child,
    ChildCheck,
    ConferenceRequest,
    ExposureAlert,
    ExposureLog,
    ExternalRequest,
    Handoff,
    Lead,
    MediaReview,
    Reassessment,
    SuspectEvent,
    WelfareDebrief,
)
from spokes.selectors import children_of, leads_of, suspect_events_of, unchecked_reachable


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


# --- The victim-identification record ---------------------------------------------------------


@transaction.atomic(durable=True)
def child_add(
    *,
    task: Task,
    actor: User,
    reference: str,
    relation: str,
    access_route: str = "",
    is_identified: bool = False,
    is_located: bool = False,
) -> Child:
    """Record a child on an accepted task by the force's own pseudonymous reference."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.CHILD_ADD, task)
    if not reference.strip():
        raise DomainError("Give the child a reference (your own label, never a name)", field="reference")
    if Child.objects.filter(task=task, reference=reference).exists():
        raise DomainError(f"This task already has a child {reference!r}", field="reference")
    child = Child.objects.create(
        task=task, reference=reference, relation=relation, access_route=access_route,
        is_identified=is_identified, is_located=is_located, created_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor,
        action=AuditAction.CHILD_ADDED,
        object_type="child",
        object_id=child.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"relation": relation, "access_route": access_route, "identified": is_identified,
                 "located": is_located},
    )  # fmt: skip
    return child


@transaction.atomic(durable=True)
def child_check(
    *, child: Child, actor: User, kind: str, result: str, checked_at: datetime | None = None
) -> ChildCheck:
    """Record a check made on a child (safe and well, a strategy discussion, …)."""
    task = task_lock_as_seen(child.task)
    child = Child.objects.select_related("task").get(pk=child.pk)
    authorize(actor, Act.CHILD_CHECK, child)
    now = db_now()
    checked_at = checked_at or now
    if checked_at > now + timedelta(minutes=5):
        raise DomainError("A check cannot be dated in the future", field="checked_at")
    if not result.strip():
        raise DomainError("Say what the check found", field="result")
    check = ChildCheck.objects.create(
        child=child, kind=kind, result=result, checked_at=checked_at, checked_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.CHILD_CHECKED,
        object_type="child",
        object_id=child.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"kind": kind, "checked_at": checked_at.isoformat()},
    )
    return check


@transaction.atomic(durable=True)
def suspect_event_record(
    *,
    task: Task,
    actor: User,
    kind: str,
    occurred_at: datetime | None = None,
    override_reason: str = "",
    suicide_risk_flagged: bool = False,
    family_signposted: bool = False,
) -> SuspectEvent:
    """Record what happened to the suspect. Bail or release while a child the suspect can reach
    has no check is refused (409, naming the children) unless a supervisor overrides with a
    reason, which is audited and tells the hub."""
    task = task_lock_as_seen(task)
    actor_ctx = authorize(actor, Act.SUSPECT_EVENT_RECORD, task)
    now = db_now()
    occurred_at = occurred_at or now
    if occurred_at > now + timedelta(minutes=5):
        raise DomainError("This has not happened yet: give the time it did", field="occurred_at")
    unchecked = unchecked_reachable(task) if kind in SuspectEvent.RELEASES else []
    if unchecked and not override_reason.strip():
        raise InvalidTransition(
            "Check the children the suspect can reach before a bail or release: "
            + ", ".join(child.reference for child in unchecked),
            code="children_unchecked",
            details={"unchecked_children": [str(child.pk) for child in unchecked]},
        )
    if unchecked and (actor_ctx is None or actor_ctx.role not in SUPERVISOR_ROLES):
        raise NotPermitted("Only a supervisor can record a release before every reachable child is checked")
    event = SuspectEvent.objects.create(
        task=task, kind=kind, occurred_at=occurred_at, override_reason=override_reason if unchecked else "",
        unchecked_at_the_time=[str(child.pk) for child in unchecked], recorded_by=actor,
        suicide_risk_flagged=suicide_risk_flagged, family_signposted=family_signposted,
    )  # fmt: skip
    if unchecked:
        ref = f"{task.referral.agency.code} {task.referral.external_id}"
        notify_hub(
            kind="release_override",
            task=task,
            subject=f"Suspect on {ref} {SuspectEvent.Kind(kind).label.lower()} with "
            f"{len(unchecked)} reachable child(ren) unchecked",
            body=f"Overridden by a supervisor of {task.assignee_org.code}: {override_reason[:300]}",
        )
    audit_record(
        actor=actor,
        action=AuditAction.SUSPECT_EVENT_RECORDED,
        object_type="suspect_event",
        object_id=event.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"kind": kind, "occurred_at": occurred_at.isoformat(),
                 "unchecked_reachable_children": event.unchecked_at_the_time,
                 "suicide_risk_flagged": suicide_risk_flagged, "family_signposted": family_signposted},
        justification=override_reason if unchecked else "",
    )  # fmt: skip
    return event


@transaction.atomic(durable=True)
def task_reassess(
    *,
    task: Task,
    actor: User,
    risk: str,
    rationale: str,
    access_to_children: list[str] | None = None,
    risk_factors: list[str] | None = None,
    offence_type: str = "",
) -> Reassessment:
    """The holder's own assessment of the risk, kept beside the hub's grade (which does not
    change). What differs from the hub's grading is recorded, audited and, when anything does,
    sent to the hub's coordinators (``risk_reassessed``) so they can re-grade."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_REASSESS, task)
    if not rationale.strip():
        raise DomainError("Say what the re-assessment rests on", field="rationale")
    referral = task.referral
    hub = {
        "risk": referral.risk,
        "access_to_children": sorted(referral.access_to_children),
        "risk_factors": sorted(referral.risk_factors),
        "offence_type": referral.triage_offence_type or referral.offence_type,
    }
    mine = {
        "risk": risk,
        "access_to_children": hub["access_to_children"]
        if access_to_children is None
        else sorted(set(access_to_children)),
        "risk_factors": hub["risk_factors"] if risk_factors is None else sorted(set(risk_factors)),
        "offence_type": offence_type or hub["offence_type"],
    }
    differs = [name for name in mine if mine[name] != hub[name]]
    made = Reassessment.objects.create(
        task=task, organisation=task.assignee_org, rationale=rationale.strip(), differs_from_hub=differs,
        assessed_by=actor, **mine,
    )  # fmt: skip
    if differs:
        ref = f"{referral.agency.code} {referral.external_id}"
        hub_risk = Risk(referral.risk).label.lower() if referral.risk else "no"
        notify_hub(
            kind="risk_reassessed",
            task=task,
            subject=f"{task.assignee_org.code} re-assessed {ref}: {Risk(risk).label.lower()} risk "
            f"(hub: grade {referral.grade}, {hub_risk} risk)",
            body=f"Differs on {', '.join(name.replace('_', ' ') for name in differs)}. {rationale[:300]}",
        )
    audit_record(
        actor=actor,
        action=AuditAction.TASK_REASSESSED,
        object_type="reassessment",
        object_id=made.pk,
        referral_id=referral.pk,
        task_id=task.pk,
        changes={"hub": hub, "holder": mine, "differs": differs},
        justification=rationale.strip(),
    )
    return made


def reassessments_consult(*, actor: User, task: Task) -> list[Reassessment]:
    """The task's re-assessments as shown to the actor, audited as a consultation."""
    authorize(actor, Act.TASK_VIEW, task, seen=True)
    rows = list(
        task.reassessments.select_related("organisation", "assessed_by").order_by("assessed_at", "id")
    )
    audit_task_records_read(actor=actor, task=task, object_type="reassessment", ids=[row.pk for row in rows])
    return rows


def victim_record_consult(*, actor: User, task: Task) -> tuple[list[Child], list[SuspectEvent]]:
    """A task's children (with their checks) and suspect events as shown to the actor, audited
    as consultations (``child.listed``, ``suspect_event.listed``), empty lists included."""
    authorize(actor, Act.CHILD_LIST, task, seen=True)
    children = children_of(task)
    events = suspect_events_of(task)
    audit_task_records_read(actor=actor, task=task, object_type="child", ids=[c.pk for c in children])
    audit_task_records_read(actor=actor, task=task, object_type="suspect_event", ids=[e.pk for e in events])
    return children, events


def victims_agree_with_children(task: Task, values: dict[str, object]) -> None:
    """An outcome's victims identified cannot exceed the children identified on the task,
    once the force records children there (a task without child records is not checked, so a
    v1 client's outcome is accepted as it is)."""
    children = Child.objects.filter(task=task)
    if not children.exists():
        return
    identified = children.filter(is_identified=True).count()
    victims = int(values.get("victims_identified") or 0)  # type: ignore[call-overload]
    if victims > identified:
        raise DomainError(
            f"victims_identified is {victims} but the task records {identified} identified child(ren): "
            "record the children first, or correct victims_identified",
            field="victims_identified",
        )


# --- Hand-offs ----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def handoff_offer(
    *,
    child: Child,
    actor: User,
    to_org: Organisation,
    note: str = "",
    lawful_basis: str = "",
    basis_reason: str = "",
) -> Handoff:
    """Hand a child's safeguarding to another organisation known to VIHub. The receiver is told
    at once (``handoff_offered``) and sees the child record only.

    The consent gate (Primero's): an agency outside policing receives a child only with consent
    or with the sender's reason to share without it; police, regions and the hub share for a
    policing purpose, which is the default."""
    task = task_lock_as_seen(child.task)
    child = Child.objects.select_related("task").get(pk=child.pk)
    authorize(actor, Act.HANDOFF_OFFER, child)
    if to_org.pk == task.assignee_org_id or not to_org.is_active:
        raise DomainError(f"{to_org.code} cannot receive this hand-off", field="to_org")
    if Handoff.objects.filter(child=child, status=Handoff.Status.PENDING).exists():
        raise InvalidTransition(
            "This child already has a hand-off waiting for an answer", code="handoff_pending"
        )
    basis = _lawful_basis(to_org, lawful_basis, basis_reason)
    now = db_now()
    handoff = Handoff.objects.create(
        child=child, from_org=task.assignee_org, to_org=to_org, note=note, created_by=actor,
        lawful_basis=basis, basis_reason=basis_reason.strip(),
        answer_due_at=now + settings.VIHUB_HANDOFF_ANSWER_WITHIN,
    )  # fmt: skip
    notify_members(
        org_ids=[to_org.pk],
        roles=set(HANDOFF_RECEIVER_ROLES),
        kind="handoff_offered",
        subject=f"{task.assignee_org.code} hands you child {child.reference}: accept or decline",
        body=f"Answer by {handoff.answer_due_at:%Y-%m-%d %H:%M} UTC. Hand-off {handoff.pk}.",
    )
    audit_record(
        actor=actor,
        action=AuditAction.HANDOFF_OFFERED,
        object_type="handoff",
        object_id=handoff.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        recipient=to_org.code,
        changes={
            "child": str(child.pk),
            "from": task.assignee_org.code,
            "to": to_org.code,
            "lawful_basis": basis,
        },
        justification=basis_reason.strip(),
    )
    return handoff


def _lawful_basis(to_org: Organisation, lawful_basis: str, basis_reason: str) -> str:
    """The consent gate: which basis a hand-off to ``to_org`` shares the child's record on."""
    basis = Handoff.LawfulBasis
    gated = to_org.kind in Handoff.CONSENT_GATED_KINDS
    if not lawful_basis:
        if gated:
            raise DomainError(
                f"{to_org.name} is outside policing: say whether the child or their family consented, "
                "or why you share without consent",
                field="lawful_basis",
            )
        return basis.POLICING_PURPOSE
    if lawful_basis not in basis.values:
        raise DomainError(f"Unknown lawful basis {lawful_basis!r}", field="lawful_basis")
    if gated and lawful_basis == basis.POLICING_PURPOSE:
        raise DomainError(
            f"{to_org.name} is outside policing: a policing purpose does not cover it",
            field="lawful_basis",
        )
    if lawful_basis == basis.SAFEGUARDING_DUTY and not basis_reason.strip():
        raise DomainError("Say why the record is shared without consent", field="basis_reason")
    return lawful_basis


@transaction.atomic(durable=True)
def handoff_revoke(*, handoff: Handoff, actor: User, reason: str) -> Handoff:
    """The sender withdraws an offer nobody has answered (the child stays with the task's
    holder); the receiver is told. Refused once answered."""
    handoff = (
        Handoff.objects.select_for_update(no_key=True, of=("self",))
        .select_related("child__task__referral", "from_org", "to_org")
        .get(pk=handoff.pk)
    )
    authorize(actor, Act.HANDOFF_REVOKE, handoff)
    if not reason.strip():
        raise DomainError("Say why you withdraw the hand-off", field="reason")
    handoff.status = Handoff.Status.REVOKED
    handoff.revoke_reason, handoff.revoked_by, handoff.revoked_at = reason.strip(), actor, db_now()
    handoff.save(update_fields=["status", "revoke_reason", "revoked_by", "revoked_at"])
    task = handoff.child.task
    notify_members(
        org_ids=[handoff.to_org_id],
        roles=set(HANDOFF_RECEIVER_ROLES),
        kind="handoff_revoked",
        subject=f"{handoff.from_org.code} withdrew the hand-off of child {handoff.child.reference}",
        body=reason.strip()[:300],
    )
    audit_record(
        actor=actor,
        action=AuditAction.HANDOFF_REVOKED,
        object_type="handoff",
        object_id=handoff.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        recipient=handoff.to_org.code,
        changes={"child": str(handoff.child_id), "status": handoff.status, "to": handoff.to_org.code},
        justification=reason.strip(),
    )
    return handoff


@transaction.atomic(durable=True)
def handoff_answer(*, handoff: Handoff, actor: User, accept: bool, reason: str = "") -> Handoff:
    """The receiver accepts (it now holds the child's safeguarding) or declines with a reason
    (the sender keeps it); the sender is told. A second answer is refused."""
    handoff = (
        Handoff.objects.select_for_update(no_key=True, of=("self",))
        .select_related("child__task__referral", "from_org", "to_org")
        .get(pk=handoff.pk)
    )
    authorize(actor, Act.HANDOFF_ANSWER, handoff)
    if not accept and not reason.strip():
        raise DomainError("Say why you decline the hand-off", field="reason")
    handoff.status = Handoff.Status.ACCEPTED if accept else Handoff.Status.DECLINED
    handoff.answer_reason, handoff.answered_by, handoff.answered_at = reason, actor, db_now()
    handoff.save(update_fields=["status", "answer_reason", "answered_by", "answered_at"])
    task = handoff.child.task
    notify_holder(
        task=task,
        kind="handoff_answered",
        subject=f"{handoff.to_org.code} {handoff.status} the hand-off of child {handoff.child.reference}",
        body=reason[:300],
    )
    audit_record(
        actor=actor,
        action=AuditAction.HANDOFF_ACCEPTED if accept else AuditAction.HANDOFF_DECLINED,
        object_type="handoff",
        object_id=handoff.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"child": str(handoff.child_id), "status": handoff.status, "by_org": handoff.to_org.code},
        justification=reason,
    )
    return handoff


def handoffs_overdue(*, now: datetime | None = None) -> int:
    """Tell the sender's supervisors and the hub of every hand-off still waiting past its time
    (once each: the claim is the ``overdue_notified_at`` compare-and-set)."""
    now = now or db_now()
    told = 0
    due = Handoff.objects.filter(
        status=Handoff.Status.PENDING, overdue_notified_at__isnull=True, answer_due_at__lte=now
    ).values_list("pk", flat=True)[:200]
    for handoff_id in list(due):
        with transaction.atomic():
            if not Handoff.objects.filter(pk=handoff_id, overdue_notified_at__isnull=True).update(
                overdue_notified_at=now
            ):
                continue
            handoff = Handoff.objects.select_related(
                "child__task__referral__agency", "from_org", "to_org"
            ).get(pk=handoff_id)
            task = handoff.child.task
            subject = (
                f"Hand-off of child {handoff.child.reference} to {handoff.to_org.code} still unanswered "
                f"({task.referral.agency.code} {task.referral.external_id})"
            )
            notify_members(
                org_ids=[handoff.from_org_id], roles=set(SUPERVISOR_ROLES), kind="handoff_overdue",
                subject=subject, body=f"Waiting since {handoff.created_at:%Y-%m-%d %H:%M} UTC.",
            )  # fmt: skip
            notify_hub(kind="handoff_overdue", task=task, subject=subject, body="Nobody has answered it yet.")
            audit_record(
                actor=None,
                action=AuditAction.HANDOFF_OVERDUE,
                object_type="handoff",
                object_id=handoff.pk,
                referral_id=task.referral_id,
                task_id=task.pk,
                changes={"to": handoff.to_org.code, "due_at": handoff.answer_due_at.isoformat()},
            )
            told += 1
    return told


def _consulted(actor: User, act: Act, action: AuditAction, object_type: str, rows: list[Any]) -> list[Any]:
    """A list shown to someone the rulebook lets see it, audited as one consultation naming
    every row (an empty list too)."""
    authorize(actor, act)
    audit_record(
        actor=actor, action=action, object_type=object_type, changes={"ids": [str(r.pk) for r in rows]}
    )
    return rows


def handoff_list_consult(*, actor: User, handoffs: list[Handoff]) -> list[Handoff]:
    return _consulted(actor, Act.HANDOFF_LIST, AuditAction.HANDOFF_LISTED, "handoff", handoffs)


# --- Requests to platforms and overseas --------------------------------------------------------


@transaction.atomic(durable=True)
def external_request_add(
    *,
    task: Task,
    actor: User,
    kind: str,
    counterpart: str,
    reference: str = "",
    sent_at: datetime | None = None,
) -> ExternalRequest:
    """Record a request made outside VIHub (a platform disclosure, an MLAT request)."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.REQUEST_ADD, task)
    now = db_now()
    sent_at = sent_at or now
    if sent_at > now + timedelta(minutes=5):
        raise DomainError("A request cannot be sent in the future", field="sent_at")
    if not counterpart.strip():
        raise DomainError("Say who the request went to", field="counterpart")
    request = ExternalRequest.objects.create(
        task=task, kind=kind, counterpart=counterpart, reference=reference, sent_at=sent_at, created_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.EXTERNAL_REQUEST_SENT,
        object_type="external_request",
        object_id=request.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        recipient=counterpart[:200],
        changes={"kind": kind, "sent_at": sent_at.isoformat()},
    )
    return request


@transaction.atomic(durable=True)
def external_request_update(*, request: ExternalRequest, actor: User, event: str) -> ExternalRequest:
    """Record that the request was chased again, or answered (the end of its wait)."""
    task_lock_as_seen(request.task)
    request = (
        ExternalRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("task")
        .get(pk=request.pk)
    )
    authorize(actor, Act.REQUEST_UPDATE, request)
    now = db_now()
    if event == "chased":
        request.chased_at = now
        action = AuditAction.EXTERNAL_REQUEST_CHASED
    elif event == "answered":
        request.answered_at = now
        action = AuditAction.EXTERNAL_REQUEST_ANSWERED
    else:
        raise DomainError("Say whether the request was chased or answered", field="event")
    request.save(update_fields=["chased_at", "answered_at"])
    audit_record(
        actor=actor,
        action=action,
        object_type="external_request",
        object_id=request.pk,
        referral_id=request.task.referral_id,
        task_id=request.task_id,
        changes={"waited_days": round((now - request.sent_at).total_seconds() / 86400, 1)},
    )
    return request


def external_requests_consult(*, actor: User, requests: list[ExternalRequest]) -> list[ExternalRequest]:
    return _consulted(
        actor, Act.REQUEST_QUEUE, AuditAction.EXTERNAL_REQUEST_LISTED, "external_request", requests
    )


# --- Deconfliction conferences -----------------------------------------------------------------


@transaction.atomic(durable=True)
def conference_request(*, task: Task, actor: User, note: str = "") -> ConferenceRequest:
    """A holder whose task's media matches other cases asks the hub to convene a deconfliction
    conference; the hub is told (``conference_requested``). One waiting request per task."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.CONFERENCE_REQUEST, task)  # matches, accepted, none waiting (the registry)
    made = ConferenceRequest.objects.create(task=task, note=note.strip(), requested_by=actor)
    ref = f"{task.referral.agency.code} {task.referral.external_id}"
    notify_hub(
        kind="conference_requested",
        task=task,
        subject=f"{task.assignee_org.code} asks for a deconfliction conference on {ref}",
        body=f"{task.referral.media_match_count} media match(es). {note.strip()[:300]}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONFERENCE_REQUESTED,
        object_type="conference_request",
        object_id=made.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"matches": task.referral.media_match_count},
        justification=note.strip(),
    )
    return made


def _matched_holders(task: Task) -> list[Organisation]:
    """The holders of open tasks on the referrals sharing media with the task's referral."""
    pairs = MediaMatch.objects.filter(Q(referral_id=task.referral_id) | Q(other_referral_id=task.referral_id))
    others = {rid for pair in pairs.values_list("referral_id", "other_referral_id") for rid in pair if rid}
    others.discard(task.referral_id)
    return list(
        Organisation.objects.filter(
            tasks_held__referral_id__in=others, tasks_held__status__in=Task.RUNNING_STATUSES
        )
        .exclude(pk=task.assignee_org_id)
        .distinct()
        .order_by("code")
    )


@transaction.atomic(durable=True)
def conference_answer(
    *, request: ConferenceRequest, actor: User, grant: bool, reason: str = ""
) -> ConferenceRequest:
    """The hub grants (the asking holder and the holders of the matching cases are introduced
    to each other, a disclosure in the audit trail) or refuses with a reason."""
    request = (
        ConferenceRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("task__referral__agency", "task__assignee_org")
        .get(pk=request.pk)
    )
    authorize(actor, Act.CONFERENCE_ANSWER, request)
    if not grant and not reason.strip():
        raise DomainError("Say why you refuse the conference", field="reason")
    request.status = ConferenceRequest.Status.GRANTED if grant else ConferenceRequest.Status.REFUSED
    request.answered_by, request.answered_at, request.answer_reason = actor, db_now(), reason.strip()
    request.save(update_fields=["status", "answered_by", "answered_at", "answer_reason"])
    task = request.task
    ref = f"{task.referral.agency.code} {task.referral.external_id}"
    others = _matched_holders(task) if grant else []
    if grant:
        names = ", ".join(org.name for org in others) or "the hub only (no other force holds a matching case)"
        notify_holder(
            task=task,
            kind="conference_granted",
            subject=f"Deconfliction conference on {ref} granted",
            body=f"With {names}. {reason.strip()[:300]}",
        )
        notify_members(
            org_ids=[org.pk for org in others], roles=set(HANDOFF_RECEIVER_ROLES), kind="conference_granted",
            subject=f"The hub convenes a deconfliction conference with {task.assignee_org.name}",
            body=f"Your case shares media with one {task.assignee_org.name} holds. {reason.strip()[:300]}",
        )  # fmt: skip
    else:
        notify_holder(
            task=task,
            kind="conference_refused",
            subject=f"Deconfliction conference on {ref} refused",
            body=reason.strip()[:300],
        )
    audit_record(
        actor=actor,
        action=AuditAction.CONFERENCE_GRANTED if grant else AuditAction.CONFERENCE_REFUSED,
        object_type="conference_request",
        object_id=request.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        recipient=",".join([task.assignee_org.code, *(org.code for org in others)]),
        changes={"status": request.status, "introduced": [org.code for org in others]},
        justification=reason.strip(),
    )
    return request


def conference_list_consult(*, actor: User, requests: list[ConferenceRequest]) -> list[ConferenceRequest]:
    return _consulted(
        actor, Act.CONFERENCE_LIST, AuditAction.CONFERENCE_LISTED, "conference_request", requests
    )


# --- Media review on a task ---------------------------------------------------------------------


def media_consult(*, actor: User, task: Task) -> list[dict[str, Any]]:
    """The referral's media items with this task's review of each, audited as a consultation."""
    authorize(actor, Act.MEDIA_LIST, task, seen=True)
    items = list(MediaHash.objects.filter(referral_id=task.referral_id).order_by("id"))
    reviews = {
        review.media_id: review
        for review in MediaReview.objects.filter(task=task).select_related("reviewed_by")
    }
    audit_task_records_read(actor=actor, task=task, object_type="media", ids=[item.pk for item in items])
    return [{"item": item, "review": reviews.get(item.pk)} for item in items]


@transaction.atomic(durable=True)
def media_review(*, task: Task, actor: User, sha256: str, category: str = "") -> MediaReview:
    """Record that the actor reviewed one media item of the task's referral (once per task)."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.MEDIA_REVIEW, task)
    item = MediaHash.objects.filter(referral_id=task.referral_id, sha256=sha256.lower()).first()
    if item is None:
        raise DomainError("No media item of this referral has that sha256", field="sha256")
    earlier = MediaReview.objects.filter(task=task, media=item).select_related("reviewed_by").first()
    if earlier is not None:
        raise InvalidTransition(
            f"Already reviewed by {earlier.reviewed_by.display_name} "
            f"at {earlier.reviewed_at:%Y-%m-%d %H:%M} UTC",
            code="reviewed",
        )
    made = MediaReview.objects.create(task=task, media=item, category=category, reviewed_by=actor)
    audit_record(
        actor=actor,
        action=AuditAction.MEDIA_REVIEWED,
        object_type="media",
        object_id=str(item.pk),
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"sha256": item.sha256, "category": category},
    )
    return made


# --- Exposure (officer wellbeing) --------------------------------------------------------------

EXPOSURE_LIMIT_MINUTES = 240  # guidance: no more than four hours a day reviewing material


def uk_today(at: datetime | None = None) -> date:
    return timezone.localtime(at or db_now()).date()


def exposure_minutes(user: User, day: date) -> int:
    return int(ExposureLog.objects.filter(user=user, day=day).aggregate(total=Sum("minutes"))["total"] or 0)


@transaction.atomic(durable=True)
def exposure_log(*, actor: User, task: Task, minutes: int) -> ExposureLog:
    """Log the actor's own media-review minutes on a task they see. Passing four hours in a UK
    day tells their organisation's supervisors (``exposure_limit``), once that day."""
    authorize(actor, Act.EXPOSURE_LOG, task)
    if not 1 <= minutes <= 720:
        raise DomainError("Log between 1 and 720 minutes at a time", field="minutes")
    User.objects.select_for_update(no_key=True).filter(pk=actor.pk).first()  # one person's day at a time
    day = uk_today()
    made = ExposureLog.objects.create(user=actor, task=task, minutes=minutes, day=day)
    total = exposure_minutes(actor, day)
    audit_record(
        actor=actor,
        action=AuditAction.EXPOSURE_LOGGED,
        object_type="exposure",
        object_id=str(made.pk),
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"minutes": minutes, "today": total, "day": day.isoformat()},
    )
    if total > EXPOSURE_LIMIT_MINUTES and not ExposureAlert.objects.filter(user=actor, day=day).exists():
        ExposureAlert.objects.create(user=actor, day=day, minutes=total)
        membership = getattr(actor, "membership", None)
        told = notify_members(
            org_ids=[membership.organisation_id] if membership else [],
            roles=set(SUPERVISOR_ROLES),
            kind="exposure_limit",
            subject=f"{actor.display_name} has reviewed material for "
            f"{total // 60} h {total % 60:02d} min today",
            body="Guidance is no more than four hours a day, never grading alone, and a monthly debrief. "
            "Check in with them and record a welfare review.",
        )
        audit_record(
            actor=actor,
            action=AuditAction.EXPOSURE_LIMIT_PASSED,
            object_type="exposure",
            changes={"today": total, "day": day.isoformat(), "told": [n.recipient.username for n in told]},
        )
    return made


def exposure_today(*, actor: User) -> dict[str, Any]:
    authorize(actor, Act.EXPOSURE_VIEW)
    day = uk_today()
    entries = list(
        ExposureLog.objects.filter(user=actor, day=day)
        .select_related("task__referral__agency")
        .order_by("logged_at")
    )
    total = sum(entry.minutes for entry in entries)
    return {
        "day": day,
        "minutes": total,
        "limit": EXPOSURE_LIMIT_MINUTES,
        "over_limit": total > EXPOSURE_LIMIT_MINUTES,
        "items_reviewed": MediaReview.objects.filter(
            reviewed_by=actor, reviewed_at__gte=_day_start(day)
        ).count(),
        "entries": entries,
    }


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def exposure_header(user: Any) -> dict[str, Any]:
    """The header's "reviewed today" figure for people who review material (page context)."""
    membership = getattr(user, "membership", None) if getattr(user, "is_authenticated", False) else None
    if membership is None or membership.role not in EXPOSURE_ROLES:
        return {}
    minutes = exposure_minutes(user, uk_today())
    return {"exposure_today": {"minutes": minutes, "limit": EXPOSURE_LIMIT_MINUTES,
                               "over": minutes > EXPOSURE_LIMIT_MINUTES}}  # fmt: skip


def welfare_team(*, actor: User) -> list[dict[str, Any]]:
    """For a supervisor: each person of their organisation who reviews material, with minutes
    today and this week, days over the limit in the last 30 days, and the last debrief. Audited."""
    authorize(actor, Act.WELFARE_TEAM)
    membership = actor.membership
    today = uk_today()
    week_start = today - timedelta(days=today.weekday())
    people = list(
        User.objects.filter(
            is_active=True, membership__organisation_id=membership.organisation_id,
            membership__role__in=EXPOSURE_ROLES,
        ).order_by("last_name", "first_name", "username")
    )  # fmt: skip
    logs = ExposureLog.objects.filter(user__in=people, day__gte=today - timedelta(days=30))
    per_day: dict[Any, dict[date, int]] = {}
    for user_id, day, minutes in logs.values_list("user_id", "day", "minutes"):
        days_of = per_day.setdefault(user_id, {})
        days_of[day] = days_of.get(day, 0) + minutes
    last: dict[Any, WelfareDebrief] = {}
    for debrief in WelfareDebrief.objects.filter(person__in=people).order_by("person_id", "-held_on"):
        last.setdefault(debrief.person_id, debrief)
    reviewed: dict[Any, int] = {}
    for user_id in MediaReview.objects.filter(
        reviewed_by__in=people, reviewed_at__gte=_day_start(today)
    ).values_list("reviewed_by_id", flat=True):
        reviewed[user_id] = reviewed.get(user_id, 0) + 1
    rows = []
    for person in people:
        days = per_day.get(person.pk, {})
        rows.append({
            "person": person,
            "today": days.get(today, 0),
            "week": sum(m for day, m in days.items() if day >= week_start),
            "days_over_30": sum(1 for m in days.values() if m > EXPOSURE_LIMIT_MINUTES),
            "items_today": reviewed.get(person.pk, 0),
            "last_debrief": last.get(person.pk),
        })  # fmt: skip
    audit_record(
        actor=actor,
        action=AuditAction.WELFARE_VIEWED,
        object_type="welfare",
        changes={"people": [person.username for person in people]},
    )
    return rows


@transaction.atomic(durable=True)
def welfare_debrief_record(
    *, actor: User, person: User, kind: str, held_on: date, note: str = ""
) -> WelfareDebrief:
    authorize(actor, Act.WELFARE_DEBRIEF, person)
    if held_on > uk_today():
        raise DomainError("A debrief cannot be recorded before it is held", field="held_on")
    made = WelfareDebrief.objects.create(
        person=person, kind=kind, held_on=held_on, note=note.strip(), recorded_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.WELFARE_DEBRIEF_RECORDED,
        object_type="welfare_debrief",
        object_id=str(made.pk),
        changes={"person": person.username, "kind": kind, "held_on": held_on.isoformat()},
    )
    return made
