"""/notifications/ (my inbox) and /escalations/ (who was told what, when, and who took it)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet, bool_param
from hub.api.fields import KeepsBlankChoices
from hub.api.pagination import DefaultCursorPagination
from hub.models import Alert, Membership, Notification, User
from hub.policies.rules import Act
from hub.selectors import escalation_list_for, notification_list_for
from hub.services.notifications import notification_mark_read


class FiredNewestFirst(DefaultCursorPagination):
    ordering = ("-fired_at", "id")


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "referral", "task", "created_at", "read_at"]
        read_only_fields = fields


class UnreadCountSerializer(serializers.Serializer[Any]):
    unread = serializers.IntegerField()


class NotificationViewSet(mixins.ListModelMixin, HubViewSet):
    """The caller's own inbox: reminders, escalations, declines."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    pagination_class = DefaultCursorPagination
    policies = {
        "list": Act.NOTIFICATION_LIST,
        "read": Act.NOTIFICATION_READ,
        "unread_count": Act.NOTIFICATION_LIST,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[Notification]:
        queryset = notification_list_for(self.request.user)
        if self.action == "list" and bool_param(self.request.query_params, "unread"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("unread", bool)])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.audited_list(request, "notification")

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = notification_mark_read(notification=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return Response(self.get_serializer(notification).data)

    @extend_schema(responses=UnreadCountSerializer, description="Unread count for the inbox badge.")
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": self.get_queryset().filter(read_at__isnull=True).count()})


class EscalationSerializer(KeepsBlankChoices, serializers.ModelSerializer[Alert]):
    assignee_org = serializers.CharField(source="task.assignee_org.code")
    referral = serializers.UUIDField(source="task.referral_id")
    acknowledged_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Alert
        fields = [
            "id", "task", "referral", "assignee_org", "clock", "step", "level", "due_at", "fired_at",
            "recipients", "acknowledged_at", "acknowledged_by", "cancelled_at",
        ]  # fmt: skip
        read_only_fields = fields


class EscalationViewSet(mixins.ListModelMixin, HubViewSet):
    """Every fired escalation step on tasks the caller may see: when it was due, when it fired,
    who was told, and who acknowledged it. For accountability reports."""

    queryset = Alert.objects.all()
    serializer_class = EscalationSerializer
    pagination_class = FiredNewestFirst
    policies = {"list": Act.ESCALATION_LIST}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Alert]:
        queryset = escalation_list_for(membership)
        params = self.request.query_params
        if (acknowledged := bool_param(params, "acknowledged")) is not None:
            queryset = queryset.filter(acknowledged_at__isnull=not acknowledged)
        if task := params.get("task"):
            queryset = queryset.filter(task_id=serializers.UUIDField().to_internal_value(task))
        if org := params.get("assignee_org"):
            queryset = queryset.filter(task__assignee_org__code=org.upper())
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("acknowledged", bool),
            OpenApiParameter("task", str),
            OpenApiParameter("assignee_org", str),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.audited_list(request, "escalation")
