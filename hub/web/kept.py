"""Typed work is never lost when a session ends (issue 17).

A full-page form posted after the session ended (idle limit, signed out in another tab) would be
answered with the sign-in page, and a form whose CSRF token went stale (signed in again in
another tab) with "This form has expired": either way what the person typed was gone. Instead
the POST is *kept* in the (new, anonymous or current) session:

- ``signed_in`` (in place of ``login_required`` on every page) keeps an anonymous POST, then
  sends the person to sign in; ``csrf_failure`` (``CSRF_FAILURE_VIEW``) keeps a POST whose token
  went stale and sends them to sign in, or straight to the resume page when they are signed in;
- after signing in (``SignInView``) they land on ``/resume/``, which shows what they typed and
  sends it, as they typed it, to the form it was meant for with one button (a fresh CSRF token;
  the view it reaches checks everything again, scope and rules included). The kept copy goes
  when that form is posted, when they discard it, or after an hour.

Only a same-origin, non-htmx POST is kept (htmx panels keep their form on the page themselves,
``static/js/vihub.js``), never a file, never the sign-in form, at most 64 KB. A POST from another
site (a CSRF attempt) has a foreign ``Origin`` and is never kept. What one person typed is never
offered to another: the kept copy carries who was signed in last in this browser (a signed
cookie set at sign-in) and is dropped if someone else signs in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.csrf import csrf_failure as django_csrf_failure

from hub.web.factors import factor_pending, second_factor_redirect

SESSION_KEY = "vihub_kept_post"
OWNER_COOKIE = "vihub_last_user"
OWNER_SALT = "vihub.kept-work"
MAX_BYTES = 64 * 1024
KEPT_FOR = timedelta(hours=1)
NOT_KEPT = {"csrfmiddlewaretoken"}

Resp = TypeVar("Resp", bound=HttpResponseBase)


def _same_origin(request: HttpRequest) -> bool:
    """The POST came from one of our own pages: its ``Origin`` (every current browser sends one
    on a POST) or, failing that, its ``Referer`` names this host."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and parts.netloc == request.get_host() and parts.scheme == request.scheme


def _owner(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.pk)
    found = request.get_signed_cookie(OWNER_COOKIE, default=None, salt=OWNER_SALT)
    return str(found) if found else None


def keep_post(request: HttpRequest) -> bool:
    """Keep this POST's fields in the session, if it is one worth keeping (see the module)."""
    if request.method != "POST" or getattr(request, "htmx", False) or request.FILES:
        return False
    if not _same_origin(request) or request.path == reverse("login"):
        return False
    fields = [
        [name, value] for name, values in request.POST.lists() if name not in NOT_KEPT for value in values
    ]
    if not any(value.strip() for _, value in fields) or sum(len(n) + len(v) for n, v in fields) > MAX_BYTES:
        return False
    referer = urlsplit(request.headers.get("Referer") or "")
    back = referer.path if referer.netloc == request.get_host() and referer.path else request.path
    request.session[SESSION_KEY] = {
        "path": request.path,
        "back": back,
        "fields": fields,
        "owner": _owner(request),
        "at": timezone.now().isoformat(),
    }
    return True


def kept_post(request: HttpRequest) -> dict[str, Any] | None:
    """The POST kept for the signed-in person, or None (expired, or kept for someone else:
    dropped then)."""
    kept = request.session.get(SESSION_KEY)
    if not kept:
        return None
    at = parse_datetime(str(kept.get("at", "")))
    owner = kept.get("owner")
    user = getattr(request, "user", None)
    mine = owner is None or (user is not None and user.is_authenticated and owner == str(user.pk))
    if (
        at is None
        or timezone.now() - at > KEPT_FOR
        or (user is not None and user.is_authenticated and not mine)
    ):
        request.session.pop(SESSION_KEY, None)
        return None
    return dict(kept)


def signed_in(view: Callable[..., Resp]) -> Callable[..., Resp]:
    """``login_required`` that keeps what was typed and wants both factors: an anonymous POST
    is kept before the redirect to sign in (a password-only one before the code); a signed-in
    POST to the page a kept copy was meant for clears it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Resp:
        if not request.user.is_authenticated:
            # As login_required does, with a kept POST sent on to the resume page.
            to = reverse("resume") if keep_post(request) else request.get_full_path()
            return redirect_to_login(to)  # type: ignore[return-value]
        if factor_pending(request):
            # The password alone is not enough: the code first (a POST is kept for after it).
            to = reverse("resume") if keep_post(request) else request.get_full_path()
            return second_factor_redirect(request, to)  # type: ignore[return-value]
        kept = request.session.get(SESSION_KEY) if request.method == "POST" else None
        if kept and kept.get("path") == request.path:
            request.session.pop(SESSION_KEY, None)
        return view(request, *args, **kwargs)

    return wrapper


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a stale token on one of our own forms (signed out, or signed in
    again in another tab) keeps what was typed and says so; anything else is the plain 403."""
    if keep_post(request):
        if request.user.is_authenticated:
            return HttpResponseRedirect(reverse("resume"))
        return redirect_to_login(reverse("resume"))
    return django_csrf_failure(request, reason=reason, template_name="403_csrf.html")


class SignInView(LoginView):
    """Django's sign-in, which also says when typed work is waiting, goes to it afterwards, and
    remembers (signed, HTTP-only) who signed in, so a kept copy is offered only to them."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["kept"] = kept_post(self.request)
        return context

    def get_success_url(self) -> str:
        to = reverse("resume") if kept_post(self.request) is not None else super().get_success_url()
        # The password is the first factor: the code comes next, then where they were going.
        return str(second_factor_redirect(self.request, to)["Location"])

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        response.set_signed_cookie(
            OWNER_COOKIE,
            str(self.request.user.pk),
            salt=OWNER_SALT,
            max_age=settings.SESSION_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response


def locked_out(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' lockout answer (``AXES_LOCKOUT_CALLABLE``): the sign-in page again, 429 with
    Retry-After, saying plainly that this account is locked from this device for a while (the
    same for a username that does not exist, so it tells nobody which ones do)."""
    from django.shortcuts import render

    from hub.backends import lockout_cool_off

    minutes = int(lockout_cool_off(request).total_seconds() // 60)
    response = render(
        request,
        "registration/login.html",
        {"locked_minutes": minutes, "form": None, "next": ""},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
