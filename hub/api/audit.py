"""/audit/…: the trail for auditors — search, a task's timeline, export, verification status.
Every read of the trail is itself written to the trail."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet
from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import AuditEvent, AuditVerification, Membership
from hub.policies.rules import Act
from hub.selectors import AuditFilters, audit_head_seq, audit_search, audit_status, with_referral_reference
from hub.services.audit import audit_record

EXPORT_FIELDS = [
    "seq", "id", "occurred_at", "actor", "actor_display", "org", "actor_role", "action", "object_type",
    "object_id", "referral_id", "task_id", "request_id", "outcome", "recipient", "justification", "changes",
    "prev_hash", "hash", "referral_reference",
]  # fmt: skip
FILTER_PARAMS = [
    OpenApiParameter(
        "reference", str, description="An agency reference (or its start): its referrals' events"
    ),
    OpenApiParameter("object_id", str, description="Object id (also matches its task/referral events)"),
    OpenApiParameter("actor", str, description="Username"),
    OpenApiParameter("action", str, description="Exact, or a prefix ending in * (e.g. task.*)"),
    OpenApiParameter("org", str, description="Actor's organisation code"),
    OpenApiParameter("outcome", str, enum=AuditEvent.Outcome.values),
    OpenApiParameter("referral", str),
    OpenApiParameter("task", str),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
]


class SeqPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-seq",)


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.SerializerMethodField()
    org = serializers.CharField(source="actor_org")

    class Meta:
        model = AuditEvent
        fields = [
            "id", "seq", "occurred_at", "actor", "actor_display", "org", "actor_role", "action",
            "object_type", "object_id", "referral_id", "task_id", "request_id", "outcome", "recipient",
            "justification", "changes", "prev_hash", "hash",
        ]  # fmt: skip
        read_only_fields = fields

    def get_actor(self, event: AuditEvent) -> str:
        return event.actor.username if event.actor else event.actor_display


def parse_filters(params: Any) -> AuditFilters:
    uuid_field, time_field = serializers.UUIDField(), serializers.DateTimeField()

    def parse(name: str, field: serializers.Field[Any, Any, Any, Any]) -> Any:
        value = params.get(name)
        if not value:
            return None
        try:
            return field.to_internal_value(value)
        except serializers.ValidationError as exc:
            raise DomainError(f"{name}: {exc.detail[0]}", field=name) from None  # type: ignore[index]

    outcome = params.get("outcome", "")
    if outcome and outcome not in AuditEvent.Outcome.values:
        raise DomainError(f"Unknown outcome {outcome!r}", field="outcome")
    return AuditFilters(
        reference=params.get("reference", "").strip()[:100],
        object_id=params.get("object_id", "").strip(),
        actor=params.get("actor", "").strip(),
        action=params.get("action", "").strip(),
        organisation=params.get("org", "").strip(),
        outcome=outcome,
        referral=parse("referral", uuid_field),
        task=parse("task", uuid_field),
        since=parse("since", time_field),
        until=parse("until", time_field),
    )


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "id": str(event.id),
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor.username if event.actor else "",
        "actor_display": event.actor_display,
        "org": event.actor_org,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "referral_id": str(event.referral_id or ""),
        "task_id": str(event.task_id or ""),
        "request_id": event.request_id,
        "outcome": event.outcome,
        "recipient": event.recipient,
        "justification": event.justification,
        "changes": json.dumps(event.changes, sort_keys=True),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "referral_reference": getattr(event, "referral_reference", None) or "",
    }


def _stream_csv(events: QuerySet[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for event in events.iterator(chunk_size=2000):
        row = _row(event)
        # Neutralise spreadsheet formulas in free text (CSV injection).
        for key in ("justification", "actor_display", "recipient", "changes", "referral_reference"):
            if str(row[key]).startswith(("=", "+", "-", "@", "\t", "\r")):
                row[key] = "'" + str(row[key])
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
    yield buffer.getvalue()


def _stream_json(events: QuerySet[AuditEvent]) -> Iterator[str]:
    yield "["
    first = True
    for event in events.iterator(chunk_size=2000):
        row = _row(event)
        row["changes"] = event.changes
        yield ("" if first else ",") + json.dumps(row, sort_keys=True)
        first = False
    yield "]"


class AuditEventViewSet(mixins.ListModelMixin, HubViewSet):
    """GET /audit/events/ (search, newest first) and /audit/events/export/ (CSV or JSON)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    pagination_class = SeqPagination
    policies = {"list": Act.AUDIT_SEARCH, "export": Act.AUDIT_EXPORT}

    def scoped_queryset(self, membership: Membership) -> QuerySet[AuditEvent]:
        return audit_search(parse_filters(self.request.query_params)).select_related("actor")

    @extend_schema(parameters=FILTER_PARAMS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.AUDIT_SEARCHED,
            object_type="audit_trail",
            changes={"query": dict(request.query_params.items()), "seqs": [e.seq for e in page]},
            justification=request.query_params.get("purpose", ""),
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        parameters=[*FILTER_PARAMS, OpenApiParameter("format", str, enum=["csv", "json"])],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            # The events in chain order, one object each (EXPORT_FIELDS).
            (200, "application/json"): {
                "type": "array",
                "items": {"type": "object", "additionalProperties": True},
            },
        },
        description="The filtered trail in chain order, streamed. The export itself is audited.",
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        kind = request.query_params.get("format", "csv")
        if kind not in {"csv", "json"}:
            raise DomainError("format must be csv or json", field="format")
        # Bound by the head now, so the recorded count is exactly what is streamed.
        head = audit_head_seq()
        events = with_referral_reference(self.get_queryset().filter(seq__lte=head).order_by("seq"))
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.AUDIT_EXPORTED,
            object_type="audit_trail",
            changes={
                "query": dict(request.query_params.items()),
                "format": kind,
                "count": events.count(),
                "up_to_seq": head,
            },
            justification=request.query_params.get("purpose", ""),
        )
        stream = _stream_csv(events) if kind == "csv" else _stream_json(events)
        response = StreamingHttpResponse(
            stream, content_type="text/csv" if kind == "csv" else "application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="vihub-audit.{kind}"'
        return response


class VerificationSerializer(serializers.Serializer[Any]):
    last_run = serializers.DictField(allow_null=True)
    last_checkpoint = serializers.DictField(allow_null=True)
    events = serializers.IntegerField()


class AuditStatusViewSet(HubViewSet):
    """GET /audit/verification/: the latest verification result and signed checkpoint."""

    queryset = AuditVerification.objects.all()
    policies = {"verification": Act.AUDIT_STATUS}

    def scoped_queryset(self, membership: Membership) -> QuerySet[AuditVerification]:
        return AuditVerification.objects.all()

    @extend_schema(responses=VerificationSerializer)
    @action(detail=False, methods=["get"])
    def verification(self, request: Request) -> Response:
        integrity = audit_status()
        run, checkpoint = integrity.last_run, integrity.last_checkpoint
        audit_record(actor=request.user, action=AuditAction.AUDIT_STATUS_VIEWED, object_type="audit_trail")  # type: ignore[arg-type]
        return Response(
            {
                "last_run": None
                if run is None
                else {
                    "ran_at": run.ran_at.isoformat(),
                    "ok": run.is_ok,
                    "events_checked": run.events_checked,
                    "checkpoints_checked": run.checkpoints_checked,
                    "first_bad_seq": run.first_bad_seq,
                    "message": run.message,
                    "duration_ms": run.duration_ms,
                },
                "last_checkpoint": None
                if checkpoint is None
                else {
                    "seq": checkpoint.seq,
                    "head_hash": checkpoint.head_hash,
                    "created_at": checkpoint.created_at.isoformat(),
                    "key_id": checkpoint.key_id,
                },
                "events": integrity.head_seq,
            }
        )
