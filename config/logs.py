"""Logging helpers named by ``LOGGING`` in the settings: the filter that keeps routine Celery
lines out of an idle log, and the JSON formatter production uses.

Routine means "nothing happened": a worker received a job, beat sent a scheduled job, a
scheduled job (the heartbeat, the sweeps, the drains) finished. Those lines become DEBUG, shown
only when ``VIHUB_LOG_LEVEL=DEBUG``. Warnings, errors, retries, the finishing of jobs that are
not on the beat schedule (a webhook delivered, an email sent) and the jobs' own INFO lines
("deadline sweep fired 3 alerts") stay as they are.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hub.context import current_request_id

# Celery's loggers whose lines are routine (received, sent by beat) or routine for scheduled jobs
# (succeeded). The messages are Celery's own: ``celery.app.trace.LOG_RECEIVED`` / ``LOG_SUCCESS``
# and ``celery.beat.Scheduler.apply_entry``.
_RECEIVED_LOGGER = "celery.worker.strategy"
_TRACE_LOGGER = "celery.app.trace"
_BEAT_LOGGER = "celery.beat"


@cache
def _scheduled_jobs() -> frozenset[str]:
    """The task names on the beat schedule (read once, when the first Celery line arrives)."""
    from config.celery import app  # noqa: PLC0415  (only a Celery process logs these lines)

    return frozenset(entry["task"] for entry in app.conf.beat_schedule.values())


def _task_name(record: logging.LogRecord) -> str:
    data = record.args if isinstance(record.args, dict) else getattr(record, "data", None)
    return str(data.get("name", "")) if isinstance(data, dict) else ""


def is_routine(record: logging.LogRecord) -> bool:
    if record.levelno != logging.INFO:
        return False
    message = str(record.msg)
    if record.name == _RECEIVED_LOGGER:
        return "received" in message
    if record.name == _BEAT_LOGGER:
        return message.startswith("Scheduler: Sending due task")
    if record.name == _TRACE_LOGGER and "succeeded in" in message:
        return _task_name(record) in _scheduled_jobs()
    return False


class RoutineCeleryFilter(logging.Filter):
    """On a handler: a routine Celery INFO line is re-labelled DEBUG, and dropped unless its
    logger is enabled for DEBUG (``VIHUB_LOG_LEVEL=DEBUG``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``request_id`` when the line was logged while serving a request (or in a job
    it enqueued), and ``exception`` (the formatted traceback) when there is one. Keys a caller
    passes in ``extra=`` are not copied: they may hold case data."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
