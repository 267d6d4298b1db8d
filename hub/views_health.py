"""/healthz: database, Redis and the beat heartbeat. 200 when healthy, 503 otherwise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from hub.services.alerts import oldest_due_unfired_age
from hub.services.audit_sequencer import chain_lag
from hub.services.heartbeat import heartbeat_age

HEARTBEAT_STALE_AFTER_SECONDS = 5 * 60
SWEEP_STALE_AFTER_SECONDS = 5 * 60  # beat runs the sweep every minute
DUE_UNFIRED_LIMIT_SECONDS = 3 * 60  # an alert due longer ago than this has been missed
# An audit event waiting longer than this for the chain: no sequencer is running (the process
# chains within a second, the beat fallback every few seconds).
CHAIN_LAG_LIMIT_SECONDS = 60


def _seconds(age: timedelta | None) -> float | None:
    return None if age is None else round(age.total_seconds(), 1)


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Any] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (health must report, not crash)
        checks["database"] = f"error: {type(exc).__name__}"
        healthy = False
    try:
        cache.set("vihub:healthz", "1", 10)
        checks["redis"] = "ok" if cache.get("vihub:healthz") == "1" else "error: read back failed"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = healthy and checks["redis"] == "ok"
    age = heartbeat_age("beat") if checks["database"] == "ok" else None
    checks["beat_heartbeat_age_seconds"] = round(age.total_seconds(), 1) if age is not None else None
    if age is None or age.total_seconds() > HEARTBEAT_STALE_AFTER_SECONDS:
        checks["beat"] = "stale" if age is not None else "never ran"
        healthy = False
    else:
        checks["beat"] = "ok"
    if checks["database"] == "ok":
        sweep_age = heartbeat_age("sweep")
        oldest = oldest_due_unfired_age()
        checks["sweep_age_seconds"] = _seconds(sweep_age)
        checks["oldest_due_unfired_age_seconds"] = _seconds(oldest)
        if sweep_age is None or sweep_age.total_seconds() > SWEEP_STALE_AFTER_SECONDS:
            checks["sweep"] = "stale" if sweep_age is not None else "never ran"
            healthy = False
        elif oldest is not None and oldest.total_seconds() > DUE_UNFIRED_LIMIT_SECONDS:
            checks["sweep"] = "falling behind"
            healthy = False
        else:
            checks["sweep"] = "ok"
    if checks["database"] == "ok":
        lag = chain_lag()
        checks["audit_chain_lag_seconds"] = _seconds(lag.oldest) or 0.0
        if lag.oldest is not None and lag.oldest.total_seconds() > CHAIN_LAG_LIMIT_SECONDS:
            checks["audit_chain"] = "falling behind"
            healthy = False
        else:
            checks["audit_chain"] = "ok"
    if request.user.is_authenticated and request.user.is_staff:
        # What the deployment is made of is for its operators, not for anyone who can reach it.
        checks["database_vendor"] = connection.vendor
        checks["debug"] = settings.DEBUG
        if checks["database"] == "ok":
            # How many events wait for the chain is a measure of activity (also in /metrics).
            checks["audit_chain_waiting"] = lag.waiting
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503
    )
