"""/api/v1/referrals/: intake, triage, non-actionable closure, closure."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from hub.api.base import HubViewSet, bool_param, expected_version
from hub.api.fields import (
    MomentField,
    OrgCodeField,
    OutcomeInternalSerializer,
    OutcomeSummarySerializer,
    QuickFields,
)
from hub.api.throttles import IntakeThrottle
from hub.exceptions import DomainError
from hub.hooks import outcome_view
from hub.models import (
    AccessToChildren,
    HashType,
    MediaHash,
    MediaMatch,
    Membership,
    Missing,
    Organisation,
    Referral,
    Risk,
    RiskFactor,
    Team,
)
from hub.policies.roles import INTERNAL_READER_ROLES
from hub.policies.rules import Act
from hub.selectors import referral_list_for, referral_search
from hub.selectors.prepared import Prepared
from hub.selectors.scoping import membership_shape
from hub.services.audit import audit_list_read
from hub.services.matching import referral_match_media, referral_matches_consult
from hub.services.referrals import (
    UNSET,
    IntakeDetails,
    referral_audit_read,
    referral_close,
    referral_create,
    referral_mark_non_actionable,
    referral_triage,
)
from hub.services.versions import referral_version, with_versions


class MediaInputSerializer(QuickFields, serializers.Serializer[Any]):
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", error_messages={"invalid": "sha256 must be 64 hex digits."}
    )
    md5 = serializers.RegexField(
        r"^[0-9a-fA-F]{32}$", required=False, error_messages={"invalid": "md5 must be 32 hex digits."}
    )
    pdq = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        error_messages={"invalid": "pdq must be 64 hex digits (256 bits)."},
    )
    first_generation = serializers.BooleanField(
        required=False, help_text="Made by the offender (proof of access to a child)"
    )
    category = serializers.ChoiceField(choices=MediaHash.Category.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        hexes = {"sha256", "md5", "pdq"}
        return {key: value.lower() if key in hexes else value for key, value in attrs.items()}


# A sender's clock may run a little fast; a report from the future is a mistake.
RECEIVED_AT_SKEW = timedelta(minutes=5)
# The oldest receipt time an agency may give (a 1901 date would jump the triage queue, which
# puts the longest waiting first); older backlog is entered by the hub.
RECEIVED_AT_OLDEST = timedelta(days=366)


def printable_reference(value: str) -> None:
    """An agency's reference goes into pages, CSV exports and email subjects: printable text
    on one line, nothing else."""
    if not value.isprintable():
        raise serializers.ValidationError(
            "Use printable characters only: no line breaks, tabs or other control characters."
        )


class ReferralCreateSerializer(QuickFields, serializers.Serializer[Any]):
    external_id = serializers.CharField(max_length=100, validators=[printable_reference])
    received_at = serializers.DateTimeField(
        required=False, help_text="When the agency received the report; not in the future."
    )
    summary = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    suspect_force = OrgCodeField(kinds={Organisation.Kind.FORCE}, required=False, allow_null=True)
    urgent = serializers.BooleanField(required=False, default=False)
    media = serializers.ListField(child=MediaInputSerializer(), required=False, max_length=1000)
    agency = OrgCodeField(
        kinds={Organisation.Kind.AGENCY},
        required=False,
        help_text="The referring agency; required when a hub coordinator enters a referral by hand.",
    )

    platform = serializers.CharField(
        required=False, allow_blank=True, max_length=100, validators=[printable_reference]
    )
    incident_at = MomentField(required=False, help_text="When the offending happened, if known")
    offence_type = serializers.ChoiceField(choices=Referral.OffenceType.choices, required=False)
    reporter_type = serializers.ChoiceField(choices=Referral.ReporterType.choices, required=False)
    evidence_continuity = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="For an online activist group: who captured the evidence, when, and how it was kept",
    )

    def validate_incident_at(self, value: datetime) -> datetime:
        if value > timezone.now() + RECEIVED_AT_SKEW:
            raise serializers.ValidationError("This is in the future. Give when the offending happened.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("reporter_type") == Referral.ReporterType.ONLINE_ACTIVIST
            and not attrs.get("evidence_continuity", "").strip()
        ):
            raise serializers.ValidationError(
                {
                    "evidence_continuity": "An online activist group's report needs the evidence's "
                    "continuity: "
                    "who captured it, when, and how it was kept."
                }
            )
        return attrs

    def validate_received_at(self, value: datetime) -> datetime:
        if value > timezone.now() + RECEIVED_AT_SKEW:
            raise serializers.ValidationError(
                "This is in the future. Give the time the agency received the report."
            )
        if value < timezone.now() - RECEIVED_AT_OLDEST:
            raise serializers.ValidationError(
                "This is more than a year ago. Give the time the agency received the report; "
                "ask the hub to enter an older one."
            )
        return value


class MediaOutputSerializer(serializers.Serializer[Any]):
    sha256 = serializers.CharField()
    md5 = serializers.CharField()
    pdq = serializers.CharField()
    first_generation = serializers.BooleanField(source="is_first_generation")
    category = serializers.CharField()


class TriageOutputSerializer(serializers.Serializer[Any]):
    grade = serializers.IntegerField()
    risk = serializers.CharField()
    access_to_children = serializers.ListField(child=serializers.CharField())
    information_incomplete = serializers.BooleanField(source="is_information_incomplete")
    risk_factors = serializers.ListField(child=serializers.CharField())
    missing_information = serializers.ListField(child=serializers.CharField())
    offence_type = serializers.CharField()
    team = serializers.CharField(source="team.code", allow_null=True, default=None)
    rationale = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username")
    decided_at = serializers.DateTimeField()


class ReferralAgencyOutputSerializer(QuickFields, serializers.Serializer[Any]):
    """What the referring agency sees: its identifiers, status and the outcome codes."""

    id = serializers.UUIDField()
    external_id = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    urgent = serializers.BooleanField(source="is_urgent")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    outcome = serializers.SerializerMethodField()

    @extend_schema_field(OutcomeSummarySerializer(allow_null=True))
    def get_outcome(self, referral: Referral) -> dict[str, Any] | None:
        return outcome_view(referral, internal=False)


class ReferralOutputSerializer(ReferralAgencyOutputSerializer):
    """What the hub, spokes working it, and auditors see."""

    agency = serializers.CharField(source="agency.code")
    summary = serializers.CharField()
    suspect_force = serializers.CharField(source="suspect_force.code", allow_null=True, default=None)
    grade = serializers.IntegerField(allow_null=True)
    risk = serializers.CharField()
    access_to_children = serializers.ListField(child=serializers.CharField())
    information_incomplete = serializers.BooleanField(source="is_information_incomplete")
    triaged_at = serializers.DateTimeField(allow_null=True)
    non_actionable_reason = serializers.CharField()
    suspect_has_access_to_children = serializers.BooleanField(allow_null=True)
    safeguarding_needed = serializers.BooleanField(source="is_safeguarding_needed", allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closure_note = serializers.CharField()
    media = MediaOutputSerializer(many=True)
    platform = serializers.CharField()
    incident_at = serializers.DateTimeField(allow_null=True)
    offence_type = serializers.CharField()
    reporter_type = serializers.CharField()
    evidence_continuity = serializers.CharField()
    risk_factors = serializers.ListField(child=serializers.CharField())
    missing_information = serializers.ListField(child=serializers.CharField())
    triage_offence_type = serializers.CharField(help_text="The hub's reading of the offence at triage")
    team = serializers.CharField(source="team.code", allow_null=True, default=None)
    triage_history = TriageOutputSerializer(many=True)
    known_victim = serializers.BooleanField(
        source="is_known_victim", help_text="A known-set match says the victim is already identified"
    )
    first_generation = serializers.BooleanField(
        source="is_first_generation", help_text="First-generation material no known set has"
    )
    media_matches = serializers.IntegerField(source="media_match_count")

    version = serializers.SerializerMethodField(
        help_text="Send it back (version or If-Match) with a decision, so a stale view is refused"
    )

    @extend_schema_field(OutcomeInternalSerializer(allow_null=True))
    def get_outcome(self, referral: Referral) -> dict[str, Any] | None:
        return outcome_view(referral, internal=True)

    def get_version(self, referral: Referral) -> str:
        return referral_version(referral)


# What GET /referrals/ and /referrals/{id}/ answer depends on who asks: the whole record for the
# hub, spokes and auditors, the thin one (status, outcome codes) for an agency. ``anyOf`` in the
# document (hub.api.schema.referral_for_caller_any_of), since the whole record also fits the thin.
REFERRAL_FOR_CALLER = PolymorphicProxySerializer(
    component_name="ReferralForCaller",
    serializers=[ReferralOutputSerializer, ReferralAgencyOutputSerializer],
    resource_type_field_name=None,
)


class TriageInputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The referral's version this decision is based on (or send If-Match); a stale one is a 409",
    )
    grade = serializers.ChoiceField(choices=[1, 2, 3])
    risk = serializers.ChoiceField(choices=Risk.choices)
    access_to_children = serializers.ListField(
        child=serializers.ChoiceField(choices=AccessToChildren.choices), allow_empty=True, max_length=4
    )
    information_incomplete = serializers.BooleanField()
    rationale = serializers.CharField(max_length=5000)
    # The prioritisation record (all optional; what is not sent stays as it was).
    risk_factors = serializers.ListField(
        child=serializers.ChoiceField(choices=RiskFactor.choices), required=False, max_length=3
    )
    missing_information = serializers.ListField(
        child=serializers.ChoiceField(choices=Missing.choices),
        required=False,
        max_length=len(Missing.choices),
        help_text="What the grade lacks, when information_incomplete is true",
    )
    offence_type = serializers.ChoiceField(choices=Referral.OffenceType.choices, required=False)
    team = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Team.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Route the referral to a named team (null takes it off its team)",
    )
    relax_deadlines = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A looser grading moves running deadlines later only when the hub says so "
        "(audited with the rationale); a tighter one always moves them earlier.",
    )


class NonActionableInputSerializer(serializers.Serializer[Any]):
    reason = serializers.ChoiceField(choices=Referral.NonActionableReason.choices)
    note = serializers.CharField(max_length=5000)


class CloseInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    suspect_has_access_to_children = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="If the outcome came without it"
    )
    safeguarding_needed = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="If the outcome came without it"
    )


class MatchSerializer(serializers.Serializer[Any]):
    """One match: another referral sharing media (``referral``) or a known-set hit (``source``)."""

    referral = serializers.SerializerMethodField()
    referral_external_id = serializers.SerializerMethodField()
    source = serializers.CharField(allow_null=True)  # type: ignore[assignment]  # the known set's name
    hash_type = serializers.ChoiceField(choices=HashType.choices)
    match = serializers.ChoiceField(choices=MediaMatch.Kind.choices)
    distance = serializers.IntegerField()
    media = serializers.CharField(help_text="The SHA-256 of this referral's item that matched")
    victim_identified = serializers.BooleanField(allow_null=True)
    series = serializers.CharField()
    holders = serializers.ListField(
        child=serializers.CharField(), help_text="Open tasks on the other referral"
    )

    def get_referral(self, row: dict[str, Any]) -> str | None:
        return str(row["referral"].pk) if row["referral"] is not None else None

    def get_referral_external_id(self, row: dict[str, Any]) -> str | None:
        other = row["referral"]
        return f"{other.agency.code}:{other.external_id}" if other is not None else None


class MatchListSerializer(serializers.Serializer[Any]):
    results = MatchSerializer(many=True)


def _referral_rows(membership: Membership) -> QuerySet[Referral]:
    """The referrals the member may see, with what every reader's answer shows."""
    return referral_list_for(membership).select_related("agency", "suspect_force", "outcome", "team")


_AGENCY_READ: Prepared[Referral] = Prepared(
    lambda membership, pk: _referral_rows(membership).filter(pk=pk), shape=membership_shape, pk=uuid.UUID
)


class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet):
    queryset = Referral.objects.all()
    compiled_read = _AGENCY_READ  # for agencies: see uses_compiled_read
    policies = {
        "list": Act.REFERRAL_LIST,
        "retrieve": Act.REFERRAL_VIEW,
        "create": Act.REFERRAL_CREATE,
        "triage": Act.REFERRAL_TRIAGE,
        "non_actionable": Act.REFERRAL_NON_ACTIONABLE,
        "close": Act.REFERRAL_CLOSE,
        "matches": Act.MATCH_LIST,
        "rematch": Act.MATCH_RUN,
    }

    def get_throttles(self) -> list[BaseThrottle]:
        """Intake is limited per account and per source address (429 with Retry-After)."""
        if self.action == "create":
            return [IntakeThrottle()]
        return super().get_throttles()

    def scoped_queryset(self, membership: Membership) -> QuerySet[Referral]:
        queryset = _referral_rows(membership)
        if membership.role in INTERNAL_READER_ROLES:
            queryset = with_versions(queryset).prefetch_related(
                "media", "triage_history__decided_by", "triage_history__team"
            )
        params = self.request.query_params
        if self.action == "list":
            if status_filter := params.get("status"):
                if status_filter not in Referral.Status.values:
                    raise DomainError(f"Unknown status {status_filter!r}", field="status")
                queryset = queryset.filter(status=status_filter)
            if since := params.get("updated_since"):
                parsed = serializers.DateTimeField().to_internal_value(since)
                queryset = queryset.filter(updated_at__gte=parsed)
            if (urgent := bool_param(params, "urgent")) is not None:
                queryset = queryset.filter(is_urgent=urgent)
            if q := params.get("q", "").strip()[:100]:
                queryset = referral_search(queryset, q)
            if team := params.get("team"):
                if not Team.objects.filter(code=team).exists():
                    raise DomainError(f"Unknown team {team!r}", field="team")
                queryset = queryset.filter(team__code=team)
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.membership.role in INTERNAL_READER_ROLES:
            return ReferralOutputSerializer
        return ReferralAgencyOutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Referral.Status.values),
            OpenApiParameter("updated_since", str, description="ISO 8601; referrals changed at or after it"),
            OpenApiParameter("urgent", bool),
            OpenApiParameter("team", str, description="A named team's code: the referrals routed to it"),
            OpenApiParameter("q", str, description="The agency's reference (exact or prefix) or VIHub's id"),
        ],
        responses=PolymorphicProxySerializer(
            component_name="ReferralForCaller",
            serializers=[ReferralOutputSerializer, ReferralAgencyOutputSerializer],
            resource_type_field_name=None,
            many=True,
        ),
        description="Referrals the caller may see; an agency sees only its own (status, outcome).",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        audit_list_read(
            actor=request.user,  # type: ignore[arg-type]
            object_type="referral",
            ids=[r.pk for r in rows],
            query=dict(request.query_params.items()),
        )
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def uses_compiled_read(self, membership: Membership) -> bool:
        """An agency's read of one of its referrals (the pull API an integration polls) is
        compiled; the hub's and spokes' reads (versions counted, media and triage history
        prefetched) go through DRF's lookup."""
        return membership.role not in INTERNAL_READER_ROLES

    @extend_schema(responses=REFERRAL_FOR_CALLER)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        referral = self.get_object()
        referral_audit_read(actor=request.user, referral=referral)  # type: ignore[arg-type]
        response = Response(self.get_serializer(referral).data)
        if self.membership.role in INTERNAL_READER_ROLES:
            response["ETag"] = f'"{referral_version(referral)}"'
        return response

    @extend_schema(
        request=ReferralCreateSerializer,
        responses={201: REFERRAL_FOR_CALLER, 200: REFERRAL_FOR_CALLER},
        description="Idempotent on (agency, external_id): a re-post returns 200 with the same referral.",
    )
    def create(self, request: Request) -> Response:
        membership = self.membership
        data = ReferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if membership.role == Membership.Role.AGENCY:
            agency = membership.organisation
        else:
            agency = values.get("agency")
            if agency is None:
                raise DomainError(
                    "Name the referring agency's code when entering a referral by hand", field="agency"
                )
        result = referral_create(
            agency=agency,
            external_id=values["external_id"],
            actor=request.user,  # type: ignore[arg-type]
            received_at=values.get("received_at"),
            summary=values.get("summary", ""),
            suspect_force=values.get("suspect_force"),
            is_urgent=values["urgent"],
            media=values.get("media", []),
            details=cast(
                IntakeDetails,
                {name: values[name] for name in IntakeDetails.__annotations__ if name in values},
            ),
        )
        referral = self._as_stored(result.referral, result.created)
        if not result.created:  # the caller is shown an existing record: a consultation
            referral_audit_read(actor=request.user, referral=referral, justification="intake re-post")  # type: ignore[arg-type]
        return Response(
            self.get_serializer(referral).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    def _as_stored(self, referral: Referral, created: bool) -> Referral:
        """The referral to answer with. A new, non-urgent referral shown as an agency sees it is
        answered from the row just inserted: all of that view (ids, status, times, no outcome)
        was set in Python and written as it is, and re-reading it cost a sixth of the request's
        CPU. Anything else is read back through the caller's scope (an urgent referral has moved
        on, a re-post is whatever is stored, the hub's view has media and triage history)."""
        agency_view = self.get_serializer_class() is ReferralAgencyOutputSerializer
        if created and not referral.is_urgent and agency_view:
            Referral._meta.get_field("outcome").set_cached_value(referral, None)  # none yet: no query
            return referral
        stored: Referral = self.get_queryset().get(pk=referral.pk)
        return stored

    @extend_schema(request=TriageInputSerializer, responses=ReferralOutputSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        data = TriageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referral_triage(
            referral=referral,
            actor=request.user,  # type: ignore[arg-type]
            grade=values["grade"],
            risk=values["risk"],
            access_to_children=values["access_to_children"],
            is_information_incomplete=values["information_incomplete"],
            rationale=values["rationale"],
            expect_version=expected_version(request, values),
            relax_deadlines=values["relax_deadlines"],
            risk_factors=values.get("risk_factors"),
            missing_information=values.get("missing_information"),
            offence_type=values.get("offence_type"),
            team=values.get("team", UNSET),
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses=MatchListSerializer)
    @action(detail=True, methods=["get"])
    def matches(self, request: Request, pk: str | None = None) -> Response:
        """Other referrals sharing an exact hash or a PDQ within distance 31, and known-set hits."""
        rows = referral_matches_consult(actor=request.user, referral=self.get_object())  # type: ignore[arg-type]
        return Response({"results": MatchSerializer(rows, many=True).data})

    @extend_schema(request=None, responses=MatchListSerializer)
    @matches.mapping.post
    def rematch(self, request: Request, pk: str | None = None) -> Response:
        """Match the referral's media again now (after a known set was imported, say)."""
        referral = self.get_object()
        referral_match_media(referral=referral, actor=request.user)  # type: ignore[arg-type]
        rows = referral_matches_consult(actor=request.user, referral=referral)  # type: ignore[arg-type]
        return Response({"results": MatchSerializer(rows, many=True).data})

    @extend_schema(request=NonActionableInputSerializer, responses=ReferralOutputSerializer)
    @action(detail=True, methods=["post"], url_path="non-actionable")
    def non_actionable(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        data = NonActionableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral_mark_non_actionable(
            referral=referral,
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=CloseInputSerializer, responses=ReferralOutputSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        referral = self.get_object()
        data = CloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referral_close(
            referral=referral,
            actor=request.user,  # type: ignore[arg-type]
            note=values["note"],
            suspect_has_access_to_children=values["suspect_has_access_to_children"],
            is_safeguarding_needed=values["safeguarding_needed"],
        )
        return Response(self.get_serializer(self.get_object()).data)
