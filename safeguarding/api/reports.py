"""/reports/…: accountability per spoke and period, and the attrition funnel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet
from hub.constants import AuditAction
from hub.exceptions import DomainError, NotFound
from hub.models import Membership, Task
from hub.policies import roles as r
from hub.policies.rules import Act
from hub.services.audit import audit_record
from safeguarding.reports import Period, attrition_funnel, spoke_report
from safeguarding.research import COLUMNS, research_export
from safeguarding.selectors import monthly_summaries_for
from safeguarding.trends import MAX_MONTHS, recent_months, spoke_trends, trend_spokes_for

PERIOD_PARAMS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Start (inclusive); default a year ago"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="End (exclusive); default now"),
]


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def parse_period(params: Any) -> Period:
    field = serializers.DateTimeField()
    now = timezone.now()
    try:
        until = field.to_internal_value(params["until"]) if params.get("until") else now
        since = (
            field.to_internal_value(params["since"]) if params.get("since") else until - timedelta(days=365)
        )
    except serializers.ValidationError as exc:
        raise DomainError(f"since/until: {exc.detail[0]}", field="since") from None  # type: ignore[index]
    except OverflowError:
        raise DomainError("since/until is out of range", field="since") from None
    if since >= until:
        raise DomainError("since must be before until", field="since")
    # VIHub's reports cover this century; a period in year 244 is a typo (and its local time
    # would carry London's 1847 mean-time offset, which no client can parse).
    if since < EARLIEST or until > LATEST:
        raise DomainError("since/until must fall between 2000 and 2100", field="since")
    return Period(since=since, until=until)


class SpokeReportSerializer(serializers.Serializer[Any]):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    spokes = serializers.ListField(child=serializers.DictField())


def trend_months(raw: str | None) -> list[Any]:
    """``?months=N`` (1–36, default 12) as the first days of those months."""
    try:
        count = int(raw) if raw not in (None, "") else 12
    except ValueError:
        raise DomainError("months must be a whole number", field="months") from None
    if not 1 <= count <= MAX_MONTHS:
        raise DomainError(f"months must be between 1 and {MAX_MONTHS}", field="months")
    return recent_months(count)


class TrendSeriesSerializer(serializers.Serializer[Any]):
    days_to_accept = serializers.ListField(child=serializers.FloatField(allow_null=True))
    days_to_outcome = serializers.ListField(child=serializers.FloatField(allow_null=True))
    backlog = serializers.ListField(child=serializers.IntegerField())
    breaches = serializers.ListField(child=serializers.IntegerField())


class SpokeTrendSerializer(TrendSeriesSerializer):
    org = serializers.CharField()
    name = serializers.CharField()


class TrendsSerializer(serializers.Serializer[Any]):
    months = serializers.ListField(child=serializers.CharField(), help_text="YYYY-MM, oldest first")
    spokes = SpokeTrendSerializer(many=True)
    national = TrendSeriesSerializer(help_text="Each month's median over the spokes with a value")


class MonthlySummarySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    org = serializers.CharField(source="organisation.code")
    month = serializers.DateField()
    figures = serializers.DictField()
    produced_at = serializers.DateTimeField()


class FunnelSerializer(serializers.Serializer[Any]):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    received = serializers.IntegerField()
    non_actionable = serializers.IntegerField()
    actionable = serializers.IntegerField()
    allocated = serializers.IntegerField()
    outcome_recorded = serializers.IntegerField()
    feedback_delivered = serializers.IntegerField()


class ReportViewSet(HubViewSet):
    queryset = Task.objects.none()
    policies = {
        "spokes": Act.REPORT_VIEW,
        "funnel": Act.REPORT_VIEW,
        "research": Act.RESEARCH_EXPORT,
        "trends": Act.TRENDS_VIEW,
        "monthly": Act.MONTHLY_LIST,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[Task]:
        return Task.objects.none()

    def _audit(self, request: Request, name: str, period: Period) -> None:
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=f"report.{name}_viewed",
            object_type="report",
            changes={"since": period.since.isoformat(), "until": period.until.isoformat()},
        )

    @extend_schema(parameters=PERIOD_PARAMS, responses=SpokeReportSerializer)
    @action(detail=False, methods=["get"])
    def spokes(self, request: Request) -> Response:
        period = parse_period(request.query_params)
        self._audit(request, "spokes", period)
        return Response({"since": period.since, "until": period.until, "spokes": spoke_report(period=period)})

    @extend_schema(parameters=PERIOD_PARAMS, responses=FunnelSerializer)
    @action(detail=False, methods=["get"])
    def funnel(self, request: Request) -> Response:
        period = parse_period(request.query_params)
        self._audit(request, "funnel", period)
        return Response({"since": period.since, "until": period.until, **attrition_funnel(period=period)})

    @extend_schema(
        responses=MonthlySummarySerializer(many=True),
        description="The monthly summaries the caller may see, newest first "
        "(the page offers each as CSV and PDF).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def monthly(self, request: Request) -> Response:
        summaries = list(monthly_summaries_for(self.membership)[:240])
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.MONTHLY_SUMMARIES_LISTED,
            object_type="monthly_summary",
            changes={"ids": [str(s.pk) for s in summaries]},
        )
        return Response(MonthlySummarySerializer(summaries, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "months", int, description=f"How many months, this one included (1–{MAX_MONTHS}; 12)"
            ),
            OpenApiParameter("spoke", str, description="One region's or force's code (the hub and auditors)"),
        ],
        responses=TrendsSerializer,
        description="Each spoke's figures month by month beside the national median "
        "(safeguarding/trends.py). A force sees its own line, a region its own and its forces'; "
        "the hub and auditors every one.",
    )
    @action(detail=False, methods=["get"])
    def trends(self, request: Request) -> Response:
        months = trend_months(request.query_params.get("months"))
        shown = trend_spokes_for(self.membership.organisation, hub=self.membership.role in r.READ_ALL_ROLES)
        if code := request.query_params.get("spoke"):
            if shown is not None and code not in shown:
                raise NotFound("Not found.")
            shown = [code]
        data = spoke_trends(months=months, spokes=shown)
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.REPORT_TRENDS_VIEWED,
            object_type="report",
            changes={"months": data["months"], "spokes": [s["org"] for s in data["spokes"]]},
        )
        return Response(data)

    @extend_schema(
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("recipient", str, required=True, description="Who receives the extract"),
            OpenApiParameter(
                "approval", str, required=True, description="The research approval: reference and purpose"
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="The anonymised research extract as CSV (safeguarding/research.py): no names, no free "
        "text, pseudonymous case ids that link to nothing, months not dates. Audited as a disclosure.",
    )
    @action(detail=False, methods=["get"])
    def research(self, request: Request) -> HttpResponse:
        period = parse_period(request.query_params)
        rows = research_export(
            actor=request.user,  # type: ignore[arg-type]
            period=period,
            recipient=request.query_params.get("recipient", ""),
            approval=request.query_params.get("approval", ""),
        )
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="vihub-research-{period.since:%Y%m}-{period.until:%Y%m}.csv"'
        )
        return response
