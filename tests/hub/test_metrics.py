"""/metrics: refused unless configured and asked with the token; the gauges read the state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from hub import metrics
from hub.models import Heartbeat

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-the-scraper-0123456789"


def scrape() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each metric family's samples, by their labels."""
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            samples[tuple(sorted(sample.labels.items()))] = sample.value
    return families


def test_without_a_configured_token_metrics_does_not_exist() -> None:
    with override_settings(VIHUB_METRICS_TOKEN=""):
        assert Client().get("/metrics").status_code == 404
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@override_settings(VIHUB_METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"])
def test_a_missing_or_wrong_token_is_refused(header: str | None) -> None:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = Client().get("/metrics", **extra)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"vihub_" not in response.content


@override_settings(VIHUB_METRICS_TOKEN=TOKEN)
def test_the_right_token_gets_every_metric_in_prometheus_format() -> None:
    Client().get("/healthz")  # a request for the latency histogram to count
    families = scrape()
    for name in (
        "django_http_requests_latency_seconds_by_view_method",
        "django_http_requests_total_by_view_transport_method",
        "vihub_celery_broker_up",
        "vihub_celery_queue_depth",
        "vihub_deadline_sweep_lag_seconds",
        "vihub_beat_heartbeat_age_seconds",
        "vihub_oldest_due_unfired_alert_seconds",
        "vihub_audit_unchained_events",
        "vihub_audit_events_since_checkpoint",
        "vihub_audit_checkpoint_age_seconds",
        "vihub_webhook_backlog",
        "vihub_webhook_oldest_undelivered_seconds",
    ):
        assert name in families, name
    assert families["vihub_audit_unchained_events"][()] == 0
    if families["vihub_celery_broker_up"][()] == 1:  # a real Redis (make test): every queue, none waiting
        assert {dict(labels)["queue"] for labels in families["vihub_celery_queue_depth"]} == {
            "safeguarding", "default", "retry", "audit"
        }  # fmt: skip
    else:  # no Redis here: left out quietly
        assert families["vihub_celery_queue_depth"] == {}


@override_settings(VIHUB_METRICS_TOKEN=TOKEN)
def test_sweep_lag_and_heartbeat_age_follow_the_heartbeat_rows() -> None:
    Heartbeat.objects.filter(name__in=["sweep", "beat"]).delete()
    never = scrape()
    assert never["vihub_deadline_sweep_lag_seconds"] == {}  # never ran: no sample, not a zero
    now = timezone.now()
    Heartbeat.objects.create(name="sweep", last_beat_at=now - timedelta(minutes=10))
    Heartbeat.objects.create(name="beat", last_beat_at=now - timedelta(seconds=30))
    families = scrape()
    assert families["vihub_deadline_sweep_lag_seconds"][()] >= 600
    assert 30 <= families["vihub_beat_heartbeat_age_seconds"][()] < 600


class _FakeRedis:
    """Redis as far as queue_metrics reads it: LLEN through a pipeline."""

    def __init__(self, lengths: dict[str, int]) -> None:
        self.lengths = lengths
        self.asked: list[str] = []

    def pipeline(self, transaction: bool) -> _FakeRedis:
        return self

    def __enter__(self) -> _FakeRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def llen(self, key: str) -> None:
        self.asked.append(key)

    def execute(self) -> list[int]:
        return [self.lengths.get(key, 0) for key in self.asked]

    def close(self) -> None:
        return None


@override_settings(VIHUB_METRICS_TOKEN=TOKEN)
def test_a_queue_s_depth_adds_up_its_priority_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeRedis({"safeguarding": 3, "safeguarding\x06\x169": 2, "retry": 1})
    monkeypatch.setattr(metrics.redis.Redis, "from_url", lambda *a, **k: fake)
    depth = scrape()["vihub_celery_queue_depth"]
    assert depth == {
        (("queue", "safeguarding"),): 5, (("queue", "default"),): 0,
        (("queue", "retry"),): 1, (("queue", "audit"),): 0,
    }  # fmt: skip
