"""Logging: JSON lines in production, and routine Celery lines kept out of an idle log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from config.logs import JsonFormatter, RoutineCeleryFilter, is_routine
from hub.context import request_id_var


def _record(name: str, msg: str, args: object = None, level: int = logging.INFO) -> logging.LogRecord:
    """As Celery logs it: a dict of arguments ends up as ``record.args`` itself."""
    return logging.LogRecord(name, level, __file__, 1, msg, (args,) if isinstance(args, dict) else args, None)  # type: ignore[arg-type]


def test_a_record_formats_to_one_json_object_with_its_fields() -> None:
    record = _record("hub.tasks", "deadline sweep fired %d alerts", (3,))
    token = request_id_var.set("a1b2c3d4e5f6")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "INFO" and entry["logger"] == "hub.tasks"
    assert entry["message"] == "deadline sweep fired 3 alerts"
    assert entry["request_id"] == "a1b2c3d4e5f6"
    assert entry["timestamp"].endswith("+00:00") and "T" in entry["timestamp"]
    assert "exception" not in entry


def test_an_exception_is_in_the_json_line_and_no_request_id_outside_a_request() -> None:
    try:
        raise ValueError("webhook secret cannot be decrypted")
    except ValueError:
        record = logging.LogRecord(
            "safeguarding", logging.ERROR, __file__, 1, "delivery failed", None, sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["message"] == "delivery failed"
    assert "Traceback" in entry["exception"]
    assert "ValueError: webhook secret cannot be decrypted" in entry["exception"]
    assert "request_id" not in entry


def test_routine_celery_lines_are_debug_and_what_happened_stays() -> None:
    received = _record("celery.worker.strategy", "Task %(name)s[%(id)s] received", {"name": "x", "id": "1"})
    sent = _record(
        "celery.beat", "Scheduler: Sending due task %s (%s)", ("heartbeat", "hub.tasks.heartbeat_job")
    )
    success = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s"
    sweep = _record("celery.app.trace", success, {"name": "hub.tasks.deadline_sweep_job", "id": "2"})
    delivered = _record(
        "celery.app.trace", success, {"name": "safeguarding.tasks.webhook_deliver_job", "id": "3"}
    )
    failed = _record("celery.app.trace", "Task %(name)s[%(id)s] raised", {"name": "x"}, logging.ERROR)
    beat_error = _record("celery.beat", "Message Error: %s", ("boom",), logging.ERROR)
    assert [is_routine(r) for r in (received, sent, sweep)] == [True, True, True]
    assert [is_routine(r) for r in (delivered, failed, beat_error)] == [False, False, False]

    routine_filter = RoutineCeleryFilter()
    assert routine_filter.filter(delivered) and routine_filter.filter(failed)
    assert not routine_filter.filter(sweep)  # the test settings log at WARNING, so not at DEBUG
    assert sweep.levelname == "DEBUG"
    logger = logging.getLogger("celery.app.trace")
    previous = logger.level
    logger.setLevel(logging.DEBUG)  # VIHUB_LOG_LEVEL=DEBUG: shown, labelled DEBUG
    try:
        assert routine_filter.filter(
            _record("celery.app.trace", success, {"name": "hub.tasks.heartbeat_job"})
        )
    finally:
        logger.setLevel(previous)


def test_production_settings_log_json_lines(tmp_path: Path) -> None:
    """config.settings.prod (given what it refuses to start without) logs one JSON object a line."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "x" * 50,
        "VIHUB_AUDIT_PUBLIC_KEY": "unused",
        "VIHUB_AUDIT_CHECKPOINT_LOG": str(tmp_path / "witness.log"),
        "VIHUB_SECRETS_KEYS": "tDC4uSAzzmKxzHLF0g9r5X3o2yfiQHy5hpYKlgxZCWU=",
        "DJANGO_ALLOWED_HOSTS": "vihub.example",
        "DATABASE_URL": "postgres://vihub:unused@127.0.0.1:1/vihub",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    script = "import django, logging; django.setup(); logging.getLogger('hub.tasks').warning('sweep is late')"
    done = subprocess.run(  # noqa: S603  (our own interpreter and a fixed script)
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stderr.strip().splitlines()[-1])
    assert (
        entry["level"] == "WARNING" and entry["logger"] == "hub.tasks" and entry["message"] == "sweep is late"
    )
