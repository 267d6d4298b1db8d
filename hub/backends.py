"""Sign-in. Lockouts are django-axes' (``AxesStandaloneBackend`` first in the backends): too
many failures for one account *from one source address* lock that pair for a while (CJIS
AC-7: 5 in 15 minutes), so nobody elsewhere can lock a real user out by guessing their name.
This backend is Django's, narrowed to our user model."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from hub.models import User


def failed_login_display(username: str) -> str:
    return f"unauthenticated ({username[:150]})"


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
