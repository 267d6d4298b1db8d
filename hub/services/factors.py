"""A person's second factors (django-otp devices): their authenticator app and their
one-time recovery codes. The pages that enrol and check them are hub/web/factors.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from hub.models import User

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def app_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def recovery_device(user: Any) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def passkeys(user: Any) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"))


def recovery_codes_left(user: Any) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


def pending_app_device(user: Any) -> TOTPDevice:
    """The unconfirmed secret being enrolled (kept across reloads of the enrolment page)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def issue_recovery_codes(user: Any) -> list[str]:
    """Ten new one-time codes; any earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.VIHUB_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def factors_remove(user: User) -> int:
    """Every second factor of ``user`` gone (the caller audits it): they enrol again."""
    kinds = [model.objects.filter(user=user) for model in (TOTPDevice, StaticDevice, WebAuthnCredential)]
    removed = sum(int(devices.count()) for devices in kinds)
    for devices in kinds:
        devices.delete()
    return removed


def with_factors(people: QuerySet[User]) -> QuerySet[User]:
    """People with what ``factors_summary`` needs, in the same query (a list of 200 people is
    one query, not 400)."""
    codes = (
        StaticToken.objects.filter(device__user=OuterRef("pk"), device__confirmed=True)
        .values("device__user")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    keys = (
        WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return people.annotate(
        app_enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        recovery_left=Coalesce(Subquery(codes), 0),
        passkey_count=Coalesce(Subquery(keys), 0),
    )


def factors_summary(user: Any) -> str:
    """ "app · 9 recovery codes", or "not enrolled"."""
    enrolled = user.app_enrolled if hasattr(user, "app_enrolled") else app_device(user) is not None
    if not enrolled:
        return "not enrolled"
    left = user.recovery_left if hasattr(user, "recovery_left") else recovery_codes_left(user)
    return f"app · {left} recovery code{'s' if left != 1 else ''}"
