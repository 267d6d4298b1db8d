"""The accountability reports for the hub and auditors: per spoke and period, and the
attrition funnel, audited as the API's reports are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from hub.policies.rules import Act, Actor
from hub.services.audit import audit_record
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    page,
    policy_view,
)
from safeguarding.reports import attrition_funnel, spoke_report
from safeguarding.web.forms import (
    ReportPeriodForm,
    default_period,
)
from safeguarding.web.presenters import (
    AGEING_LABELS,
    funnel_steps,
    report_charts,
    spoke_rows,
    spoke_totals,
)
from spokes.selectors import oldest_waiting_requests

# --- Accountability reports (the hub and auditors) ---------------------------------------------


@policy_view(Act.REPORT_VIEW)
def reports(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """Per spoke and period, and the attrition funnel: the API's two reports on one page, each
    view audited as the API's are (``report.spokes_viewed``, ``report.funnel_viewed``)."""
    form = ReportPeriodForm(default_period(request.GET))
    if not form.is_valid():
        return page(request, "safeguarding/reports.html", {"form": form}, status=400)
    period = form.period()
    spokes = spoke_report(period=period)
    funnel = attrition_funnel(period=period)
    waiting = oldest_waiting_requests()
    for name in ("spokes", "funnel"):
        changes: dict[str, Any] = {"since": period.since.isoformat(), "until": period.until.isoformat()}
        if name == "spokes":
            changes["waiting_requests"] = [str(item.pk) for item in waiting]
        audit_record(
            actor=request.user, action=f"report.{name}_viewed", object_type="report", changes=changes
        )
    now = timezone.now()
    return page(
        request,
        "safeguarding/reports.html",
        {
            "form": form,
            "period": period,
            "last_day": period.until - timedelta(days=1),
            "rows": spoke_rows(spokes),
            "totals": spoke_totals(spokes),
            "funnel": funnel,
            "steps": funnel_steps(funnel),
            "charts": report_charts(spokes, funnel),
            "ageing_labels": list(AGEING_LABELS.values()),
            "waiting": [{"request": r, "days": (now - r.sent_at).days} for r in waiting],
        },
    )
