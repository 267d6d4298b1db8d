"""Matching soon after intake (hub.services.match_queue): intake queues referrals in real Redis
and wakes one drain job per burst, the drain matches them all, and what a drain misses is left
for the sweep. One test runs a real Celery worker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app
from hub.celery_utils import REQUEST_ID_HEADER
from hub.context import request_id_var
from hub.models import MediaMatch, Referral
from hub.services.match_queue import BATCH, match_pending_key, media_match_drain, media_match_soon
from tests.conftest import Persona, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

DRAIN = "hub.tasks.media_match_drain_job"


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    pending = match_pending_key()
    wake = pending.removesuffix("pending") + "wake"
    client.delete(pending, wake)
    yield client
    client.delete(pending, wake)


@pytest.fixture
def marked() -> Iterator[str]:
    """Jobs published from here on carry this request id, so the test counts its own messages in
    the shared broker and no other test's."""
    mark = f"test-{uuid.uuid4().hex}"
    token = request_id_var.set(mark)
    yield mark
    request_id_var.reset(token)


def drains_published(server: redis.Redis, mark: str) -> int:
    """Drain jobs waiting in the broker's queue with this test's request id (and removes them,
    so no worker later runs a drain for data this test rolled back)."""
    found = 0
    for raw in server.lrange("safeguarding", 0, -1):
        message = json.loads(raw)
        headers = message.get("headers", {})
        if headers.get("task") == DRAIN and headers.get(REQUEST_ID_HEADER) == mark:
            found += 1
            server.lrem("safeguarding", 1, raw)
    return found


def pending(server: redis.Redis) -> list[str]:
    return [raw.decode() for raw in server.lrange(match_pending_key(), 0, -1)]


def post(persona: Persona, external_id: str, sha: str, capture: Any) -> Referral:
    with capture(execute=True):
        response = persona.client.post(
            "/api/v1/referrals/",
            {"external_id": external_id, "suspect_force": "KENT", "media": [{"sha256": sha}]},
            format="json",
        )
    assert response.status_code == 201, response.json()
    return Referral.objects.get(pk=response.json()["id"])


def test_a_burst_of_intake_wakes_one_drain_which_matches_every_referral(
    cast: dict[str, Persona], server: redis.Redis, marked: str, django_capture_on_commit_callbacks: Any
) -> None:
    shared = uuid.uuid4().hex * 2
    referrals = [post(cast["ncmec"], f"Q-{n}", shared, django_capture_on_commit_callbacks) for n in range(3)]
    referrals.append(post(cast["iwf"], "Q-IWF", shared, django_capture_on_commit_callbacks))
    assert pending(server) == [str(r.pk) for r in referrals], "queued in commit order"
    assert drains_published(server, marked) == 1, "one wake-up for the burst, not a job per referral"
    assert all(r.matched_at is None for r in referrals)

    assert media_match_drain() == 6, "every pair of the four referrals sharing the image"
    assert pending(server) == []
    for referral in referrals:
        stored = Referral.objects.get(pk=referral.pk)
        assert stored.matched_at is not None and stored.media_match_count == 3
    assert MediaMatch.objects.count() == 6
    assert media_match_drain() == 0, "a second drain finds nothing to do"


def test_an_intake_after_the_drain_started_wakes_a_new_drain(
    server: redis.Redis, marked: str, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    media_match_soon(first)
    media_match_soon(second)
    assert drains_published(server, marked) == 1
    media_match_drain()  # clears the wake-up before it reads the list
    media_match_soon(first)
    assert drains_published(server, marked) == 1, "the drain already read past it: a new one is woken"
    assert pending(server) == [str(first)]


def test_a_referral_that_fails_is_left_for_the_sweep_and_the_rest_are_matched(
    cast: dict[str, Persona], server: redis.Redis, marked: str, django_capture_on_commit_callbacks: Any
) -> None:
    shared = uuid.uuid4().hex * 2
    one = post(cast["ncmec"], "F-1", shared, django_capture_on_commit_callbacks)
    server.rpush(match_pending_key(), "not-a-referral-id")
    two = post(cast["iwf"], "F-2", shared, django_capture_on_commit_callbacks)
    assert media_match_drain() == 1
    assert Referral.objects.get(pk=one.pk).matched_at is not None
    assert Referral.objects.get(pk=two.pk).media_match_count == 1
    assert pending(server) == []
    drains_published(server, marked)


def test_a_drain_out_of_time_hands_the_rest_to_a_successor(server: redis.Redis, marked: str) -> None:
    gone = [str(uuid.uuid4()) for _ in range(BATCH + 7)]  # referrals since deleted: nothing to match
    server.rpush(match_pending_key(), *gone)
    assert media_match_drain(budget_seconds=0) == 0
    assert pending(server) == gone[BATCH:], "one batch taken, the rest left on the list in order"
    assert drains_published(server, marked) == 1, "and a successor woken for them"


@pytest.mark.postgres
def test_intake_is_matched_by_a_real_worker_within_seconds(committed_db: Any, server: redis.Redis) -> None:
    from tests.conftest import make_persona

    agency = make_persona("q-agency", "NCMEC", "agency")
    other = make_persona("q-iwf", "IWF", "agency")
    shared = uuid.uuid4().hex * 2
    ids = []
    for persona, reference in ((agency, "W-1"), (other, "W-2"), (agency, "W-3")):
        response = persona.client.post(
            "/api/v1/referrals/",
            {"external_id": reference, "suspect_force": "KENT", "media": [{"sha256": shared}]},
            format="json",
        )
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=["safeguarding"], shutdown_timeout=10
    ):
        matched = wait_for(lambda: Referral.objects.filter(pk__in=ids, media_match_count=2).count() == 3, 30)
    assert matched, list(Referral.objects.filter(pk__in=ids).values("matched_at", "media_match_count"))
    assert pending(server) == []
    assert MediaMatch.objects.count() == 3


def test_metrics_show_how_many_referrals_wait_for_a_drain(server: redis.Redis, marked: str) -> None:
    from django.test import override_settings

    from tests.hub.test_metrics import TOKEN, scrape

    for _ in range(3):
        media_match_soon(uuid.uuid4())
    with override_settings(VIHUB_METRICS_TOKEN=TOKEN):
        assert scrape()["vihub_media_match_pending"][()] == 3
        media_match_drain()
        assert scrape()["vihub_media_match_pending"][()] == 0
    drains_published(server, marked)
