"""Second factors (issue 14): every interactive account signs in with a password *and* a code.

- **Enrolment at first sign-in.** After the password, someone with no confirmed factor is sent
  to ``/two-factor/enrol/``: a TOTP secret (``django-otp``) as a QR code and as text, confirmed
  by typing one code from the app; ten one-time **recovery codes** are then shown once.
- **Every sign-in** then asks for a code from the app (or a recovery code) before any page: the
  ``signed_in`` decorator (hub/web/kept.py) sends a password-only session here, and the API
  refuses a password-only session too (``hub.api.authentication.VerifiedSessionAuthentication``).
  Wrong codes slow down (django-otp's throttling doubles the wait after each one) and are
  audited; so is every code accepted, with the factor used and the recovery codes left.
- **Step-up.** Rows of the rulebook marked ``step_up`` (audit export, webhook changes, replay,
  factor resets) need a factor entered within ``VIHUB_STEP_UP_SECONDS`` (5 minutes): older, and
  the page asks for a code again, then carries on with what was asked (a form's POST is kept and
  resent through the kept-work page, hub/web/kept.py).
- **Reset** (``factors_reset``): an administrator removes a person's factors (audited); that
  person enrols again at their next sign-in. API tokens are not sessions and are not affected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp.plugins.otp_static.models import StaticDevice

from hub.constants import AuditAction
from hub.models import AuditEvent, User
from hub.services.audit import audit_record
from hub.services.factors import (
    app_device,
    issue_recovery_codes,
    passkeys,
    pending_app_device,
    recovery_codes_left,
    recovery_device,
)

FACTOR_AT = "vihub_factor_at"


class AuthenticatedHttpRequest(HttpRequest):
    """After the password step (these pages check it): ``request.user`` is our user."""

    user: User


# --- State of a session ---------------------------------------------------------------------


def factor_pending(request: HttpRequest) -> bool:
    """Signed in with the password only: the second factor is still to come."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    verified = getattr(user, "is_verified", None)
    return not (verified is not None and verified())


def factor_recent(request: HttpRequest) -> bool:
    """A factor was entered in this session within the step-up window."""
    at = request.session.get(FACTOR_AT) if hasattr(request, "session") else None
    return at is not None and time.time() - float(at) <= settings.VIHUB_STEP_UP_SECONDS


def _mark(request: HttpRequest, device: Any) -> None:
    django_otp.login(request, device)
    request.session[FACTOR_AT] = time.time()


def _next(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("home")


def _with_next(name: str, to: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': to})}"


def second_factor_redirect(request: HttpRequest, to: str) -> HttpResponse:
    """Where a password-only session goes before ``to``: enrolment or the code page."""
    name = "two-factor" if app_device(request.user) is not None else "two-factor-enrol"
    return HttpResponseRedirect(_with_next(name, to))


def step_up_redirect(request: HttpRequest, to: str) -> HttpResponse:
    """Ask for a factor again before ``to`` (an htmx panel gets the whole page moved there)."""
    url = _with_next("step-up", to)
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _throttled(device: Any) -> int | None:
    """Seconds to wait before ``device`` will look at another code, or None."""
    allowed, why = device.verify_is_allowed()
    if allowed:
        return None
    until = (why or {}).get("locked_until")
    return max(1, int((until - timezone.now()).total_seconds())) if until else 1


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        error_messages={"required": "Enter the 6-digit code from your app, or a recovery code."},
    )


def _check(request: AuthenticatedHttpRequest, purpose: str, *, recovery: bool = True) -> tuple[Any, str, int]:
    """Check the posted code against the person's app, then their recovery codes.
    Returns (device or None, error, status); audits the result."""
    user = request.user
    form = CodeForm(request.POST)
    if not form.is_valid():
        return None, "Enter the 6-digit code from your app, or a recovery code.", 400
    code = _normalise(form.cleaned_data["code"])
    # The code's shape says which factor it is for: six digits the app, else a recovery code
    # (so a recovery code is not also counted as a wrong app code, and slowed twice).
    device = app_device(user) if code.isdigit() or not recovery else recovery_device(user)
    if device is not None:
        wait = _throttled(device)
        if wait is not None:
            return None, f"Too many wrong codes. Wait {wait} seconds, then try the newest code.", 429
    with transaction.atomic():
        matched = device if device is not None and device.verify_token(code) else None
    factor = "recovery_code" if isinstance(matched, StaticDevice) else "totp"
    changes: dict[str, Any] = {"purpose": purpose, "factor": factor if matched else None}
    if isinstance(matched, StaticDevice):
        changes["recovery_codes_left"] = recovery_codes_left(user)
    audit_record(
        actor=user,
        action=AuditAction.AUTH_SECOND_FACTOR if matched else AuditAction.AUTH_SECOND_FACTOR_FAILED,
        object_type="user",
        object_id=user.pk,
        changes=changes,
        outcome=AuditEvent.Outcome.SUCCESS if matched else AuditEvent.Outcome.DENIED,
    )
    if matched is None:
        return None, "That code is not right. Codes change every 30 seconds: try the newest one.", 400
    return matched, "", 200


# --- Pages ------------------------------------------------------------------------------------


def password_signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """These pages need the password step done (not the second factor, which they are for)."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("login")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"factor_pending": factor_pending(request), **context}, status=status)


@password_signed_in
def second_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The code after the password, at every sign-in."""
    to = _next(request)
    if not factor_pending(request):
        return redirect(to)
    if app_device(request.user) is None:
        return redirect(_with_next("two-factor-enrol", to))
    error, status = "", 200
    if request.method == "POST":
        device, error, status = _check(request, "sign_in")
        if device is not None:
            _mark(request, device)
            if isinstance(device, StaticDevice):
                left = recovery_codes_left(request.user)
                messages.warning(
                    request,
                    f"You used a recovery code: {left} left. If your app is lost, ask an "
                    "administrator to reset your second factor.",
                )
            return redirect(to)
    context = {"error": error, "next": to, "has_passkey": bool(passkeys(request.user))}
    return _render(request, "registration/two_factor.html", context, status)


@password_signed_in
def enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    """First sign-in (or after a reset): set up an authenticator app, then see recovery codes."""
    to = _next(request)
    user = request.user
    if app_device(user) is not None:
        # Enrolled already: adding another app is not done by whoever holds the password.
        return redirect(_with_next("two-factor", to) if factor_pending(request) else to)
    device = pending_app_device(user)
    error, status = "", 200
    if request.method == "POST":
        form = CodeForm(request.POST)
        code = _normalise(form.cleaned_data["code"]) if form.is_valid() else ""
        wait = _throttled(device)
        if wait is not None:
            error, status = f"Too many wrong codes. Wait {wait} seconds, then try the newest code.", 429
        elif code and device.verify_token(code):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = issue_recovery_codes(user)
                audit_record(
                    actor=user,
                    action=AuditAction.AUTH_FACTOR_ENROLLED,
                    object_type="user",
                    object_id=user.pk,
                    changes={"factor": "totp", "recovery_codes": len(codes)},
                )
            _mark(request, device)
            return _render(
                request,
                "registration/recovery_codes.html",
                {"codes": [f"{c[:4]} {c[4:]}" for c in codes], "next": to},
            )
        else:
            error, status = "That code is not right. Type the 6-digit code your app shows now.", 400
    secret = device.config_url.split("secret=")[1].split("&")[0]
    qr = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, dark="#0b0c0c")
    return _render(
        request,
        "registration/enrol.html",
        {
            "qr": qr,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "error": error,
            "next": to,
        },
        status,
    )


@password_signed_in
def step_up(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enter a code again before an action that needs a recent one (audit export, webhook
    changes, replay, factor resets): the app only, not a recovery code."""
    to = _next(request)
    if factor_pending(request):
        return second_factor_redirect(request, to)
    error, status = "", 200
    if request.method == "POST":
        device, error, status = _check(request, "step_up", recovery=False)
        if device is not None:
            _mark(request, device)
            return redirect(to)
    minutes = max(1, settings.VIHUB_STEP_UP_SECONDS // 60)
    return _render(
        request,
        "registration/step_up.html",
        {"error": error, "next": to, "minutes": minutes, "has_passkey": bool(passkeys(request.user))},
        status,
    )
