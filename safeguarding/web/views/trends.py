"""Trends (issue 16): a spoke's figures month by month beside the national median, as line
charts with their numbers. The hub and auditors pick any spoke; a force sees its own; a region
its own and its forces'. Audited as the API's ``report.trends_viewed``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.http import HttpResponse

from hub.constants import AuditAction
from hub.policies import roles as r
from hub.policies.rules import Act, Actor
from hub.services.audit import audit_record
from hub.web.presenters import chart_payload
from hub.web.shortcuts import AuthenticatedHttpRequest, page, policy_view
from safeguarding.trends import recent_months, spoke_trends, trend_spokes_for

CHARTS = (
    ("days_to_outcome", "Days from a task's creation to its outcome (median of the month)"),
    ("days_to_accept", "Days from offer to acceptance (median of the month)"),
    ("backlog", "Tasks open at the end of the month"),
    ("breaches", "Deadlines missed in the month"),
)
MONTH_CHOICES = [("6", "6 months"), ("12", "12 months"), ("24", "24 months"), ("36", "36 months")]


class TrendsForm(forms.Form):
    spoke = forms.ChoiceField(label="Spoke", required=False)
    months = forms.ChoiceField(label="Period", choices=MONTH_CHOICES, required=False)


def _month_label(code: str) -> str:
    year, month = (int(part) for part in code.split("-"))
    return date(year, month, 1).strftime("%b %Y")


@policy_view(Act.TRENDS_VIEW)
def trends(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    hub = actor.role in r.READ_ALL_ROLES
    allowed_codes = trend_spokes_for(actor.org, hub=hub)
    count = request.GET.get("months", "12")
    count = count if count in dict(MONTH_CHOICES) else "12"
    months = recent_months(int(count))
    data = spoke_trends(months=months, spokes=allowed_codes)
    choices = [(s["org"], f"{s['name']} ({s['org']})") for s in data["spokes"]]
    form = TrendsForm()
    wanted = request.GET.get("spoke") or (actor.org.code if not hub else "")
    chosen = next((s for s in data["spokes"] if s["org"] == wanted), None)
    if chosen is None and data["spokes"]:
        chosen = data["spokes"][0]
    audit_record(
        actor=request.user,
        action=AuditAction.REPORT_TRENDS_VIEWED,
        object_type="report",
        changes={"months": data["months"], "spokes": [chosen["org"]] if chosen else []},
    )
    labels = [_month_label(m) for m in data["months"]]
    charts: list[dict[str, Any]] = []
    for key, caption in CHARTS:
        series = [{"key": "national", "label": "National median", "data": data["national"][key]}]
        if chosen is not None:
            series.insert(0, {"key": "spoke", "label": chosen["name"], "data": chosen[key]})
        charts.append({"id": f"trend-{key.replace('_', '-')}", "caption": caption,
                       "chart": chart_payload(labels, series)})  # fmt: skip
    return page(
        request,
        "safeguarding/trends.html",
        {"form": form, "chosen": chosen, "charts": charts, "months": count, "choices": choices, "hub": hub},
    )
