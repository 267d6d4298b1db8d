"""The Celery broker transport (hub.broker): kombu's Redis transport, publishing every message
through one Redis client per channel. Against the real Redis `make test` starts."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import redis

from config.celery import app
from hub.broker import Transport

pytestmark = pytest.mark.redis


def test_the_app_publishes_through_the_vihub_transport_and_one_client_per_channel(committed_db: Any) -> None:
    queue = f"test-broker-{uuid.uuid4().hex[:8]}"
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        with connection.Producer(channel) as producer:
            sent = [producer.publish({"n": n}, routing_key=queue) for n in range(3)]
        client = channel._publishing_client
        assert client is not None and len(sent) == 3
        assert server.llen(queue) == 3, "every message is in Redis"
        with connection.Producer(channel) as producer:
            producer.publish({"n": 3}, routing_key=queue)
        assert channel._publishing_client is client, "the same client for the next message"
        channel._disconnect_pools()  # what kombu does after a fork
        assert channel._publishing_client is None, "a client on dropped pools is not kept"
        with connection.Producer(channel) as producer:
            producer.publish({"n": 4}, routing_key=queue)
        assert channel._publishing_client is not client and server.llen(queue) == 5
        with connection.SimpleQueue(queue) as consumer:
            got = sorted(consumer.get(timeout=5).payload["n"] for _ in range(5))
        assert got == [0, 1, 2, 3, 4], "and a consumer gets each exactly once"
    server.delete(queue)
