"""Safeguarding actions on a task, and the referral's outcome."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet, expected_version
from hub.api.fields import OutcomeInternalSerializer
from hub.api.work import TaskScopedViewSet
from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
from hub.hooks import outcome_view
from hub.models import Membership, Referral, User
from hub.policies.rules import Act
from hub.selectors import referral_list_for
from safeguarding.models import SafeguardingAction
from safeguarding.services import (
    outcome_amend,
    outcome_consult,
    outcome_record,
    safeguarding_action_record,
    safeguarding_actions_consult,
)


class SafeguardingActionOutputSerializer(serializers.ModelSerializer[SafeguardingAction]):
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = SafeguardingAction
        fields = [
            "id", "task", "action", "children_identified", "children_safeguarded", "referred_to", "notes",
            "recorded_by", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields


class SafeguardingActionInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=SafeguardingAction.Action.choices)
    children_identified = serializers.IntegerField(min_value=0, max_value=10000, default=0)
    children_safeguarded = serializers.IntegerField(min_value=0, max_value=10000, default=0)
    referred_to = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class OutcomeInputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The referral's version this decision is based on (or send If-Match); a stale one is a 409",
    )
    justice_outcome = serializers.ChoiceField(choices=JUSTICE_OUTCOMES)
    safeguarding_outcome = serializers.ChoiceField(choices=SAFEGUARDING_OUTCOMES)
    arrests = serializers.IntegerField(min_value=0, max_value=10000)
    children_safeguarded = serializers.IntegerField(min_value=0, max_value=10000)
    victims_identified = serializers.IntegerField(min_value=0, max_value=10000)
    # Optional, as in the v1 contract: a v1 body is accepted as it is. Both must be known before
    # the hub can close the referral (GET shows them as null until then; /close/ can take them).
    suspect_has_access_to_children = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Whether the suspect can reach children (checked). Needed before the referral closes.",
    )
    safeguarding_needed = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Needed before the referral closes."
    )
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class OutcomeAmendSerializer(serializers.Serializer[Any]):
    justice_outcome = serializers.ChoiceField(choices=JUSTICE_OUTCOMES, required=False)
    safeguarding_outcome = serializers.ChoiceField(choices=SAFEGUARDING_OUTCOMES, required=False)
    arrests = serializers.IntegerField(min_value=0, max_value=10000, required=False)
    children_safeguarded = serializers.IntegerField(min_value=0, max_value=10000, required=False)
    victims_identified = serializers.IntegerField(min_value=0, max_value=10000, required=False)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    reason = serializers.CharField(max_length=5000, help_text="Why the outcome changes (kept with it)")


class TaskSafeguardingViewSet(TaskScopedViewSet):
    policies = {
        "safeguarding_actions": Act.SAFEGUARDING_LIST,
        "record_safeguarding_action": Act.SAFEGUARDING_RECORD,
    }

    @extend_schema(responses=SafeguardingActionOutputSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="safeguarding-actions", pagination_class=None)
    def safeguarding_actions(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        rows = safeguarding_actions_consult(actor=request.user, task=task)  # type: ignore[arg-type]
        return Response(SafeguardingActionOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=SafeguardingActionInputSerializer, responses={201: SafeguardingActionOutputSerializer}
    )
    @safeguarding_actions.mapping.post
    def record_safeguarding_action(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = SafeguardingActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = safeguarding_action_record(task=task, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(SafeguardingActionOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class ReferralOutcomeViewSet(HubViewSet):
    """/referrals/{id}/outcome/: read it, or record it (the holding spoke or the hub)."""

    queryset = Referral.objects.all()
    policies = {
        "outcome": Act.OUTCOME_VIEW,
        "record_outcome": Act.OUTCOME_RECORD,
        "amend_outcome": Act.OUTCOME_AMEND,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[Referral]:
        return referral_list_for(membership)

    @extend_schema(responses=OutcomeInternalSerializer)
    @action(detail=True, methods=["get"])
    def outcome(self, request: Request, pk: str | None = None) -> Response:
        view = outcome_consult(actor=request.user, referral=self.get_object())  # type: ignore[arg-type]
        if view is None:
            return Response({"detail": "No outcome recorded yet.", "code": "no_outcome"}, status=404)
        return Response(view)

    @extend_schema(request=OutcomeInputSerializer, responses={201: OutcomeInternalSerializer})
    @outcome.mapping.post
    def record_outcome(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        data = OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["is_safeguarding_needed"] = values.pop("safeguarding_needed")
        values["expect_version"] = expected_version(request, {"version": values.pop("version", None)})
        outcome_record(referral=referral, actor=request.user, **values)  # type: ignore[arg-type]
        fresh = Referral.objects.select_related("outcome").get(pk=referral.pk)
        return Response(outcome_view(fresh, internal=True), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OutcomeAmendSerializer,
        responses=OutcomeInternalSerializer,
        description="Amend the outcome when the case moves on: the changed fields and a reason. The "
        "previous values are kept and the referring agency hears referral.outcome_updated.",
    )
    @outcome.mapping.patch
    def amend_outcome(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        data = OutcomeAmendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason")
        outcome_amend(referral=referral, actor=request.user, reason=reason, **values)  # type: ignore[arg-type]
        fresh = Referral.objects.select_related("outcome").get(pk=referral.pk)
        return Response(outcome_view(fresh, internal=True))


def outcome_as_dict(referral: Referral, internal: bool) -> dict[str, Any] | None:
    """The outcome view registered with the hub (see hub.hooks)."""
    outcome = getattr(referral, "outcome", None)
    if outcome is None:
        return None
    data: dict[str, Any] = {
        "justice_outcome": outcome.justice_outcome,
        "safeguarding_outcome": outcome.safeguarding_outcome,
        "arrests": outcome.arrests,
        "children_safeguarded": outcome.children_safeguarded,
        "victims_identified": outcome.victims_identified,
        "recorded_at": outcome.recorded_at.isoformat(),
    }
    if internal:
        data.update(
            summary=outcome.summary,
            recorded_by=outcome.recorded_by.username,
            recorded_org=outcome.recorded_org.code,
            task=str(outcome.task_id) if outcome.task_id else None,
            suspect_has_access_to_children=referral.suspect_has_access_to_children,
            safeguarding_needed=referral.is_safeguarding_needed,
        )
    return data
