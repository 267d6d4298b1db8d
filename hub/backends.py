"""Sign-in. Lockouts are django-axes' (``AxesStandaloneBackend`` first in the backends): too
many failures for one account *from one source address* lock that pair for a while (CJIS
AC-7: 5 in 15 minutes), so nobody elsewhere can lock a real user out by guessing their name.
This backend is Django's, narrowed to our user model."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest

from hub.models import User


def failed_login_display(username: str) -> str:
    return f"unauthenticated ({username[:150]})"


# Progressive delay: each lockout of the same (account, source) within a day doubles the next.
LOCKOUTS_REMEMBERED = 24 * 60 * 60
LOCKOUT_DOUBLINGS = 4  # 15, 30, 60, 120, then 240 minutes at most


def _pair_key(request: Any, username: str | None = None) -> str:
    credentials = getattr(request, "axes_credentials", None) or {}
    name = username or credentials.get("username") or request.POST.get("username", "")
    source = getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{name}\x00{source}".encode()).hexdigest()
    return f"vihub:lockouts:{digest}"


def lockout_cool_off(request: HttpRequest | None = None) -> timedelta:
    """``AXES_COOLOFF_TIME``: how long an (account, source) pair stays locked. The first lockout
    in a day lasts ``VIHUB_LOGIN_LOCKOUT_MINUTES`` (15); each one after doubles it, up to 16
    times (4 hours), so a patient guesser gets five tries per growing wait, not per 15 minutes."""
    base = timedelta(minutes=int(settings.VIHUB_LOGIN_LOCKOUT_MINUTES))
    if request is None:
        return base
    earlier = int(cache.get(_pair_key(request)) or 0)
    doublings: int = min(max(earlier - 1, 0), LOCKOUT_DOUBLINGS)
    return base * (1 << doublings)


def lockout_counted(request: Any, username: str) -> int:
    """One more lockout of this pair (called once per lockout); the count is kept a day."""
    key = _pair_key(request, username)
    cache.add(key, 0, timeout=LOCKOUTS_REMEMBERED)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=LOCKOUTS_REMEMBERED)
        return 1


class SourceLockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """django-axes' lockout check, for sign-ins that come with a request (every web sign-in);
    one without (code calling ``authenticate`` directly, a test client's ``login``) has no source
    address to lock, so it is left to the next backend."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return
        super().authenticate(request, *args, **kwargs)
        return


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        return user if isinstance(user, User) else None
