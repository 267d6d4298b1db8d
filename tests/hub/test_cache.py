"""The Redis cache (hub.cache): Django's, with one client per pool instead of one per call."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache, caches

from hub.cache import RedisCache

pytestmark = pytest.mark.redis


def test_the_cache_is_the_shared_client_redis_cache_and_reuses_one_client() -> None:
    assert isinstance(caches["default"], RedisCache)
    client = cache._cache  # type: ignore[attr-defined]
    first = client.get_client("k", write=True)
    assert client.get_client("other", write=True) is first
    cache.set("vihub:test-cache", {"n": 1}, 30)
    assert cache.get("vihub:test-cache") == {"n": 1}
    cache.delete("vihub:test-counter")
    assert cache.add("vihub:test-counter", 0, 30)
    assert cache.incr("vihub:test-counter") == 1


def test_threads_share_the_client_without_mixing_answers() -> None:
    errors: list[str] = []

    def work(i: int) -> None:
        for n in range(50):
            key = f"vihub:test-thread-{i}-{n}"
            cache.set(key, i * 1000 + n, 30)
            if cache.get(key) != i * 1000 + n:
                errors.append(key)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
