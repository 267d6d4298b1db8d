"""Rate limits (issue 14): 429 with Retry-After, counted per source and per account, never
triggered against someone else, and failures audited in aggregate."""

from __future__ import annotations

import itertools
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory
from rest_framework.test import APIClient

from hub.api.throttles import FailedTokenThrottle, SlidingThrottle, Window, count_windows
from hub.cache import RedisCache
from hub.models import AuditEvent, Referral
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


_BASE = secrets.randbelow(200) * 256  # another run against the same cache starts elsewhere
_NEXT = itertools.count(1)


def _address() -> str:
    """A source address no other test (or call) uses: 10.x.y.z, x.y from a counter."""
    n = _BASE + next(_NEXT)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def test_guessing_tokens_is_slowed_per_source_and_audited_in_aggregate(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_FAILED_TOKENS = "5/min"
    guesser, elsewhere = _address(), _address()
    client = APIClient(REMOTE_ADDR=guesser)
    client.credentials(HTTP_AUTHORIZATION="Bearer vih_not-a-real-token")
    before = AuditEvent.objects.filter(action="auth.token_rejected").count()
    assert [client.get("/api/v1/tasks/").status_code for _ in range(5)] == [401] * 5
    blocked = client.get("/api/v1/tasks/")
    # A sliding window of two buckets: the five may still count, partly, for up to a tenth of a
    # bucket into the next minute (60 s / (2 x 5)), so the wait is at most 66 s.
    assert blocked.status_code == 429 and 0 < int(blocked["Retry-After"]) <= 66
    rejected = AuditEvent.objects.filter(action="auth.token_rejected").order_by("seq")[before:]
    assert [e.changes["failures_in_window"] for e in rejected] == [1, 5], "the first, and the limit"
    assert rejected[1].changes["limit_reached"] and rejected[1].changes["source"] == guesser
    # The real agency, from its own address, is not slowed by the guesser.
    real = cast["ncmec"].client
    real.defaults["REMOTE_ADDR"] = elsewhere
    answer = real.get("/api/v1/referrals/")
    assert answer.status_code == 200, (answer.content, guesser, elsewhere)


def test_intake_is_limited_per_account_with_retry_after_and_nothing_half_stored(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_INTAKE_ACCOUNT = "3/min"
    agency = cast["ncmec"].client
    agency.defaults["REMOTE_ADDR"] = _address()
    posted = [
        agency.post("/api/v1/referrals/", {"external_id": f"CT-RL-{n}"}, format="json").status_code
        for n in range(4)
    ]
    assert posted == [201, 201, 201, 429]
    assert not Referral.objects.filter(external_id="CT-RL-3").exists()
    # Another agency's account is not affected.
    other = cast["iwf"].client
    other.defaults["REMOTE_ADDR"] = _address()
    assert other.post("/api/v1/referrals/", {"external_id": "IWF-RL-1"}, format="json").status_code == 201


def test_intake_is_limited_per_source_address_across_accounts(
    cast: dict[str, Persona], settings: Any
) -> None:
    settings.VIHUB_RATE_INTAKE_SOURCE = "2/min"
    shared = _address()
    answers = []
    for n, name in enumerate(["ncmec", "iwf", "ncmec"]):
        client = cast[name].client
        client.defaults["REMOTE_ADDR"] = shared
        answers.append(client.post("/api/v1/referrals/", {"external_id": f"SRC-{n}"}, format="json"))
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert "Retry-After" in answers[2]


# --- the windows themselves ---------------------------------------------------------------


def _caches() -> list[Any]:
    found = [pytest.param(LocMemCache("window-tests", {}), id="locmem")]
    if url := os.environ.get("REDIS_URL"):
        found.append(pytest.param(RedisCache(url, {}), id="redis"))
    return found


@pytest.fixture(params=_caches())
def window_cache(request: Any, monkeypatch: Any) -> Any:
    monkeypatch.setattr(SlidingThrottle, "cache", request.param)
    return request.param


def _at(seconds: float) -> Any:
    """A moment ``seconds`` into a minute-aligned bucket (time.time is what the throttle reads)."""
    base = (int(time.time()) // 60 + 1) * 60
    return time_machine.travel(base + seconds, tick=False)


def _take(cache: Any, *windows: tuple[str, str]) -> bool:
    return count_windows([Window.of("test", name, rate) for name, rate in windows], "take", cache)


def test_window_takes_the_limit_then_slides_the_previous_minute_out(window_cache: Any) -> None:
    caller = f"caller-{secrets.token_hex(4)}"
    limit = (caller, "3/min")
    with _at(10) as clock:
        assert [_take(window_cache, limit) for _ in range(4)] == [True, True, True, False]
        refused = Window.of("test", caller, "3/min")
        assert not count_windows([refused], "take", window_cache)
        assert refused.wait() == pytest.approx(50 + 60 / 6), "to the next minute, then a sixth of it"
        assert _take(window_cache, (f"{caller}-other", "3/min")), "another caller has its own count"
        clock.shift(55)  # 5 s into the next minute: the three still count (weight 11/12)
        assert not _take(window_cache, limit)
        clock.shift(6)  # 11 s in: 3 x 49/60 rounds to 2, so one more is taken, and no other
        assert [_take(window_cache, limit) for _ in range(2)] == [True, False]
        clock.shift(120)  # two minutes later nothing counts
        assert [_take(window_cache, limit) for _ in range(4)] == [True, True, True, False]


def test_two_limits_are_taken_together_or_not_at_all(window_cache: Any) -> None:
    """Intake's account and source limits: a referral refused by one is not counted by the
    other (DRF's throttles one after the other counted it in the first)."""
    account, source = f"account-{secrets.token_hex(4)}", f"source-{secrets.token_hex(4)}"
    with _at(5):
        assert [_take(window_cache, (account, "2/min"), (source, "5/min")) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        both = [Window.of("test", account, "2/min"), Window.of("test", source, "5/min")]
        assert not count_windows(both, "check", window_cache)
        assert [(w.count, w.current) for w in both] == [(2, 2), (2, 2)], "the refused one counted in neither"
        assert _take(window_cache, (source, "5/min")), "the source alone still has room"


def test_failures_are_counted_whatever_the_count_and_block_at_the_limit(
    window_cache: Any, settings: Any
) -> None:
    settings.VIHUB_RATE_FAILED_TOKENS = "3/min"
    request = RequestFactory().get("/", REMOTE_ADDR=_address())
    with _at(1):
        assert FailedTokenThrottle().blocked(request) is None
        assert [FailedTokenThrottle().record_failure(request) for _ in range(4)] == [1, 2, 3, 4]
        wait = FailedTokenThrottle().blocked(request)
        assert wait is not None and 59 <= wait <= 59 + 60, "blocked into the next minute"


@pytest.mark.redis
def test_window_on_redis_is_one_count_for_concurrent_callers() -> None:
    """Eight threads (eight web processes, for the count) racing for a limit of 50: exactly 50
    are taken. DRF's list-in-the-cache throttle loses writes here: it let all 200 through."""
    cache = RedisCache(os.environ["REDIS_URL"], {})
    caller = f"race-{secrets.token_hex(4)}"
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda _: _take(cache, (caller, "50/min")), range(200)))
    assert taken.count(True) == 50
