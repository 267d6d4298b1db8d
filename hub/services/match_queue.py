"""Matching soon after intake, without a Celery message per referral.

Intake appends the new referral's id to a pending list in Redis and wakes one drain job
(``hub.tasks.media_match_drain_job``), which matches every referral on the list, each in its own
transaction (``referral_match_media``). Only the append that finds no drain already woken
publishes one: the wake key is set with NX in the same Lua step as the append, and the drain
deletes it *before* it reads the list. So an append either saw the key, and the drain that
deletes it reads the list after the append, or set the key and published a drain itself. No
referral waits for a drain that has already read past it.

A Celery publish was about a tenth of intake's CPU (bench/load.py); the append is one Redis round
trip, and the worker runs one job for a burst instead of one per referral.

What can still be missed is found by the database, as before: a drain lost with the broker or
killed after popping its batch leaves those referrals unmatched (``matched_at`` empty), and
``media_match_sweep_job`` matches any referral still unmatched a minute after intake. A wake key
whose drain was lost expires after ``WAKE_SECONDS``, so the next intake wakes a new drain.

Without Redis (the SQLite test runs, which use Django's local-memory cache) intake enqueues the
per-referral ``media_match_job`` as it did before.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import caches
from django.db import connection

from hub.cache import RedisCache
from hub.jobs import enqueue_now
from hub.services.matching import referral_match_by_id

log = logging.getLogger(__name__)

# How long a wake-up stands without its drain starting (a lost publish, a queue far behind)
# before the next intake publishes another.
WAKE_SECONDS = 10
# Referrals taken off the list at a time: a drain killed mid-batch leaves at most this many for
# the sweep.
BATCH = 50
# A drain stops taking batches after this long and wakes a successor (under its soft time limit).
BUDGET_SECONDS = 40.0

_APPEND_AND_WAKE = """
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) then return 1 end
return 0
"""
_scripts: dict[int, Any] = {}


def _redis() -> Any | None:
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)


def match_pending_key() -> str:
    """The pending list, per database: two deployments (or two test processes) sharing one
    Redis never drain each other's referrals."""
    return f"vihub:{connection.settings_dict['NAME']}:media-match:pending"


def _keys() -> tuple[str, str]:
    pending = match_pending_key()
    return pending, pending.removesuffix("pending") + "wake"


def media_match_soon(referral_id: object) -> None:
    """Queue a committed referral's media for matching (called after intake's commit)."""
    client = _redis()
    if client is None:
        enqueue_now("hub.tasks.media_match_job", referral_id)
        return
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_APPEND_AND_WAKE)
    if script(keys=list(_keys()), args=[str(referral_id), WAKE_SECONDS]):
        enqueue_now("hub.tasks.media_match_drain_job")


def media_match_drain(*, budget_seconds: float = BUDGET_SECONDS) -> int:
    """Match every referral on the pending list; the number of new matches found. A referral
    that fails is logged and left to the sweep; the rest of its batch goes on."""
    client = _redis()
    if client is None:
        return 0
    pending, wake = _keys()
    client.delete(wake)  # before reading: an append from here on wakes a drain of its own
    deadline = time.monotonic() + budget_seconds
    found = 0
    while ids := client.lpop(pending, BATCH):
        for raw in ids:
            referral_id = raw.decode()
            try:
                found += referral_match_by_id(referral_id)
            except Exception:  # noqa: BLE001  (one bad referral must not hold up the others)
                log.exception("media match of referral %s failed; the sweep will retry it", referral_id)
        if time.monotonic() > deadline:
            if client.llen(pending) and client.set(wake, "1", nx=True, ex=WAKE_SECONDS):
                enqueue_now("hub.tasks.media_match_drain_job")
            break
    return found
