"""Reminders and escalations: the schedule of a task's alerts, firing them exactly once, the
sweep that finds what is due, acknowledgement, and pausing.

The database owns every deadline. ``alerts_sweep`` (beat, every minute) is the source of
truth; ``alert_fire_job`` with a short ETA only makes an alert fire on its instant rather than
at the next sweep. Every decision compares with database time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef

from hub.clock import db_now
from hub.exceptions import DomainError, InvalidTransition
from hub.jobs import enqueue_now, enqueue_on_commit
from hub.models import Alert, Membership, Notification, Organisation, Task, User
from hub.services.audit import audit_record
from hub.services.deadlines import deadline_policy_for

log = logging.getLogger(__name__)

REMINDER_FRACTIONS = (50, 90)  # % of the window elapsed
LAST_STEP = len(Alert.LEVEL_ORDER)
SWEEP_LOOKAHEAD = timedelta(seconds=60)  # ETA accelerators only this far ahead (≪ visibility timeout)


# --- Scheduling ------------------------------------------------------------------------------


def _window_point(start: datetime, end: datetime, percent: int) -> datetime:
    return start + (end - start) * percent / 100


def alerts_reschedule(*, task: Task, now: datetime | None = None) -> list[Alert]:
    """Rebuild the task's pending schedule for its current state, under a new generation.

    Call inside the transaction that changed the task (with the task row locked). Pending
    alerts of older generations are cancelled; fired ones stay as history.
    """
    now = now or db_now()
    Alert.objects.filter(task=task, fired_at__isnull=True, cancelled_at__isnull=True).update(cancelled_at=now)
    task.alert_generation += 1
    Task.objects.filter(pk=task.pk).update(alert_generation=task.alert_generation)
    if task.is_paused or task.status not in Task.OPEN_STATUSES:
        return []
    rows: list[Alert] = []

    def add(kind: str, clock: str, step: int, due_at: datetime, level: str = "") -> None:
        rows.append(
            Alert(
                task=task,
                generation=task.alert_generation,
                kind=kind,
                clock=clock,
                step=step,
                due_at=due_at,
                level=level,
            )
        )

    act_start = task.created_at + task.paused_total
    if task.status == Task.Status.OFFERED:
        for percent in REMINDER_FRACTIONS:
            at = _window_point(task.offered_at, task.accept_due_at, percent)
            if at > now:
                add(Alert.Kind.REMINDER, Alert.Clock.ACCEPT, percent, at)
        add(Alert.Kind.ESCALATION, Alert.Clock.ACCEPT, 1, task.accept_due_at, Alert.Level.OFFICER)
    if task.status in {Task.Status.OFFERED, Task.Status.ACCEPTED}:
        for percent in REMINDER_FRACTIONS:
            at = _window_point(act_start, task.due_at, percent)
            if at > now:
                add(Alert.Kind.REMINDER, Alert.Clock.ACT, percent, at)
    add(Alert.Kind.ESCALATION, Alert.Clock.ACT, 1, task.due_at, Alert.Level.OFFICER)
    Alert.objects.bulk_create(rows)
    return rows


def alerts_cancel_for_tasks(*, task_ids: list[object], now: datetime | None = None) -> int:
    """Closed tasks need no more reminders: cancel whatever is pending."""
    return Alert.objects.filter(
        task_id__in=task_ids, fired_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now or db_now())


# --- Recipients ------------------------------------------------------------------------------


def _members(org_ids: list[object], roles: set[str]) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, membership__organisation_id__in=org_ids, membership__role__in=roles
        ).order_by("username")
    )


def alert_recipients(task: Task, level: str) -> list[User]:
    holder = task.assignee_org
    if level == Alert.Level.OFFICER:
        if task.accepted_by is not None and task.accepted_by.is_active:
            return [task.accepted_by]
        return _members([holder.pk], {Membership.Role.OFFICER})
    if level == Alert.Level.SUPERVISOR:
        return _members([holder.pk], {Membership.Role.SUPERVISOR})
    if level == Alert.Level.REGION:
        region = holder.region
        return _members([region.pk], {Membership.Role.REGIONAL_COORDINATOR}) if region else []
    hubs = list(Organisation.objects.filter(kind=Organisation.Kind.HUB).values_list("pk", flat=True))
    return _members(hubs, {Membership.Role.COORDINATOR})


def _message(alert: Alert, task: Task) -> tuple[str, str]:
    clock = "accept" if alert.clock == Alert.Clock.ACCEPT else "act on"
    due = task.accept_due_at if alert.clock == Alert.Clock.ACCEPT else task.due_at
    ref = f"{task.referral.agency.code} {task.referral.external_id}"
    if alert.kind == Alert.Kind.REMINDER:
        return (
            f"Reminder: {alert.step}% of the time to {clock} task {ref} has passed",
            f"Task held by {task.assignee_org.code} is due by {due:%Y-%m-%d %H:%M} UTC.",
        )
    level = Alert.Level(alert.level).label
    return (
        f"ESCALATION step {alert.step} ({level}): task {ref} missed its {clock} deadline",
        f"Task held by {task.assignee_org.code} was due by {due:%Y-%m-%d %H:%M} UTC. "
        "Open it in VIHub and acknowledge to take responsibility.",
    )


def notify_hub(*, task: Task, kind: str, subject: str, body: str) -> list[Notification]:
    """An immediate message to the hub's coordinators about a task (e.g. it was declined)."""
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, task=task, kind=kind, subject=subject, body=body)
            for user in alert_recipients(task, Alert.Level.HUB)
        ]
    )
    for notification in notifications:
        enqueue_on_commit("hub.tasks.notification_email_job", notification.pk)
    return notifications


# --- Firing ----------------------------------------------------------------------------------


@dataclass
class FireResult:
    fired: bool
    reason: str
    notification_ids: list[object] = field(default_factory=list)


def alert_fire(*, alert_id: object, now: datetime | None = None, skip_locked: bool = True) -> FireResult:
    """Fire one due alert exactly once.

    Locks the task row, then the alert row (the same order as every task change, so no
    deadlock), and fires only if the alert is still pending, of the task's current schedule
    generation, and due by database time. Writes the notifications (unique per alert and
    recipient), the next escalation step (unique per task, generation, clock and step) and the
    audit row in one transaction; emails are enqueued after commit.
    """
    task_id = Alert.objects.filter(pk=alert_id).values_list("task_id", flat=True).first()
    if task_id is None:
        return FireResult(False, "gone")
    with transaction.atomic():
        task = (
            Task.objects.select_for_update(skip_locked=skip_locked, of=("self",))
            .select_related("assignee_org__parent", "referral__agency", "accepted_by")
            .filter(pk=task_id)
            .first()
        )
        if task is None:
            return FireResult(False, "busy")  # another worker holds the task; it will do it
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        now = now or db_now()
        if alert.fired_at is not None or alert.cancelled_at is not None:
            return FireResult(False, "done")
        if alert.generation != task.alert_generation or task.is_paused or not task.is_open:
            alert.cancelled_at = now
            alert.save(update_fields=["cancelled_at"])
            return FireResult(False, "stale")
        if alert.due_at > now:
            return FireResult(False, "not_due")
        level = alert.level or Alert.Level.OFFICER
        recipients = alert_recipients(task, level)
        subject, body = _message(alert, task)
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    recipient=user, alert=alert, task=task, kind=alert.kind, subject=subject, body=body
                )
                for user in recipients
            ],
            ignore_conflicts=True,
        )
        alert.fired_at = now
        alert.recipients = [u.username for u in recipients]
        alert.save(update_fields=["fired_at", "recipients"])
        next_due = None
        if alert.kind == Alert.Kind.ESCALATION and alert.step < LAST_STEP:
            if task.escalation_wait is None:
                referral = task.referral
                task.escalation_wait = deadline_policy_for(
                    grade=referral.grade or 3, risk=referral.risk
                ).escalation_step_wait
                Task.objects.filter(pk=task.pk).update(escalation_wait=task.escalation_wait)
            # Nobody at this level: go straight on to the next, without waiting.
            next_due = now + (task.escalation_wait if recipients else timedelta(0))
            Alert.objects.bulk_create(
                [
                    Alert(
                        task=task,
                        generation=alert.generation,
                        kind=Alert.Kind.ESCALATION,
                        clock=alert.clock,
                        step=alert.step + 1,
                        level=Alert.LEVEL_ORDER[alert.step],
                        due_at=next_due,
                    )
                ],
                ignore_conflicts=True,
            )
        audit_record(
            actor=None,
            action="task.escalated" if alert.kind == Alert.Kind.ESCALATION else "task.reminded",
            object_type="task",
            object_id=task.pk,
            referral_id=task.referral_id,
            task_id=task.pk,
            changes={
                "alert": str(alert.pk),
                "clock": alert.clock,
                "step": alert.step,
                "level": level,
                "due_at": alert.due_at.isoformat(),
                "recipients": alert.recipients,
                "next_step_due_at": next_due.isoformat() if next_due else None,
            },
        )
        ids = [n.pk for n in notifications]
        for notification_id in ids:
            enqueue_on_commit("hub.tasks.notification_email_job", notification_id)
    return FireResult(True, "fired", ids)


@dataclass
class SweepResult:
    fired: int = 0
    skipped: int = 0
    accelerated: int = 0
    oldest_pending_age_seconds: float | None = None


def alerts_sweep(*, now: datetime | None = None, batch: int = 500, max_batches: int = 100) -> SweepResult:
    """Fire everything due (by database time), batch by batch, until nothing is due; then
    schedule ETA accelerators for what falls due within the lookahead. Idempotent: running
    it twice at once (two beats) fires nothing twice."""
    result = SweepResult()
    seen: set[object] = set()
    for _ in range(max_batches):
        sweep_now = now or db_now()
        due = list(
            Alert.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=sweep_now)
            .exclude(pk__in=seen)
            .order_by("due_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not due:
            break
        for alert_id in due:
            seen.add(alert_id)
            outcome = alert_fire(alert_id=alert_id, now=now)
            if outcome.fired:
                result.fired += 1
            else:
                result.skipped += 1
    horizon_now = now or db_now()
    soon = list(
        Alert.objects.filter(
            fired_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__gt=horizon_now,
            due_at__lte=horizon_now + SWEEP_LOOKAHEAD,
        ).values_list("pk", "due_at")[:5000]
    )
    if soon and now is None:
        for alert_id, due_at in soon:
            # A rate limiter, not correctness: two beats (or two sweeps a minute apart) should
            # not queue the same accelerator twice. Losing the key (a Redis flush) only means a
            # duplicate job, which is a no-op.
            if cache.add(f"vihub:accel:{alert_id}", 1, timeout=int(SWEEP_LOOKAHEAD.total_seconds()) * 2):
                countdown = max(0.0, (due_at - horizon_now).total_seconds())
                enqueue_now("hub.tasks.alert_fire_job", alert_id, countdown=countdown)
                result.accelerated += 1
    oldest = oldest_due_unfired_age(horizon_now)
    result.oldest_pending_age_seconds = oldest.total_seconds() if oldest else None
    return result


def oldest_due_unfired_age(now: datetime | None = None) -> timedelta | None:
    """How long the most overdue pending alert has waited (None when nothing is due)."""
    now = now or db_now()
    oldest = (
        Alert.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    return now - oldest if oldest else None


# --- People acting on a task's clocks ------------------------------------------------------


def _lock(task: Task) -> Task:
    return (
        Task.objects.select_for_update(of=("self",))
        .select_related("assignee_org", "referral", "accepted_by")
        .get(pk=task.pk)
    )


@transaction.atomic
def task_acknowledge(*, task: Task, actor: User, note: str = "") -> Task:
    """Someone takes responsibility for a breached task: the chain stops, and every fired step
    of this breach records who acknowledged it and when."""
    task = _lock(task)
    now = db_now()
    fired = Alert.objects.filter(
        task=task,
        generation=task.alert_generation,
        kind=Alert.Kind.ESCALATION,
        fired_at__isnull=False,
        acknowledged_at__isnull=True,
    )
    steps = list(fired.values_list("clock", "step"))
    if not steps:
        raise InvalidTransition("There is no escalation in progress on this task to acknowledge")
    fired.update(acknowledged_at=now, acknowledged_by=actor)
    stopped = Alert.objects.filter(
        task=task, kind=Alert.Kind.ESCALATION, fired_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    audit_record(
        actor=actor,
        action="task.escalation_acknowledged",
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"steps": [f"{clock}:{step}" for clock, step in steps], "pending_steps_stopped": stopped},
        justification=note,
    )
    return task


@transaction.atomic
def task_pause(*, task: Task, actor: User, reason: str) -> Task:
    """Stop the clocks while the holder waits on someone outside the force (an MLAT, a
    platform disclosure). Pending reminders and escalations are cancelled until resumed."""
    task = _lock(task)
    if task.status not in {Task.Status.OFFERED, Task.Status.ACCEPTED}:
        raise InvalidTransition(f"A {task.status} task cannot be paused")
    if task.is_paused:
        raise InvalidTransition("The task is already paused")
    if not reason.strip():
        raise DomainError("Say what the task is waiting for", field="reason")
    now = db_now()
    task.paused_at, task.pause_reason = now, reason
    task.save(update_fields=["paused_at", "pause_reason", "updated_at"])
    alerts_reschedule(task=task, now=now)
    audit_record(
        actor=actor,
        action="task.paused",
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"paused_at": now.isoformat()},
        justification=reason,
    )
    return task


@transaction.atomic
def task_resume(*, task: Task, actor: User) -> Task:
    """Restart the clocks: every deadline moves on by the time spent paused."""
    task = _lock(task)
    if not task.is_paused or task.paused_at is None:
        raise InvalidTransition("The task is not paused")
    now = db_now()
    paused_for = max(now - task.paused_at, timedelta(0))
    task.due_at += paused_for
    task.accept_due_at += paused_for
    task.offered_at += paused_for
    task.paused_total += paused_for
    task.paused_at, reason = None, task.pause_reason
    task.pause_reason = ""
    task.save(
        update_fields=[
            "due_at",
            "accept_due_at",
            "offered_at",
            "paused_total",
            "paused_at",
            "pause_reason",
            "updated_at",
        ]
    )
    alerts_reschedule(task=task, now=now)
    audit_record(
        actor=actor,
        action="task.resumed",
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "paused_seconds": round(paused_for.total_seconds()),
            "due_at": task.due_at.isoformat(),
            "pause_reason": reason,
        },
    )
    return task


def escalated_task_filter() -> Exists:
    """Tasks with a fired, unacknowledged escalation step in their current schedule."""
    return Exists(
        Alert.objects.filter(
            task=OuterRef("pk"),
            generation=OuterRef("alert_generation"),
            kind=Alert.Kind.ESCALATION,
            fired_at__isnull=False,
            acknowledged_at__isnull=True,
        )
    )
