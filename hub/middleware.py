"""Request-id middleware: every request gets an id VIHub mints, returned as X-Request-ID and put
in the audit trail, so an auditor can tie each event to the request that caused it. A caller's
own X-Request-ID is never what the trail records (it could name another request's events); a
safe one is echoed back as X-Client-Request-ID for the caller's own logs."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views import defaults

from hub.constants import AuditAction
from hub.context import new_request_id, request_id_var
from hub.exceptions import AuditUnavailable
from hub.services.audit import audit_record

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        try:
            request.request_id = request_id  # type: ignore[attr-defined]
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        if _SAFE_ID.match(incoming):  # echoed only if safe to log (no header or log injection)
            response["X-Client-Request-ID"] = incoming
        return response


class SessionLimitsMiddleware:
    """A signed-in session ends after ``VIHUB_SESSION_IDLE_SECONDS`` without a request (15
    minutes) and ``VIHUB_SESSION_MAX_SECONDS`` after signing in (12 hours), whatever the cookie
    says. The request then goes on as a signed-out one, so a page asks to sign in again and a
    form's POST is kept for after that (hub/web/kept.py). The last-seen time is written at most
    once a minute, not on every request. API tokens are not sessions: not affected."""

    SEEN, STARTED = "vihub_last_seen", "vihub_signed_in_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            started = float(session.get(self.STARTED) or now)
            seen = float(session.get(self.SEEN) or now)
            if (
                now - seen > settings.VIHUB_SESSION_IDLE_SECONDS
                or now - started > settings.VIHUB_SESSION_MAX_SECONDS
            ):
                ended = "idle" if now - seen > settings.VIHUB_SESSION_IDLE_SECONDS else "max_age"
                audit_record(actor=user, action=AuditAction.AUTH_SESSION_ENDED, object_type="user",
                             object_id=user.pk, changes={"why": ended})  # fmt: skip
                logout(request)  # a fresh, empty session; request.user is anonymous from here
            else:
                if self.STARTED not in session:
                    session[self.STARTED] = now
                if now - seen >= 60 or self.SEEN not in session:
                    session[self.SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """Nothing VIHub answers (pages, fragments, API, exports) is kept by a browser or a shared
    cache: a case page left in a browser's cache on a shared machine is a disclosure. Static files
    are served before this (WhiteNoise), with their own long cache lifetimes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class AuditUnavailableMiddleware:
    """Web pages fail closed like the API: if the audit trail cannot be written, the page is
    refused with a 503 and a plain explanation instead of an error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AuditUnavailable):
            return HttpResponse(
                "<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
                f"<p>{exception.message}</p>",
                status=503,
            )
        if isinstance(exception, OperationalError | InterfaceError):
            log.warning("database unavailable for %s: %s", request.path, exception)
            return database_unavailable(request)
        return None


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The database went away (a restart, a failover): the request's transaction went with it,
    so a 503 that says when to try again instead of a 500 (intake is safe to retry: the same
    ``external_id`` never makes a second referral)."""
    message = "The service cannot reach its database just now. Try again shortly."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"code": "database_unavailable", "detail": message}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
            f"<p>{message}</p>",
            status=503,
        )
    response["Retry-After"] = "5"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a database that went away before any view ran (in a middleware) is a
    503 too; anything else is Django's own 500 page."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    return defaults.server_error(request)
