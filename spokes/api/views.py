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
from hub.policies.rules import Act
from hub.services.tasks import task_hand_down
from spokes.models import Lead
from spokes.selectors import lead_list_for
from spokes.services import (
    lead_create,
    lead_list_consult,
    lead_update,
    lead_view_consult,
    task_accept,
    task_decline,
)


class DeclineInputSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=Task.DeclineReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class HandDownInputSerializer(serializers.Serializer[Any]):
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


class LeadCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Lead.Kind.choices)
    description = serializers.CharField(max_length=10000)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class LeadUpdateSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Lead.Status.choices, required=False)
    description = serializers.CharField(max_length=10000, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one of: status, description, notes.")
        return attrs


class TaskWorkViewSet(TaskScopedViewSet):
    """Routes under /tasks/{id}/ for the holding organisation."""

    policies = {
        "accept": Act.TASK_ACCEPT,
        "decline": Act.TASK_DECLINE,
        "hand_down": Act.TASK_HAND_DOWN,
        "leads": Act.LEAD_LIST,
        "create_lead": Act.LEAD_CREATE,
    }

    def _task_response(self, task: Task) -> Response:
        """The task as the service left it: shown to its actor even when the change ended their
        access (a decline), which later reads answer with 404."""
        return Response(TaskOutputSerializer(task, context=self.get_serializer_context()).data)

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
        leads = lead_list_consult(actor=request.user, task=task)  # type: ignore[arg-type]
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
    policies = {"retrieve": Act.LEAD_VIEW, "partial_update": Act.LEAD_UPDATE}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Lead]:
        return lead_list_for(membership)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = lead_view_consult(actor=request.user, lead=self.get_object())  # type: ignore[arg-type]
        return Response(self.get_serializer(lead).data)

    @extend_schema(request=LeadUpdateSerializer, responses=LeadOutputSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        data = LeadUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = lead_update(lead=lead, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.get_serializer(lead).data)
