"""The safeguarding app's gauges on /metrics (registered with ``hub.metrics``): the webhook
backlog, outcome messages to agencies not delivered yet."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from safeguarding.models import OutboxEvent

_UNDELIVERED = (OutboxEvent.Status.PENDING, OutboxEvent.Status.SENDING)


def webhook_metrics() -> Iterator[Metric]:
    backlog = GaugeMetricFamily(
        "vihub_webhook_backlog", "Outcome webhooks not delivered yet, by outbox status", labels=["status"]
    )
    counts = dict(
        OutboxEvent.objects.filter(status__in=_UNDELIVERED)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    for status in _UNDELIVERED:
        backlog.add_metric([status.value], counts.get(status, 0))
    yield backlog
    oldest = OutboxEvent.objects.filter(status__in=_UNDELIVERED).aggregate(oldest=Min("created_at"))["oldest"]
    age = GaugeMetricFamily(
        "vihub_webhook_oldest_undelivered_seconds", "Age of the oldest outcome webhook not delivered yet"
    )
    age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0)
    yield age
