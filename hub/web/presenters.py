"""How the web UI words deadlines, organisations and audit actions. Presentation only: the
deadline *state* comes from the same function the API serialises
(hub.selectors.task_deadline_state)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince, timeuntil

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
from hub.models import AccessToChildren, Membership, Missing, Notification, Referral, Risk, RiskFactor, Task
from hub.policies.rules import Act, allowed
from hub.selectors import referral_list_for, task_deadline_state, tasks_for

DEADLINE_LABELS = {
    "on_time": "On time",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "escalated": "Escalated",
    "paused": "Paused",
    "declined": "Declined",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
JUSTICE_LABELS = dict(JUSTICE_OUTCOMES)
SAFEGUARDING_LABELS = dict(SAFEGUARDING_OUTCOMES)
ACCESS_LABELS = dict(AccessToChildren.choices)


@dataclass(frozen=True)
class Deadline:
    """A task's deadline as shown: machine state (for styling and tests), label and a sentence."""

    state: str
    label: str
    detail: str
    clock_at: datetime | None


def deadline_for(task: Task, now: datetime | None = None) -> Deadline:
    """The task's deadline state and a sentence about it. Escalation needs the queryset
    annotated with hub.selectors.with_escalation_flag (without it a task never shows escalated)."""
    now = now or timezone.now()
    state = task_deadline_state(task, now)
    label = DEADLINE_LABELS.get(state, state.replace("_", " ").capitalize())
    if state == "paused":
        return Deadline(state, label, f"Clocks stopped: {task.pause_reason or 'waiting'}", None)
    if state == "declined":
        return Deadline(state, label, "Waiting for the hub to reassign it", None)
    if task.status not in Task.RUNNING_STATUSES:
        return Deadline(state, label, f"{label} {timesince(task.updated_at, now, depth=1)} ago", None)
    if task.status == Task.Status.OFFERED and task.accept_due_at < task.due_at:
        clock, verb = task.accept_due_at, "Accept"
    else:
        clock, verb = task.due_at, "Act"
    if clock <= now:
        detail = f"{verb}-by deadline passed {timesince(clock, now, depth=2)} ago"
    else:
        detail = f"{verb} within {timeuntil(clock, now, depth=2)}"
    if state == "escalated":
        detail += " · acknowledge to stop the escalation"
    return Deadline(state, label, detail, clock)


@dataclass(frozen=True)
class TaskRow:
    task: Task
    deadline: Deadline


def task_rows(tasks: Iterable[Task], now: datetime) -> list[TaskRow]:
    return [TaskRow(task, deadline_for(task, now)) for task in tasks]


def chart_payload(
    labels: list[str], series: list[dict[str, Any]], *, long_labels: list[str] | None = None
) -> dict[str, Any]:
    """Data for static/js/vihub.js (short labels and series) plus the same numbers as table
    rows, labelled in full."""
    names = long_labels or labels
    rows = [{"label": names[i], "values": [s["data"][i] for s in series]} for i in range(len(labels))]
    return {"labels": labels, "series": series, "rows": rows}


def outcome_display(view: dict[str, Any] | None) -> dict[str, Any] | None:
    """An outcome view (hub.hooks.outcome_view) with the codes' labels added for display."""
    if view is None:
        return None
    return {
        **view,
        "justice_label": JUSTICE_LABELS.get(view["justice_outcome"], view["justice_outcome"]),
        "safeguarding_label": SAFEGUARDING_LABELS.get(
            view["safeguarding_outcome"], view["safeguarding_outcome"]
        ),
        "recorded_on": datetime.fromisoformat(view["recorded_at"]) if view.get("recorded_at") else None,
    }


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# Keys whose two-item list is a move from one value to another.
_TRANSITIONS = {"status", "assignee_org"}
# Keys that list the ids a read showed: the count is what a reader needs at a glance.
_ID_LISTS = {"ids", "seqs", "tasks_completed"}


def _pretty(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return date_format(timezone.localtime(datetime.fromisoformat(value)), "j M Y, H:i")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(_pretty(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {_pretty(item)}" for key, item in value.items()) or "—"
    return str(value)


def change_items(changes: dict[str, Any]) -> list[tuple[str, str]]:
    """An audit event's ``changes`` as readable (label, text) pairs: before → after for what
    changed, id lists as a count, timestamps in local time."""
    items: list[tuple[str, str]] = []
    before, after = changes.get("before"), changes.get("after")
    if isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        for key, value in after.items():
            if key in old and old[key] != value:
                items.append((key.replace("_", " "), f"{_pretty(old[key])} → {_pretty(value)}"))
            elif key not in old:
                items.append((key.replace("_", " "), _pretty(value)))
    for key, value in changes.items():
        if key in {"before", "after"} and isinstance(after, dict):
            continue
        label = key.replace("_", " ")
        if key in _ID_LISTS and isinstance(value, list):
            items.append((label, f"{len(value)}"))
        elif key in _TRANSITIONS and isinstance(value, list) and len(value) == 2:
            items.append((label, f"{_pretty(value[0])} → {_pretty(value[1])}"))
        else:
            items.append((label, _pretty(value)))
    return items


def access_labels(codes: list[str]) -> list[str]:
    return [ACCESS_LABELS.get(code, code) for code in codes]


FACTOR_LABELS = dict(RiskFactor.choices)
MISSING_LABELS = dict(Missing.choices)
OFFENCE_LABELS = dict(Referral.OffenceType.choices)
RISK_LABELS = dict(Risk.choices)


def _assessment(risk: str, access: list[str], factors: list[str], offence: str) -> dict[str, Any]:
    return {
        "risk": RISK_LABELS.get(risk, risk),
        "access": access_labels(sorted(access)),
        "factors": [FACTOR_LABELS.get(code, code) for code in sorted(factors)],
        "offence": OFFENCE_LABELS.get(offence, offence),
        "key": {
            "risk": risk,
            "access_to_children": sorted(access),
            "risk_factors": sorted(factors),
            "offence_type": offence,
        },
    }


def prioritisation(referral: Referral, reassessments: list[Any]) -> dict[str, Any]:
    """The hub's prioritisation record and the holder's latest re-assessment side by side, with
    the fields where they now differ (``differs``), for the task and referral pages."""
    offence = referral.triage_offence_type or referral.offence_type
    hub = _assessment(referral.risk, referral.access_to_children, referral.risk_factors, offence)
    hub["missing"] = [MISSING_LABELS.get(code, code) for code in referral.missing_information]
    latest = None
    if reassessments:
        last = reassessments[-1]
        latest = _assessment(
            last.risk, last.access_to_children, last.risk_factors, last.offence_type or offence
        )
        latest.update(
            {"org": last.organisation, "by": last.assessed_by, "at": last.assessed_at, "why": last.rationale}
        )
        latest["differs"] = [name for name, value in latest["key"].items() if hub["key"][name] != value]
        latest["differs_labels"] = [name.replace("_", " ") for name in latest["differs"]]
    return {"hub": hub, "latest": latest, "earlier": list(reversed(reassessments[:-1]))}


def action_label(action: str) -> str:
    """``task.handed_down`` → ``Task handed down``."""
    noun, _, verb = action.partition(".")
    return f"{noun.replace('_', ' ').capitalize()} {verb.replace('_', ' ')}".strip()


@dataclass(frozen=True)
class InboxRow:
    notification: Notification
    task: Task | None
    can_acknowledge: bool
    referral_id: Any = None  # a message about a referral the member may open (an urgent one)
    reference: str = ""  # the agency's reference of the task's or referral's case, when visible

    @property
    def kind_label(self) -> str:
        """``media_match`` → "Media match"."""
        return self.notification.kind.replace("_", " ").capitalize()


def inbox_rows(request: HttpRequest, membership: Membership, notifications: Any) -> list[InboxRow]:
    """Notifications with their task as the member may see it now (a task since moved away is
    not linked), and whether an Acknowledge button applies (an escalation still running)."""
    notifications = list(notifications)
    task_ids = {n.task_id for n in notifications if n.task_id}
    tasks = {
        t.pk: t for t in tasks_for(membership).filter(pk__in=task_ids).select_related("referral__agency")
    }
    referral_ids = {n.referral_id for n in notifications if n.referral_id and not n.task_id}
    visible = {
        r.pk: f"{r.agency.code} {r.external_id}"
        for r in referral_list_for(membership).filter(pk__in=referral_ids).select_related("agency")
    }
    rows = []
    for n in notifications:
        task = tasks.get(n.task_id) if n.task_id else None
        acknowledgeable = (
            n.kind == "escalation"
            and task is not None
            and bool(getattr(task, "is_escalated", False))
            and allowed(request.user, Act.TASK_ACKNOWLEDGE, task)  # type: ignore[arg-type]
        )
        reference = (
            f"{task.referral.agency.code} {task.referral.external_id}"
            if task
            else visible.get(n.referral_id, "")
        )
        rows.append(
            InboxRow(n, task, acknowledgeable, n.referral_id if n.referral_id in visible else None, reference)
        )
    return rows
