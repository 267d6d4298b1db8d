"""Celery jobs of the hub. Each one loads by id, then calls a service."""

from __future__ import annotations

from hub.celery_utils import vihub_job
from hub.services.heartbeat import heartbeat_beat


@vihub_job(queue="safeguarding", soft_time_limit=20, time_limit=30)
def heartbeat_job() -> str:
    """Beat → worker → database round trip; /healthz reports its age."""
    beat = heartbeat_beat(name="beat")
    return beat.last_beat_at.isoformat()
