"""One clock for every decision: the database server's."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone


def db_now() -> datetime:
    """The database's current time (PostgreSQL ``clock_timestamp()``), so deadlines given and
    deadline decisions never depend on a web process's or a worker's clock. SQLite (the
    embedded default, one machine) uses ours.

    ``VIHUB_CLOCK = "application"`` (the test settings only) reads the application's clock
    instead, so tests can move time with time-machine on PostgreSQL too; the tests that prove
    the database's clock wins switch it back."""
    if connection.vendor == "postgresql" and settings.VIHUB_CLOCK == "database":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            row = cursor.fetchone()
        value: datetime = row[0]
        return value
    return timezone.now()
