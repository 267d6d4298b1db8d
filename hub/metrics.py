"""The gauges /metrics computes at scrape time, from the database and Redis (not counted in
process memory, so every web worker answers the same).

- ``vihub_celery_queue_depth{queue}``: jobs waiting in each Celery queue (Redis ``LLEN``); left
  out when Redis cannot be reached (``vihub_celery_broker_up`` says so);
  ``vihub_media_match_pending``: referrals intake queued for matching (hub.services.match_queue).
- ``vihub_deadline_sweep_lag_seconds``: seconds since the deadline sweep last ran (its
  heartbeat row); ``vihub_beat_heartbeat_age_seconds``: the same for the beat heartbeat.
- ``vihub_oldest_due_unfired_alert_seconds``: how long the most overdue alert has waited (0 when
  none is due): the sweep falling behind.
- ``vihub_audit_unchained_events``: events not yet in the hash chain (0: the chain is written in
  the same transaction as the event); ``vihub_audit_events_since_checkpoint`` and
  ``vihub_audit_checkpoint_age_seconds``: how far the newest signed checkpoint is behind.
- The apps add their own through ``register_metrics`` (the safeguarding app: the webhook
  backlog), so the hub imports none of them.

A gauge whose subject never happened (no sweep yet, no checkpoint yet) has no sample.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

import redis
from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from config.celery_routes import QUEUES
from hub.models import AuditCheckpoint, AuditEvent
from hub.services.alerts import oldest_due_unfired_age
from hub.services.audit_sequencer import chain_lag
from hub.services.heartbeat import heartbeat_age
from hub.services.match_queue import match_pending_key

log = logging.getLogger(__name__)

# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in lists of their own.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)

MetricsProvider = Callable[[], Iterable[Metric]]
_providers: list[MetricsProvider] = []


def register_metrics(provider: MetricsProvider) -> None:
    """An app's gauges, computed at each scrape (the safeguarding app's webhook backlog)."""
    if provider not in _providers:
        _providers.append(provider)


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:
        family.add_metric([], value)
    return family


def queue_metrics() -> Iterator[Metric]:
    depth = GaugeMetricFamily("vihub_celery_queue_depth", "Jobs waiting in a Celery queue", labels=["queue"])
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
                for priority in _PRIORITY_STEPS:
                    pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{priority}")
            pipe.llen(match_pending_key())
            *lengths, matches_waiting = pipe.execute()
    except (redis.RedisError, OSError):
        log.debug("queue depths left out: Redis unreachable", exc_info=True)
        yield _gauge("vihub_celery_broker_up", "1 when the Celery broker (Redis) answered", 0)
        yield depth
        return
    finally:
        client.close()
    per_queue = 1 + len(_PRIORITY_STEPS)
    for index, queue in enumerate(QUEUES):
        depth.add_metric([queue], sum(int(n) for n in lengths[index * per_queue : (index + 1) * per_queue]))
    yield _gauge("vihub_celery_broker_up", "1 when the Celery broker (Redis) answered", 1)
    yield depth
    yield _gauge(
        "vihub_media_match_pending",
        "Referrals queued by intake for media matching, not yet taken by a drain job",
        int(matches_waiting),
    )


def heartbeat_metrics() -> Iterator[Metric]:
    sweep, beat = heartbeat_age("sweep"), heartbeat_age("beat")
    yield _gauge(
        "vihub_deadline_sweep_lag_seconds",
        "Seconds since the deadline sweep last ran",
        sweep.total_seconds() if sweep is not None else None,
    )
    yield _gauge(
        "vihub_beat_heartbeat_age_seconds",
        "Seconds since the beat heartbeat job last ran",
        beat.total_seconds() if beat is not None else None,
    )
    oldest = oldest_due_unfired_age()
    yield _gauge(
        "vihub_oldest_due_unfired_alert_seconds",
        "How long the most overdue deadline alert has waited to fire (0: none due)",
        oldest.total_seconds() if oldest is not None else 0.0,
    )


def audit_metrics() -> Iterator[Metric]:
    lag = chain_lag()
    yield _gauge(
        "vihub_audit_unchained_events",
        "Audit events written but not yet linked into the hash chain by the sequencer",
        lag.waiting,
    )
    yield _gauge(
        "vihub_audit_chain_lag_seconds",
        "How long the oldest audit event waiting for the chain has waited (0: none waits)",
        lag.oldest.total_seconds() if lag.oldest is not None else 0.0,
    )
    head = AuditEvent.objects.aggregate(head=Max("seq"))["head"]
    checkpoint = AuditCheckpoint.objects.order_by("-seq").only("seq", "created_at").first()
    yield _gauge(
        "vihub_audit_events_since_checkpoint",
        "Audit events after the newest signed checkpoint",
        None if head is None else head - (checkpoint.seq if checkpoint is not None else 0),
    )
    yield _gauge(
        "vihub_audit_checkpoint_age_seconds",
        "Seconds since the newest signed audit checkpoint was made",
        (timezone.now() - checkpoint.created_at).total_seconds() if checkpoint is not None else None,
    )


class VihubCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from queue_metrics()
        yield from heartbeat_metrics()
        yield from audit_metrics()
        for provider in _providers:
            yield from provider()


# Not the process-wide default registry: these gauges are computed only when /metrics is read.
registry = CollectorRegistry(auto_describe=False)
registry.register(VihubCollector())
