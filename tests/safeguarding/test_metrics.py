"""The webhook backlog on /metrics counts the outbox rows not delivered yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from safeguarding.models import OutboxEvent
from tests.factories import make_referral, org
from tests.hub.test_metrics import TOKEN, scrape

pytestmark = pytest.mark.django_db


@override_settings(VIHUB_METRICS_TOKEN=TOKEN)
def test_two_pending_webhooks_read_as_a_backlog_of_two() -> None:
    referral = make_referral()
    OutboxEvent.objects.all().delete()
    now = timezone.now()
    for status in ("pending", "pending", "delivered", "failed"):
        OutboxEvent.objects.create(
            agency=org("NCMEC"), referral=referral, event_type="referral.outcome", payload={},
            status=status, next_attempt_at=now, created_at=now - timedelta(minutes=5),
        )  # fmt: skip
    families = scrape()
    backlog = families["vihub_webhook_backlog"]
    assert backlog[(("status", "pending"),)] == 2
    assert backlog[(("status", "sending"),)] == 0
    assert families["vihub_webhook_oldest_undelivered_seconds"][()] >= 300
