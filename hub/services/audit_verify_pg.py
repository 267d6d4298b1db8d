"""Verifying the audit trail inside PostgreSQL, in parallel segments (``audit_verify``'s fast path).

The slow part of a Python walk is not SHA-256 but fetching each row through the ORM and
building its canonical JSON with ``json.dumps`` (about 20 µs an event). Here PostgreSQL builds
the exact bytes ``compute_event_hash`` hashes and runs its built-in ``sha256(bytea)`` on them; a
window over each seq range compares every row with the row before it (the link and the gap
checks), and only the rows that need a look leave the server: the first and last row of each
segment, the checkpointed rows, and rows whose check failed or could not be made in SQL.

**Byte-for-byte the same canonical form.** Keys sorted by code point (``COLLATE "C"`` on
UTF-8 is code-point order), no whitespace, UTF-8, strings escaped as ``json.dumps(...,
ensure_ascii=False)`` escapes them (PostgreSQL's ``escape_json``: ``\\" \\\\ \\b \\f \\n \\r \\t``
and ``\\u00xx`` in lower case for other control characters; everything else raw),
``occurred_at`` as ``isoformat(timespec="microseconds")`` in UTC, UUIDs in lower case, absent
ones ``null``. ``changes`` (jsonb) is rebuilt by a recursive function that exists only in
the verifying session (``pg_temp``), so nobody who can only change the schema can swap it.
A number in ``changes`` that is not a plain integer (``1.50``, ``1e-7``: Python prints the
float it loads differently from PostgreSQL's numeric) makes the SQL form NULL, and that one
event is hashed in Python from its ORM row instead: exact, only slower. So is any event with a
NULL where the SQL form expects a value. The verifying transaction's ``search_path`` is
``pg_catalog`` first, so a user-defined function or operator cannot shadow a built-in.

**Same findings as the Python walk.** Each worker thread (its own connection, all on one
exported snapshot) walks its seq range with ``expected = (previous row's seq + 1, its hash)``
and stops at its first failure; the coordinator then replays the segments in order, checking
each segment's first row against the last row of the one before (a gap, a reordering or an
insertion across a boundary is caught exactly as inside one). The first failure in seq order
is reported with the message the Python walk gives, and ``events_checked`` counts the events
before it. Memory is flat: workers stream with a server-side cursor and keep O(1) state.

Inside a transaction that is already open (a caller's ``transaction.atomic()``, a test),
other connections cannot see its writes, so the segments run one after the other on the
caller's connection (same SQL, no threads).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, transaction

from hub.constants import GENESIS_HASH
from hub.models import AuditCheckpoint, AuditEvent
from hub.services.audit import compute_event_hash

# A temporary function: created by the verifier in its own session, found only by its
# qualified name, gone when the session ends.
CANON_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pg_temp.vihub_canonical_json(j jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE jsonb_typeof(j)
  WHEN 'object' THEN (
    SELECT CASE WHEN bool_and(c IS NOT NULL) IS FALSE THEN NULL
           ELSE '{' || coalesce(string_agg(to_jsonb(k)::text || ':' || c, ',' ORDER BY k COLLATE "C"), '')
                || '}'
           END
    FROM (SELECT e.key AS k, pg_temp.vihub_canonical_json(e.value) AS c FROM jsonb_each(j) AS e) AS s)
  WHEN 'array' THEN (
    SELECT CASE WHEN bool_and(c IS NOT NULL) IS FALSE THEN NULL
           ELSE '[' || coalesce(string_agg(c, ',' ORDER BY n), '') || ']'
           END
    FROM (SELECT a.n, pg_temp.vihub_canonical_json(a.v) AS c
          FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, n)) AS s)
  WHEN 'number' THEN CASE WHEN j::text ~ '^-?[0-9]+$' THEN j::text END
  ELSE j::text
END
$$
"""


def _nullable(column: str) -> str:
    return f"coalesce(to_json({column}::text)::text, 'null')"


# The canonical bytes of ``event_hash_fields``, keys in sorted order. Any NULL makes it NULL.
CANONICAL = (
    """'{"action":' || to_json(action)::text"""
    """ || ',"actor_display":' || to_json(actor_display)::text"""
    f""" || ',"actor_id":' || {_nullable("actor_id")}"""
    """ || ',"actor_org":' || to_json(actor_org)::text"""
    """ || ',"actor_role":' || to_json(actor_role)::text"""
    """ || ',"changes":' || CASE WHEN changes = '{}'::jsonb THEN '{}'"""
    """ ELSE pg_temp.vihub_canonical_json(changes) END"""
    """ || ',"justification":' || to_json(justification)::text"""
    """ || ',"object_id":' || to_json(object_id)::text"""
    """ || ',"object_type":' || to_json(object_type)::text"""
    """ || ',"occurred_at":"' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    """ || '+00:00","outcome":' || to_json(outcome)::text"""
    """ || ',"prev_hash":' || to_json(prev_hash)::text"""
    """ || ',"recipient":' || to_json(recipient)::text"""
    f""" || ',"referral_id":' || {_nullable("referral_id")}"""
    """ || ',"request_id":' || to_json(request_id)::text"""
    """ || ',"seq":' || seq::text"""
    f""" || ',"task_id":' || {_nullable("task_id")}"""
    """ || '}'"""
)

# One seq range. Rows that need a look: the first and last of the range, checkpointed ones,
# and any whose link, gap or hash check failed or could not be made in SQL (hash_ok NULL).
# (Built from constants; the table name is quoted, the bounds are parameters.)
SEGMENT = f"""
SELECT seq, prev_hash, hash, lag_seq, lag_hash, n, hash_ok
FROM (
    SELECT seq, prev_hash, hash,
           lag(seq) OVER w AS lag_seq, lag(hash) OVER w AS lag_hash,
           row_number() OVER w AS n, lead(seq) OVER w IS NULL AS is_last,
           encode(sha256('\\x00'::bytea || convert_to(canonical, 'UTF8')), 'hex') = hash AS hash_ok
    FROM (SELECT seq, prev_hash, hash, {CANONICAL} AS canonical
          FROM {{table}} WHERE seq >= %s AND seq <= %s) AS e
    WINDOW w AS (ORDER BY seq)
) AS s
WHERE lag_seq IS NULL OR is_last OR seq <> lag_seq + 1 OR prev_hash <> lag_hash
      OR hash_ok IS NOT TRUE OR seq = ANY(%s)
ORDER BY seq
"""  # noqa: S608


class Tampered(Exception):
    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq, self.message = seq, message


@dataclass
class _Row:
    seq: int
    prev_hash: str
    hash: str
    n: int  # position in its segment, from 1


@dataclass
class _Segment:
    count: int = 0
    first: _Row | None = None
    first_error: Tampered | None = None  # the first row's own hash/checkpoint check
    last: _Row | None = None
    failure: Tampered | None = None  # the first failure after the first row
    failed_at: int = 0  # its position in the segment


def link_error(seq: int, prev_hash: str, expected_seq: int, expected_prev: str | None) -> Tampered | None:
    """The Python walk's checks 1–3, in its order: a gap, a reordering, a broken link."""
    if seq > expected_seq:
        return Tampered(expected_seq, f"event #{expected_seq} is missing (the next present is #{seq})")
    if seq < expected_seq:
        return Tampered(seq, f"event #{seq} is out of order or duplicated")
    if prev_hash != expected_prev:
        return Tampered(seq, f"event #{seq} does not follow #{seq - 1} (inserted, deleted or reordered)")
    return None


def content_error(
    seq: int, stored_hash: str, hash_ok: bool | None, checkpoints: dict[int, str]
) -> Tampered | None:
    """Checks 4–5: the event's own hash (in Python when SQL could not say), its checkpoint."""
    if hash_ok is None:
        hash_ok = _python_hash_ok(seq, stored_hash)
    if not hash_ok:
        return Tampered(seq, f"event #{seq} was altered (its content no longer matches its hash)")
    head = checkpoints.get(seq)
    if head is not None and head != stored_hash:
        return Tampered(seq, f"event #{seq} differs from signed checkpoint #{seq} (the trail was rewritten)")
    return None


_search_path = threading.local()  # the caller's, while a walk runs with pg_catalog first


def _python_hash_ok(seq: int, stored_hash: str) -> bool:
    """The event's hash from its ORM row (the application's own search_path for this query)."""
    walking = getattr(_search_path, "previous", None)
    if walking is not None:
        _restore(walking)
    try:
        event = AuditEvent.objects.filter(seq=seq).first()
    finally:
        if walking is not None:
            _restore(BUILTINS_FIRST)
    return event is not None and compute_event_hash(event) == stored_hash


BUILTINS_FIRST = "pg_catalog, pg_temp"


def _prepare() -> str:
    """Built-ins first for the rest of this transaction; the canonical-JSON function defined.
    Returns the search_path to put back (a caller's transaction goes on after the walk)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        (previous,) = cursor.fetchone()
        cursor.execute("SELECT set_config('search_path', %s, true)", [BUILTINS_FIRST])
        cursor.execute(CANON_FUNCTION)
    return str(previous)


def _restore(search_path: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('search_path', %s, true)", [search_path])


def _table() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        (schema,) = cursor.fetchone()
    return f"{schema}.{connection.ops.quote_name(AuditEvent._meta.db_table)}"


def _scan(table: str, lo: int, hi: int, checkpoints: dict[int, str], chunk_size: int) -> _Segment:
    """Walk one seq range on this thread's connection, in the current transaction."""
    previous = _search_path.previous = _prepare()
    try:
        return _scan_rows(table, lo, hi, checkpoints, chunk_size)
    finally:
        _search_path.previous = None
        _restore(previous)


def _scan_rows(table: str, lo: int, hi: int, checkpoints: dict[int, str], chunk_size: int) -> _Segment:
    segment = _Segment()
    raw = connection.connection
    if raw is None:  # pragma: no cover  (a cursor was just opened on it)
        raise RuntimeError("no database connection")
    with raw.cursor(name=f"vihub_verify_{lo}") as cursor:  # server-side: bounded memory
        cursor.itersize = max(chunk_size, 100)
        cursor.execute(SEGMENT.replace("{table}", table), [lo, hi, sorted(checkpoints)])
        for seq, prev_hash, stored, lag_seq, lag_hash, n, hash_ok in cursor:
            row = _Row(seq, prev_hash, stored, n)
            if lag_seq is None:  # linked to the segment before by the coordinator
                segment.first = row
                segment.first_error = content_error(seq, stored, hash_ok, checkpoints)
                if segment.first_error is not None:
                    return segment
            else:
                bad = link_error(seq, prev_hash, lag_seq + 1, lag_hash) or content_error(
                    seq, stored, hash_ok, checkpoints
                )
                if bad is not None:
                    segment.failure, segment.failed_at = bad, n
                    return segment
            segment.last, segment.count = row, n
    return segment


def _ranges(lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    size = max(1, -(-(hi - lo + 1) // parts))
    return [(start, min(hi, start + size - 1)) for start in range(lo, hi + 1, size)]


def default_workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))


def walk_postgresql(
    checkpoints: dict[int, AuditCheckpoint],
    chunk_size: int,
    counter: list[int],
    workers: int | None = None,
    segments: int | None = None,
) -> None:
    """Raise ``Tampered`` at the first bad event in seq order; ``counter[0]`` counts the good ones.
    ``segments``: how many seq ranges (default: 4 per worker; 1 inside an open transaction)."""
    heads = {seq: c.head_hash for seq, c in checkpoints.items()}
    workers = workers or default_workers()
    table = _table()
    if connection.in_atomic_block or workers == 1:
        with transaction.atomic():
            lo, hi = _bounds(table)
            ranges = _ranges(lo, hi, segments or 1) if lo <= hi else []
            scans: Iterator[_Segment] = (_scan(table, a, b, heads, chunk_size) for a, b in ranges)
            _replay(scans, heads, counter)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        lo, hi = _bounds(table)
        ranges = _ranges(lo, hi, segments or workers * 4) if lo <= hi else []
        stop = threading.Event()

        def run(bounds: tuple[int, int]) -> _Segment:
            return _in_snapshot(snapshot, stop, lambda: _scan(table, *bounds, heads, chunk_size))

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
            try:
                _replay(pool.map(run, ranges), heads, counter)
            finally:
                stop.set()


def _in_snapshot(snapshot: str, stop: threading.Event, scan: Callable[[], _Segment]) -> _Segment:
    if stop.is_set():  # an earlier segment already failed: this one no longer matters
        return _Segment()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return scan()
    finally:
        connection.close()


def _bounds(table: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(seq), max(seq) FROM {table}")  # noqa: S608  (quoted identifiers)
        lo, hi = cursor.fetchone()
    if lo is None:
        return 1, 0
    return min(int(lo), 1), int(hi)


def _replay(segments: Iterator[_Segment], checkpoints: dict[int, str], counter: list[int]) -> None:
    expected_seq, expected_prev = 1, GENESIS_HASH
    for segment in segments:
        if segment.first is None:
            continue
        first = segment.first
        bad = link_error(first.seq, first.prev_hash, expected_seq, expected_prev) or segment.first_error
        if bad is not None:
            raise bad
        if segment.failure is not None:
            counter[0] += segment.failed_at - 1
            raise segment.failure
        counter[0] += segment.count
        last = segment.last or first
        expected_seq, expected_prev = last.seq + 1, last.hash
    last_checkpoint = max(checkpoints, default=0)
    if last_checkpoint >= expected_seq:
        raise Tampered(
            expected_seq,
            f"event #{expected_seq} is missing: the trail ends at #{expected_seq - 1} "
            f"but checkpoint #{last_checkpoint} was signed (the tail was truncated)",
        )
