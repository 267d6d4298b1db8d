"""Audit receivers for authentication events (E8). Domain changes are audited by services,
never by signals; logins come from Django's auth framework, so we listen to it here."""

from __future__ import annotations

import time
from typing import Any

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from hub.backends import failed_login_display, lockout_cool_off, lockout_counted
from hub.constants import AuditAction
from hub.models import AuditEvent
from hub.services.audit import audit_record


@receiver(user_logged_in)
def _audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        # The 12-hour limit counts from here (hub.middleware.SessionLimitsMiddleware).
        request.session["vihub_signed_in_at"] = request.session["vihub_last_seen"] = time.time()
    audit_record(actor=user, action=AuditAction.AUTH_LOGIN, object_type="user", object_id=user.pk)


@receiver(user_logged_out)
def _audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action=AuditAction.AUTH_LOGOUT, object_type="user", object_id=user.pk)


def _failures(username: str, request: Any) -> int:
    """Failures of this (account, source) in the current window, as django-axes counts them
    (its receiver runs before this one: ``axes`` comes before ``hub`` in INSTALLED_APPS)."""
    address = getattr(request, "axes_ip_address", None)
    if address is None and request is not None:
        address = request.META.get("REMOTE_ADDR")
    attempt = AccessAttempt.objects.filter(username=username, ip_address=address).first()
    return attempt.failures_since_start if attempt is not None else 1


@receiver(user_login_failed)
def _audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Audited in aggregate: the first failure of an (account, source) in the window; the lockout
    is its own event (below). Guesses beyond that are counted by axes, not one audit row each.
    Only the username attempted is kept (never the password, which Django has masked)."""
    username = str(credentials.get("username", ""))
    failures = _failures(username, request)
    if failures == 1:
        _audit_refused_sign_in(
            AuditAction.AUTH_LOGIN_FAILED, username, getattr(request, "axes_ip_address", ""), failures
        )


@receiver(user_locked_out)
def _audit_locked_out(sender: Any, request: Any, username: str, ip_address: str, **kwargs: Any) -> None:
    """Once per lockout: when the failures reach the limit (later tries keep it locked). Each
    lockout of the pair in a day makes the next one twice as long (``lockout_cool_off``)."""
    failures = _failures(username, request)
    if failures <= settings.AXES_FAILURE_LIMIT:
        lockouts = lockout_counted(request, username)
        minutes = int(lockout_cool_off(request).total_seconds() // 60)
        _audit_refused_sign_in(
            AuditAction.AUTH_LOCKED_OUT,
            username,
            ip_address,
            failures,
            lockouts_today=lockouts,
            locked_for_minutes=minutes,
        )


def _audit_refused_sign_in(
    action: AuditAction, username: str, source: str | None, failures: int, **more: int
) -> None:
    audit_record(
        actor=None,
        actor_display=failed_login_display(username),
        action=action,
        object_type="user",
        outcome=AuditEvent.Outcome.DENIED,
        changes={"source": source or "", "failures_in_window": failures, **more},
    )
