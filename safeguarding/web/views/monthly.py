"""Monthly summaries per spoke (issue 16): the list a person may see, and each as CSV or PDF.
Every list and download is audited (a download is a copy leaving VIHub)."""

from __future__ import annotations

from django.http import Http404, HttpResponse

from hub.constants import AuditAction
from hub.policies.rules import Act, Actor
from hub.services.audit import audit_record
from hub.web.shortcuts import AuthenticatedHttpRequest, page, policy_view
from safeguarding.models import MonthlySummary
from safeguarding.monthly import FIELDS, summary_csv, summary_pdf
from safeguarding.selectors import monthly_summaries_for

SHOWN = 240  # 20 years of one force's months, or two of every spoke's


@policy_view(Act.MONTHLY_LIST)
def monthly_list(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    summaries = list(monthly_summaries_for(actor.membership)[:SHOWN])
    audit_record(
        actor=request.user,
        action=AuditAction.MONTHLY_SUMMARIES_LISTED,
        object_type="monthly_summary",
        changes={"ids": [str(s.pk) for s in summaries]},
    )
    return page(request, "safeguarding/monthly.html", {"summaries": summaries, "fields": FIELDS[3:6]})


@policy_view(Act.MONTHLY_DOWNLOAD, lookup=monthly_summaries_for)
def monthly_download(
    request: AuthenticatedHttpRequest, actor: Actor, summary: MonthlySummary
) -> HttpResponse:
    kind = request.GET.get("format", "pdf")
    if kind not in ("csv", "pdf"):
        raise Http404("Choose CSV or PDF.")
    audit_record(
        actor=request.user,
        action=AuditAction.MONTHLY_SUMMARY_DOWNLOADED,
        object_type="monthly_summary",
        object_id=summary.pk,
        changes={"format": kind, "org": summary.organisation.code, "month": f"{summary.month:%Y-%m}"},
    )
    name = f"vihub-{summary.organisation.code.lower()}-{summary.month:%Y-%m}.{kind}"
    if kind == "csv":
        response = HttpResponse(summary_csv(summary), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(summary_pdf(summary), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
