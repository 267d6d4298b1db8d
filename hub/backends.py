"""Sign-in with a lockout: after too many failed attempts for one username in a window, the
account refuses even the right password until the window has passed (CJIS AC-7: 5 in 15
minutes). The failures are counted from the audit trail, which already records each one, so
every web process and machine sees the same count. The answer to a locked account is the same
as to a wrong password: nothing tells an attacker which usernames exist or are locked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from hub.clock import db_now
from hub.constants import AuditAction
from hub.models import AuditEvent, User
from hub.services.audit import audit_record


def failed_login_display(username: str) -> str:
    return f"unauthenticated ({username[:150]})"


def recent_failures(username: str) -> int:
    window = timedelta(minutes=settings.VIHUB_LOGIN_LOCKOUT_MINUTES)
    return AuditEvent.objects.filter(
        action=AuditAction.AUTH_LOGIN_FAILED,
        actor_display=failed_login_display(username),
        occurred_at__gte=db_now() - window,
    ).count()


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username and recent_failures(username) >= settings.VIHUB_LOGIN_MAX_FAILURES:
            audit_record(
                actor=None,
                actor_display=failed_login_display(username),
                action=AuditAction.AUTH_LOCKED_OUT,
                object_type="user",
                outcome=AuditEvent.Outcome.DENIED,
            )
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        return user if isinstance(user, User) else None
