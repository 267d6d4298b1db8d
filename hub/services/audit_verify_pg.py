"""Verifying the audit trail on PostgreSQL: a COPY stream per seq segment, segments in parallel
worker processes on one exported snapshot (``audit_verify``'s fast path).

Where the Python walk's time went (about 20 µs an event): building a model instance per row
through the ORM cursor, then ``json.dumps`` of a 17-key dict with ``sort_keys``. Here each
segment is read with ``COPY (SELECT ...) TO STDOUT`` (text rows, split in Python) and the
canonical bytes are formatted from a template in ``canonical_event_bytes``' key order: strings
through the same C escaper ``json.dumps(..., ensure_ascii=False)`` uses, ``changes`` by
``json.dumps(json.loads(...))`` with the same options (the ORM decodes it with ``json.loads``
too), ``{}`` without either. Then ``hashlib.sha256``.

**Never a different verdict from the Python walk.** The template is only a faster way to build
the same bytes: when an event's fast hash does not match, the event is rebuilt as an
``AuditEvent`` from a plain query of its row and hashed with ``compute_event_hash`` itself, and
only that decides "altered". So an exotic row (a NULL where a value belongs, a BC date) costs a
query, never a false finding; and a fast hash that matches means the stored hash is the hash of
exactly what ``event_hash_fields`` gives for the row (the template is faithful, hence injective).

**Same findings, same order.** Each segment is walked with ``expected = (previous row's seq + 1,
its hash)`` from its own first row and stops at its first failure; the coordinator then takes
the segments in seq order, checking each one's first row against the last row of the one before
(a gap, reordering or insertion across a boundary is caught as inside one). The first failure
in seq order is reported with the Python walk's message, and ``events_checked`` counts the
events before it. Memory is flat: a COPY stream in blocks, O(1) state per worker.

Parallel workers are forked processes (``fork``: no re-import of ``__main__``), each with its
own psycopg connection (never the parent's) in a REPEATABLE READ transaction on the parent's
``pg_export_snapshot()``, so all see one state of the trail. Inside a transaction that is
already open (a caller's ``transaction.atomic()``, a test) other connections cannot see its
writes, so the segments are walked one after the other on the caller's own connection.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

import psycopg
from django.db import connection, transaction

from hub.constants import GENESIS_HASH
from hub.models import AuditCheckpoint, AuditEvent
from hub.services.audit import compute_event_hash

# The columns as COPY sends them, in this order; occurred_at as UTC wall time.
STREAMED = (
    "seq", "prev_hash", "hash", "(occurred_at AT TIME ZONE 'UTC')", "actor_id", "actor_display", "actor_org",
    "actor_role", "action", "object_type", "object_id", "referral_id", "task_id", "request_id", "changes",
    "justification", "recipient", "outcome",
)  # fmt: skip
FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields]
COPY_BLOCK = 1 << 20
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")
UNESCAPE = re.compile(r"\\(.)")
COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


class Tampered(Exception):
    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq, self.message = seq, message

    def __reduce__(self) -> tuple[Any, ...]:  # back from a worker process
        return (Tampered, (self.seq, self.message))


@dataclass
class Segment:
    count: int = 0
    first: tuple[int, str] | None = None  # (seq, prev_hash) of its first row
    first_error: Tampered | None = None  # the first row's own hash or checkpoint check
    last: tuple[int, str] | None = None  # (seq, hash) of its last good row
    failure: Tampered | None = None  # the first failure after the first row
    failed_at: int = 0  # its position in the segment, from 1


def link_error(seq: int, prev_hash: str, expected_seq: int, expected_prev: str) -> Tampered | None:
    """The Python walk's checks 1–3, in its order: a gap, a reordering, a broken link."""
    if seq > expected_seq:
        return Tampered(expected_seq, f"event #{expected_seq} is missing (the next present is #{seq})")
    if seq < expected_seq:
        return Tampered(seq, f"event #{seq} is out of order or duplicated")
    if prev_hash != expected_prev:
        return Tampered(seq, f"event #{seq} does not follow #{seq - 1} (inserted, deleted or reordered)")
    return None


def _unescape(field: str) -> str:
    return UNESCAPE.sub(lambda m: COPY_ESCAPES.get(m.group(1), m.group(1)), field)


def _uuid(field: str) -> str:
    """A uuid column as COPY prints it (hex and dashes: nothing to escape), or null."""
    return "null" if field == "\\N" else f'"{field}"'


def _timestamp(field: str) -> str:
    """PostgreSQL's ``2025-03-01 10:00:00.5`` as ``isoformat(timespec="microseconds")`` in UTC."""
    fraction = field[19:]
    return f"{field[:10]}T{field[11:19]}{(fraction or '.').ljust(7, '0')}+00:00"


class _Memo(dict[str, str]):
    """Bounded memo of a pure function of a string (repeated actions, names, shapes of changes)."""

    def __init__(self, function: Callable[[str], str], size: int = 4096) -> None:
        super().__init__()
        self.function, self.size = function, size

    def __missing__(self, key: str) -> str:
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.function(key)
        return value


def _canonical_changes(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(field: str) -> str:
    """A text column as JSON: a NULL as ``null`` (as ``json.dumps`` gives None). ``_rows`` marks
    a row holding the real text ``\\N``, so here the marker only ever means NULL."""
    return "null" if field == "\\N" else encode_basestring(field)


_ENCODED = _Memo(_text)
_CHANGES = _Memo(_canonical_changes, size=1024)


def fast_hash(f: list[str]) -> str:
    """SHA-256 of ``canonical_event_bytes(event_hash_fields(event))`` from one COPY row."""
    if len(f) != len(STREAMED):  # marked by _rows: a field it cannot tell from NULL
        return ""
    changes = f[14]
    if changes != "{}":
        try:
            changes = _CHANGES[changes]
        except ValueError:  # not JSON (a NULL): compute_event_hash decides
            return ""
    es = _ENCODED
    canonical = (
        f'{{"action":{es[f[8]]},"actor_display":{es[f[5]]},"actor_id":{_uuid(f[4])},'
        f'"actor_org":{es[f[6]]},"actor_role":{es[f[7]]},"changes":{changes},'
        f'"justification":{es[f[15]]},"object_id":{_text(f[10])},"object_type":{es[f[9]]},'
        f'"occurred_at":"{_timestamp(f[3])}","outcome":{es[f[17]]},"prev_hash":{_text(f[1])},'
        f'"recipient":{es[f[16]]},"referral_id":{_uuid(f[11])},"request_id":{_text(f[13])},'
        f'"seq":{int(f[0])},"task_id":{_uuid(f[12])}}}'
    )
    return hashlib.sha256(b"\x00" + canonical.encode()).hexdigest()


def raw_exact_hash_ok(conn: psycopg.Connection[Any], table: str) -> Callable[[int, str], bool]:
    """The slow, authoritative check on a plain psycopg connection (a worker's): the row as an
    ``AuditEvent`` (psycopg decodes jsonb, uuid and timestamptz as the ORM does), hashed by
    ``compute_event_hash``."""
    columns = ", ".join(connection.ops.quote_name(c) for c in FIELDS)

    def check(seq: int, stored: str) -> bool:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table} WHERE seq = %s", [seq])  # noqa: S608
            row = cursor.fetchone()
        return (
            row is not None
            and compute_event_hash(AuditEvent(**dict(zip(FIELDS, row, strict=True)))) == stored
        )

    return check


def orm_exact_hash_ok(seq: int, stored: str) -> bool:
    """The same through the ORM (the caller's own connection)."""
    event = AuditEvent.objects.filter(seq=seq).first()
    return event is not None and compute_event_hash(event) == stored


def _rows(conn: psycopg.Connection[Any], table: str, lo: int, hi: int) -> Generator[list[str]]:
    query = (
        f"COPY (SELECT {', '.join(STREAMED)} FROM {table} "  # noqa: S608  (quoted identifiers, ints)
        f"WHERE seq >= {int(lo)} AND seq <= {int(hi)} ORDER BY seq) TO STDOUT"
    )
    tail = b""
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            lines = (tail + bytes(block)).split(b"\n")
            tail = lines.pop()
            for line in lines:
                text = line.decode()
                fields = text.split("\t")
                # A backslash not starting a NULL marker (\N) is an escape: undo it per field.
                if text.count("\\") != text.count("\\N"):
                    fields = [f if f == "\\N" else _unescape(f) for f in fields]
                    if any(f == "\\N" for f in fields) and "\\\\N" in text:
                        fields.append("")  # a real backslash-N value: the fast hash must not guess
                yield fields


def scan(
    conn: psycopg.Connection[Any],
    table: str,
    lo: int,
    hi: int,
    checkpoints: dict[int, str],
    exact: Callable[[int, str], bool],
) -> Segment:
    """Walk one seq range on ``conn`` (in its current transaction). An event whose fast hash
    does not match ends the COPY; ``exact`` then decides, and a false alarm resumes after it."""
    segment = Segment()
    n, expected_seq, expected_prev, start = 0, 0, "", lo
    while start <= hi:
        suspect: tuple[int, str] | None = None
        rows = _rows(conn, table, start, hi)
        for f in rows:
            n += 1
            seq, prev_hash, stored = int(f[0]), f[1], f[2]
            bad = link_error(seq, prev_hash, expected_seq, expected_prev) if n > 1 else None
            if n == 1:
                segment.first = (seq, prev_hash)
            if bad is None and fast_hash(f) != stored:
                suspect = (seq, stored)
                rows.close()  # the connection is needed for the exact check: end this COPY first
                break
            if bad is None:
                bad = _checkpoint_error(seq, stored, checkpoints)
            if bad is not None:
                return _failed(segment, bad, n)
            segment.last, segment.count = (seq, stored), n
            expected_seq, expected_prev = seq + 1, stored
        if suspect is None:
            return segment
        seq, stored = suspect
        if not exact(seq, stored):
            return _failed(
                segment,
                Tampered(seq, f"event #{seq} was altered (its content no longer matches its hash)"),
                n,
            )
        if (bad := _checkpoint_error(seq, stored, checkpoints)) is not None:
            return _failed(segment, bad, n)
        segment.last, segment.count = (seq, stored), n
        expected_seq, expected_prev, start = seq + 1, stored, seq + 1
    return segment


def _checkpoint_error(seq: int, stored: str, checkpoints: dict[int, str]) -> Tampered | None:
    head = checkpoints.get(seq)
    if head is not None and head != stored:
        return Tampered(seq, f"event #{seq} differs from signed checkpoint #{seq} (the trail was rewritten)")
    return None


def _failed(segment: Segment, bad: Tampered, n: int) -> Segment:
    if n == 1:
        segment.first_error = bad
    else:
        segment.failure, segment.failed_at = bad, n
    return segment


# --- Workers ---------------------------------------------------------------------------------

_job: dict[str, Any] = {}  # set in the parent before forking: what every worker needs


def _worker(bounds: tuple[int, int]) -> Segment:
    """In a forked process: its own connection, on the parent's snapshot."""
    with psycopg.connect(**_job["params"], autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        conn.execute(f"SET TRANSACTION SNAPSHOT '{_job['snapshot']}'")
        try:
            table = _job["table"]
            return scan(
                conn, table, bounds[0], bounds[1], _job["checkpoints"], raw_exact_hash_ok(conn, table)
            )
        finally:
            conn.execute("ROLLBACK")


def _ranges(lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    size = max(1, -(-(hi - lo + 1) // parts))
    return [(start, min(hi, start + size - 1)) for start in range(lo, hi + 1, size)]


def default_workers() -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cpus))


def _table() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        (schema,) = cursor.fetchone()
    return f"{schema}.{connection.ops.quote_name(AuditEvent._meta.db_table)}"


def _bounds(table: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(seq), max(seq) FROM {table}")  # noqa: S608  (quoted identifiers)
        lo, hi = cursor.fetchone()
    if lo is None:
        return 1, 0
    return min(int(lo), 1), int(hi)


def walk_postgresql(
    checkpoints: dict[int, AuditCheckpoint],
    counter: list[int],
    workers: int | None = None,
    segments: int | None = None,
) -> None:
    """Raise ``Tampered`` at the first bad event in seq order; ``counter[0]`` counts the good ones.
    ``segments``: how many seq ranges (default: 4 per worker; 1 on a single connection)."""
    heads = {seq: c.head_hash for seq, c in checkpoints.items()}
    # One connection unless the caller asks for workers (manage.py verify_audit does): a forked
    # child runs the parent's after-fork hooks, and kombu's closes the parent's Redis channel,
    # which blocks for ever on a process that has published a Celery job (seen in the bench).
    workers = workers or 1
    table = _table()
    if connection.in_atomic_block or workers == 1:
        with transaction.atomic():
            lo, hi = _bounds(table)
            raw = connection.connection
            if raw is None:  # pragma: no cover  (a query just ran on it)
                raise RuntimeError("no database connection")
            ranges = _ranges(lo, hi, segments or 1) if lo <= hi else []
            scans = (scan(raw, table, a, b, heads, orm_exact_hash_ok) for a, b in ranges)
            _replay(scans, heads, counter)
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        if not SNAPSHOT_ID.match(snapshot):  # pragma: no cover
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        lo, hi = _bounds(table)
        ranges = _ranges(lo, hi, segments or workers * 4) if lo <= hi else []
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        _job.update(params=params, snapshot=snapshot, table=table, checkpoints=heads)
        try:
            pool = multiprocessing.get_context("fork").Pool(min(workers, max(1, len(ranges))))
        except (AssertionError, OSError):  # a daemonic process may not fork workers: one connection
            _job.clear()
            raw = connection.connection
            if raw is None:  # pragma: no cover
                raise RuntimeError("no database connection") from None
            _replay((scan(raw, table, a, b, heads, orm_exact_hash_ok) for a, b in ranges), heads, counter)
            return
        try:
            with pool:
                _replay(pool.imap(_worker, ranges), heads, counter)
        finally:
            _job.clear()


def _replay(segments: Iterable[Segment], checkpoints: dict[int, str], counter: list[int]) -> None:
    expected_seq, expected_prev = 1, GENESIS_HASH
    for segment in segments:
        if segment.first is None:
            continue
        bad = link_error(*segment.first, expected_seq, expected_prev) or segment.first_error
        if bad is not None:
            raise bad
        if segment.failure is not None:
            counter[0] += segment.failed_at - 1
            raise segment.failure
        counter[0] += segment.count
        if segment.last is not None:
            expected_seq, expected_prev = segment.last[0] + 1, segment.last[1]
    last_checkpoint = max(checkpoints, default=0)
    if last_checkpoint >= expected_seq:
        raise Tampered(
            expected_seq,
            f"event #{expected_seq} is missing: the trail ends at #{expected_seq - 1} "
            f"but checkpoint #{last_checkpoint} was signed (the tail was truncated)",
        )
