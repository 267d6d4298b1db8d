"""Heartbeats: periodic jobs record that they ran, so /healthz can say when one stops."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from hub.models import Heartbeat

log = logging.getLogger(__name__)


@transaction.atomic
def heartbeat_beat(*, name: str, detail: dict[str, Any] | None = None) -> Heartbeat:
    """Record that ``name`` ran now. Idempotent: running twice just moves the time."""
    beat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"last_beat_at": timezone.now(), "detail": detail or {}}
    )
    log.debug("heartbeat %s at %s", name, beat.last_beat_at.isoformat())
    return beat


def heartbeat_age(name: str, *, now: datetime | None = None) -> timedelta | None:
    beat = Heartbeat.objects.filter(name=name).only("last_beat_at").first()
    if beat is None:
        return None
    return (now or timezone.now()) - beat.last_beat_at
