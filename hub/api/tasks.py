"""/api/v1/tasks/: allocation, the scoped task list and board, reassignment."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet, bool_param, expected_version
from hub.api.fields import KeepsBlankChoices, MomentField, OrgCodeField, QuickFields
from hub.exceptions import DomainError
from hub.models import TASK_HOLDER_KINDS, Membership, Organisation, Task, User, escalated_task_filter
from hub.policies.rules import Act
from hub.selectors import (
    DEADLINE_STATES,
    referral_list_for,
    task_deadline_state,
    task_list_for,
    task_overdue_q,
    task_paused_for,
    task_search,
    with_escalation_flag,
)
from hub.selectors.prepared import Prepared
from hub.selectors.rows import one_or_none
from hub.selectors.scoping import membership_shape
from hub.services.alerts import task_acknowledge, task_pause, task_resume
from hub.services.tasks import task_allocate, task_audit_read, task_cancel, task_reassign


class TaskCursorPagination(CursorPagination):
    """Most urgent first: by act-by deadline, then id. Constant queries per page."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("due_at", "id")


class TaskOutputSerializer(QuickFields, KeepsBlankChoices, serializers.ModelSerializer[Task]):
    assignee_org: serializers.SlugRelatedField[Organisation] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    referral_external_id = serializers.CharField(source="referral.external_id", read_only=True)
    grade = serializers.IntegerField(source="referral.grade", read_only=True, allow_null=True)
    risk = serializers.CharField(source="referral.risk", read_only=True)
    accepted_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    deadline_state = serializers.SerializerMethodField()
    paused_seconds = serializers.SerializerMethodField()
    media_matches = serializers.IntegerField(
        source="referral.media_match_count",
        read_only=True,
        help_text="How many matches the referral's media has with other referrals and known sets "
        "(ask the hub for a conference; the other cases are not shown)",
    )
    information_incomplete = serializers.BooleanField(
        source="referral.is_information_incomplete", read_only=True
    )
    missing_information = serializers.ListField(
        source="referral.missing_information", child=serializers.CharField(), read_only=True
    )
    risk_factors = serializers.ListField(
        source="referral.risk_factors", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = Task
        fields = [
            "id", "referral", "referral_external_id", "assignee_org", "status", "instructions",
            "grade", "risk", "accept_due_at", "due_at", "deadline_state", "accepted_at", "accepted_by",
            "paused_at", "pause_reason", "paused_seconds", "media_matches", "information_incomplete",
            "missing_information", "risk_factors",
            "declined_at", "decline_reason", "decline_note", "completed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=DEADLINE_STATES))
    def get_deadline_state(self, task: Task) -> str:
        return task_deadline_state(task, self.context.get("now") or timezone.now())

    def get_paused_seconds(self, task: Task) -> int:
        """Total time the clocks have been stopped, including a pause still running."""
        return round(task_paused_for(task, self.context.get("now") or timezone.now()).total_seconds())


class CancelInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=5000)


class TaskCreateSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The referral's version this decision is based on (or send If-Match); a stale one is a 409",
    )
    referral = serializers.UUIDField()
    assignee_org = OrgCodeField(kinds=TASK_HOLDER_KINDS)
    instructions = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class ReassignInputSerializer(serializers.Serializer[Any]):
    assignee_org = OrgCodeField(kinds=TASK_HOLDER_KINDS)
    reason = serializers.CharField(max_length=5000)


class AcknowledgeInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class PauseInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=5000)
    until = MomentField(
        help_text="When the clocks restart by themselves (capped by the deadline policy for the grade)"
    )


def _task_rows(membership: Membership) -> QuerySet[Task]:
    """The tasks the member may see, with what the task's page shows."""
    return with_escalation_flag(
        task_list_for(membership).select_related("assignee_org", "referral", "accepted_by")
    )


_TASK_READ: Prepared[Task] = Prepared(
    lambda membership, pk: _task_rows(membership).filter(pk=pk), shape=membership_shape, pk=uuid.UUID
)


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet):
    queryset = Task.objects.all()
    serializer_class = TaskOutputSerializer
    pagination_class = TaskCursorPagination
    compiled_read = _TASK_READ  # the officer's task read
    policies = {
        "list": Act.TASK_LIST,  # an agency's list is simply empty
        "retrieve": Act.TASK_VIEW,
        "create": Act.TASK_ALLOCATE,
        "reassign": Act.TASK_REASSIGN,
        "cancel": Act.TASK_CANCEL,
        "acknowledge": Act.TASK_ACKNOWLEDGE,
        "pause": Act.TASK_PAUSE,
        "resume": Act.TASK_RESUME,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[Task]:
        queryset = _task_rows(membership)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if value := params.get("status"):
            if value not in Task.Status.values:
                raise DomainError(f"Unknown status {value!r}", field="status")
            queryset = queryset.filter(status=value)
        if value := params.get("assignee_org"):
            queryset = queryset.filter(assignee_org__code=value.upper())
        if value := params.get("referral"):
            queryset = queryset.filter(referral_id=serializers.UUIDField().to_internal_value(value))
        if bool_param(params, "overdue"):  # the one meaning: hub.selectors.task_overdue_q
            queryset = queryset.filter(task_overdue_q(timezone.now()))
        if bool_param(params, "escalated"):
            queryset = queryset.filter(escalated_task_filter())
        if value := params.get("q", "").strip()[:100]:
            queryset = task_search(queryset, value)
        return queryset

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Task.Status.values),
            OpenApiParameter("assignee_org", str, description="Holder's organisation code"),
            OpenApiParameter("referral", str, description="Referral id"),
            OpenApiParameter(
                "overdue",
                bool,
                description="Only running tasks past their accept-by or act-by deadline, escalated ones "
                "included; a paused task (its clocks stopped) is not overdue",
            ),
            OpenApiParameter("escalated", bool, description="Only tasks with an unacknowledged escalation"),
            OpenApiParameter(
                "q",
                str,
                description="The agency's reference (exact or prefix), or the task's or referral's id",
            ),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.audited_list(request, "task")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        task_audit_read(actor=request.user, task=task)  # type: ignore[arg-type]
        return Response(self.get_serializer(task).data)

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskOutputSerializer})
    def create(self, request: Request) -> Response:
        data = TaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral = one_or_none(referral_list_for(self.membership).filter(pk=data.validated_data["referral"]))
        if referral is None:
            raise DomainError("No such referral", field="referral")
        task = task_allocate(
            referral=referral,
            to_org=data.validated_data["assignee_org"],
            actor=request.user,  # type: ignore[arg-type]
            instructions=data.validated_data["instructions"],
            expect_version=expected_version(request, data.validated_data),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=task.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ReassignInputSerializer, responses=TaskOutputSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = ReassignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_reassign(
            task=task,
            to_org=data.validated_data["assignee_org"],
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=CancelInputSerializer, responses=TaskOutputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Close a declined task the hub will not move (only a declined one)."""
        task = self.get_object()
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: Any = request.user
        task_cancel(task=task, actor=user, reason=data.validated_data["reason"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=AcknowledgeInputSerializer,
        responses=TaskOutputSerializer,
        description="Take responsibility for a breached task: stops its escalation chain; records who, when.",
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = AcknowledgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_acknowledge(task=task, actor=request.user, note=data.validated_data["note"])  # type: ignore[arg-type]
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=PauseInputSerializer,
        responses=TaskOutputSerializer,
        description="Stop the clocks while waiting on an outside body (needs a supervisor of the holder).",
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = PauseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_pause(
            task=task,
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
            until=data.validated_data["until"],
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=None,
        responses=TaskOutputSerializer,
        description="Restart the clocks; deadlines move on by the time paused.",
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        task_resume(task=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return Response(self.get_serializer(self.get_object()).data)
