"""A page client for a person who signed in with both factors, and the codes their app shows.

Every page wants a password *and* a second factor (hub/web/factors.py). Tests of what a page
does for someone use ``Client`` from here: its ``force_login`` also enrols an authenticator app
for the person (if they have none) and records in the session that a code from it was entered
just now, as a real sign-in does. Tests of the second factor itself use Django's own client
(password only) and type codes from ``code_now``.
"""

from __future__ import annotations

import time
from typing import Any

from django import test
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.services.factors import APP_DEVICE_NAME
from hub.web.factors import FACTOR_AT


def enrolled(user: Any) -> TOTPDevice:
    """The person's confirmed authenticator app (set up now if they have none), ready for a
    new code: the last code used and any wrong-code wait are cleared, as a person who waits
    for the app's next code would find."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0,
                                                    throttling_failure_timestamp=None)  # fmt: skip
    device.refresh_from_db()
    return device


def code_now(device: TOTPDevice) -> str:
    """The 6-digit code the person's app shows at this moment."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


class Client(test.Client):
    """Django's test client whose ``force_login`` is a sign-in with both factors."""

    def force_login(self, user: Any, backend: str | None = None) -> None:
        super().force_login(user, backend)
        device = enrolled(user)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session[FACTOR_AT] = time.time()
        session.save()


def sign_in_through_pages(
    client: test.Client, username: str, password: str, **headers: Any
) -> test.client._MonkeyPatchedWSGIResponse:  # type: ignore[name-defined]
    """Sign in as a browser does: the sign-in form, then the code from the person's app on the
    page it leads to (CSRF tokens taken from the cookie, for a client that checks them).
    Returns the answer to the code."""
    from hub.models import User

    device = enrolled(User.objects.get(username=username))
    client.get("/login/")
    first = client.post("/login/", {"username": username, "password": password,
                                    "csrfmiddlewaretoken": _csrf(client)}, **headers)  # fmt: skip
    assert first.status_code == 302 and first["Location"].startswith("/two-factor/"), first
    client.get(first["Location"])
    return client.post(first["Location"], {"code": code_now(device), "csrfmiddlewaretoken": _csrf(client)},
                       **headers)  # fmt: skip


def _csrf(client: test.Client) -> str:
    cookie = client.cookies.get("csrftoken")
    return str(cookie.value) if cookie is not None else ""
