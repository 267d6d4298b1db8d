"""The people of VIHub: what an administrator does to someone's account (issue 14: resetting
a person's second factors; issue 16 adds the rest of administration here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from hub.constants import AuditAction
from hub.exceptions import DomainError, InvalidTransition
from hub.models import ApiToken, Membership, Organisation, User
from hub.policies.rules import Act, Placement, authorize, person_is_active
from hub.services.audit import audit_record, set_changed
from hub.services.factors import factors_remove, factors_summary
from hub.services.organisations import api_token_create, api_token_revoke, clean_email, role_fits


def sessions_end(person: User) -> int:
    """End every session ``person`` has (signed in anywhere): the database session store holds
    no user index, so each live session is decoded; a few thousand at most."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(person.pk):
            session.delete()
            ended += 1
    return ended


def factors_reset(*, person: User, actor: User | None, reason: str) -> dict[str, object]:
    """Remove every second factor of ``person`` and end their sessions, so they enrol again at
    their next sign-in (password first). Audited with the before and after; ``actor=None`` is
    the shell operator (``manage.py reset_factors``)."""
    authorize(actor, Act.FACTORS_RESET, person)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the second factor is being reset.", field="reason")
    with transaction.atomic():
        before = factors_summary(person)
        removed = factors_remove(person)
        ended = sessions_end(person)
        changes: dict[str, object] = {
            "before": before,
            "after": "not enrolled",
            "devices_removed": removed,
            "sessions_ended": ended,
        }
        audit_record(
            actor=actor,
            action=AuditAction.AUTH_FACTORS_RESET,
            object_type="user",
            object_id=person.pk,
            changes={**changes, "username": person.username},
            justification=reason,
        )
    return changes


# --- Administration (issue 16): adding, editing, moving and switching people off ------------------

USERNAME_RULE = "Usernames are letters, digits and @ . + - _ (at most 150)."
INVITE_PATH = "/welcome/{uid}/{token}/"


@dataclass(frozen=True)
class Invitation:
    """A one-use link that lets a new person set their password (Django's password-reset token:
    it stops working once the password is set, or after ``PASSWORD_RESET_TIMEOUT``)."""

    person: User
    path: str


def _lock_person(person: User) -> User:
    # FOR NO KEY UPDATE: the person's own requests keep writing audit rows that point at their
    # user row (a KEY SHARE lock), and must not deadlock with the chain lock taken here.
    return (
        User.objects.select_for_update(no_key=True, of=("self",))
        .select_related("membership__organisation")
        .get(pk=person.pk)
    )


def _snapshot(person: User) -> dict[str, Any]:
    membership = getattr(person, "membership", None)
    return {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "org": membership.organisation.code if membership else None,
        "role": membership.role if membership else None,
        "active": person.is_active,
    }


def _organisation(org_code: str) -> Organisation:
    org = Organisation.objects.filter(code=(org_code or "").strip().upper(), is_active=True).first()
    if org is None:
        raise DomainError(f"No organisation with code {org_code!r}", field="org")
    return org


def _clean_name(value: str, field: str) -> str:
    value = " ".join((value or "").split())
    if len(value) > 150:
        raise DomainError("At most 150 characters", field=field)
    return value


def invitation_for(person: User) -> Invitation:
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    return Invitation(person, INVITE_PATH.format(uid=uid, token=default_token_generator.make_token(person)))


def _email_invitation(person: User, invitation: Invitation) -> None:
    if not person.email:
        return
    base = settings.VIHUB_PUBLIC_URL.rstrip("/")

    def send() -> None:
        send_mail(
            subject="[VIHub] Your account",
            message=(
                f"An account was made for you on VIHub ({person.username}).\n\n"
                f"Set your password here (the link works once): {base}{invitation.path}\n\n"
                "You will then set up a second factor (an authenticator app or a passkey).\n\n— VIHub"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[person.email],
            fail_silently=True,  # the administrator has the link on screen to pass on
        )

    transaction.on_commit(send)


def person_add(
    *,
    actor: User,
    username: str,
    org_code: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> Invitation:
    """A new person in ``org_code`` as ``role``, with no password yet: the returned invitation
    (shown once to whoever added them, and emailed) lets them set one, then enrol a second
    factor at their first sign-in. Nothing is written unless everything is valid."""
    username = (username or "").strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise DomainError(USERNAME_RULE, field="username") from exc
    if not username or len(username) > 150:
        raise DomainError(USERNAME_RULE, field="username")
    org = _organisation(org_code)
    role_fits(org, role)
    authorize(actor, Act.PERSON_ADD, Placement(org, role))
    email = clean_email(email)
    first_name, last_name = _clean_name(first_name, "first_name"), _clean_name(last_name, "last_name")
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise DomainError(f"The username {username!r} is taken", field="username", code="taken")
        person = User(username=username, first_name=first_name, last_name=last_name, email=email)
        person.set_unusable_password()
        person.save()
        Membership.objects.create(user=person, organisation=org, role=role)
        person.groups.add(org.group)
        invitation = invitation_for(person)
        audit_record(
            actor=actor,
            action=AuditAction.PERSON_ADDED,
            object_type="user",
            object_id=person.pk,
            changes={"before": None, "after": _snapshot(person)},
        )
        _email_invitation(person, invitation)
    return invitation


EDITABLE = ("first_name", "last_name", "email")


def person_edit(*, actor: User, person: User, **fields: str) -> User:
    """Set a person's name and email (the fields given); audited with before and after."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise DomainError(f"Only {', '.join(EDITABLE)} can be edited here", field=sorted(unknown)[0])
    clean = {
        name: clean_email(value) if name == "email" else _clean_name(value, name)
        for name, value in fields.items()
    }
    with transaction.atomic():
        person = _lock_person(person)
        authorize(actor, Act.PERSON_EDIT, person)
        if changes := set_changed(person, clean):
            person.save(update_fields=list(changes["after"]))
            audit_record(
                actor=actor,
                action=AuditAction.PERSON_EDITED,
                object_type="user",
                object_id=person.pk,
                changes={"username": person.username, **changes},
            )
    return person


def person_move(*, actor: User, person: User, org_code: str, role: str, reason: str) -> User:
    """Put a person in another organisation and/or role. Access granted to the old
    organisation's group ends at commit (their tasks there are no longer theirs to see)."""
    org = _organisation(org_code)
    role_fits(org, role)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "Say why the person is moving (for example: joined Essex's VID team).", field="reason"
        )
    with transaction.atomic():
        person = _lock_person(person)
        authorize(actor, Act.PERSON_MOVE, person)
        authorize(actor, Act.PERSON_ADD, Placement(org, role))
        membership = (
            Membership.objects.select_for_update(no_key=True, of=("self",))
            .select_related("organisation")
            .get(user=person)
        )
        if membership.organisation_id == org.pk and membership.role == role:
            raise DomainError(
                f"{person.username} is already a {role} at {org.code}", field="role", code="unchanged"
            )
        before = _snapshot(person)
        if membership.organisation_id != org.pk:
            person.groups.remove(membership.organisation.group)
            person.groups.add(org.group)
        membership.organisation, membership.role = org, role
        membership.save(update_fields=["organisation", "role", "updated_at"])
        person._vihub_membership = membership  # type: ignore[attr-defined]
        audit_record(
            actor=actor,
            action=AuditAction.PERSON_MOVED,
            object_type="user",
            object_id=person.pk,
            changes={"before": before, "after": {**before, "org": org.code, "role": role}},
            justification=reason,
        )
    return person


def person_set_active(*, actor: User, person: User, active: bool, reason: str) -> dict[str, Any]:
    """Switch a person off (they cannot sign in; their sessions end and their API tokens are
    revoked at once) or back on (they sign in with their password and second factor)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why (for example: left the force, back from leave).", field="reason")
    with transaction.atomic():
        person = _lock_person(person)
        authorize(actor, Act.PERSON_SET_ACTIVE, person)
        if person.is_active == active:
            state = "on" if active else "off"
            raise InvalidTransition(f"{person.username} is already switched {state}", code="unchanged")
        person.is_active = active
        person.save(update_fields=["is_active"])
        changes: dict[str, Any] = {"username": person.username, "before": {"active": not active},
                                   "after": {"active": active}}  # fmt: skip
        if not active:
            changes["sessions_ended"] = sessions_end(person)
            changes["tokens_revoked"] = ApiToken.objects.filter(user=person, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        audit_record(
            actor=actor,
            action=AuditAction.PERSON_REACTIVATED if active else AuditAction.PERSON_DEACTIVATED,
            object_type="user",
            object_id=person.pk,
            changes=changes,
            justification=reason,
        )
    return changes


def person_reinvite(*, actor: User, person: User) -> Invitation:
    """A new one-use link to set a password (a person who lost the first, or forgot theirs).
    Their current password keeps working until they use it."""
    with transaction.atomic():
        person = _lock_person(person)
        authorize(actor, Act.PERSON_EDIT, person)
        person_is_active(None, person)
        invitation = invitation_for(person)
        audit_record(
            actor=actor,
            action=AuditAction.PERSON_INVITED,
            object_type="user",
            object_id=person.pk,
            changes={"username": person.username, "emailed": bool(person.email)},
        )
        _email_invitation(person, invitation)
    return invitation


def person_welcome(*, uidb64: str, token: str) -> User | None:
    """The person an invitation link names, if the link is still good (else None)."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        person = User.objects.filter(pk=pk, is_active=True).first()
    except (ValueError, ValidationError, OverflowError):
        return None
    if person is None or not default_token_generator.check_token(person, token):
        return None
    return person


def person_password_set(*, person: User, password: str) -> User:
    """The invited person chose their password (validated by the form); the link is spent."""
    with transaction.atomic():
        person = _lock_person(person)
        person.set_password(password)
        person.save(update_fields=["password"])
        audit_record(
            actor=person,
            action=AuditAction.PERSON_WELCOMED,
            object_type="user",
            object_id=person.pk,
            changes={"username": person.username},
        )
    return person


# --- API tokens ------------------------------------------------------------------------------------


def token_issue(
    *, actor: User, person: User, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """A bearer token for ``person`` (an agency's integration account, a script): the raw token
    is returned once and never stored."""
    name = _clean_name(name, "name")[:100]
    with transaction.atomic():
        person = _lock_person(person)
        authorize(actor, Act.TOKEN_ISSUE, person)
        return api_token_create(user=person, actor=actor, expires_days=expires_days, name=name)


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update(no_key=True, of=("self",))
            .select_related("user")
            .get(pk=token.pk)
        )
        authorize(actor, Act.TOKEN_REVOKE, token)
        return api_token_revoke(token=token, actor=actor)


def person_state(person: User) -> str:
    """What a person's account is doing: switched off, invited (no password yet), or active."""
    if not person.is_active:
        return "switched off"
    if not person.has_usable_password():
        return "invited"
    return "active"
