"""Changing the deadline policy (issue 16): what a change would do to the tasks already running,
and the change itself.

A task's clocks are set once, at allocation, from the row for its referral's grade and risk.
Editing a row never gives a running task more time (deadlines only tighten). The administrator
may ask for the tighter row to apply to the running tasks it governs too: each of them whose
deadline the new row brings earlier is moved (through ``task_clocks_tighten``, which re-plans
its reminders and escalations and audits the move); the others keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import ExpressionWrapper, F, QuerySet
from django.db.models.fields import DateTimeField

from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import DeadlinePolicy, Task, User
from hub.policies.rules import Act, authorize
from hub.services.alerts import task_clocks_tighten
from hub.services.audit import audit_record

DURATIONS = ("accept_within", "act_within", "escalation_step_wait", "acknowledgement_grace", "max_pause")
LONGEST = timedelta(days=365)
SHORTEST = timedelta(minutes=5)


@dataclass(frozen=True)
class PolicyPreview:
    """What saving ``after`` would do: the running tasks the row governs, how many of them the
    tighter clocks would move earlier (if applied to running tasks), and how many have a
    deadline the new row would have given later (they keep theirs)."""

    running: int
    would_tighten: int
    keep_longer: int
    changes: dict[str, list[str]]


def governed_tasks(policy: DeadlinePolicy) -> QuerySet[Task]:
    """Running tasks whose clocks come from this row: their referral's grade and risk, or for
    the grade's any-risk row, every risk of that grade without a row of its own."""
    tasks = Task.objects.filter(status__in=Task.RUNNING_STATUSES, referral__grade=policy.grade)
    if policy.risk:
        return tasks.filter(referral__risk=policy.risk)
    own_rows = (
        DeadlinePolicy.objects.filter(grade=policy.grade).exclude(risk="").values_list("risk", flat=True)
    )
    return tasks.exclude(referral__risk__in=list(own_rows))


def _clean(policy: DeadlinePolicy, fields: dict[str, Any]) -> dict[str, timedelta]:
    unknown = set(fields) - set(DURATIONS)
    if unknown:
        raise DomainError(f"Only {', '.join(DURATIONS)} can be changed", field=sorted(unknown)[0])
    clean: dict[str, timedelta] = {}
    for name, value in fields.items():
        if not isinstance(value, timedelta):
            raise DomainError("A duration, such as 04:00:00 or 2 00:00:00", field=name)
        if not SHORTEST <= value <= LONGEST:
            raise DomainError("Between 5 minutes and 365 days", field=name)
        clean[name] = value
    accept = clean.get("accept_within", policy.accept_within)
    act = clean.get("act_within", policy.act_within)
    if accept > act:
        raise DomainError("The time to accept cannot be longer than the time to act", field="accept_within")
    return clean


def _diff(policy: DeadlinePolicy, clean: dict[str, timedelta]) -> dict[str, list[str]]:
    return {
        name: [str(getattr(policy, name)), str(value)]
        for name, value in clean.items()
        if getattr(policy, name) != value
    }


def deadline_policy_preview(*, actor: User, policy: DeadlinePolicy, **fields: Any) -> PolicyPreview:
    """Nothing is written: the figures the edit page shows before the change is saved."""
    authorize(actor, Act.DEADLINE_POLICY_EDIT, policy)
    clean = _clean(policy, fields)
    act = clean.get("act_within", policy.act_within)
    accept = clean.get("accept_within", policy.accept_within)
    tasks = governed_tasks(policy).annotate(
        new_due=ExpressionWrapper(F("created_at") + F("paused_total") + act, output_field=DateTimeField()),
        new_accept=ExpressionWrapper(F("offered_at") + accept, output_field=DateTimeField()),
    )
    earlier = tasks.filter(new_due__lt=F("due_at")) | tasks.filter(
        status=Task.Status.OFFERED, new_accept__lt=F("accept_due_at")
    )
    return PolicyPreview(
        running=tasks.count(),
        would_tighten=earlier.distinct().count(),
        keep_longer=tasks.filter(new_due__gt=F("due_at")).count(),
        changes=_diff(policy, clean),
    )


def deadline_policy_set(
    *, actor: User, policy: DeadlinePolicy, reason: str, tighten_running: bool = False, **fields: Any
) -> dict[str, Any]:
    """Save the row (new allocations use it at once) and, with ``tighten_running``, bring the
    running tasks it governs to the tighter clocks. Audited with before and after."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the policy changes (for example: HMICFRS recommendation).", field="reason")
    with transaction.atomic():
        policy = DeadlinePolicy.objects.select_for_update().get(pk=policy.pk)
        authorize(actor, Act.DEADLINE_POLICY_EDIT, policy)
        clean = _clean(policy, fields)
        changes = _diff(policy, clean)
        if not changes:
            raise DomainError(
                "Nothing changes: every value is what the policy already says", code="unchanged"
            )
        for name, value in clean.items():
            setattr(policy, name, value)
        policy.save()
        moved = 0
        if tighten_running:
            for task in governed_tasks(policy).select_for_update(of=("self",)).select_related("referral"):
                moved += bool(
                    task_clocks_tighten(
                        task=task,
                        actor=actor,
                        grade=task.referral.grade or policy.grade,
                        risk=task.referral.risk,
                        reason=f"Deadline policy changed: {reason}",
                    )
                )
        audit_record(
            actor=actor,
            action=AuditAction.DEADLINE_POLICY_SET,
            object_type="deadline_policy",
            object_id=str(policy.pk),
            changes={
                "grade": policy.grade,
                "risk": policy.risk or "any",
                "before": {name: old for name, (old, _new) in changes.items()},
                "after": {name: new for name, (_old, new) in changes.items()},
                "tighten_running": tighten_running,
                "tasks_tightened": moved,
            },
            justification=reason,
        )
    return {"changes": changes, "tasks_tightened": moved}
