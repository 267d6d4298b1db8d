"""One clock for every decision: the database server's."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone


def db_now() -> datetime:
    """The database's current time (PostgreSQL ``clock_timestamp()``), so deadline decisions
    never depend on a worker's clock. SQLite (the embedded default, one machine) uses ours."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            row = cursor.fetchone()
        value: datetime = row[0]
        return value
    return timezone.now()
