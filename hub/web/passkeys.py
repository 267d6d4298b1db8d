"""Passkeys (WebAuthn) as a second factor (issue 14), through ``django-otp-webauthn``.

A passkey is added on "Your second factors" (``/two-factor/manage/``) by someone signed in with
both factors whose last factor is recent (a new factor is not added on an old session); it then
works wherever a code does: after the password at sign-in, and at step-up. Never instead of the
password (``OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False``).

The library's views are used as they are, with three additions made here: the relying party and
the origin are this site as Django's ``ALLOWED_HOSTS`` admitted it; adding a passkey needs a
recent factor; and every passkey added or used is audited and counts as a factor entered now
(``FACTOR_AT``), as a code does.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from hub.constants import AuditAction
from hub.services.audit import audit_record
from hub.web.factors import FACTOR_AT, factor_recent


class SiteHelper(WebAuthnHelper):  # type: ignore[misc]
    """``OTP_WEBAUTHN_HELPER_CLASS``: the relying party is the host this request reached (one
    of ``ALLOWED_HOSTS``, which Django has checked), and the only allowed origin is that host."""

    def get_relying_party_domain(self) -> str:
        return str(self.request.get_host().split(":")[0])  # a name: WebAuthn takes no IP address

    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]


class FactorTooOld(webauthn_errors.OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    default_code = "step_up_required"
    default_detail = "Confirm it is you first: enter a code from your app, then add the passkey."


class PasskeyRegistrationBegin(BeginCredentialRegistrationView):  # type: ignore[misc]
    def check_can_register(self) -> None:
        if not factor_recent(self.request):
            raise FactorTooOld()


class PasskeyRegistrationComplete(CompleteCredentialRegistrationView):  # type: ignore[misc]
    def check_can_register(self) -> None:
        if not factor_recent(self.request):
            raise FactorTooOld()

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(*args, **kwargs)
        if response.status_code == 200:
            user = self.request.user
            audit_record(actor=user, action=AuditAction.AUTH_FACTOR_ENROLLED, object_type="user",
                         object_id=user.pk, changes={"factor": "passkey"})  # fmt: skip
        return response


class PasskeyAuthenticationComplete(CompleteCredentialAuthenticationView):  # type: ignore[misc]
    def complete_auth(self, device: Any) -> Any:
        verified = getattr(self.request.user, "is_verified", None)
        purpose = "step_up" if verified is not None and verified() else "sign_in"
        super().complete_auth(device)
        self.request.session[FACTOR_AT] = time.time()
        user = self.request.user
        audit_record(actor=user, action=AuditAction.AUTH_SECOND_FACTOR, object_type="user",
                     object_id=user.pk, changes={"purpose": purpose, "factor": "passkey"})  # fmt: skip


# The library's URL names (its scripts read them from the page), with the views above.
urlpatterns = [
    path("registration/begin/", PasskeyRegistrationBegin.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        PasskeyRegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
