"""Spoke work on a task: accept, decline, hand down, leads."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet
from hub.api.fields import OrgCodeField
from hub.api.tasks import TaskOutputSerializer
from hub.api.work import TaskScopedViewSet
from hub.models import Membership, Organisation, Task, User
from hub.policies import TASK_READER_ROLES, TASK_WORKER_ROLES, can_hand_down, can_work_task
from hub.selectors import task_list_for
from hub.services.audit import audit_record
from hub.services.tasks import task_hand_down
from spokes.models import Lead
from spokes.services import lead_create, lead_update, task_accept, task_decline

R = Membership.Role


class DeclineInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Task.DeclineReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class HandDownInputSerializer(serializers.Serializer):
    assignee_org = OrgCodeField(kinds={Organisation.Kind.FORCE})
    reason = serializers.CharField(max_length=5000)


class LeadOutputSerializer(serializers.ModelSerializer[Lead]):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "task",
            "kind",
            "description",
            "status",
            "notes",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Lead.Kind.choices)
    description = serializers.CharField(max_length=10000)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class LeadUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)
    description = serializers.CharField(max_length=10000, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one of: status, description, notes.")
        return attrs


def _audit_lead_reads(request: Request, task: Task, leads: list[Lead], *, single: bool = False) -> None:
    """A consultation: which leads the caller was shown (an empty list is recorded too)."""
    audit_record(
        actor=request.user,  # type: ignore[arg-type]
        action="lead.viewed" if single else "lead.listed",
        object_type="lead",
        object_id=leads[0].pk if single else "",
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"ids": [str(lead.pk) for lead in leads]},
    )


class TaskWorkViewSet(TaskScopedViewSet):
    """Routes under /tasks/{id}/ for the holding organisation."""

    worker_actions = frozenset({"accept", "decline", "hand_down", "create_lead"})
    required_roles = {
        "accept": TASK_WORKER_ROLES,
        "decline": TASK_WORKER_ROLES,
        "hand_down": {R.REGIONAL_COORDINATOR},
        "leads": TASK_READER_ROLES,
        "create_lead": TASK_WORKER_ROLES,
    }

    def check_object_policy(self, request: Request, obj: Any) -> bool:
        if self.action == "hand_down":
            return can_hand_down(request.user, self.membership, obj)
        return super().check_object_policy(request, obj)

    def _task_response(self, task: Task) -> Response:
        fresh = self.get_queryset().get(pk=task.pk)
        return Response(TaskOutputSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=TaskOutputSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        task = task_accept(task=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return self._task_response(task)

    @extend_schema(request=DeclineInputSerializer, responses=TaskOutputSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = DeclineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_decline(task=task, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return self._task_response(task)

    @extend_schema(request=HandDownInputSerializer, responses=TaskOutputSerializer)
    @action(detail=True, methods=["post"], url_path="hand-down")
    def hand_down(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = HandDownInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_hand_down(
            task=task,
            to_org=data.validated_data["assignee_org"],
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return Response(TaskOutputSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(responses=LeadOutputSerializer(many=True))
    @action(detail=True, methods=["get"])
    def leads(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        leads = list(Lead.objects.filter(task=task).select_related("created_by", "task"))
        _audit_lead_reads(request, task, leads)
        return Response(LeadOutputSerializer(leads, many=True).data)

    @extend_schema(request=LeadCreateSerializer, responses={201: LeadOutputSerializer})
    @leads.mapping.post
    def create_lead(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = LeadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = lead_create(task=task, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(LeadOutputSerializer(lead).data, status=status.HTTP_201_CREATED)


class LeadViewSet(mixins.RetrieveModelMixin, HubViewSet):
    """/leads/{id}/: read or update one lead (scoped through its task)."""

    queryset = Lead.objects.all()
    serializer_class = LeadOutputSerializer
    http_method_names = ["get", "patch", "head", "options"]
    required_roles = {"retrieve": TASK_READER_ROLES, "partial_update": TASK_WORKER_ROLES}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Lead]:
        return Lead.objects.filter(task__in=task_list_for(membership)).select_related("task", "created_by")

    def check_object_policy(self, request: Request, obj: Any) -> bool:
        if self.action == "partial_update":
            return can_work_task(request.user, self.membership, obj.task)
        return True

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        _audit_lead_reads(request, lead.task, [lead], single=True)
        return Response(self.get_serializer(lead).data)

    @extend_schema(request=LeadUpdateSerializer, responses=LeadOutputSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        data = LeadUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = lead_update(lead=lead, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.get_serializer(lead).data)
