"""Organisations, memberships and API tokens: state changes, each with its audit row."""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from hub.constants import TOKEN_PREFIX, AuditAction
from hub.exceptions import DomainError
from hub.models import ApiToken, Membership, Organisation, Team, User
from hub.policies.rules import Act, authorize
from hub.services.audit import audit_record, set_changed

REFERENCE_CSV = Path(__file__).resolve().parent.parent / "data" / "reference-organisations.csv"


@dataclass(frozen=True)
class SeedResult:
    created: int
    updated: int
    unchanged: int
    reparented: int = 0


def _group_name(code: str) -> str:
    return f"org:{code}"


@transaction.atomic
def organisations_seed_reference(*, path: Path = REFERENCE_CSV, actor: User | None = None) -> SeedResult:
    """Load the reference tree idempotently: create what is missing, update names/kinds/parents
    that changed, never duplicate. Parents are applied after every row exists."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    existing = {org.code: org for org in Organisation.objects.select_related("parent")}
    created = updated = unchanged = reparented = 0
    for row in rows:
        code, name, kind = row["code"].strip(), row["name"].strip(), row["kind"].strip()
        if kind not in Organisation.Kind.values:
            raise DomainError(f"Unknown organisation kind {kind!r} for {code}", field="kind")
        org = existing.get(code)
        if org is None:
            group, _ = Group.objects.get_or_create(name=_group_name(code))
            org = Organisation.objects.create(code=code, name=name, kind=kind, group=group)
            existing[code] = org
            created += 1
        elif (org.name, org.kind) != (name, kind):
            org.name, org.kind = name, kind
            org.save(update_fields=["name", "kind"])
            updated += 1
        else:
            unchanged += 1
    for row in rows:
        org = existing[row["code"].strip()]
        parent_code = row["parent"].strip()
        parent = existing[parent_code] if parent_code else None
        if org.parent_id != (parent.pk if parent else None):
            if not created:
                reparented += 1
            org.parent = parent
            org.save(update_fields=["parent"])
    if created or updated or reparented:
        audit_record(
            actor=actor,
            action=AuditAction.ORGANISATION_SEEDED,
            object_type="organisation",
            changes={"created": created, "updated": updated, "reparented": reparented},
        )
    teams_ensure_defaults(hub=next((o for o in existing.values() if o.kind == Organisation.Kind.HUB), None))
    return SeedResult(created=created, updated=updated, unchanged=unchanged, reparented=reparented)


# The hub's named teams a referral can be routed to at triage (their members are added by the
# hub: ``add_member --team CODE``). Added once; edited or retired rows are left as they are.
DEFAULT_TEAMS = [
    ("GROOMING", "Online grooming and sextortion team", ["grooming", "sextortion", "live_streaming"]),
    ("FIRSTGEN", "First-generation material team", ["first_generation"]),
]


def teams_ensure_defaults(*, hub: Organisation | None) -> int:
    if hub is None:
        return 0
    made = 0
    for code, name, routes in DEFAULT_TEAMS:
        _, created = Team.objects.get_or_create(
            code=code, defaults={"name": name, "organisation": hub, "routes": routes}
        )
        made += created
    return made


@transaction.atomic
def membership_set(
    *, username: str, org_code: str, role: str, actor: User | None, password: str | None = None
) -> Membership:
    """Create the user if needed and give them ``role`` in ``org_code`` (one membership per
    user). Moves the user's group membership in the same transaction, so access granted to
    the old organisation's group ends at commit."""
    if role not in Membership.Role.values:
        role_fits(None, role)  # the unknown role's 400, before the organisation is looked up
    org = Organisation.objects.filter(code=org_code.upper()).first()
    if org is None:
        raise DomainError(f"No organisation with code {org_code!r}", field="org")
    role_fits(org, role)
    user, user_created = User.objects.get_or_create(username=username)
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
    elif user_created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership = Membership.objects.select_for_update(no_key=True, of=("self",)).filter(user=user).first()
    before = None
    if membership is None:
        membership = Membership.objects.create(user=user, organisation=org, role=role)
    else:
        before = {"org": membership.organisation.code, "role": membership.role}
        user.groups.remove(membership.organisation.group)
        membership.organisation, membership.role = org, role
        membership.save(update_fields=["organisation", "role", "updated_at"])
    user.groups.add(org.group)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBERSHIP_SET,
        object_type="user",
        object_id=user.pk,
        changes={"before": before, "after": {"org": org.code, "role": role}, "user": username},
    )
    return membership


def role_fits(org: Organisation | None, role: str) -> None:
    """A known role, in an organisation of a kind it belongs to (``Membership.ALLOWED_KINDS``),
    or a 400 on ``role`` saying why."""
    if role not in Membership.Role.values:
        raise DomainError(
            f"Unknown role {role!r}; choose one of: {', '.join(Membership.Role.values)}", field="role"
        )
    if org is not None and org.kind not in Membership.ALLOWED_KINDS[role]:
        kinds = " or ".join(sorted(Membership.ALLOWED_KINDS[role]))
        raise DomainError(
            f"A {Membership.Role(role).label.lower()} belongs to a {kinds} organisation; "
            f"{org.code} is a {org.kind}",
            field="role",
        )


def clean_email(value: str, field: str = "email") -> str:
    """An email address stripped, blank allowed; anything else invalid is a 400 on ``field``."""
    value = (value or "").strip()
    if value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise DomainError("Enter a valid email address", field=field) from exc
    return value


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, actor: User | None, expires_days: int | None = None, name: str = ""
) -> tuple[ApiToken, str]:
    """Issue a token. Returns the row and the raw token, which is never stored or shown again."""
    days = settings.VIHUB_TOKEN_DEFAULT_DAYS if expires_days is None else expires_days
    if not 1 <= days <= settings.VIHUB_TOKEN_MAX_DAYS:
        raise DomainError(
            f"A token lives between 1 and {settings.VIHUB_TOKEN_MAX_DAYS} days, not {days}",
            field="expires_days",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_CREATED,
        object_type="api_token",
        object_id=token.pk,
        changes={
            "user": user.username,
            "expires_at": token.expires_at.isoformat(),
            "before": None,
            "after": {"prefix": token.prefix, "name": name, "expires_at": token.expires_at.isoformat()},
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke at once: the next request with this token gets 401."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            object_type="api_token",
            object_id=token.pk,
            changes={
                "user": token.user.username,
                "prefix": token.prefix,
                "before": {"revoked": False},
                "after": {"revoked": True},
            },  # fmt: skip
        )
    return token


@transaction.atomic
def team_member_add(*, team_code: str, user: User, actor: User | None) -> Team:
    """Put a person in one of their organisation's named teams (idempotent; audited)."""
    team = Team.objects.filter(code=team_code, is_active=True).first()
    if team is None:
        raise DomainError(f"No active team {team_code!r}", field="team")
    membership = Membership.objects.filter(user=user).first()
    if membership is None or membership.organisation_id != team.organisation_id:
        raise DomainError(
            f"{user.username} is not in {team.organisation.code}, which runs {team.name}", field="team"
        )
    if not team.members.filter(pk=user.pk).exists():
        team.members.add(user)
        audit_record(
            actor=actor,
            action=AuditAction.TEAM_MEMBER_ADDED,
            object_type="team",
            changes={"team": team.code, "user": user.username},
        )
    return team


CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "out_of_hours_phone", "liaison_notes")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,40}$")


def organisation_contacts_set(*, actor: User, organisation: Organisation, **fields: str) -> Organisation:
    """Set an organisation's contact and liaison details (the fields given); audited with before
    and after. A phone number is digits, spaces, brackets and dashes (an optional leading +)."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise DomainError(f"Only {', '.join(CONTACT_FIELDS)} can be set here", field=sorted(unknown)[0])
    clean: dict[str, str] = {}
    for name, raw in fields.items():
        value = clean_email(raw, name) if name == "contact_email" else (raw or "").strip()
        if name in ("contact_phone", "out_of_hours_phone") and value and not _PHONE.match(value):
            raise DomainError("A phone number is digits, spaces, brackets and dashes", field=name)
        limit = 2000 if name == "liaison_notes" else (40 if "phone" in name else 200)
        if len(value) > limit:
            raise DomainError(f"At most {limit} characters", field=name)
        clean[name] = value
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(actor, Act.ORGANISATION_EDIT, organisation)
        if changes := set_changed(organisation, clean):
            organisation.contacts_updated_at = timezone.now()
            organisation.save(update_fields=[*changes["after"], "contacts_updated_at"])
            audit_record(
                actor=actor,
                action=AuditAction.ORGANISATION_CONTACTS_SET,
                object_type="organisation",
                object_id=organisation.pk,
                changes={"code": organisation.code, **changes},
            )
    return organisation
