"""Accountability over time (issue 16): each spoke's figures month by month, beside the national
median, so a drift (a force whose time to an outcome slides from 5 to 20 days) shows as a line.

Per spoke (region or force, by the organisation holding the task) and calendar month (in UK
time):

- ``days_to_accept``: the median days from a task's offer to its acceptance, for tasks accepted
  that month;
- ``days_to_outcome``: the median days from a task's creation to its outcome, for tasks
  completed that month;
- ``backlog``: tasks open at the end of the month (created before it ends, not yet completed
  then; cancelled ones from their last change);
- ``breaches``: deadlines missed that month (the first escalation of a task's clock firing).

``national`` is, for each figure and month, the median of the spokes that have a value.
A month without data for a spoke is ``None`` (no line drawn there), never a made-up zero,
except the counts (backlog, breaches), which are real zeros.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from hub.models import Alert, Organisation, Task

UK = ZoneInfo("Europe/London")
FIGURES = ("days_to_accept", "days_to_outcome", "backlog", "breaches")
MAX_MONTHS = 36


def month_starts(last: date, count: int) -> list[date]:
    """The first days of ``count`` months ending with ``last``'s month, oldest first."""
    year, month = last.year, last.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UK)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def spoke_trends(*, months: list[date], spokes: list[str] | None = None) -> dict[str, Any]:
    """Monthly figures for every spoke (or just ``spokes``) and the national median over all."""
    edges = [_at(m) for m in months] + [_at(_next_month(months[-1]))]
    since, until = edges[0], edges[-1]
    names = dict(Organisation.objects.filter(kind__in=["region", "force"]).values_list("code", "name"))

    def index(moment: datetime) -> int | None:
        if not since <= moment < until:
            return None
        return next(i for i in range(len(months)) if moment < edges[i + 1])

    accept: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in months])
    outcome: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in months])
    for code, offered_at, accepted_at, created_at, completed_at in Task.objects.filter(
        Q(accepted_at__gte=since, accepted_at__lt=until) | Q(completed_at__gte=since, completed_at__lt=until)
    ).values_list("assignee_org__code", "offered_at", "accepted_at", "created_at", "completed_at"):
        if accepted_at is not None and (i := index(accepted_at)) is not None:
            accept[code][i].append((accepted_at - offered_at).total_seconds() / 86400)
        if completed_at is not None and (i := index(completed_at)) is not None:
            outcome[code][i].append((completed_at - created_at).total_seconds() / 86400)

    backlog: dict[str, list[int]] = defaultdict(lambda: [0 for _ in months])
    for code, created_at, completed_at, status, updated_at in (
        Task.objects.filter(created_at__lt=until)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=since))
        .values_list("assignee_org__code", "created_at", "completed_at", "status", "updated_at")
    ):
        ended = completed_at or (updated_at if status == Task.Status.CANCELLED else None)
        for i, end in enumerate(edges[1:]):
            if created_at < end and (ended is None or ended >= end):
                backlog[code][i] += 1

    breaches: dict[str, list[int]] = defaultdict(lambda: [0 for _ in months])
    for code, fired_at in Alert.objects.filter(
        kind=Alert.Kind.ESCALATION, step=1, fired_at__gte=since, fired_at__lt=until
    ).values_list("task__assignee_org__code", "fired_at"):
        if fired_at is not None and (i := index(fired_at)) is not None:
            breaches[code][i] += 1

    every = {code for code in set(accept) | set(outcome) | set(backlog) | set(breaches) if code in names}
    series: dict[str, dict[str, list[Any]]] = {}
    for code in every:
        series[code] = {
            "days_to_accept": [_median(values) for values in accept[code]],
            "days_to_outcome": [_median(values) for values in outcome[code]],
            "backlog": list(backlog[code]),
            "breaches": list(breaches[code]),
        }
    national = {
        figure: [
            _median([value for s in series.values() if (value := s[figure][i]) is not None])
            for i in range(len(months))
        ]
        for figure in FIGURES
    }
    shown = sorted(code for code in every if spokes is None or code in spokes)
    return {
        "months": [m.strftime("%Y-%m") for m in months],
        "spokes": [{"org": code, "name": names[code], **series[code]} for code in shown],
        "national": national,
    }


def recent_months(count: int) -> list[date]:
    """The last ``count`` months, this one included (UK time)."""
    return month_starts(timezone.now().astimezone(UK).date(), count)


def trend_spokes_for(org: Organisation, *, hub: bool) -> list[str] | None:
    """Whose lines a person sees: the hub and auditors every spoke (None); a region itself and
    its forces; a force itself. Everyone sees the national median."""
    if hub:
        return None
    codes = [org.code]
    if org.kind == Organisation.Kind.REGION:
        codes += list(Organisation.objects.filter(parent=org).values_list("code", flat=True))
    return codes
