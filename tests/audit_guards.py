"""The test suite's own way to empty the append-only audit tables (production has none).

pytest-django's flush (after each ``committed_db`` test) TRUNCATEs every table. The suite, as
the tables' owner, switches the append-only TRUNCATE triggers off just before it and on again
right after (Django sends ``post_migrate`` when a flush ends); on SQLite it drops the DELETE
triggers and creates them again. The SQL is the migration's own, so what is switched back on is
exactly what production runs."""

from __future__ import annotations

import importlib
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

_MIGRATIONS = [
    importlib.import_module("hub.migrations.0016_audit_no_escape"),
    importlib.import_module("hub.migrations.0018_audit_sequencer"),  # the events waiting to be chained
]


def audit_guards(connection: BaseDatabaseWrapper, *, enabled: bool) -> None:
    with connection.cursor() as cursor:
        for migration in _MIGRATIONS:
            if connection.vendor == "postgresql":
                for name, table in migration.PG_TRUNCATE_TRIGGERS:
                    cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {name}")
            elif connection.vendor == "sqlite":
                for name, statement in migration.sqlite_triggers():
                    if name.endswith("_no_delete"):
                        cursor.execute(statement if enabled else f"DROP TRIGGER IF EXISTS {name}")


def guards_back_after_flush(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver: the flush is over, the guards go back on."""
    if getattr(sender, "name", "") == "hub":
        audit_guards(connections[using], enabled=True)
