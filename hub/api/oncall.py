"""/api/v1/on-call/: the hub's on-call rota (who is paged for an urgent referral, and when)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet
from hub.api.fields import MomentField
from hub.clock import db_now
from hub.models import Membership, OnCallShift, User
from hub.policies import roles as r
from hub.policies.rules import Act
from hub.services.urgent import on_call_shift_add, on_call_shift_remove


class ShiftOutputSerializer(serializers.ModelSerializer[OnCallShift]):
    coordinator: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = OnCallShift
        fields = ["id", "coordinator", "starts_at", "ends_at", "created_at"]
        read_only_fields = fields


class ShiftInputSerializer(serializers.Serializer[Any]):
    coordinator = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True, membership__role=Membership.Role.COORDINATOR),
        help_text="A hub coordinator's username",
    )
    starts_at = MomentField()
    ends_at = MomentField()


class OnCallViewSet(mixins.ListModelMixin, HubViewSet):
    queryset = OnCallShift.objects.all()
    serializer_class = ShiftOutputSerializer
    pagination_class = None
    policies = {"list": Act.ONCALL_LIST, "create": Act.ONCALL_SET, "destroy": Act.ONCALL_REMOVE}

    def scoped_queryset(self, membership: Membership) -> QuerySet[OnCallShift]:
        if membership.role not in r.READ_ALL_ROLES:
            return OnCallShift.objects.none()
        queryset = OnCallShift.objects.select_related("coordinator")
        if self.action == "list" and self.request.query_params.get("past") != "true":
            queryset = queryset.filter(ends_at__gt=db_now())
        return queryset

    @extend_schema(
        parameters=[OpenApiParameter("past", bool, description="Include shifts that have ended")],
        description="The rota: current and future shifts (with past=true, ended ones too).",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ShiftInputSerializer, responses={201: ShiftOutputSerializer})
    def create(self, request: Request) -> Response:
        data = ShiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shift = on_call_shift_add(actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(ShiftOutputSerializer(shift).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        on_call_shift_remove(actor=request.user, shift=self.get_object())  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
