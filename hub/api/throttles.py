"""Rate limits (issue 14), on DRF's throttling interface. Answered with 429 and ``Retry-After``
by DRF.

- ``FailedTokenThrottle``: wrong, expired or revoked bearer tokens per source address. Only
  failures are counted, so a busy agency with a good token is never slowed; past the limit the
  source gets 429 before its token is even looked up (``BearerTokenAuthentication``).
- ``IntakeThrottle``: referrals posted, per account and per source address (``POST
  /referrals/``), both counted in one step: a referral is taken only if both are under their
  limit, and then counted in both.

Each limit is a sliding window of two fixed buckets (the bucket this window-length of time,
and the one before it weighted by how much of it still lies within the last window), counted
in the shared cache, so every web process and machine sees one count. DRF's
``SimpleRateThrottle`` keeps a list of every request's time instead: read, unpickled, trimmed,
pickled and written back on each request (600 entries for an agency at the intake limit), and
two processes doing that at once lose one of the two writes, so the limit under-counts exactly
when it is busy. Here, on Redis (production and ``make run``), one Lua script reads every
bucket and takes the request only if each count is under its limit, in one round trip and
atomically; on another cache (the tests' local-memory fallback) the same arithmetic runs
through the cache API.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

# KEYS: per window, its bucket now and the one before. ARGV[1]: the mode ("check": count only;
# "take": add one to every window if each is under its limit; "add": add one whatever the
# counts); then per window its limit, the weight of the bucket before, and the bucket's
# lifetime in seconds. Returns {taken (0/1), then per window: count before this request, this
# bucket (after adding), the bucket before}.
_WINDOW_SCRIPT = """
local mode = ARGV[1]
local found = {}
local under = true
for i = 1, #KEYS / 2 do
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local before = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  local count = math.floor(before * tonumber(ARGV[3 * i]) + 0.5) + current
  if count >= tonumber(ARGV[3 * i - 1]) then under = false end
  found[3 * i - 2], found[3 * i - 1], found[3 * i] = count, current, before
end
local taken = mode == 'add' or (mode == 'take' and under)
if taken then
  for i = 1, #KEYS / 2 do
    local current = redis.call('INCR', KEYS[2 * i - 1])
    if current == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], tonumber(ARGV[3 * i + 1])) end
    found[3 * i - 1] = current
  end
end
return {taken and 1 or 0, unpack(found)}
"""
_scripts: dict[int, Any] = {}


@dataclass
class Window:
    """One limit: ``limit`` requests per ``duration`` seconds for ``name`` (scope and ident)."""

    name: str
    limit: int
    duration: int
    # Filled in by the count:
    count: int = 0  # requests in the window before this one
    current: int = 0  # in this bucket
    before: int = 0  # in the bucket before
    elapsed: float = 0.0  # how far into this bucket (0-1)

    @classmethod
    def of(cls, scope: str, ident: Any, rate: str) -> Window:
        number, period = rate.split("/")
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        return cls(name=f"throttle_{scope}_{ident}", limit=int(number), duration=duration)

    def wait(self) -> float:
        """Seconds until this window's count falls under its limit (at least one)."""
        limit, duration = self.limit, self.duration
        if self.count < limit:
            return 0.0
        if self.current < limit:
            # The bucket before fades out through this one: wait until enough of it has.
            fraction = 1.0 - (limit - self.current - 0.5) / self.before if self.before else self.elapsed
            seconds = max(0.0, fraction - self.elapsed) * duration
        else:
            # This bucket alone is at the limit: into the next one, until enough of it fades.
            seconds = (1.0 - self.elapsed) * duration + max(
                0.0, 1.0 - (limit - 0.5) / self.current
            ) * duration
        return max(1.0, seconds)


def count_windows(windows: list[Window], mode: str, cache: Any = None) -> bool:
    """Run ``windows`` in one step (see the module's docstring); fills in each window's counts.
    True when this request was counted."""
    cache = cache or caches[DEFAULT_CACHE_ALIAS]
    now = SlidingThrottle.timer()
    keys: list[str] = []
    args: list[str | int] = [mode]
    for window in windows:
        bucket, into = divmod(now, window.duration)
        window.elapsed = into / window.duration
        keys += [f"{window.name}:{int(bucket) - back}" for back in (0, 1)]
        args += [window.limit, repr(1.0 - window.elapsed), 2 * window.duration + 1]
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(_WINDOW_SCRIPT)
        taken, *found = script(keys=[cache.make_and_validate_key(k) for k in keys], args=args)
    else:
        values = cache.get_many(keys)
        found = []
        for i, window in enumerate(windows):
            current, before = int(values.get(keys[2 * i], 0)), int(values.get(keys[2 * i + 1], 0))
            found += [math.floor(before * (1.0 - window.elapsed) + 0.5) + current, current, before]
        under = all(found[3 * i] < window.limit for i, window in enumerate(windows))
        taken = mode == "add" or (mode == "take" and under)
        if taken:
            for i, window in enumerate(windows):
                lifetime = 2 * window.duration + 1
                found[3 * i + 1] = 1 if cache.add(keys[2 * i], 1, lifetime) else cache.incr(keys[2 * i])
    for i, window in enumerate(windows):
        window.count, window.current, window.before = (int(v) for v in found[3 * i : 3 * i + 3])
    return bool(taken)


class SlidingThrottle(BaseThrottle):
    """DRF's throttle interface (``allow_request``, ``wait``) over the windows ``windows``
    names for a request."""

    timer = staticmethod(time.time)
    cache: Any = None  # None: the default cache
    counted: list[Window]

    def windows(self, request: Any, view: Any) -> list[Window]:
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        self.counted = self.windows(request, view)
        if not self.counted:
            return True
        return count_windows(self.counted, "take", self.cache)

    def wait(self) -> float | None:
        return max((window.wait() for window in self.counted), default=None)


class FailedTokenThrottle(SlidingThrottle):
    def __init__(self) -> None:
        self.rate = str(settings.VIHUB_RATE_FAILED_TOKENS)
        self.num_requests = Window.of("failed_token", "", self.rate).limit

    def windows(self, request: Any, view: Any) -> list[Window]:
        return [Window.of("failed_token", self.get_ident(request), self.rate)]

    def blocked(self, request: Request | HttpRequest) -> float | None:
        """Seconds to wait if this source has used up its failures, else None (nothing counted)."""
        self.counted = self.windows(request, None)
        count_windows(self.counted, "check", self.cache)
        return self.wait() if self.counted[0].count >= self.counted[0].limit else None

    def record_failure(self, request: Request | HttpRequest) -> int:
        """Count one failure; returns how many this source has in the window, this one included."""
        self.counted = self.windows(request, None)
        count_windows(self.counted, "add", self.cache)
        return self.counted[0].count + 1


class IntakeThrottle(SlidingThrottle):
    """Referrals per account and per source address, taken only if both are under their limit."""

    def windows(self, request: Any, view: Any) -> list[Window]:
        found = [Window.of("intake_source", self.get_ident(request), str(settings.VIHUB_RATE_INTAKE_SOURCE))]
        if request.user and request.user.is_authenticated:
            rate = str(settings.VIHUB_RATE_INTAKE_ACCOUNT)
            found.insert(0, Window.of("intake_account", request.user.pk, rate))
        return found
