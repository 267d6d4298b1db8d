"""Rate limits (issue 14), on DRF's throttling interface. Answered with 429 and ``Retry-After``
by DRF.

- ``FailedTokenThrottle``: wrong, expired or revoked bearer tokens per source address. Only
  failures are counted, so a busy agency with a good token is never slowed; past the limit the
  source gets 429 before its token is even looked up (``BearerTokenAuthentication``).
- ``IntakeAccountThrottle`` / ``IntakeSourceThrottle``: referrals posted, per account and per
  source address (``POST /referrals/``).

Counted as a sliding window of two fixed buckets (the bucket this window-length of time, and
the one before it weighted by how much of it still lies within the last window), in the shared
cache, so every web process and machine sees one count. DRF's ``SimpleRateThrottle`` keeps a
list of every request's time instead: read, unpickled, trimmed, pickled and written back on
each request (600 entries for an agency at the intake limit), and two processes doing that at
once lose one of the two writes, so the limit under-counts exactly when it is busy. Here, on
Redis (production and ``make run``), one Lua script reads both buckets and takes the request
only if the count is under the limit, in one round trip and atomically; on another cache (the
tests' local-memory fallback) the same arithmetic runs through the cache API.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

# KEYS: this bucket, the one before. ARGV: limit, weight of the one before, this bucket's
# lifetime in seconds, mode ("check": count only; "take": add one if under the limit; "add": add
# one whatever the count). Returns {taken (0/1), count before this request, this bucket, before}.
_WINDOW_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local before = tonumber(redis.call('GET', KEYS[2]) or '0')
local count = math.floor(before * tonumber(ARGV[2]) + 0.5) + current
local mode = ARGV[4]
if mode == 'add' or (mode == 'take' and count < tonumber(ARGV[1])) then
  current = redis.call('INCR', KEYS[1])
  if current == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3])) end
  return {1, count, current, before}
end
return {0, count, current, before}
"""
_scripts: dict[int, Any] = {}


class WindowThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle``'s interface (``get_rate``, ``get_cache_key``, ``allow_request``,
    ``wait``) over the two-bucket sliding window."""

    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int
    cache: Any = None  # None: the default cache (DRF's is a proxy to it, which hides its class)

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        return self._count(key, "take")

    def _count(self, key: str, mode: str) -> bool:
        """Run the window for ``key``; sets ``self.count`` (requests in the window before this
        one) and what ``wait`` needs. True when this request was counted."""
        self.now = self.timer()
        bucket, into = divmod(self.now, self.duration)
        self.elapsed = into / self.duration
        weight = 1.0 - self.elapsed
        keys = [
            f"{self.cache_format % {'scope': self.scope, 'ident': key}}:{int(bucket) - back}"
            for back in (0, 1)
        ]
        lifetime = 2 * self.duration + 1  # it is the bucket before for one more window
        cache = self.cache or caches[DEFAULT_CACHE_ALIAS]
        if isinstance(cache, RedisCache):
            client = cache._cache.get_client(write=True)
            script = _scripts.get(id(client))
            if script is None:
                script = _scripts[id(client)] = client.register_script(_WINDOW_SCRIPT)
            taken, count, current, before = script(
                keys=[cache.make_and_validate_key(k) for k in keys],
                args=[self.num_requests, repr(weight), lifetime, mode],
            )
        else:
            values = cache.get_many(keys)
            current, before = int(values.get(keys[0], 0)), int(values.get(keys[1], 0))
            count = math.floor(before * weight + 0.5) + current
            taken = mode == "add" or (mode == "take" and count < self.num_requests)
            if taken:
                current = 1 if cache.add(keys[0], 1, lifetime) else cache.incr(keys[0])
        self.count, self.current, self.before = int(count), int(current), int(before)
        return bool(taken)

    def wait(self) -> float:
        """Seconds until the window's count falls under the limit (at least one)."""
        limit, duration = self.num_requests, self.duration
        left_in_bucket = (1.0 - self.elapsed) * duration
        if self.current < limit:
            # The bucket before fades out through this one: wait until enough of it has.
            fraction = 1.0 - (limit - self.current - 0.5) / self.before if self.before else self.elapsed
            seconds = max(0.0, fraction - self.elapsed) * duration
        else:
            # This bucket alone is at the limit: into the next one, until enough of it fades.
            seconds = left_in_bucket + max(0.0, 1.0 - (limit - 0.5) / self.current) * duration
        return max(1.0, seconds)


class FailedTokenThrottle(WindowThrottle):
    scope = "failed_token"

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_FAILED_TOKENS)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return str(self.get_ident(request))

    def blocked(self, request: Request | HttpRequest) -> float | None:
        """Seconds to wait if this source has used up its failures, else None (nothing counted)."""
        self._count(self.get_cache_key(request, None), "check")
        return self.wait() if self.count >= self.num_requests else None

    def record_failure(self, request: Request | HttpRequest) -> int:
        """Count one failure; returns how many this source has in the window, this one included."""
        self._count(self.get_cache_key(request, None), "add")
        return self.count + 1


class IntakeAccountThrottle(WindowThrottle):
    scope = "intake_account"

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_INTAKE_ACCOUNT)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return str(request.user.pk)


class IntakeSourceThrottle(WindowThrottle):
    scope = "intake_source"

    def get_rate(self) -> str:
        return str(settings.VIHUB_RATE_INTAKE_SOURCE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return str(self.get_ident(request))
