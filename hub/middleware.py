"""Request-id middleware: every request gets an id VIHub mints, returned as X-Request-ID and put
in the audit trail, so an auditor can tie each event to the request that caused it. A caller's
own X-Request-ID is never what the trail records (it could name another request's events); a
safe one is echoed back as X-Client-Request-ID for the caller's own logs."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from hub.context import new_request_id, request_id_var
from hub.exceptions import AuditUnavailable

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
        return None
