"""How the accountability reports and the outcome-feedback pages word their figures.
Presentation only: every number comes from safeguarding.reports and safeguarding.feedback."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hub.web.presenters import JUSTICE_LABELS, SAFEGUARDING_LABELS, chart_payload
from safeguarding.models import OutboxEvent, WebhookEndpoint
from safeguarding.reports import AGEING_BUCKETS

FUNNEL_STEPS = [
    ("received", "Received"),
    ("actionable", "Actionable"),
    ("allocated", "Allocated"),
    ("outcome_recorded", "Outcome recorded"),
    ("feedback_delivered", "Feedback delivered"),
]
AGEING_LABELS = {
    "under_7_days": "Under 7 days",
    "7_to_30_days": "7–30 days",
    "30_to_90_days": "30–90 days",
    "over_90_days": "Over 90 days",
}
EVENT_LABELS = dict(WebhookEndpoint.EventType.choices)
# A delivery's state as a badge class; "pending" reads "Retrying" once an attempt has failed.
DELIVERY_BADGES = {
    OutboxEvent.Status.PENDING: "warn",
    OutboxEvent.Status.SENDING: "info",
    OutboxEvent.Status.DELIVERED: "ok",
    OutboxEvent.Status.FAILED: "danger",
    OutboxEvent.Status.DISABLED: "muted",
}


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def duration_text(seconds: float | None) -> str:
    """A duration in the unit a person would use: 350 ms, 4.2 s, 3 min, 1.5 h, 2.1 days."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _spread(spread: dict[str, float | None]) -> dict[str, str]:
    if spread["average"] is None:
        return {"average": "—", "range": "—"}
    return {
        "average": number(spread["average"]),
        "range": f"{number(spread['shortest'])}–{number(spread['longest'])}",
    }


def _labelled(counts: dict[str, int], labels: dict[str, str]) -> list[tuple[str, int]]:
    return sorted(((labels.get(code, code), n) for code, n in counts.items()), key=lambda item: -item[1])


def spoke_rows(spokes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """safeguarding.reports.spoke_report rows, worded for the tables."""
    return [
        {
            **row,
            "accept": _spread(row["hours_to_accept"]),
            "accepted_on_time": percent(row["accepted_on_time_share"]),
            "outcome": _spread(row["days_to_outcome"]),
            "completed_on_time": percent(row["completed_on_time_share"]),
            "acknowledgers": sorted(row["acknowledged_by"].items(), key=lambda item: (-item[1], item[0])),
            "justice": _labelled(row["justice_outcomes"], JUSTICE_LABELS),
            "safeguarding": _labelled(row["safeguarding_outcomes"], SAFEGUARDING_LABELS),
            "ageing": [row["low_grade_ageing"][name] for name, _ in AGEING_BUCKETS],
        }
        for row in spokes
    ]


TOTALLED = (
    "tasks_received",
    "referrals_received",
    "tasks_accepted",
    "tasks_completed",
    "escalations",
    "escalations_acknowledged",
    "arrests",
    "children_safeguarded",
    "victims_identified",
    "open_without_outcome",
)


def spoke_totals(spokes: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {key: sum(row[key] for row in spokes) for key in TOTALLED}
    totals["ageing"] = [sum(row["low_grade_ageing"][name] for row in spokes) for name, _ in AGEING_BUCKETS]
    return totals


def report_charts(spokes: list[dict[str, Any]], funnel: dict[str, int]) -> dict[str, Any]:
    """Data for the four Chart.js charts (each also rendered as a table of its numbers)."""
    timed = [row for row in spokes if row["days_to_outcome"]["average"] is not None]
    justice: Counter[str] = Counter()
    safeguarding: Counter[str] = Counter()
    for row in spokes:
        justice.update(row["justice_outcomes"])
        safeguarding.update(row["safeguarding_outcomes"])
    justice_rows = _labelled(dict(justice), JUSTICE_LABELS)
    safeguarding_rows = _labelled(dict(safeguarding), SAFEGUARDING_LABELS)
    return {
        "funnel": chart_payload(
            [label for _, label in FUNNEL_STEPS],
            [{"key": "funnel", "label": "Referrals", "data": [funnel[key] for key, _ in FUNNEL_STEPS]}],
        ),
        "days": chart_payload(
            [row["org"] for row in timed],
            [
                {
                    "key": "days",
                    "label": "Average days to outcome",
                    "data": [row["days_to_outcome"]["average"] for row in timed],
                }
            ],
            long_labels=[row["name"] for row in timed],
        ),
        "justice": chart_payload(
            [label for label, _ in justice_rows],
            [{"key": "justice", "label": "Outcomes", "data": [n for _, n in justice_rows]}],
        ),
        "safeguarding": chart_payload(
            [label for label, _ in safeguarding_rows],
            [{"key": "safeguarding", "label": "Outcomes", "data": [n for _, n in safeguarding_rows]}],
        ),
        "heights": {
            "justice": _bar_height(len(justice_rows)),
            "safeguarding": _bar_height(len(safeguarding_rows)),
        },
    }


def _bar_height(bars: int) -> int:
    return max(160, 38 * bars + 60)


def funnel_steps(funnel: dict[str, int]) -> list[dict[str, Any]]:
    """Each step with its share of the referrals received."""
    received = funnel["received"]
    return [
        {
            "key": key,
            "label": label,
            "count": funnel[key],
            "share": percent(funnel[key] / received if received else None),
        }
        for key, label in FUNNEL_STEPS
    ]
