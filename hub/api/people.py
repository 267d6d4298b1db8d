"""Administration through the API (issue 16): people and their memberships, API tokens, the
organisations' contacts and the deadline policy.

/api/v1/people/ — the hub administrator for everyone, a supervisor for their own organisation
(coordinators and auditors read the list); /api/v1/tokens/ — the administrator's;
/api/v1/contacts/ — everyone inside the service reads, the administrator edits;
/api/v1/deadline-policy/ — the hub and auditors read, the administrator changes it (with a
preview of what the change does to the tasks already running). Every change is audited with
its before and after by the service it calls.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.base import HubViewSet
from hub.api.pagination import PeoplePagination
from hub.constants import AuditAction
from hub.models import ApiToken, DeadlinePolicy, Membership, Organisation, User
from hub.policies import roles as r
from hub.policies.rules import Act
from hub.selectors import people_for
from hub.services.audit import audit_record
from hub.services.deadline_policy import DURATIONS, deadline_policy_preview, deadline_policy_set
from hub.services.factors import factors_summary, with_factors
from hub.services.organisations import CONTACT_FIELDS, organisation_contacts_set
from hub.services.people import (
    factors_reset,
    person_add,
    person_edit,
    person_move,
    person_reinvite,
    person_set_active,
    person_state,
    token_issue,
    token_revoke,
)

# --- People ----------------------------------------------------------------------------------------


class PersonOutputSerializer(serializers.ModelSerializer[User]):
    organisation = serializers.CharField(source="membership.organisation.code", read_only=True)
    role = serializers.CharField(source="membership.role", read_only=True)
    # A person may have no email yet: blank, which is no "format: email" (Schemathesis found it).
    email = serializers.CharField(read_only=True, help_text="Their address, or blank when none is set")
    state = serializers.SerializerMethodField(help_text="active, invited (no password yet) or switched off")
    second_factor = serializers.SerializerMethodField(
        help_text='e.g. "app · 9 recovery codes" or "not enrolled"'
    )

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "organisation", "role",
                  "is_active", "state", "second_factor", "last_login"]  # fmt: skip
        read_only_fields = fields

    def get_state(self, person: User) -> str:
        return person_state(person)

    def get_second_factor(self, person: User) -> str:
        return factors_summary(person)


class InvitedSerializer(PersonOutputSerializer):
    invitation_url = serializers.SerializerMethodField(
        help_text="The one-use link to set a password: shown once, also emailed to the person"
    )

    class Meta(PersonOutputSerializer.Meta):
        fields = [*PersonOutputSerializer.Meta.fields, "invitation_url"]
        read_only_fields = fields

    def get_invitation_url(self, person: User) -> str:
        return f"{settings.VIHUB_PUBLIC_URL}{self.context['invitation_path']}"


class PersonInputSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    organisation = serializers.CharField(max_length=32, help_text="An organisation's code, e.g. KENT")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class PersonEditSerializer(serializers.Serializer[Any]):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class MoveSerializer(serializers.Serializer[Any]):
    organisation = serializers.CharField(max_length=32)
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    reason = serializers.CharField(max_length=500)


class ActiveSerializer(serializers.Serializer[Any]):
    active = serializers.BooleanField()
    reason = serializers.CharField(max_length=500)


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=500)


class TokenOutputSerializer(serializers.ModelSerializer[ApiToken]):
    user = serializers.CharField(source="user.username", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "state",
        ]
        read_only_fields = fields

    def get_state(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        return "expired" if token.expires_at <= self.context["now"] else "live"


class IssuedTokenSerializer(TokenOutputSerializer):
    token = serializers.SerializerMethodField(help_text="The bearer token: shown once, never stored")

    class Meta(TokenOutputSerializer.Meta):
        fields = [*TokenOutputSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return str(self.context["raw"])


class TokenInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    expires_days = serializers.IntegerField(
        min_value=1, max_value=settings.VIHUB_TOKEN_MAX_DAYS, required=False, default=None
    )


def _fresh(person: User) -> User:
    return with_factors(User.objects.select_related("membership__organisation")).get(pk=person.pk)


class PeopleViewSet(mixins.ListModelMixin, HubViewSet):
    """People and their memberships."""

    queryset = User.objects.all()
    serializer_class = PersonOutputSerializer
    pagination_class = PeoplePagination
    policies = {
        "list": Act.PEOPLE_LIST,
        "retrieve": Act.PERSON_VIEW,
        "create": Act.PERSON_ADD,
        "partial_update": Act.PERSON_EDIT,
        "move": Act.PERSON_MOVE,
        "active": Act.PERSON_SET_ACTIVE,
        "invitation": Act.PERSON_EDIT,
        "factors_reset": Act.FACTORS_RESET,
        "tokens": Act.TOKEN_ISSUE,
    }

    def scoped_queryset(self, membership: Membership) -> QuerySet[User]:
        # The registry's visibility of a person, as a queryset: outside it, a 404; inside it,
        # the row's role and scope decide (a 403).
        return with_factors(people_for(membership))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.audited_list(request, "person")

    def _answer(self, person: User, code: int = status.HTTP_200_OK) -> Response:
        fresh = _fresh(person)
        return Response(PersonOutputSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        audit_record(actor=request.user, action=AuditAction.PERSON_VIEWED, object_type="user",  # type: ignore[arg-type]
                     object_id=person.pk, changes={"username": person.username})  # fmt: skip
        return Response(PersonOutputSerializer(person).data)

    @extend_schema(request=PersonInputSerializer, responses={201: InvitedSerializer})
    def create(self, request: Request) -> Response:
        data = PersonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        invitation = person_add(actor=request.user, org_code=values.pop("organisation"), **values)  # type: ignore[arg-type]
        fresh = _fresh(invitation.person)
        body = InvitedSerializer(fresh, context={"invitation_path": invitation.path}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=PersonEditSerializer, responses={200: PersonOutputSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = self.get_object()
        data = PersonEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(person_edit(actor=request.user, person=person, **data.validated_data))  # type: ignore[arg-type]

    @extend_schema(request=MoveSerializer, responses={200: PersonOutputSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        moved = person_move(actor=request.user, person=person, org_code=values["organisation"],  # type: ignore[arg-type]
                            role=values["role"], reason=values["reason"])  # fmt: skip
        return self._answer(moved)

    @extend_schema(request=ActiveSerializer, responses={200: PersonOutputSerializer})
    @action(detail=True, methods=["post"])
    def active(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        data = ActiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person_set_active(actor=request.user, person=person, **data.validated_data)  # type: ignore[arg-type]
        return self._answer(person)

    @extend_schema(request=None, responses={200: InvitedSerializer})
    @action(detail=True, methods=["post"])
    def invitation(self, request: Request, pk: str | None = None) -> Response:
        invitation = person_reinvite(actor=request.user, person=self.get_object())  # type: ignore[arg-type]
        fresh = _fresh(invitation.person)
        return Response(InvitedSerializer(fresh, context={"invitation_path": invitation.path}).data)

    @extend_schema(request=ReasonSerializer, responses={200: PersonOutputSerializer})
    @action(detail=True, methods=["post"], url_path="factors-reset")
    def factors_reset(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        factors_reset(person=person, actor=request.user, reason=data.validated_data["reason"])  # type: ignore[arg-type]
        return self._answer(person)

    @extend_schema(request=TokenInputSerializer, responses={201: IssuedTokenSerializer})
    @action(detail=True, methods=["post"])
    def tokens(self, request: Request, pk: str | None = None) -> Response:
        person = self.get_object()
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = token_issue(actor=request.user, person=person, **data.validated_data)  # type: ignore[arg-type]
        body = IssuedTokenSerializer(token, context={"raw": raw, "now": timezone.now()}).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenViewSet(mixins.ListModelMixin, HubViewSet):
    """Every API token (hash only; the raw token was shown once when issued)."""

    queryset = ApiToken.objects.all()
    serializer_class = TokenOutputSerializer
    policies = {"list": Act.TOKEN_LIST, "revoke": Act.TOKEN_REVOKE}

    def scoped_queryset(self, membership: Membership) -> QuerySet[ApiToken]:
        if membership.role not in r.ADMIN_ROLES:
            return ApiToken.objects.none()
        return ApiToken.objects.select_related("user").order_by("-created_at", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.audited_list(request, "token")

    @extend_schema(request=None, responses={200: TokenOutputSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = token_revoke(actor=request.user, token=self.get_object())  # type: ignore[arg-type]
        return Response(TokenOutputSerializer(token, context={"now": timezone.now()}).data)


# --- Organisations' contacts -------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", *CONTACT_FIELDS, "contacts_updated_at"]
        read_only_fields = ["code", "name", "kind", "contacts_updated_at"]
        extra_kwargs = {name: {"required": False} for name in CONTACT_FIELDS}


class ContactViewSet(mixins.ListModelMixin, HubViewSet):
    """Each organisation's victim-ID liaison and how to reach them, in and out of hours."""

    queryset = Organisation.objects.all()
    serializer_class = ContactSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_]+"
    pagination_class = None
    policies = {"list": Act.CONTACT_LIST, "partial_update": Act.ORGANISATION_EDIT}

    def scoped_queryset(self, membership: Membership) -> QuerySet[Organisation]:
        return Organisation.objects.filter(is_active=True).order_by("kind", "code")

    def get_object(self) -> Organisation:
        self.kwargs[self.lookup_field] = str(self.kwargs[self.lookup_field]).upper()
        org: Organisation = super().get_object()
        return org

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rows = list(self.get_queryset())
        audit_record(actor=request.user, action=AuditAction.CONTACTS_LISTED, object_type="organisation",  # type: ignore[arg-type]
                     changes={"count": len(rows)})  # fmt: skip
        return Response(ContactSerializer(rows, many=True).data)

    @extend_schema(request=ContactSerializer, responses={200: ContactSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        org = self.get_object()
        data = ContactSerializer(org, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {name: value for name, value in data.validated_data.items() if name in CONTACT_FIELDS}
        org = organisation_contacts_set(actor=request.user, organisation=org, **fields)  # type: ignore[arg-type]
        return Response(ContactSerializer(org).data)


# --- The deadline policy -------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer[DeadlinePolicy]):
    risk = serializers.SerializerMethodField(help_text='The risk this row is for, or "any"')

    class Meta:
        model = DeadlinePolicy
        fields = ["id", "grade", "risk", *DURATIONS, "updated_at"]
        read_only_fields = fields

    def get_risk(self, policy: DeadlinePolicy) -> str:
        return policy.risk or "any"


class PolicyInputSerializer(serializers.Serializer[Any]):
    accept_within = serializers.DurationField(required=False)
    act_within = serializers.DurationField(required=False)
    escalation_step_wait = serializers.DurationField(required=False)
    acknowledgement_grace = serializers.DurationField(required=False)
    max_pause = serializers.DurationField(required=False)


class PolicyChangeSerializer(PolicyInputSerializer):
    reason = serializers.CharField(max_length=500)
    tighten_running = serializers.BooleanField(
        required=False, default=False,
        help_text="Bring the running tasks this row governs to the tighter clocks (never looser)",
    )  # fmt: skip


class PreviewSerializer(serializers.Serializer[Any]):
    running = serializers.IntegerField(help_text="Running tasks whose clocks come from this row")
    would_tighten = serializers.IntegerField(
        help_text="Of those, how many tighten_running would move earlier"
    )
    keep_longer = serializers.IntegerField(
        help_text="Of those, how many keep a deadline the new row makes later"
    )
    changes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class DeadlinePolicyViewSet(mixins.ListModelMixin, HubViewSet):
    queryset = DeadlinePolicy.objects.all()
    serializer_class = PolicySerializer
    lookup_value_regex = "[0-9]+"
    pagination_class = None
    policies = {"list": Act.DEADLINE_POLICY_VIEW, "partial_update": Act.DEADLINE_POLICY_EDIT,
                "preview": Act.DEADLINE_POLICY_EDIT}  # fmt: skip

    def scoped_queryset(self, membership: Membership) -> QuerySet[DeadlinePolicy]:
        return DeadlinePolicy.objects.order_by("grade", "risk")

    @extend_schema(request=PolicyChangeSerializer, responses={200: PolicySerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        data = PolicyChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        deadline_policy_set(actor=request.user, policy=policy, **values)  # type: ignore[arg-type]
        policy.refresh_from_db()
        return Response(PolicySerializer(policy).data)

    @extend_schema(request=PolicyInputSerializer, responses={200: PreviewSerializer})
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        data = PolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preview = deadline_policy_preview(actor=request.user, policy=policy, **data.validated_data)  # type: ignore[arg-type]
        return Response(PreviewSerializer(preview).data)
