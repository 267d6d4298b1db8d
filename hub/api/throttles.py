"""Rate limits (issue 14), on DRF's throttling machinery (the cache it counts in is Redis in
production, so every web process and machine shares the count). Answered with 429 and
``Retry-After`` by DRF.

- ``FailedTokenThrottle``: wrong, expired or revoked bearer tokens per source address. Only
  failures are counted, so a busy agency with a good token is never slowed; past the limit the
  source gets 429 before its token is even looked up (``BearerTokenAuthentication``).
- ``IntakeAccountThrottle`` / ``IntakeSourceThrottle``: referrals posted, per account and per
  source address (``POST /referrals/``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class FailedTokenThrottle(SimpleRateThrottle):
    scope = "failed_token"
    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_FAILED_TOKENS)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request: Request) -> float | None:
        """Seconds to wait if this source has used up its failures, else None (nothing counted)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return self.wait() if len(self.history) >= self.num_requests else None

    def record_failure(self, request: Request) -> int:
        """Count one failure; returns how many this source has in the window."""
        self.blocked(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
        return len(self.history)


class IntakeAccountThrottle(SimpleRateThrottle):
    scope = "intake_account"

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_INTAKE_ACCOUNT)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class IntakeSourceThrottle(SimpleRateThrottle):
    scope = "intake_source"

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_INTAKE_SOURCE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
