"""Audit receivers for authentication events (E8). Domain changes are audited by services,
never by signals; logins come from Django's auth framework, so we listen to it here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from hub.backends import failed_login_display
from hub.constants import AuditAction
from hub.models import AuditEvent
from hub.services.audit import audit_record


@receiver(user_logged_in)
def _audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action=AuditAction.AUTH_LOGIN, object_type="user", object_id=user.pk)


@receiver(user_logged_out)
def _audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action=AuditAction.AUTH_LOGOUT, object_type="user", object_id=user.pk)


@receiver(user_login_failed)
def _audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Only the username attempted is kept (never the password, which Django has already masked).
    username = str(credentials.get("username", ""))
    audit_record(
        actor=None,
        actor_display=failed_login_display(username),
        action=AuditAction.AUTH_LOGIN_FAILED,
        object_type="user",
        outcome=AuditEvent.Outcome.DENIED,
    )
