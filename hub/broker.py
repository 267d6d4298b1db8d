"""Kombu's Redis transport, publishing through one Redis client per channel.

Kombu's Redis channel builds a new ``redis.Redis`` for every message it publishes
(``Channel.conn_or_acquire`` with no client calls ``_create_client``, and each ``redis.Redis``
sets up its response callbacks anew): on intake, which enqueues the media match for every
referral, that was about a fifth of the cost of sending the job and a few per cent of the
request (profiled in bench/load.py's intake run). A ``redis.Redis`` is safe to share between
threads (each command takes a connection from the pool), so the channel keeps the one it made
and hands it out again. When kombu drops its pools (after a fork, on close), the client built
on them goes too. The worker's consuming side (``BRPOP`` on the channel's own client) is
untouched. Selected by ``CELERY_BROKER_TRANSPORT`` for a ``redis://`` broker, and by the
``vihubredis+socket://`` URL of ``make run``'s embedded Redis (kombu takes a unix socket only in
its ``<transport>+socket://`` form), through the transport alias registered here
(config/celery.py imports this module before the app makes any connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

ALIAS = "vihubredis"


class Channel(kombu_redis.Channel):
    _publishing_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._publishing_client is None:
            self._publishing_client = self._create_client()  # type: ignore[no-untyped-call]
        yield self._publishing_client

    def _disconnect_pools(self) -> None:
        self._publishing_client = None
        super()._disconnect_pools()  # type: ignore[no-untyped-call]


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
