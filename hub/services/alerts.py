"""Reminders and escalations: the schedule of a task's alerts, firing them exactly once, the
sweep that finds what is due, acknowledgement, and pausing.

The database owns every deadline. ``alerts_sweep`` (beat, every minute) is the source of
truth; ``alert_fire_job`` with a short ETA only makes an alert fire on its instant rather than
at the next sweep. Every decision compares with database time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

from hub.clock import db_now
from hub.constants import AuditAction
from hub.exceptions import DomainError, InvalidTransition
from hub.jobs import enqueue_now, enqueue_on_commit
from hub.models import Alert, Membership, Notification, Organisation, Referral, Task, Team, User
from hub.policies.roles import SPOKE_ROLES
from hub.policies.rules import Act, authorize
from hub.services.audit import audit_record, audit_record_many
from hub.services.deadlines import deadline_policy_for
from hub.services.locks import task_lock_as_seen

log = logging.getLogger(__name__)

REMINDER_FRACTIONS = (50, 90)  # % of the window elapsed
# Grades 1 and 2: the holder's supervisors hear at 75% of each window, before any breach.
PRE_BREACH_PERCENT = 75
PRE_BREACH_GRADES = (1, 2)
LAST_STEP = len(Alert.LEVEL_ORDER)
SWEEP_LOOKAHEAD = timedelta(seconds=60)  # ETA accelerators only this far ahead (≪ visibility timeout)


# --- Scheduling ------------------------------------------------------------------------------


def _window_point(start: datetime, end: datetime, percent: int) -> datetime:
    return start + (end - start) * percent / 100


def alerts_reschedule(
    *, task: Task, now: datetime | None = None, carry: dict[str, int] | None = None
) -> list[Alert]:
    """Rebuild the task's pending schedule for its current state, under a new generation.

    Call inside the transaction that changed the task (with the task row locked). Pending
    alerts of older generations are cancelled; fired ones stay as history. ``carry`` (a
    resumed pause) maps a clock to the highest escalation step that had fired: that clock's
    chain continues with the next step one policy wait from now, instead of starting again.
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
    pre_breach = task.referral.grade in PRE_BREACH_GRADES
    if task.status == Task.Status.OFFERED:
        for percent in REMINDER_FRACTIONS:
            at = _window_point(task.offered_at, task.accept_due_at, percent)
            if at > now:
                add(Alert.Kind.REMINDER, Alert.Clock.ACCEPT, percent, at)
        at = _window_point(task.offered_at, task.accept_due_at, PRE_BREACH_PERCENT)
        if pre_breach and at > now:
            add(Alert.Kind.REMINDER, Alert.Clock.ACCEPT, PRE_BREACH_PERCENT, at, Alert.Level.SUPERVISOR)
        if Alert.Clock.ACCEPT not in (carry or {}):
            add(Alert.Kind.ESCALATION, Alert.Clock.ACCEPT, 1, task.accept_due_at, Alert.Level.OFFICER)
    if task.status in Task.RUNNING_STATUSES:
        for percent in REMINDER_FRACTIONS:
            at = _window_point(act_start, task.due_at, percent)
            if at > now:
                add(Alert.Kind.REMINDER, Alert.Clock.ACT, percent, at)
        at = _window_point(act_start, task.due_at, PRE_BREACH_PERCENT)
        if pre_breach and at > now:
            add(Alert.Kind.REMINDER, Alert.Clock.ACT, PRE_BREACH_PERCENT, at, Alert.Level.SUPERVISOR)
    if Alert.Clock.ACT not in (carry or {}):
        add(Alert.Kind.ESCALATION, Alert.Clock.ACT, 1, task.due_at, Alert.Level.OFFICER)
    for clock, fired_step in (carry or {}).items():
        if clock == Alert.Clock.ACCEPT and task.status != Task.Status.OFFERED:
            continue  # accepted meanwhile: that chain has nothing left to say
        if fired_step < LAST_STEP:
            wait = task.escalation_wait or _policy_wait(task)
            step = fired_step + 1
            add(Alert.Kind.ESCALATION, clock, step, now + wait, Alert.LEVEL_ORDER[step - 1])
    Alert.objects.bulk_create(rows)
    return rows


def _policy_wait(task: Task) -> timedelta:
    referral = task.referral
    return deadline_policy_for(grade=referral.grade or 3, risk=referral.risk).escalation_step_wait


def _climbed(task: Task) -> dict[str, int]:
    """Each clock's highest fired escalation step in the task's current schedule."""
    climbed: dict[str, int] = {}
    for clock, step in Alert.objects.filter(
        task=task, generation=task.alert_generation, kind=Alert.Kind.ESCALATION, fired_at__isnull=False
    ).values_list("clock", "step"):
        climbed[clock] = max(step, climbed.get(clock, 0))
    return climbed


def task_clocks_tighten(
    *, task: Task, actor: User, grade: int, risk: str, relax: bool = False, reason: str = ""
) -> dict[str, list[str]]:
    """After a re-grade: move the task's deadlines earlier if the new grade and risk give less
    time, and re-plan its reminders and escalations. A looser grade leaves running deadlines as
    they were, unless the hub says so (``relax``, with its reason), when they follow the new
    grading either way. Call with the task locked; returns what moved (audited)."""
    policy = deadline_policy_for(grade=grade, risk=risk)
    act_start = task.created_at + task.paused_total
    moved: dict[str, list[str]] = {}
    due_at = act_start + policy.act_within
    if due_at < task.due_at or (relax and due_at != task.due_at):
        moved["due_at"] = [task.due_at.isoformat(), due_at.isoformat()]
        task.due_at = due_at
    if task.status == Task.Status.OFFERED:
        accept_due_at = min(task.offered_at + policy.accept_within, task.due_at)
        if accept_due_at < task.accept_due_at or (relax and accept_due_at != task.accept_due_at):
            moved["accept_due_at"] = [task.accept_due_at.isoformat(), accept_due_at.isoformat()]
            task.accept_due_at = accept_due_at
    if not moved:
        return moved
    task.save(update_fields=["due_at", "accept_due_at", "updated_at"])
    alerts_reschedule(task=task)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_DEADLINE_TIGHTENED if not relax else AuditAction.TASK_DEADLINE_RELAXED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={**moved, "grade": grade, "risk": risk},
        justification=reason,
    )
    return moved


def alerts_cancel_for_tasks(*, task_ids: Sequence[UUID], now: datetime | None = None) -> int:
    """Closed tasks need no more reminders: cancel whatever is pending."""
    return Alert.objects.filter(
        task_id__in=task_ids, fired_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now or db_now())


# --- Recipients ------------------------------------------------------------------------------


def _members(org_ids: Sequence[UUID], roles: set[str]) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, membership__organisation_id__in=org_ids, membership__role__in=roles
        ).order_by("username")
    )


def alert_recipients(task: Task, level: str) -> list[User]:
    holder = task.assignee_org
    if level == Alert.Level.OFFICER:
        accepted_by = task.accepted_by
        if (
            accepted_by is not None
            and accepted_by.is_active
            and Membership.objects.filter(user=accepted_by, organisation=holder).exists()
        ):
            return [accepted_by]  # still with the holder: the named officer, not all of them
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
    if alert.kind == Alert.Kind.REMINDER and alert.level == Alert.Level.SUPERVISOR:
        return (
            f"Before the breach: {alert.step}% of the time to {clock} grade {task.referral.grade} task {ref} "
            "has passed",
            f"Task held by {task.assignee_org.code} is due by {due:%Y-%m-%d %H:%M} UTC and is not done. "
            "Make sure someone is on it.",
        )
    if alert.kind == Alert.Kind.REMINDER:
        return (
            f"Reminder: {alert.step}% of the time to {clock} task {ref} has passed",
            f"Task held by {task.assignee_org.code} is due by {due:%Y-%m-%d %H:%M} UTC.",
        )
    level = Alert.Level(alert.level).label
    then = (
        "Act on it now: your supervisors are told next."
        if alert.level == Alert.Level.OFFICER
        else "Open it in VIHub and acknowledge to take responsibility."
    )
    return (
        f"ESCALATION step {alert.step} ({level}): task {ref} missed its {clock} deadline",
        f"Task held by {task.assignee_org.code} was due by {due:%Y-%m-%d %H:%M} UTC. {then}",
    )


def notify_members(
    *, org_ids: Sequence[UUID], roles: set[str], kind: str, subject: str, body: str
) -> list[Notification]:
    """Tell the members of some organisations who have one of ``roles`` (inbox; email after
    commit), about something that is not a task they can open (a hand-off offered to them)."""
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, kind=kind, subject=subject, body=body)
            for user in _members(org_ids, roles)
        ]
    )
    for notification in notifications:
        enqueue_on_commit("hub.tasks.notification_email_job", notification.pk)
    return notifications


def notify_holder(*, task: Task, kind: str, subject: str, body: str) -> list[Notification]:
    """Tell the organisation holding ``task`` (new work, a tighter deadline) in their inbox
    and, after commit, by email: its officers and supervisors (a region's coordinators). Call
    in the transaction that made the change."""
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, task=task, referral_id=task.referral_id, kind=kind, subject=subject,
                         body=body)
            for user in _members([task.assignee_org_id], set(SPOKE_ROLES))
        ]
    )  # fmt: skip
    for notification in notifications:
        enqueue_on_commit("hub.tasks.notification_email_job", notification.pk)
    return notifications


def notify_team(*, team: Team, referral: Referral, kind: str, subject: str, body: str) -> list[Notification]:
    """Tell the active members of a named team (in its organisation) about a referral routed to it."""
    members = team.members.filter(is_active=True, membership__organisation_id=team.organisation_id)
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, referral=referral, kind=kind, subject=subject, body=body)
            for user in members.order_by("username")
        ]
    )
    for notification in notifications:
        enqueue_on_commit("hub.tasks.notification_email_job", notification.pk)
    return notifications


def notify_hub(
    *, kind: str, subject: str, body: str, task: Task | None = None, referral: Referral | None = None
) -> list[Notification]:
    """An immediate message to the hub's coordinators (a task was declined, an agency's webhook
    stopped, an urgent referral arrived), in their inbox and, after commit, by email."""
    hubs = list(Organisation.objects.filter(kind=Organisation.Kind.HUB).values_list("pk", flat=True))
    about = referral if referral is not None else (task.referral if task is not None else None)
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient=user, task=task, referral=about, kind=kind, subject=subject, body=body)
            for user in _members(hubs, {Membership.Role.COORDINATOR})
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
    notification_ids: list[UUID] = field(default_factory=list)


@dataclass
class _BatchContext:
    """Per-batch caches: the same holder's officers or a policy row are read once a batch."""

    recipients: dict[tuple[UUID, str, UUID | None], list[User]] = field(default_factory=dict)
    waits: dict[tuple[int, str], timedelta] = field(default_factory=dict)

    def recipients_for(self, task: Task, level: str) -> list[User]:
        key = (task.assignee_org_id, level, task.accepted_by_id if level == Alert.Level.OFFICER else None)
        if key not in self.recipients:
            self.recipients[key] = alert_recipients(task, level)
        return self.recipients[key]

    def wait_for(self, task: Task) -> timedelta:
        referral = task.referral
        key = (referral.grade or 3, referral.risk)
        if key not in self.waits:
            self.waits[key] = deadline_policy_for(grade=key[0], risk=key[1]).escalation_step_wait
        return self.waits[key]


def alerts_fire(
    *, alert_ids: Sequence[UUID], now: datetime | None = None, ctx: _BatchContext | None = None
) -> dict[UUID, FireResult]:
    """Fire a batch of due alerts, each exactly once, in one transaction.

    Locks the tasks first (SKIP LOCKED: a task another worker holds is left to that worker),
    then their pending alerts — the same order as every task change, so no deadlock — and
    fires an alert only if it is still pending, of its task's current schedule generation, and
    due by database time. Notifications (unique per alert and recipient), the next escalation
    step (unique per task, generation, clock and step) and the audit events are written in the
    same transaction; emails are enqueued after commit.
    """
    results: dict[UUID, FireResult] = {}
    task_ids = dict(Alert.objects.filter(pk__in=alert_ids).values_list("pk", "task_id"))
    for alert_id in alert_ids:
        if alert_id not in task_ids:
            results[alert_id] = FireResult(False, "gone")
    if not task_ids:
        return results
    ctx = ctx or _BatchContext()
    with transaction.atomic():
        tasks = {
            t.pk: t
            for t in Task.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("assignee_org__parent", "referral__agency", "accepted_by")
            .filter(pk__in=set(task_ids.values()))
        }
        alerts = {
            a.pk: a
            for a in Alert.objects.select_for_update(no_key=True).filter(
                pk__in=[a for a, t in task_ids.items() if t in tasks]
            )
        }
        now = now or db_now()
        fired: list[Alert] = []
        stale: list[UUID] = []
        notifications: list[Notification] = []
        next_steps: list[Alert] = []
        frozen_waits: dict[UUID, timedelta] = {}
        events: list[dict[str, object]] = []
        for alert_id, task_id in task_ids.items():
            alert = alerts.get(alert_id)
            task = tasks.get(task_id)
            if alert is None or task is None:
                results[alert_id] = FireResult(False, "busy")  # another worker holds the task
                continue
            if alert.fired_at is not None or alert.cancelled_at is not None:
                results[alert_id] = FireResult(False, "done")
                continue
            if alert.generation != task.alert_generation or task.is_paused or not task.is_open:
                stale.append(alert_id)
                results[alert_id] = FireResult(False, "stale")
                continue
            if alert.due_at > now:
                results[alert_id] = FireResult(False, "not_due")
                continue
            level = alert.level or Alert.Level.OFFICER
            recipients = ctx.recipients_for(task, level)
            subject, body = _message(alert, task)
            mine = [
                Notification(
                    recipient=user, alert=alert, task=task, kind=alert.kind, subject=subject, body=body
                )
                for user in recipients
            ]
            notifications += mine
            alert.fired_at, alert.recipients = now, [u.username for u in recipients]
            fired.append(alert)
            next_due = None
            if alert.kind == Alert.Kind.ESCALATION and alert.step < LAST_STEP:
                if task.escalation_wait is None:
                    task.escalation_wait = frozen_waits[task.pk] = ctx.wait_for(task)
                # Nobody at this level: go straight on to the next, without waiting.
                next_due = now + (task.escalation_wait if recipients else timedelta(0))
                following = Alert.LEVEL_ORDER[alert.step]
                next_steps.append(
                    Alert(task=task, generation=alert.generation, kind=Alert.Kind.ESCALATION,
                          clock=alert.clock, step=alert.step + 1, level=following, due_at=next_due)
                )  # fmt: skip
            events.append(
                {
                    "action": AuditAction.TASK_ESCALATED
                    if alert.kind == Alert.Kind.ESCALATION
                    else "task.reminded",
                    "object_type": "task",
                    "object_id": task.pk,
                    "referral_id": task.referral_id,
                    "task_id": task.pk,
                    "changes": {
                        "alert": str(alert.pk),
                        "clock": alert.clock,
                        "step": alert.step,
                        "level": level,
                        "due_at": alert.due_at.isoformat(),
                        "recipients": alert.recipients,
                        "next_step_due_at": next_due.isoformat() if next_due else None,
                    },
                }
            )
            results[alert_id] = FireResult(True, "fired", [n.pk for n in mine])
        if stale:
            Alert.objects.filter(pk__in=stale).update(cancelled_at=now)
        Alert.objects.bulk_update(fired, ["fired_at", "recipients"])
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        Alert.objects.bulk_create(next_steps, ignore_conflicts=True)
        for wait in set(frozen_waits.values()):
            Task.objects.filter(pk__in=[t for t, w in frozen_waits.items() if w == wait]).update(
                escalation_wait=wait
            )
        audit_record_many(actor=None, events=events)
        if notifications:  # one job per batch, not one broker publish per notification
            enqueue_on_commit("hub.tasks.notification_emails_job", *[n.pk for n in notifications])
    return results


def alert_fire(*, alert_id: UUID, now: datetime | None = None) -> FireResult:
    """Fire one alert; see ``alerts_fire``."""
    return alerts_fire(alert_ids=[alert_id], now=now)[alert_id]


@dataclass
class SweepResult:
    fired: int = 0
    skipped: int = 0
    accelerated: int = 0
    oldest_pending_age_seconds: float | None = None


def alerts_sweep(*, now: datetime | None = None, batch: int = 200, max_batches: int = 500) -> SweepResult:
    """Fire everything due (by database time), batch by batch, until nothing is due; then
    schedule ETA accelerators for what falls due within the lookahead. Idempotent: running
    it twice at once (two beats) fires nothing twice."""
    result = SweepResult()
    seen: set[UUID] = set()
    ctx = _BatchContext()  # recipients and policy waits, read once per sweep
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
        for alert_id, outcome in alerts_fire(alert_ids=due, now=now, ctx=ctx).items():
            if outcome.fired:
                result.fired += 1
            else:
                # Only what may still match needs excluding (busy: another worker holds the
                # task). Fired, stale and done alerts have left the partial index, so the
                # statement does not grow by a batch of ids each time (quadratic in a backlog).
                seen.add(alert_id)
                result.skipped += 1
    horizon_now = now or db_now()
    if now is None:
        result.accelerated = _schedule_accelerators(horizon_now)
    oldest = oldest_due_unfired_age(horizon_now)
    result.oldest_pending_age_seconds = oldest.total_seconds() if oldest else None
    return result


def _schedule_accelerators(now: datetime) -> int:
    """Make alerts due within the lookahead fire on their instant instead of at the next
    minute's sweep: one short-ETA sweep per due second (coalesced, so a storm of 10,000
    alerts due in one minute is at most 60 small jobs, not 10,000). A Redis key per second is
    a rate limiter, not correctness: losing it (a flush) only queues a duplicate sweep, which
    fires nothing twice."""
    due_times = (
        Alert.objects.filter(
            fired_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__gt=now,
            due_at__lte=now + SWEEP_LOOKAHEAD,
        )
        .order_by("due_at")
        .values_list("due_at", flat=True)[:5000]
    )
    seconds = sorted({due.replace(microsecond=0) + timedelta(seconds=1) for due in due_times})
    scheduled = 0
    for second in seconds:
        key = f"vihub:sweep-at:{second.isoformat()}"
        if cache.add(key, 1, timeout=int(SWEEP_LOOKAHEAD.total_seconds()) * 2):
            enqueue_now("hub.tasks.deadline_sweep_job", countdown=max(0.0, (second - now).total_seconds()))
            scheduled += 1
    return scheduled


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


@transaction.atomic(durable=True)
def task_acknowledge(*, task: Task, actor: User, note: str = "") -> Task:
    """Someone takes responsibility for a breached task: the chain of each breached clock stops,
    and every fired step of it records who acknowledged it and when. A clock that has not
    breached yet keeps its own chain (acknowledging a late acceptance must not silence a later
    act-by breach). The acknowledgement buys the policy's grace: the chain's next step is held
    until then and fires if the task has not moved on meanwhile (any change of the task
    re-plans its alerts, which ends the held step)."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_ACKNOWLEDGE, task)
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
    referral = task.referral
    grace = deadline_policy_for(grade=referral.grade or 3, risk=referral.risk).acknowledgement_grace
    resumes_at = now + grace
    held = Alert.objects.filter(
        task=task,
        generation=task.alert_generation,
        kind=Alert.Kind.ESCALATION,
        clock__in={clock for clock, _ in steps},
        step__gt=1,
        fired_at__isnull=True,
        cancelled_at__isnull=True,
    ).update(due_at=resumes_at)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_ESCALATION_ACKNOWLEDGED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "steps": [f"{clock}:{step}" for clock, step in steps],
            "next_steps_held_until": resumes_at.isoformat() if held else None,
        },
        justification=note,
    )
    return task


@transaction.atomic(durable=True)
def task_pause(*, task: Task, actor: User, reason: str, until: datetime) -> Task:
    """Stop the clocks while the holder waits on someone outside the force (an MLAT, a
    platform disclosure), until ``until`` at the latest (capped by the deadline policy; the
    sweep resumes it then). Reminders and escalations wait; how far an escalation had climbed
    is kept, so resuming continues it. The hub is told of every pause."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_PAUSE, task)
    if not reason.strip():
        raise DomainError("Say what the task is waiting for", field="reason")
    now = db_now()
    referral = task.referral
    cap = deadline_policy_for(grade=referral.grade or 3, risk=referral.risk).max_pause
    if until <= now:
        raise DomainError("A pause ends in the future: give when to restart the clocks", field="until")
    if until > now + cap:
        raise DomainError(
            f"A grade {referral.grade} task can be paused for {_duration(cap)} at most: "
            "choose an earlier end",
            field="until",
        )
    task.escalation_carry = _climbed(task)
    task.paused_at, task.paused_until, task.pause_reason = now, until, reason
    task.save(update_fields=["paused_at", "paused_until", "pause_reason", "escalation_carry", "updated_at"])
    alerts_reschedule(task=task, now=now)
    ref = f"{referral.agency.code} {referral.external_id}"
    notify_hub(
        kind="task_paused",
        task=task,
        subject=f"Task {ref} paused by {task.assignee_org.code} until {until:%Y-%m-%d %H:%M} UTC",
        body=f"Grade {referral.grade}. Waiting for: {reason[:300]}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.TASK_PAUSED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "paused_at": now.isoformat(),
            "until": until.isoformat(),
            "escalation": task.escalation_carry,
        },
        justification=reason,
    )
    return task


def _duration(span: timedelta) -> str:
    hours = round(span.total_seconds() / 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"


@transaction.atomic(durable=True)
def task_resume(*, task: Task, actor: User) -> Task:
    """Restart the clocks: every deadline moves on by the time spent paused, and an escalation
    that had climbed continues from where it was."""
    task = task_lock_as_seen(task)
    authorize(actor, Act.TASK_RESUME, task)
    return _resume(task=task, actor=actor, why="")


def _resume(*, task: Task, actor: User | None, why: str) -> Task:
    if task.paused_at is None:
        raise InvalidTransition("The task is not paused")
    now = db_now()
    paused_for = max(now - task.paused_at, timedelta(0))
    task.due_at += paused_for
    task.accept_due_at += paused_for
    task.offered_at += paused_for
    task.paused_total += paused_for
    task.paused_at, reason = None, task.pause_reason
    task.paused_until = None
    task.pause_reason = ""
    carry, task.escalation_carry = task.escalation_carry, {}
    task.save(
        update_fields=[
            "due_at", "accept_due_at", "offered_at", "paused_total", "paused_at", "paused_until",
            "pause_reason", "escalation_carry", "updated_at",
        ]
    )  # fmt: skip
    alerts_reschedule(task=task, now=now, carry=carry)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_RESUMED,
        object_type="task",
        object_id=task.pk,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={
            "paused_seconds": round(paused_for.total_seconds()),
            "due_at": task.due_at.isoformat(),
            "pause_reason": reason,
            "escalation_continues": carry,
        },
        justification=why,
    )
    return task


def pauses_expire(*, now: datetime | None = None, limit: int = 200) -> int:
    """Resume every task whose pause has run out (the sweep's job: a pause always ends).
    Each is resumed in its own transaction, skipping a task another worker holds."""
    now = now or db_now()
    resumed = 0
    due = list(
        Task.objects.filter(paused_at__isnull=False, paused_until__lte=now)
        .order_by("paused_until")
        .values_list("pk", flat=True)[:limit]
    )
    for task_id in due:
        with transaction.atomic():
            task = (
                Task.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
                .select_related("assignee_org__parent", "referral__agency", "accepted_by")
                .filter(pk=task_id, paused_at__isnull=False, paused_until__lte=now)
                .first()
            )
            if task is None:
                continue
            _resume(task=task, actor=None, why="the pause ran out")
            resumed += 1
    return resumed
