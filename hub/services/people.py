"""The people of VIHub: what an administrator does to someone's account (issue 14: resetting
a person's second factors; issue 16 adds the rest of administration here)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import User
from hub.policies.rules import Act, authorize
from hub.services.audit import audit_record
from hub.services.factors import factors_remove, factors_summary


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
