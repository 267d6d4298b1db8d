"""Request-id middleware: every request gets an id, returned as X-Request-ID and put in the
audit trail, so an auditor can tie each event to the request that caused it."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hub.context import new_request_id, request_id_var
from hub.exceptions import AuditUnavailable

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # A caller's id is kept only if it is safe to log; otherwise we mint one (no log injection).
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        try:
            request.request_id = request_id  # type: ignore[attr-defined]
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
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
        return None
