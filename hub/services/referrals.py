"""Referral intake, triage, non-actionable closure and closure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.constants import AuditAction
from hub.exceptions import DomainError, InvalidTransition
from hub.hooks import referral_event
from hub.jobs import after_commit
from hub.models import (
    MediaHash,
    Organisation,
    PdqEntry,
    Referral,
    Risk,
    Task,
    Team,
    TriageDecision,
    User,
    pdq_entry,
)
from hub.policies.rules import Act, authorize
from hub.selectors.prepared import Prepared
from hub.services.alerts import notify_holder, notify_team, task_clocks_tighten
from hub.services.audit import audit_record
from hub.services.locks import referral_lock
from hub.services.match_queue import media_match_soon
from hub.services.urgent import GRADE_1, URGENT_INTAKE, urgent_referral_raise
from hub.services.versions import version_check


class IntakeDetails(TypedDict, total=False):
    """The richer intake an agency may send (all optional): stored as sent."""

    platform: str
    incident_at: datetime
    offence_type: str
    reporter_type: str
    evidence_continuity: str


class MediaInput(TypedDict, total=False):
    sha256: str
    md5: str
    pdq: str
    first_generation: bool
    category: str


class Unset:
    """A parameter the caller did not send (distinct from None, which clears it)."""


UNSET = Unset()


@dataclass(frozen=True)
class IntakeResult:
    referral: Referral
    created: bool


def _lock(referral: Referral) -> Referral:
    return referral_lock(referral.pk)


def _require_status(referral: Referral, allowed: set[str], doing: str) -> None:
    if referral.status not in allowed:
        label = Referral.Status(referral.status).label
        raise InvalidTransition(f"Cannot {doing} a referral that is '{label}' ({referral.status})")


# An agency's referral by its own reference: looked up on every intake (compiled once).
_BY_REFERENCE: Prepared[Referral] = Prepared(
    lambda agency_id, external_id: Referral.objects.filter(agency_id=agency_id, external_id=external_id),
    agency_id=uuid.UUID,
    external_id=str,
)


def referral_create(
    *,
    agency: Organisation,
    external_id: str,
    actor: User,
    received_at: datetime | None = None,
    summary: str = "",
    suspect_force: Organisation | None = None,
    is_urgent: bool = False,
    media: list[MediaInput] | None = None,
    details: IntakeDetails | None = None,
) -> IntakeResult:
    """Record a referral once. A re-post of the same (agency, external_id) with the same body
    returns the existing referral with ``created=False``, also when two posts race: the unique
    constraint decides, and the loser reads the winner's row. A re-post with a different body
    is refused (409) with the differences: nothing is silently dropped or overwritten. Nothing
    is stored unless everything is. An agency posts only its own referrals; the hub may enter
    anyone's."""
    authorize(actor, Act.REFERRAL_CREATE, agency)
    sent: dict[str, object] = {
        "summary": summary,
        "suspect_force": suspect_force.code if suspect_force else None,
        "urgent": is_urgent,
        "media": _media_key(media or []),
    }
    if received_at is not None:
        sent["received_at"] = received_at
    details = details or {}
    sent.update(details)
    existing = _BY_REFERENCE.one(agency_id=agency.pk, external_id=external_id)
    if existing is not None:
        return _same_referral(existing, sent)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                agency=agency,
                external_id=external_id,
                received_at=received_at or timezone.now(),
                summary=summary,
                suspect_force=suspect_force,
                is_urgent=is_urgent,
                created_by=actor,
                **details,
            )
            items = MediaHash.objects.bulk_create(
                [
                    MediaHash(
                        referral=referral, sha256=m["sha256"], md5=m.get("md5", ""), pdq=m.get("pdq", ""),
                        is_first_generation=m.get("first_generation", False), category=m.get("category", ""),
                    )
                    for m in media or []
                ]
            )  # fmt: skip
            # Into the PDQ index at once; the match job runs after commit (hub.services.matching).
            PdqEntry.objects.bulk_create([pdq_entry(item.pdq, media=item) for item in items if item.pdq])
            if items:
                after_commit(media_match_soon, referral.pk)
            audit_record(
                actor=actor,
                action=AuditAction.REFERRAL_RECEIVED,
                object_type="referral",
                object_id=referral.pk,
                referral_id=referral.pk,
                changes={
                    "agency": agency.code,
                    "external_id": external_id,
                    "is_urgent": is_urgent,
                    "suspect_force": suspect_force.code if suspect_force else None,
                    "media_count": len(media or []),
                },
            )
            if is_urgent:
                urgent_referral_raise(referral=referral, reason=URGENT_INTAKE)
    except IntegrityError:
        winner = _BY_REFERENCE.one(agency_id=agency.pk, external_id=external_id)
        if winner is None:
            raise
        return _same_referral(winner, sent)
    return IntakeResult(referral, created=True)


def _media_key(media: list[MediaInput]) -> list[tuple[str, str, str, bool, str]]:
    return sorted(
        (
            m["sha256"],
            m.get("md5", ""),
            m.get("pdq", ""),
            m.get("first_generation", False),
            m.get("category", ""),
        )
        for m in media
    )


def _same_referral(existing: Referral, sent: dict[str, object]) -> IntakeResult:
    """The stored referral for a re-post, if the re-post says the same; else a 409 naming each
    field that differs, with what is stored and what was sent."""
    stored: dict[str, object] = {
        "summary": existing.summary,
        "suspect_force": existing.suspect_force.code if existing.suspect_force else None,
        "urgent": existing.is_urgent,
        "media": sorted(
            (m.sha256, m.md5, m.pdq, m.is_first_generation, m.category) for m in existing.media.all()
        ),
        "received_at": existing.received_at,
        **{name: getattr(existing, name) for name in IntakeDetails.__annotations__},
    }
    differences = {
        name: {"stored": stored[name], "sent": value} for name, value in sent.items() if stored[name] != value
    }
    if differences:
        raise InvalidTransition(
            f"{existing.external_id} was already received with different "
            f"{', '.join(sorted(differences))}; send the same body to retry, or a new external_id",
            code="external_id_conflict",
            details={"id": str(existing.pk), "differences": differences},
        )
    return IntakeResult(existing, created=False)


@transaction.atomic
def referral_triage(
    *,
    referral: Referral,
    actor: User,
    grade: int,
    risk: str,
    access_to_children: list[str],
    is_information_incomplete: bool,
    rationale: str,
    expect_version: str | None = None,
    relax_deadlines: bool = False,
    risk_factors: list[str] | None = None,
    missing_information: list[str] | None = None,
    offence_type: str | None = None,
    team: Team | None | Unset = UNSET,
) -> Referral:
    """Grade (or re-grade) a referral. Every grading is kept in ``triage_history`` with who,
    when and why; the referral carries the current one. Re-grading an allocated referral does
    not move deadlines already given to tasks (they are recorded in the audit trail).

    The prioritisation record (``risk_factors``, ``missing_information``, ``offence_type``, the
    ``team`` it is routed to) is kept as it was when a caller does not send it (None / UNSET),
    so a v1 client's re-grade never wipes it; ``team=None`` takes the referral off its team.
    Routing to a team tells its members."""
    referral = _lock(referral)
    authorize(actor, Act.REFERRAL_TRIAGE, referral)
    version_check(referral, expect_version)
    if not rationale.strip():
        raise DomainError("Give a rationale for the grading", field="rationale")
    factors = referral.risk_factors if risk_factors is None else sorted(set(risk_factors))
    missing = (
        referral.missing_information if missing_information is None else sorted(set(missing_information))
    )
    if not is_information_incomplete:
        missing = []
    offence = (
        (referral.triage_offence_type or referral.offence_type) if offence_type is None else offence_type
    )
    routed = referral.team if isinstance(team, Unset) else team
    if routed is not None and not routed.is_active:
        raise DomainError(f"{routed.name} no longer takes referrals", field="team")
    before = {
        "grade": referral.grade,
        "risk": referral.risk or None,
        "access_to_children": referral.access_to_children,
        "information_incomplete": referral.is_information_incomplete,
        "risk_factors": referral.risk_factors,
        "missing_information": referral.missing_information,
        "offence_type": referral.triage_offence_type,
        "team": referral.team.code if referral.team else None,
    }
    access = sorted(set(access_to_children))
    TriageDecision.objects.create(
        referral=referral,
        grade=grade,
        risk=risk,
        access_to_children=access,
        is_information_incomplete=is_information_incomplete,
        risk_factors=factors,
        missing_information=missing,
        offence_type=offence,
        team=routed,
        rationale=rationale,
        decided_by=actor,
    )
    newly_routed = routed is not None and routed.pk != referral.team_id
    referral.grade, referral.risk, referral.access_to_children = grade, risk, access
    referral.is_information_incomplete = is_information_incomplete
    referral.risk_factors, referral.missing_information = factors, missing
    referral.triage_offence_type, referral.team = offence, routed
    referral.triaged_at = timezone.now()
    fields = ["grade", "risk", "access_to_children", "is_information_incomplete", "risk_factors",
              "missing_information", "triage_offence_type", "team", "triaged_at", "updated_at"]  # fmt: skip
    if referral.status == Referral.Status.RECEIVED:
        referral.status = Referral.Status.TRIAGED
        fields.append("status")
    referral.save(update_fields=fields)
    after = {
        "grade": grade,
        "risk": risk,
        "access_to_children": access,
        "information_incomplete": is_information_incomplete,
        "risk_factors": factors,
        "missing_information": missing,
        "offence_type": offence,
        "team": routed.code if routed else None,
    }
    if newly_routed and routed is not None:
        notify_team(
            team=routed,
            referral=referral,
            kind="routed_to_team",
            subject=f"Referral {referral.agency.code} {referral.external_id} routed to {routed.name}",
            body=f"Grade {grade}, {Risk(risk).label.lower()} risk. {rationale[:200]}",
        )
    if before["grade"] is None:
        referral_event(referral, "referral.triaged")
    if grade == 1 and before["grade"] != 1:
        urgent_referral_raise(referral=referral, reason=GRADE_1)
    if before["grade"] is not None and (before["grade"], before["risk"]) != (grade, risk):
        _regrade_open_tasks(
            referral=referral, actor=actor, grade=grade, risk=risk, relax=relax_deadlines, reason=rationale
        )
    audit_record(
        actor=actor,
        action=AuditAction.REFERRAL_REGRADED if before["grade"] is not None else "referral.triaged",
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={"before": before, "after": after},
        justification=rationale,
    )
    return referral


def _regrade_open_tasks(
    *, referral: Referral, actor: User, grade: int, risk: str, relax: bool = False, reason: str = ""
) -> None:
    """Clocks only tighten: each running task's deadlines move earlier if the new grading
    gives less time, and its holder is told of the new grading either way. Locks the tasks
    after the referral (the one lock order)."""
    tasks = (
        Task.objects.select_for_update(no_key=True, of=("self",))
        .filter(referral=referral, status__in=Task.RUNNING_STATUSES)
        .select_related("assignee_org")
        .order_by("id")
    )
    ref = f"{referral.agency.code} {referral.external_id}"
    for task in tasks:
        moved = task_clocks_tighten(
            task=task, actor=actor, grade=grade, risk=risk, relax=relax, reason=reason
        )
        deadline = (
            f" Its deadlines moved: act by {task.due_at:%Y-%m-%d %H:%M} UTC."
            if moved
            else " Its deadlines are unchanged."
        )
        notify_holder(
            task=task,
            kind="task_regraded",
            subject=f"Task {ref} regraded to grade {grade} ({Risk(risk).label.lower()} risk)",
            body=f"The hub changed the grading.{deadline}",
        )


@transaction.atomic(durable=True)
def referral_mark_non_actionable(*, referral: Referral, actor: User, reason: str, note: str) -> Referral:
    """Close a referral that cannot be acted on (informational, adult material, technical error)."""
    referral = _lock(referral)
    authorize(actor, Act.REFERRAL_NON_ACTIONABLE, referral)
    if reason not in Referral.NonActionableReason.values:
        raise DomainError(f"Unknown reason {reason!r}", field="reason")
    if not note.strip():
        raise DomainError("Say why the referral cannot be acted on", field="note")
    now = timezone.now()
    before_status = referral.status
    referral.status = Referral.Status.NON_ACTIONABLE
    referral.non_actionable_reason = reason
    referral.closure_note = note
    referral.closed_at = now
    referral.save(
        update_fields=["status", "non_actionable_reason", "closure_note", "closed_at", "updated_at"]
    )
    referral_event(referral, "referral.non_actionable")
    audit_record(
        actor=actor,
        action=AuditAction.REFERRAL_NON_ACTIONABLE,
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={"status": [before_status, Referral.Status.NON_ACTIONABLE], "reason": reason},
        justification=note,
    )
    return referral


def referral_record_outcome_facts(
    *,
    referral: Referral,
    actor: User,
    suspect_has_access_to_children: bool | None,
    is_safeguarding_needed: bool | None,
) -> Referral:
    """Hook for the safeguarding app: move the (locked) referral to outcome_recorded and keep
    the two facts closure depends on. Must run inside the caller's transaction."""
    _require_status(referral, {Referral.Status.ALLOCATED}, "record an outcome for")
    referral.status = Referral.Status.OUTCOME_RECORDED
    referral.suspect_has_access_to_children = suspect_has_access_to_children
    referral.is_safeguarding_needed = is_safeguarding_needed
    referral.save(
        update_fields=["status", "suspect_has_access_to_children", "is_safeguarding_needed", "updated_at"]
    )
    return referral


@transaction.atomic(durable=True)
def referral_close(
    *,
    referral: Referral,
    actor: User,
    note: str = "",
    suspect_has_access_to_children: bool | None = None,
    is_safeguarding_needed: bool | None = None,
) -> Referral:
    """Close a referral after its outcome. Refused until someone has recorded whether the
    suspect has access to children and whether safeguarding was needed: the outcome may have
    come without them (a v1 body), so the hub can give them here (recorded in the closure's
    audit row). A closure still missing one is refused whole: nothing is stored."""
    referral = _lock(referral)
    authorize(actor, Act.REFERRAL_CLOSE, referral)
    facts: dict[str, bool] = {}
    if suspect_has_access_to_children is not None and referral.suspect_has_access_to_children is None:
        referral.suspect_has_access_to_children = facts["suspect_has_access_to_children"] = (
            suspect_has_access_to_children
        )
    if is_safeguarding_needed is not None and referral.is_safeguarding_needed is None:
        referral.is_safeguarding_needed = facts["safeguarding_needed"] = is_safeguarding_needed
    missing: list[str] = []
    if referral.suspect_has_access_to_children is None:
        missing.append("whether the suspect has access to children")
    if referral.is_safeguarding_needed is None:
        missing.append("whether safeguarding was needed")
    if missing:
        raise InvalidTransition("Record " + " and ".join(missing) + " before closing", code="checks_missing")
    referral.status = Referral.Status.CLOSED
    referral.closed_at = timezone.now()
    referral.closure_note = note
    referral.save(
        update_fields=[
            "status", "closed_at", "closure_note", "suspect_has_access_to_children",
            "is_safeguarding_needed", "updated_at",
        ]
    )  # fmt: skip
    referral_event(referral, "referral.closed")
    audit_record(
        actor=actor,
        action=AuditAction.REFERRAL_CLOSED,
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={"status": [Referral.Status.OUTCOME_RECORDED, Referral.Status.CLOSED], **facts},
        justification=note,
    )
    return referral


def referral_audit_read(*, actor: User, referral: Referral, justification: str = "") -> None:
    """A consultation of one referral (the caller found it in the actor's scope)."""
    authorize(actor, Act.REFERRAL_VIEW, referral, seen=True)
    audit_record(
        actor=actor,
        action=AuditAction.REFERRAL_VIEWED,
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        justification=justification,
    )
