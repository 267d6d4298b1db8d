"""Reads of the audit trail for auditors: search, timelines, activity, integrity status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import (
    CharField,
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Concat, TruncDate
from django.utils import timezone

from hub.constants import AuditAction
from hub.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditVerification,
    Referral,
    Task,
)


@dataclass(frozen=True)
class AuditFilters:
    reference: str = ""
    object_id: str = ""
    actor: str = ""
    action: str = ""
    organisation: str = ""
    outcome: str = ""
    referral: UUID | None = None
    task: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def audit_search(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The audit trail narrowed by an auditor's filters (auditors see the whole trail).

    An object id also matches events naming it as their task or referral; an action ending
    in '.' or '*' is a prefix (``task.*``)."""
    queryset = AuditEvent.objects.all()
    if filters.reference:
        referrals = Referral.objects.filter(external_id__startswith=filters.reference.strip()).values("pk")
        queryset = queryset.filter(referral_id__in=referrals)
    if filters.object_id:
        match = Q(object_id=filters.object_id)
        if (uuid := _as_uuid(filters.object_id)) is not None:
            match |= Q(task_id=uuid) | Q(referral_id=uuid) | Q(object_id=str(uuid))
        queryset = queryset.filter(match)
    if filters.actor:
        queryset = queryset.filter(
            Q(actor__username__iexact=filters.actor) | Q(actor_display__iexact=filters.actor)
        )
    if filters.action:
        if filters.action.endswith(("*", ".")):
            queryset = queryset.filter(action__startswith=filters.action.rstrip("*"))
        else:
            queryset = queryset.filter(action=filters.action)
    if filters.organisation:
        queryset = queryset.filter(actor_org=filters.organisation.upper())
    if filters.outcome:
        queryset = queryset.filter(outcome=filters.outcome)
    if filters.referral:
        queryset = queryset.filter(referral_id=filters.referral)
    if filters.task:
        queryset = queryset.filter(task_id=filters.task)
    if filters.since:
        queryset = queryset.filter(occurred_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(occurred_at__lte=filters.until)
    return queryset


# Reads in the trail (consultations, searches, report views): what "changes only" leaves out.
READ_ACTION_ENDINGS = (".viewed", ".listed", ".searched", "_viewed", ".reviewed", ".exported")


def reads_q() -> Q:
    condition = Q()
    for ending in READ_ACTION_ENDINGS:
        condition |= Q(action__endswith=ending)
    return condition


def audit_timeline(
    *, task: Task | None = None, referral_id: UUID | None = None, changes_only: bool = False
) -> QuerySet[AuditEvent]:
    """A task's story: its own events and its referral's events that name no other task, in
    chain order. For a referral: every event that names it. ``changes_only`` leaves out the
    reads (consultations and searches), keeping every change and every refusal."""
    if task is not None:
        events = AuditEvent.objects.filter(
            Q(task_id=task.pk) | Q(referral_id=task.referral_id, task_id__isnull=True)
        )
    else:
        events = AuditEvent.objects.filter(referral_id=referral_id)
    if changes_only:
        events = events.exclude(reads_q() & Q(outcome=AuditEvent.Outcome.SUCCESS))
    return events.order_by("seq")


def audit_activity_by_day(queryset: QuerySet[AuditEvent], days: int = 30) -> list[dict[str, Any]]:
    """Events per day (Europe/London days) over the last ``days`` days of a search."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        queryset.filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            events=Count("pk"),
            refused=Count("pk", filter=~Q(outcome=AuditEvent.Outcome.SUCCESS)),
        )
        .order_by("day")
    )
    return [dict(row) for row in rows]


def known_actions() -> list[str]:
    """Distinct actions recorded so far (for the search box's suggestions)."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200])


def audit_head_seq() -> int:
    """The newest event's sequence number (0 for an empty trail)."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


@dataclass(frozen=True)
class AuditStatus:
    last_run: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None
    head_seq: int


def verification_on_trail(rows: list[AuditVerification]) -> dict[int, bool]:
    """For each verification result (by id): is it the one its ``audit.verified`` event
    recorded (same verdict, same count)? One written into the table by hand is not."""
    events = {
        e.seq: e
        for e in AuditEvent.objects.filter(
            seq__in=[r.event_seq for r in rows if r.event_seq], action=AuditAction.AUDIT_VERIFIED
        )
    }
    found: dict[int, bool] = {}
    for row in rows:
        event = events.get(row.event_seq or 0)
        changes = event.changes if event is not None else {}
        found[row.pk] = (
            event is not None
            and changes.get("ok") == row.is_ok
            and changes.get("events") == row.events_checked
            and changes.get("first_bad_seq") == row.first_bad_seq
        )
    return found


def _last_believed_run() -> AuditVerification | None:
    """The latest verification result that its ``audit.verified`` event vouches for (a row
    written into the table by hand is passed over; ``verify_audit`` reports it)."""
    recent = list(AuditVerification.objects.order_by("-ran_at", "-id")[:50])
    believed = verification_on_trail(recent)
    return next((row for row in recent if believed[row.pk]), None)


def audit_status() -> AuditStatus:
    """What auditors see of the trail's integrity: the latest verification, the latest signed
    checkpoint, and how far the trail has grown."""
    return AuditStatus(
        last_run=_last_believed_run(),
        last_checkpoint=AuditCheckpoint.objects.order_by("-seq").first(),
        head_seq=audit_head_seq(),
    )


def with_referral_reference(queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Each event with ``referral_reference`` ("NCMEC CT-2025-004105"), the reference people
    read, for pages and exports (one subquery, no per-event lookup)."""
    reference = Referral.objects.filter(pk=OuterRef("referral_id")).annotate(
        reference=Concat("agency__code", Value(" "), "external_id", output_field=CharField())
    )
    return queryset.annotate(referral_reference=Subquery(reference.values("reference")[:1]))
