"""Accountability reports for inspectors and the hub: per spoke and period, and the attrition
funnel. Reads only; every figure is computed from the records the services wrote.

Times are in hours (acceptance) and days (to outcome), as average, shortest and longest —
the shape of the West Midlands table in the domain brief (e.g. 2018: 433 referrals, average
20 days, 1–174)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from hub.models import Alert, Organisation, Referral, Task, TaskTransfer
from safeguarding.models import OutboxEvent, Outcome, WebhookEndpoint

AGEING_BUCKETS = (("under_7_days", 7), ("7_to_30_days", 30), ("30_to_90_days", 90), ("over_90_days", None))
LOW_GRADE = Q(referral__grade=3, referral__risk__in=["low", "medium"])


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.since <= moment < self.until


def _spread(values: list[float], digits: int = 1) -> dict[str, float | None]:
    if not values:
        return {"average": None, "shortest": None, "longest": None}
    return {
        "average": round(sum(values) / len(values), digits),
        "shortest": round(min(values), digits),
        "longest": round(max(values), digits),
    }


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _bucket(age: timedelta) -> str:
    for name, limit in AGEING_BUCKETS:
        if limit is None or age < timedelta(days=limit):
            return name
    return AGEING_BUCKETS[-1][0]


def spoke_report(*, period: Period) -> list[dict[str, Any]]:
    """One row per region or force that held work in the period."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"tasks_received": 0, "referrals_received": set()})
    names = dict(Organisation.objects.filter(kind__in=["region", "force"]).values_list("code", "name"))

    for to_code, referral_id in TaskTransfer.objects.filter(
        at__gte=period.since, at__lt=period.until
    ).values_list("to_org__code", "task__referral_id"):
        rows[to_code]["tasks_received"] += 1
        rows[to_code]["referrals_received"].add(referral_id)

    accept_hours: dict[str, list[float]] = defaultdict(list)
    accepted_on_time: Counter[str] = Counter()
    outcome_days: dict[str, list[float]] = defaultdict(list)
    completed_on_time: Counter[str] = Counter()
    tasks = Task.objects.filter(
        Q(accepted_at__gte=period.since, accepted_at__lt=period.until)
        | Q(completed_at__gte=period.since, completed_at__lt=period.until)
    ).values_list(
        "assignee_org__code",
        "offered_at",
        "accepted_at",
        "accept_due_at",
        "created_at",
        "completed_at",
        "due_at",
    )
    for code, offered_at, accepted_at, accept_due_at, created_at, completed_at, due_at in tasks:
        if accepted_at is not None and accepted_at in period:
            accept_hours[code].append((accepted_at - offered_at).total_seconds() / 3600)
            accepted_on_time[code] += accepted_at <= accept_due_at
        if completed_at is not None and completed_at in period:
            outcome_days[code].append((completed_at - created_at).total_seconds() / 86400)
            completed_on_time[code] += completed_at <= due_at

    escalations: Counter[str] = Counter()
    acknowledged: Counter[str] = Counter()
    acknowledged_by: dict[str, Counter[str]] = defaultdict(Counter)
    for code, ack_at, ack_user in Alert.objects.filter(
        kind=Alert.Kind.ESCALATION, fired_at__gte=period.since, fired_at__lt=period.until
    ).values_list("task__assignee_org__code", "acknowledged_at", "acknowledged_by__username"):
        escalations[code] += 1
        if ack_at is not None:
            acknowledged[code] += 1
            acknowledged_by[code][ack_user] += 1

    justice: dict[str, Counter[str]] = defaultdict(Counter)
    safeguarding: dict[str, Counter[str]] = defaultdict(Counter)
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in Outcome.objects.filter(recorded_at__gte=period.since, recorded_at__lt=period.until).values(
        "recorded_org__code", "justice_outcome", "safeguarding_outcome", "arrests", "children_safeguarded",
        "victims_identified",
    ):  # fmt: skip
        code = outcome["recorded_org__code"]
        justice[code][outcome["justice_outcome"]] += 1
        safeguarding[code][outcome["safeguarding_outcome"]] += 1
        for key in ("arrests", "children_safeguarded", "victims_identified"):
            sums[code][key] += outcome[key]

    open_tasks: Counter[str] = Counter()
    ageing: dict[str, Counter[str]] = defaultdict(Counter)
    for code, created_at, low in (
        Task.objects.filter(status__in=Task.OPEN_STATUSES, created_at__lt=period.until)
        .annotate(is_low=Q(LOW_GRADE))
        .values_list("assignee_org__code", "created_at", "is_low")
    ):
        open_tasks[code] += 1
        if low:
            ageing[code][_bucket(period.until - created_at)] += 1

    codes = (
        set(rows) | set(accept_hours) | set(outcome_days) | set(escalations) | set(justice) | set(open_tasks)
    )
    report = []
    for code in sorted(code for code in codes if code in names):
        row = rows[code]
        accepted = len(accept_hours[code])
        completed = len(outcome_days[code])
        report.append(
            {
                "org": code,
                "name": names[code],
                "tasks_received": row["tasks_received"],
                "referrals_received": len(row["referrals_received"]),
                "tasks_accepted": accepted,
                "hours_to_accept": _spread(accept_hours[code]),
                "accepted_on_time_share": _share(accepted_on_time[code], accepted),
                "tasks_completed": completed,
                "days_to_outcome": _spread(outcome_days[code]),
                "completed_on_time_share": _share(completed_on_time[code], completed),
                "escalations": escalations[code],
                "escalations_acknowledged": acknowledged[code],
                "acknowledged_by": dict(acknowledged_by[code]),
                "justice_outcomes": dict(justice[code]),
                "safeguarding_outcomes": dict(safeguarding[code]),
                "arrests": sums[code]["arrests"],
                "children_safeguarded": sums[code]["children_safeguarded"],
                "victims_identified": sums[code]["victims_identified"],
                "open_without_outcome": open_tasks[code],
                "low_grade_ageing": {name: ageing[code][name] for name, _ in AGEING_BUCKETS},
            }
        )
    return report


def attrition_funnel(*, period: Period) -> dict[str, int]:
    """Referrals received in the period and how far they got."""
    received = Referral.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
    actionable = received.filter(grade__isnull=False).exclude(status=Referral.Status.NON_ACTIONABLE)
    allocated = actionable.filter(tasks__isnull=False).distinct()
    with_outcome = received.filter(outcome__isnull=False)
    fed_back = (
        OutboxEvent.objects.filter(
            referral__in=received,
            event_type=WebhookEndpoint.EventType.OUTCOME_RECORDED,
            status=OutboxEvent.Status.DELIVERED,
        )
        .values("referral")
        .distinct()
    )
    return {
        "received": received.count(),
        "non_actionable": received.filter(status=Referral.Status.NON_ACTIONABLE).count(),
        "actionable": actionable.count(),
        "allocated": allocated.count(),
        "outcome_recorded": with_outcome.count(),
        "feedback_delivered": fed_back.count(),
    }
