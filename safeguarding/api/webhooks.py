"""Outcome-feedback endpoints, the delivery log, replay, and the hub's feedback figures."""

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
from hub.constants import AuditAction, WebhookEvent
from hub.models import Membership, Organisation, User
from hub.policies import roles as r
from hub.policies.rules import Act
from hub.services.audit import audit_record
from safeguarding.feedback import (
    delivery_replay,
    feedback_stats,
    outcomes_outstanding_send,
    webhook_change_decide,
    webhook_change_propose,
    webhook_secret_rotate,
)
from safeguarding.models import DeliveryAttempt, OutboxEvent, WebhookChange, WebhookEndpoint
from safeguarding.selectors import endpoints_for, outbox_events_for, webhook_changes_for


class EndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    agency = serializers.CharField(source="agency.code")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "agency",
            "url",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(allow_null=True, help_text="Shown once, when it is created or rotated.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointInputSerializer(serializers.Serializer[Any]):
    agency = OrgCodeField(kinds={Organisation.Kind.AGENCY})
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        required=False,
        allow_empty=False,
    )


class WebhookChangeSerializer(serializers.ModelSerializer[WebhookChange]):
    agency = serializers.CharField(source="agency.code")
    proposed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = WebhookChange
        fields = ["id", "agency", "url", "event_types", "status", "proposed_by", "proposed_at", "decided_by",
                  "decided_at", "reason"]  # fmt: skip
        read_only_fields = fields


class DecisionInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefusalInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500)


class AttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    replayed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "url", "status_code", "latency_ms", "error", "is_replay", "replayed_by"]
        read_only_fields = fields

    def to_representation(self, instance: DeliveryAttempt) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if self.context.get("for_agency"):
            data["replayed_by"] = None  # an agency learns that the hub re-sent, not who did
        return data


class DeliverySerializer(serializers.ModelSerializer[OutboxEvent]):
    webhook_id = serializers.CharField()
    agency = serializers.CharField(source="agency.code")
    attempts_log = AttemptSerializer(many=True)

    class Meta:
        model = OutboxEvent
        fields = [
            "id", "webhook_id", "agency", "referral", "event_type", "status", "attempts", "next_attempt_at",
            "delivered_at", "last_error", "created_at", "attempts_log",
        ]  # fmt: skip
        read_only_fields = fields


class ReplayInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class ReplayOutputSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet):
    """/webhooks/: the hub registers and rotates agencies' endpoints; an agency reads its own
    endpoint and delivery log."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = EndpointSerializer
    pagination_class = None
    policies = {
        "list": Act.WEBHOOK_LIST,
        "retrieve": Act.WEBHOOK_VIEW,
        "create": Act.WEBHOOK_SET,
        "rotate_secret": Act.WEBHOOK_ROTATE,
        "send_outstanding": Act.WEBHOOK_SEND_OUTSTANDING,
        "deliveries": Act.DELIVERY_LOG,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[WebhookEndpoint]:
        return endpoints_for(membership)

    @extend_schema(
        request=EndpointInputSerializer,
        responses={202: WebhookChangeSerializer},
        description="Propose an agency's endpoint (a first one, or a new URL or events): nothing "
        "changes until another hub coordinator approves it at /webhook-changes/{id}/approve/, "
        "which answers with the new signing secret, once.",
    )
    def create(self, request: Request) -> Response:
        data = EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = webhook_change_propose(
            agency=data.validated_data["agency"],
            url=data.validated_data["url"],
            actor=request.user,  # type: ignore[arg-type]
            event_types=data.validated_data.get("event_types"),
        )
        return Response(WebhookChangeSerializer(change).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        secret = webhook_secret_rotate(endpoint=endpoint, actor=request.user)  # type: ignore[arg-type]
        return Response({**EndpointSerializer(endpoint).data, "secret": secret})

    @extend_schema(request=None, responses={200: serializers.DictField()})
    @action(detail=True, methods=["post"], url_path="send-outstanding")
    def send_outstanding(self, request: Request, pk: str | None = None) -> Response:
        """Queue referral.outcome_recorded for each of the agency's outcomes recorded before this endpoint
        existed; ``{"queued": n}``."""
        user: Any = request.user
        return Response({"queued": outcomes_outstanding_send(endpoint=self.get_object(), actor=user)})

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        events = list(
            OutboxEvent.objects.filter(agency_id=endpoint.agency_id)
            .select_related("agency")
            .prefetch_related("attempts_log__replayed_by")
            .order_by("-created_at")[:200]
        )
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.WEBHOOK_DELIVERIES_VIEWED,
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            changes={"ids": [str(e.pk) for e in events]},
        )
        for_agency = self.membership.role in r.AGENCY_ROLES
        return Response(DeliverySerializer(events, many=True, context={"for_agency": for_agency}).data)


class WebhookChangeViewSet(mixins.ListModelMixin, HubViewSet):
    """/webhook-changes/: endpoint changes proposed by one hub coordinator, approved or refused
    by another (a new signing secret, shown once to the approver)."""

    queryset = WebhookChange.objects.all()
    serializer_class = WebhookChangeSerializer
    pagination_class = None
    policies = {
        "list": Act.WEBHOOK_CHANGE_LIST,
        "approve": Act.WEBHOOK_CHANGE_DECIDE,
        "refuse": Act.WEBHOOK_CHANGE_DECIDE,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[WebhookChange]:
        return webhook_changes_for(membership)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        changes = list(self.get_queryset()[:200])
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.WEBHOOK_CHANGES_LISTED,
            object_type="webhook_change",
            changes={"ids": [str(change.pk) for change in changes]},
        )
        return Response(WebhookChangeSerializer(changes, many=True).data)

    @extend_schema(request=DecisionInputSerializer, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = webhook_change_decide(
            change=self.get_object(), actor=request.user, approve=True,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )  # fmt: skip
        return Response({**EndpointSerializer(endpoint).data, "secret": secret})

    @extend_schema(request=RefusalInputSerializer, responses=WebhookChangeSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        data = RefusalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = self.get_object()
        webhook_change_decide(
            change=change, actor=request.user, approve=False,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )  # fmt: skip
        change.refresh_from_db()
        return Response(WebhookChangeSerializer(change).data)


class DeliveryViewSet(HubViewSet):
    """/deliveries/{id}/replay/: the hub re-sends one event, with a reason (a disclosure)."""

    queryset = OutboxEvent.objects.all()
    policies = {"replay": Act.DELIVERY_REPLAY}

    def scoped_queryset(self, membership: Membership) -> QuerySet[OutboxEvent]:
        return outbox_events_for(membership)

    @extend_schema(request=ReplayInputSerializer, responses=ReplayOutputSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        event = self.get_object()
        data = ReplayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = delivery_replay(event=event, actor=request.user, reason=data.validated_data["reason"])  # type: ignore[arg-type]
        return Response({"status": result.status, "status_code": result.status_code, "error": result.error})


class FeedbackStatsSerializer(serializers.Serializer[Any]):
    outcomes_recorded = serializers.IntegerField()
    outcomes_fed_back = serializers.IntegerField()
    fed_back_share = serializers.FloatField(allow_null=True)
    outcome_to_delivery_seconds_p50 = serializers.FloatField(allow_null=True)
    outcome_to_delivery_seconds_p95 = serializers.FloatField(allow_null=True)
    failing_endpoints = serializers.ListField(child=serializers.DictField())


class FeedbackStatsViewSet(HubViewSet):
    queryset = OutboxEvent.objects.none()
    policies = {"stats": Act.FEEDBACK_STATS}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Any]:
        return OutboxEvent.objects.none()

    @extend_schema(responses=FeedbackStatsSerializer)
    @action(detail=False, methods=["get"])
    def stats(self, request: Request) -> Response:
        return Response(feedback_stats())
