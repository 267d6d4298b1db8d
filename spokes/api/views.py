"""Spoke work on a task: accept, decline, hand down, leads."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet, bool_param
from hub.api.fields import DayField, KeepsBlankChoices, MomentField, OrgCodeField
from hub.api.tasks import TaskOutputSerializer
from hub.api.work import TaskScopedViewSet
from hub.models import (
    AccessToChildren,
    MediaHash,
    Membership,
    Organisation,
    Referral,
    Risk,
    RiskFactor,
    Task,
    User,
)
from hub.policies.rules import Act
from hub.selectors import task_list_for
from hub.services.tasks import task_hand_down
from spokes.models import (
    Child,
    ChildCheck,
    ConferenceRequest,
    ExposureLog,
    ExternalRequest,
    Handoff,
    Lead,
    MediaReview,
    Reassessment,
    SuspectEvent,
    WelfareDebrief,
)
from spokes.selectors import (
    child_list_for,
    conference_list_for,
    handoff_list_for,
    lead_list_for,
    request_list_for,
)
from spokes.services import (
    child_add,
    child_check,
    conference_answer,
    conference_list_consult,
    conference_request,
    exposure_log,
    exposure_today,
    external_request_add,
    external_request_update,
    external_requests_consult,
    handoff_answer,
    handoff_list_consult,
    handoff_offer,
    handoff_revoke,
    lead_create,
    lead_list_consult,
    lead_update,
    lead_view_consult,
    media_consult,
    media_review,
    reassessments_consult,
    suspect_event_record,
    task_accept,
    task_decline,
    task_reassess,
    victim_record_consult,
    welfare_debrief_record,
    welfare_team,
)


def _created(
    request: Request,
    service: Any,
    given: type[serializers.Serializer[Any]],
    shown: type[serializers.Serializer[Any]],
    **on: Any,
) -> Response:
    """Validate the body, call the service on the parent record, answer 201 with what it made:
    the one shape of every POST that adds to a task's or a child's record."""
    data = given(data=request.data)
    data.is_valid(raise_exception=True)
    made = service(actor=request.user, **on, **data.validated_data)
    return Response(shown(made).data, status=status.HTTP_201_CREATED)


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
    @action(detail=True, methods=["get"], pagination_class=None)
    def leads(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        leads = lead_list_consult(actor=request.user, task=task)  # type: ignore[arg-type]
        return Response(LeadOutputSerializer(leads, many=True).data)

    @extend_schema(request=LeadCreateSerializer, responses={201: LeadOutputSerializer})
    @leads.mapping.post
    def create_lead(self, request: Request, pk: str | None = None) -> Response:
        return _created(
            request, lead_create, LeadCreateSerializer, LeadOutputSerializer, task=self.get_object()
        )


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


# --- The victim-identification record ---------------------------------------------------------


class ChildCheckSerializer(serializers.ModelSerializer[ChildCheck]):
    checked_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = ChildCheck
        fields = ["id", "kind", "result", "checked_at", "checked_by", "recorded_at"]
        read_only_fields = fields


class ChildOutputSerializer(KeepsBlankChoices, serializers.ModelSerializer[Child]):
    identified = serializers.BooleanField(source="is_identified")
    located = serializers.BooleanField(source="is_located")
    checks = ChildCheckSerializer(many=True, read_only=True)

    class Meta:
        model = Child
        fields = ["id", "task", "reference", "relation", "access_route", "identified", "located", "checks",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class ChildInputSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField(
        max_length=60, help_text="Your own pseudonymous label for the child (never a name)"
    )
    relation = serializers.ChoiceField(choices=Child.Relation.choices)
    access_route = serializers.ChoiceField(choices=Child.AccessRoute.choices, required=False, default="")
    identified = serializers.BooleanField(required=False, default=False)
    located = serializers.BooleanField(required=False, default=False)


class ChildCheckInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ChildCheck.Kind.choices)
    result = serializers.CharField(max_length=5000)
    checked_at = MomentField(required=False)


class SuspectEventOutputSerializer(serializers.ModelSerializer[SuspectEvent]):
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = SuspectEvent
        fields = ["id", "task", "kind", "occurred_at", "override_reason", "unchecked_at_the_time",
                  "suicide_risk_flagged", "family_signposted", "recorded_by", "recorded_at"]  # fmt: skip
        read_only_fields = fields


class SuspectEventInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=SuspectEvent.Kind.choices)
    occurred_at = MomentField(required=False)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    suicide_risk_flagged = serializers.BooleanField(required=False, default=False)
    family_signposted = serializers.BooleanField(required=False, default=False)


class ExternalRequestSerializer(serializers.ModelSerializer[ExternalRequest]):
    waiting_days = serializers.SerializerMethodField()

    class Meta:
        model = ExternalRequest
        fields = ["id", "task", "kind", "counterpart", "reference", "sent_at", "chased_at", "answered_at",
                  "waiting_days"]  # fmt: skip
        read_only_fields = fields

    def get_waiting_days(self, request: ExternalRequest) -> float:
        """How long it has waited (to its answer, or to now), paused time included."""
        end = request.answered_at or timezone.now()
        return round((end - request.sent_at).total_seconds() / 86400, 1)


class ExternalRequestInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ExternalRequest.Kind.choices)
    counterpart = serializers.CharField(max_length=200)
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    sent_at = MomentField(required=False)


class ReassessmentSerializer(KeepsBlankChoices, serializers.ModelSerializer[Reassessment]):
    """The holder's re-assessment beside the hub's grade, and what differed from it."""

    organisation = serializers.CharField(source="organisation.code")
    assessed_by = serializers.CharField(source="assessed_by.username")

    class Meta:
        model = Reassessment
        fields = ["id", "organisation", "risk", "access_to_children", "risk_factors", "offence_type",
                  "rationale", "differs_from_hub", "assessed_by", "assessed_at"]  # fmt: skip
        read_only_fields = fields


class ReassessmentInputSerializer(serializers.Serializer[Any]):
    risk = serializers.ChoiceField(choices=Risk.choices)
    rationale = serializers.CharField(max_length=5000)
    access_to_children = serializers.ListField(
        child=serializers.ChoiceField(choices=AccessToChildren.choices), required=False, max_length=4
    )
    risk_factors = serializers.ListField(
        child=serializers.ChoiceField(choices=RiskFactor.choices), required=False, max_length=3
    )
    offence_type = serializers.ChoiceField(
        choices=Referral.OffenceType.choices, required=False, default="", allow_blank=True
    )


class ConferenceRequestSerializer(serializers.ModelSerializer[ConferenceRequest]):
    task = serializers.UUIDField(source="task_id")
    referral = serializers.UUIDField(source="task.referral_id")
    holder = serializers.CharField(source="task.assignee_org.code")
    requested_by = serializers.CharField(source="requested_by.username")
    answered_by = serializers.CharField(source="answered_by.username", allow_null=True, default=None)

    class Meta:
        model = ConferenceRequest
        fields = ["id", "task", "referral", "holder", "note", "status", "requested_by", "requested_at",
                  "answered_by", "answered_at", "answer_reason"]  # fmt: skip
        read_only_fields = fields


class ConferenceInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ConferenceAnswerSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class TaskMediaSerializer(serializers.Serializer[Any]):
    """One media item of the task's referral and this task's review of it."""

    sha256 = serializers.CharField(source="item.sha256")
    md5 = serializers.CharField(source="item.md5")
    pdq = serializers.CharField(source="item.pdq")
    first_generation = serializers.BooleanField(source="item.is_first_generation")
    category = serializers.CharField(source="item.category", help_text="As the agency sent it")
    reviewed = serializers.SerializerMethodField()

    def get_reviewed(self, row: dict[str, Any]) -> dict[str, Any] | None:
        review = row["review"]
        if review is None:
            return None
        return {
            "by": review.reviewed_by.username,
            "at": review.reviewed_at.isoformat(),
            "category": review.category,
        }


class MediaReviewInputSerializer(serializers.Serializer[Any]):
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", error_messages={"invalid": "sha256 must be 64 hex digits."}
    )
    category = serializers.ChoiceField(choices=MediaHash.Category.choices, required=False, default="")


class MediaReviewSerializer(KeepsBlankChoices, serializers.ModelSerializer[MediaReview]):
    sha256 = serializers.CharField(source="media.sha256")
    reviewed_by = serializers.CharField(source="reviewed_by.username")

    class Meta:
        model = MediaReview
        fields = ["sha256", "category", "reviewed_by", "reviewed_at"]
        read_only_fields = fields


class TaskVictimRecordViewSet(TaskScopedViewSet):
    """/tasks/{id}/children/ and /tasks/{id}/suspect-events/: the victim-identification record."""

    policies = {
        "children": Act.CHILD_LIST,
        "add_child": Act.CHILD_ADD,
        "suspect_events": Act.SUSPECT_EVENT_LIST,
        "record_suspect_event": Act.SUSPECT_EVENT_RECORD,
        "requests": Act.REQUEST_LIST,
        "add_request": Act.REQUEST_ADD,
        "reassessment": Act.TASK_VIEW,
        "add_reassessment": Act.TASK_REASSESS,
        "conference": Act.CONFERENCE_REQUEST,
        "media": Act.MEDIA_LIST,
        "review_media": Act.MEDIA_REVIEW,
    }

    @extend_schema(responses=TaskMediaSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def media(self, request: Request, pk: str | None = None) -> Response:
        """The referral's media items and whether (by whom, when) they were reviewed on this task."""
        rows = media_consult(actor=request.user, task=self.get_object())  # type: ignore[arg-type]
        return Response(TaskMediaSerializer(rows, many=True).data)

    @extend_schema(request=MediaReviewInputSerializer, responses={201: MediaReviewSerializer})
    @media.mapping.post
    def review_media(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        return _created(request, media_review, MediaReviewInputSerializer, MediaReviewSerializer, task=task)

    @extend_schema(request=ConferenceInputSerializer, responses={201: ConferenceRequestSerializer})
    @action(detail=True, methods=["post"])
    def conference(self, request: Request, pk: str | None = None) -> Response:
        """Ask the hub for a deconfliction conference about the media this task shares with
        other cases (``media_matches``); the hub grants or refuses at ``/conference-requests/``."""
        task = self.get_object()
        return _created(
            request, conference_request, ConferenceInputSerializer, ConferenceRequestSerializer, task=task
        )

    @extend_schema(responses=ReassessmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def reassessment(self, request: Request, pk: str | None = None) -> Response:
        """The holder's re-assessments of the risk, oldest first (the last is the current one);
        the hub's grade is on the referral and the task."""
        task = self.get_object()
        rows = reassessments_consult(actor=request.user, task=task)  # type: ignore[arg-type]
        return Response(ReassessmentSerializer(rows, many=True).data)

    @extend_schema(request=ReassessmentInputSerializer, responses={201: ReassessmentSerializer})
    @reassessment.mapping.post
    def add_reassessment(self, request: Request, pk: str | None = None) -> Response:
        return _created(
            request,
            task_reassess,
            ReassessmentInputSerializer,
            ReassessmentSerializer,
            task=self.get_object(),
        )

    @extend_schema(responses=ExternalRequestSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def requests(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        rows = external_requests_consult(actor=request.user, requests=list(task.external_requests.all()))  # type: ignore[arg-type]
        return Response(ExternalRequestSerializer(rows, many=True).data)

    @extend_schema(request=ExternalRequestInputSerializer, responses={201: ExternalRequestSerializer})
    @requests.mapping.post
    def add_request(self, request: Request, pk: str | None = None) -> Response:
        return _created(
            request,
            external_request_add,
            ExternalRequestInputSerializer,
            ExternalRequestSerializer,
            task=self.get_object(),
        )

    @extend_schema(responses=ChildOutputSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def children(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        children, _ = victim_record_consult(actor=request.user, task=task)  # type: ignore[arg-type]
        return Response(ChildOutputSerializer(children, many=True).data)

    @extend_schema(request=ChildInputSerializer, responses={201: ChildOutputSerializer})
    @children.mapping.post
    def add_child(self, request: Request, pk: str | None = None) -> Response:
        task = self.get_object()
        data = ChildInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        child = child_add(
            task=task,
            actor=request.user,  # type: ignore[arg-type]
            reference=values["reference"],
            relation=values["relation"],
            access_route=values["access_route"],
            is_identified=values["identified"],
            is_located=values["located"],
        )
        return Response(ChildOutputSerializer(child).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=SuspectEventOutputSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="suspect-events", pagination_class=None)
    def suspect_events(self, request: Request, pk: str | None = None) -> Response:
        _, events = victim_record_consult(actor=request.user, task=self.get_object())  # type: ignore[arg-type]
        return Response(SuspectEventOutputSerializer(events, many=True).data)

    @extend_schema(
        request=SuspectEventInputSerializer,
        responses={201: SuspectEventOutputSerializer},
        description="Bail or release while a reachable child is unchecked is a 409 naming the children, "
        "unless a supervisor gives override_reason (audited; the hub is told).",
    )
    @suspect_events.mapping.post
    def record_suspect_event(self, request: Request, pk: str | None = None) -> Response:
        return _created(
            request,
            suspect_event_record,
            SuspectEventInputSerializer,
            SuspectEventOutputSerializer,
            task=self.get_object(),
        )


class HandedChildSerializer(serializers.ModelSerializer[Child]):
    """The child record as a hand-off's receiver sees it (no task, no referral)."""

    identified = serializers.BooleanField(source="is_identified")
    located = serializers.BooleanField(source="is_located")
    checks = ChildCheckSerializer(many=True, read_only=True)

    class Meta:
        model = Child
        fields = ["id", "reference", "relation", "access_route", "identified", "located", "checks"]
        read_only_fields = fields


class HandoffOutputSerializer(serializers.ModelSerializer[Handoff]):
    """What the receiver sees: the child record, the sender, the answer; nothing else of the task."""

    from_org = serializers.CharField(source="from_org.code")
    to_org = serializers.CharField(source="to_org.code")
    child = HandedChildSerializer(read_only=True)

    class Meta:
        model = Handoff
        fields = ["id", "child", "from_org", "to_org", "note", "lawful_basis", "basis_reason", "status",
                  "answer_reason", "answered_at", "answer_due_at", "revoke_reason", "revoked_at",
                  "created_at"]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Handoff) -> dict[str, Any]:
        shown = super().to_representation(instance)
        if instance.status == Handoff.Status.REVOKED:
            # Withdrawn: the receiver keeps the fact and the reference, not the child's record.
            shown["child"] = {"id": str(instance.child_id), "reference": instance.child.reference}
        return shown


class HandoffInputSerializer(serializers.Serializer[Any]):
    to_org = OrgCodeField(
        kinds={
            Organisation.Kind.FORCE,
            Organisation.Kind.REGION,
            Organisation.Kind.HUB,
            Organisation.Kind.AGENCY,
        }
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    lawful_basis = serializers.ChoiceField(
        choices=Handoff.LawfulBasis.choices,
        required=False,
        default="",
        help_text="Needed for an agency outside policing: consent, or safeguarding_duty with basis_reason.",
    )
    basis_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class HandoffAnswerSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class HandoffRevokeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=5000)


class ChildViewSet(HubViewSet):
    """/children/{id}/checks/: record a check on a child (scoped through its task)."""

    queryset = Child.objects.all()
    policies = {"checks": Act.CHILD_CHECK, "handoffs": Act.HANDOFF_OFFER}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Child]:
        return child_list_for(membership)

    @extend_schema(request=ChildCheckInputSerializer, responses={201: ChildCheckSerializer})
    @action(detail=True, methods=["post"])
    def checks(self, request: Request, pk: str | None = None) -> Response:
        return _created(
            request, child_check, ChildCheckInputSerializer, ChildCheckSerializer, child=self.get_object()
        )

    @extend_schema(request=HandoffInputSerializer, responses={201: HandoffOutputSerializer})
    @action(detail=True, methods=["post"])
    def handoffs(self, request: Request, pk: str | None = None) -> Response:
        """Hand the child to another organisation; it accepts or declines (``/handoffs/``)."""
        return _created(
            request, handoff_offer, HandoffInputSerializer, HandoffOutputSerializer, child=self.get_object()
        )


# --- Hand-offs ------------------------------------------------------------------------------


class HandoffViewSet(mixins.ListModelMixin, HubViewSet):
    """/handoffs/: the hand-offs an organisation sent or received; the receiver answers."""

    queryset = Handoff.objects.all()
    serializer_class = HandoffOutputSerializer
    pagination_class = None
    policies = {
        "list": Act.HANDOFF_LIST,
        "accept": Act.HANDOFF_ANSWER,
        "decline": Act.HANDOFF_ANSWER,
        "revoke": Act.HANDOFF_REVOKE,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[Handoff]:
        return handoff_list_for(membership).prefetch_related("child__checks__checked_by")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        handoffs = handoff_list_consult(actor=request.user, handoffs=list(self.get_queryset()[:200]))  # type: ignore[arg-type]
        return Response(self.get_serializer(handoffs, many=True).data)

    @extend_schema(request=HandoffAnswerSerializer, responses=HandoffOutputSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        handoff = self.get_object()
        data = HandoffAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = handoff_answer(handoff=handoff, actor=request.user, accept=True, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.get_serializer(done).data)

    @extend_schema(request=HandoffAnswerSerializer, responses=HandoffOutputSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        handoff = self.get_object()
        data = HandoffAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = handoff_answer(handoff=handoff, actor=request.user, accept=False, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.get_serializer(done).data)

    @extend_schema(request=HandoffRevokeSerializer, responses=HandoffOutputSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """The sender withdraws an offer not yet answered; the receiver is told."""
        handoff = self.get_object()
        data = HandoffRevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = handoff_revoke(handoff=handoff, actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(self.get_serializer(done).data)


class ExternalRequestViewSet(mixins.ListModelMixin, HubViewSet):
    """/requests/: every request on the tasks the caller sees, the longest waiting first
    (``waiting=true``: unanswered only); the holder marks one chased or answered."""

    queryset = ExternalRequest.objects.all()
    serializer_class = ExternalRequestSerializer
    pagination_class = None
    policies = {"list": Act.REQUEST_QUEUE, "chase": Act.REQUEST_UPDATE, "answer": Act.REQUEST_UPDATE}

    def scoped_queryset(self, membership: Membership) -> QuerySet[ExternalRequest]:
        queryset = request_list_for(membership)
        if self.action == "list" and bool_param(self.request.query_params, "waiting"):
            queryset = queryset.filter(answered_at__isnull=True)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("waiting", bool, description="Unanswered requests only")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = external_requests_consult(actor=request.user, requests=list(self.get_queryset()[:500]))  # type: ignore[arg-type]
        return Response(self.get_serializer(rows, many=True).data)

    @extend_schema(request=None, responses=ExternalRequestSerializer)
    @action(detail=True, methods=["post"])
    def chase(self, request: Request, pk: str | None = None) -> Response:
        done = external_request_update(request=self.get_object(), actor=request.user, event="chased")  # type: ignore[arg-type]
        return Response(self.get_serializer(done).data)

    @extend_schema(request=None, responses=ExternalRequestSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        done = external_request_update(request=self.get_object(), actor=request.user, event="answered")  # type: ignore[arg-type]
        return Response(self.get_serializer(done).data)


class ConferenceRequestViewSet(mixins.ListModelMixin, HubViewSet):
    """/conference-requests/: the hub's queue of deconfliction requests (a holder: its own);
    the hub grants or refuses each."""

    queryset = ConferenceRequest.objects.all()
    serializer_class = ConferenceRequestSerializer
    pagination_class = None
    policies = {"list": Act.CONFERENCE_LIST, "grant": Act.CONFERENCE_ANSWER, "refuse": Act.CONFERENCE_ANSWER}

    def scoped_queryset(self, membership: Membership) -> QuerySet[ConferenceRequest]:
        return conference_list_for(membership)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = conference_list_consult(actor=request.user, requests=list(self.get_queryset()[:200]))  # type: ignore[arg-type]
        return Response(self.get_serializer(rows, many=True).data)

    def _answer(self, request: Request, grant: bool) -> Response:
        data = ConferenceAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: Any = request.user
        done = conference_answer(request=self.get_object(), actor=user, grant=grant, **data.validated_data)
        return Response(self.get_serializer(done).data)

    @extend_schema(request=ConferenceAnswerSerializer, responses=ConferenceRequestSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, grant=True)

    @extend_schema(request=ConferenceAnswerSerializer, responses=ConferenceRequestSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, grant=False)


# --- Exposure (officer wellbeing) ----------------------------------------------------------------


class ExposureEntrySerializer(serializers.ModelSerializer[ExposureLog]):
    task = serializers.UUIDField(source="task_id")

    class Meta:
        model = ExposureLog
        fields = ["id", "task", "minutes", "day", "logged_at"]
        read_only_fields = fields


class OneObjectListSchema(AutoSchema):
    """``GET /exposure/`` (a list route) answers one object, the person's day, not a list."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False if getattr(self.view, "action", None) == "list" else super()._is_list_view(serializer)


class ExposureTodaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    minutes = serializers.IntegerField(help_text="The caller's total today (UK calendar day)")
    limit = serializers.IntegerField()
    over_limit = serializers.BooleanField()
    items_reviewed = serializers.IntegerField(help_text="Media items the caller marked reviewed today")
    entries = ExposureEntrySerializer(many=True)


class ExposureInputSerializer(serializers.Serializer[Any]):
    task = serializers.UUIDField()
    minutes = serializers.IntegerField(min_value=1, max_value=720)


class DebriefInputSerializer(serializers.Serializer[Any]):
    person = serializers.CharField(help_text="The person's username")
    kind = serializers.ChoiceField(choices=WelfareDebrief.Kind.choices)
    held_on = DayField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ExposureViewSet(HubViewSet):
    """/exposure/: log your own media-review minutes on a task; your total today. Supervisors:
    ``team/`` (hours per person, days over the limit, last debrief) and ``debriefs/``."""

    queryset = ExposureLog.objects.none()
    schema = OneObjectListSchema()
    pagination_class = None
    policies = {
        "list": Act.EXPOSURE_VIEW,
        "create": Act.EXPOSURE_LOG,
        "team": Act.WELFARE_TEAM,
        "debriefs": Act.WELFARE_DEBRIEF,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[ExposureLog]:
        return ExposureLog.objects.filter(user_id=membership.user_id)

    @extend_schema(responses=ExposureTodaySerializer)
    def list(self, request: Request) -> Response:
        user: Any = request.user
        return Response(ExposureTodaySerializer(exposure_today(actor=user)).data)

    @extend_schema(request=ExposureInputSerializer, responses={201: ExposureTodaySerializer})
    def create(self, request: Request) -> Response:
        data = ExposureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: Any = request.user
        task = task_list_for(self.membership).filter(pk=data.validated_data["task"]).first()
        if task is None:
            raise NotFound("No such task")  # as if it did not exist
        exposure_log(actor=user, task=task, minutes=data.validated_data["minutes"])
        return Response(
            ExposureTodaySerializer(exposure_today(actor=user)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses=serializers.ListSerializer(child=serializers.DictField()))
    @action(detail=False, methods=["get"])
    def team(self, request: Request) -> Response:
        user: Any = request.user
        rows = welfare_team(actor=user)
        return Response([
            {
                "person": row["person"].username, "name": row["person"].display_name,
                "today_minutes": row["today"], "week_minutes": row["week"],
                "days_over_limit_30": row["days_over_30"], "items_reviewed_today": row["items_today"],
                "last_debrief": row["last_debrief"].held_on if row["last_debrief"] else None,
            }
            for row in rows
        ])  # fmt: skip

    @extend_schema(request=DebriefInputSerializer, responses={201: serializers.DictField()})
    @action(detail=False, methods=["post"])
    def debriefs(self, request: Request) -> Response:
        data = DebriefInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        person = User.objects.filter(username=values["person"], is_active=True).first()
        if person is None:
            raise NotFound("No such person")
        user: Any = request.user
        made = welfare_debrief_record(
            actor=user, person=person, kind=values["kind"], held_on=values["held_on"], note=values["note"]
        )
        return Response(
            {"id": str(made.pk), "person": person.username, "kind": made.kind, "held_on": made.held_on},
            status=status.HTTP_201_CREATED,
        )
