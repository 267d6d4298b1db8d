"""One exception handler: domain errors become 400/403/404/409 JSON, DRF errors keep their
shape, and every refusal of an authenticated caller (403/404) is written to the audit trail
(an authorization decision is an auditable event, ASVS 16.3.2)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hub.constants import AuditAction
from hub.exceptions import DomainError
from hub.models import AuditEvent
from hub.services.audit import audit_record


def _audit_refusal(context: dict[str, Any], status_code: int) -> None:
    request = context.get("request")
    view = context.get("view")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return
    kwargs = getattr(view, "kwargs", {}) or {}
    object_id = str(kwargs.get("pk") or kwargs.get("code") or "")
    audit_record(
        actor=user,
        action=AuditAction.ACCESS_DENIED if status_code == 403 else "access.not_found",
        object_type=getattr(view, "basename", "") or type(view).__name__,
        object_id=object_id[:64],
        outcome=AuditEvent.Outcome.DENIED if status_code == 403 else AuditEvent.Outcome.NOT_FOUND,
        changes={
            "method": request.method,
            "path": request.path[:300],
            "view_action": getattr(view, "action", None),
        },
    )


def _bad_credentials(context: dict[str, Any]) -> Response | None:
    """A refusal raised before the caller was authenticated (content negotiation refuses an
    unknown ``?format=`` with a 404 before DRF reads the token): if the credentials themselves
    are bad (a revoked token, a switched-off person), that is the answer, a 401, not a server
    error while the refusal is audited (Schemathesis found it, after a fuzzed supervisor
    switched an officer off mid-run)."""
    request = context.get("request")
    try:
        getattr(request, "user", None)
    except (exceptions.AuthenticationFailed, exceptions.NotAuthenticated) as auth_exc:
        response = drf_exception_handler(auth_exc, context)
        view = context.get("view")
        header = view.get_authenticate_header(request) if view is not None else None
        if response is not None and header:
            response["WWW-Authenticate"] = header
            response.status_code = status.HTTP_401_UNAUTHORIZED
        return response
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response: Response | None
    if isinstance(exc, DomainError):
        response = Response(exc.as_dict(), status=exc.status_code)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        response = Response(detail, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        # One body for "does not exist" and "you may not see it", whatever the model.
        response = Response({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    else:
        response = drf_exception_handler(exc, context)
    if response is not None and response.status_code in (403, 404):
        if (unauthenticated := _bad_credentials(context)) is not None:
            return unauthenticated
        _audit_refusal(context, response.status_code)
    return response
