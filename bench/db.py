"""One fresh database per benchmark, next to the one ``DATABASE_URL`` names.

The scoping benchmark runs in ``DATABASE_URL``'s own database (as it always has); the sweep and
audit benchmarks each get a sibling, ``<name>_bench_sweep`` / ``<name>_bench_audit``, created on
the same server by the same role (``with-services.sh`` gives it CREATEDB), so each starts from an
empty, freshly migrated schema: the audit trail is append-only (triggers refuse DELETE and
TRUNCATE), and the sweep needs a table of open tasks that the scoping data is not. The sibling
is dropped afterwards unless asked to keep it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from django.conf import settings
from django.db import OperationalError, connection, connections

from bench.seed import log


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _switch(name: str) -> None:
    for conn in connections.all(initialized_only=True):
        conn.close()
    # The connection's settings dict is settings.DATABASES["default"] itself; set both anyway.
    connection.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name


def _drop(name: str, *, attempts: int = 5) -> None:
    """Drop ``name`` as the ordinary role the bench runs as.

    Not ``WITH (FORCE)``: that refuses when an autovacuum worker happens to be in the database
    (it has no role this one may signal; seen after the audit seed). A plain ``DROP DATABASE``
    stops autovacuum itself and waits up to 5 s for other sessions; the only others are ours
    (a worker process just exited), which this role may end first. Retried if one lingers.
    """
    for attempt in range(1, attempts + 1):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()",
                [name],
            )
            try:
                cursor.execute(f"DROP DATABASE IF EXISTS {_quoted(name)}")
                return
            except OperationalError:
                if attempt == attempts:
                    raise
        time.sleep(1)


def database_url() -> str:
    """A ``DATABASE_URL`` for the current database (for worker processes)."""
    db = connection.settings_dict
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(str(db['NAME']), safe='')}"


@contextmanager
def sibling_database(suffix: str, *, keep: bool = False) -> Iterator[str]:
    """Create ``<current>_bench_<suffix>`` (dropping a leftover of an interrupted run), make it
    the default database for the block, then switch back and drop it."""
    if connection.vendor != "postgresql":
        raise SystemExit("bench: DATABASE_URL must point at PostgreSQL (run it through `make bench`)")
    base = str(connection.settings_dict["NAME"])
    name = f"{base}_bench_{suffix}"
    _drop(name)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {_quoted(name)}")
    log(f"created database {name}")
    _switch(name)
    try:
        yield name
    finally:
        _switch(base)
        if keep:
            log(f"kept database {name}")
        else:
            _drop(name)
            log(f"dropped database {name}")
