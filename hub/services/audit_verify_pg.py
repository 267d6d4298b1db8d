"""Verifying the audit trail on PostgreSQL: a COPY stream per seq segment, segments in parallel
worker processes on one exported snapshot (``audit_verify``'s fast path).

Where the Python walk's time went (about 20 µs an event): building a model instance per row
through the ORM cursor, then ``json.dumps`` of a 17-key dict with ``sort_keys``. Here each
segment is read with ``COPY (SELECT ...) TO STDOUT`` straight from libpq (text rows), and the
canonical bytes are formatted from a template in ``canonical_event_bytes``' key order: strings
through the same C escaper ``json.dumps(..., ensure_ascii=False)`` uses, ``changes`` by
``json.loads`` then ``json.dumps`` with the same options (the ORM decodes it with ``json.loads``
too), ``{}`` without either. Then ``hashlib.sha256``. A row with no COPY escape in it (nearly
every row: a NULL marker is not one) is split only at its last ten tabs; the eight text columns
before them (action, names, justification...) repeat, so their text is one memo key for the
template's fixed pieces. About 6 µs of Python an event, against 9 before that (the bench).

The plain rows (nearly all) are checked in C: ``vihub_auditscan.Scanner`` (native/auditscan.c,
built by ``pip install .``) takes a row only when it is whole, UTF-8 and plain, follows the row
before it, is not a checkpoint's row, and the SHA-256 of the same canonical bytes (the same
``_PIECES``; ``changes`` re-sorted in C, or through ``_CHANGES``) is its stored hash. Every other
row comes back to the Python reading here, unchanged, which alone can find a row altered. About
2 µs an event in all, against 7 in Python (the bench); without the module, Python does it all.

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
import select
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from django.db import connection, transaction
from psycopg import pq

from hub.constants import GENESIS_HASH
from hub.models import AuditCheckpoint, AuditEvent
from hub.services.audit import compute_event_hash

try:
    import vihub_auditscan  # native/auditscan.c: the plain rows' checks in C
except ImportError:  # pragma: no cover  (not built: no compiler or OpenSSL headers) the same verdicts
    vihub_auditscan = None  # type: ignore[assignment]

# The columns as COPY sends them, in this order; occurred_at as UTC wall time. The text columns
# that repeat (an action, a name, a justification) come first, so a row's text up to its eighth
# tab is one memo key for their JSON (``_pieces``), and only the ten columns after it are split.
REPEATING = (
    "action", "actor_display", "actor_org", "actor_role", "justification", "object_type", "outcome",
    "recipient",
)  # fmt: skip
STREAMED = (
    *REPEATING, "seq", "prev_hash", "hash", "(occurred_at AT TIME ZONE 'UTC')", "actor_id", "object_id",
    "referral_id", "task_id", "request_id", "changes",
)  # fmt: skip
TAIL = len(STREAMED) - len(REPEATING)
FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields]
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$")
UNESCAPE = re.compile(r"\\(.)")
NULL, QUOTE, NEWLINE = "\\N", '"', ord("\n")
sha256 = hashlib.sha256
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


V = TypeVar("V")


class _Memo(dict[str, V]):
    """Bounded memo of a pure function of a string (repeated actions, names, shapes of changes)."""

    def __init__(self, function: Callable[[str], V], size: int = 4096) -> None:
        super().__init__()
        self.function, self.size = function, size

    def __missing__(self, key: str) -> V:
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.function(key)
        return value


# Built once: ``json.dumps`` with options builds a new encoder on every call, which was half the
# cost of a ``changes`` not in the memo. Same options, so the same text.
_DECODE = json.JSONDecoder().decode
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _canonical_changes(text: str) -> str:
    return _ENCODE(_DECODE(text))


def _text(field: str) -> str:
    """A text column as JSON: a NULL as ``null`` (as ``json.dumps`` gives None). ``_rows`` marks
    a row holding the real text ``\\N``, so here the marker only ever means NULL."""
    return "null" if field == NULL else encode_basestring(field)


_CHANGES: _Memo[str] = _Memo(_canonical_changes, size=1024)


def _pieces(key: str) -> tuple[str, ...] | None:
    """The fixed parts of the canonical JSON around the columns that vary, for one combination
    of the repeating columns (``key``: their COPY text, tab-separated, no escapes in it)."""
    values = key.split("\t")
    return _pieces_of(values) if len(values) == len(REPEATING) else None


def _pieces_of(values: list[str]) -> tuple[str, ...]:
    action, display, org, role, justification, object_type, outcome, recipient = map(_text, values)
    return (
        f'\x00{{"action":{action},"actor_display":{display},"actor_id":',  # the leaf prefix, then JSON
        f',"actor_org":{org},"actor_role":{role},"changes":',
        f',"justification":{justification},"object_id":',
        f',"object_type":{object_type},"occurred_at":"',
        f'+00:00","outcome":{outcome},"prev_hash":',
        f',"recipient":{recipient},"referral_id":',
    )


_PIECES: _Memo[tuple[str, ...] | None] = _Memo(_pieces)


def _canonical(
    pieces: tuple[str, ...], seq: str, prev_hash: str, at: str, actor: str, object_id: str,
    referral: str, task: str, request_id: str, changes: str,
) -> str:  # fmt: skip
    """What ``compute_event_hash`` hashes, as text: its leaf prefix (``\\x00``, in the first
    piece), then ``canonical_event_bytes(event_hash_fields(event))`` in sorted-key order: uuid
    columns as COPY prints them (hex and dashes: nothing to escape), text through the C escaper
    ``json.dumps(..., ensure_ascii=False)`` uses, occurred_at as ``isoformat(timespec=
    "microseconds")`` in UTC from PostgreSQL's ``2025-03-01 10:00:00.5``."""
    c0, c1, c2, c3, c4, c5 = pieces
    return (
        f"{c0}{'null' if actor == NULL else QUOTE + actor + QUOTE}{c1}{changes}{c2}"
        f"{'null' if object_id == NULL else encode_basestring(object_id)}"
        f"{c3}{at[:10]}T{at[11:19]}{(at[19:] or '.').ljust(7, '0')}{c4}"
        f"{'null' if prev_hash == NULL else encode_basestring(prev_hash)}{c5}"
        f'{"null" if referral == NULL else QUOTE + referral + QUOTE},"request_id":'
        f"{'null' if request_id == NULL else encode_basestring(request_id)},"
        f'"seq":{seq},"task_id":{"null" if task == NULL else QUOTE + task + QUOTE}}}'
    )


def _changes(text: str) -> str | None:
    if text == "{}":
        return text
    try:
        return _CHANGES[text]
    except ValueError:  # not JSON (a NULL): compute_event_hash decides
        return None


def fast_hash(f: list[str]) -> str:
    """SHA-256 of ``canonical_event_bytes(event_hash_fields(event))`` from one COPY row's
    (unescaped) fields, or "" when the row cannot be read this way."""
    if len(f) != len(STREAMED):  # marked by _rows: a field it cannot tell from NULL
        return ""
    pieces = _pieces_of(f[: len(REPEATING)])
    seq, prev_hash, _, at, actor, object_id, referral, task, request_id, changes = f[len(REPEATING) :]
    canonical_changes = _changes(changes)
    if canonical_changes is None:
        return ""
    canonical = _canonical(
        pieces, seq, prev_hash, at, actor, object_id, referral, task, request_id, canonical_changes
    )
    return sha256(canonical.encode()).hexdigest()


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


def read_row(text: str) -> tuple[int, str, str, str]:
    """``(seq, prev_hash, hash, fast hash)`` of one COPY row (without its newline) in Python."""
    if "\\" not in text or text.count("\\") == text.count("\\N"):
        # No escapes (NULL markers at most): the repeating columns are one memo key.
        key, seq, prev_hash, stored, at, actor, object_id, referral, task, request_id, changes = text.rsplit(
            "\t", TAIL
        )
        pieces, canonical_changes = _PIECES[key], _changes(changes)
        fast = ""
        if pieces is not None and canonical_changes is not None:
            canonical = _canonical(
                pieces, seq, prev_hash, at, actor, object_id, referral, task, request_id, canonical_changes
            )
            fast = sha256(canonical.encode()).hexdigest()
        return int(seq), prev_hash, stored, fast
    # A backslash not starting a NULL marker (\N) is an escape: undo it per field.
    fields = [f if f == NULL else _unescape(f) for f in text.split("\t")]
    if any(f == NULL for f in fields) and "\\\\N" in text:
        fields.append("")  # a real backslash-N value: the fast hash must not guess
    tail_fields = fields[len(REPEATING) :]
    return int(tail_fields[0]), tail_fields[1], tail_fields[2], fast_hash(fields)


def _python_drain(get: Callable[[int], tuple[int, Any]]) -> tuple[int, Any]:
    """``Scanner.drain`` without the native module: every message is Python's."""
    nbytes, message = get(1)
    return (1 if nbytes > 0 else nbytes), message


def _rows(
    conn: psycopg.Connection[Any],
    table: str,
    lo: int,
    hi: int,
    scanner: vihub_auditscan.Scanner | None = None,
) -> Generator[tuple[int, str, str, str]]:
    """``(seq, prev_hash, hash, fast hash)`` for each row of one seq range (the fast hash "" when
    the row cannot be read that way) that ``scanner`` (a ``vihub_auditscan.Scanner``) did not
    take: it takes, checks and counts the plain rows that follow their predecessor, in C. Read
    straight from libpq (``PQgetCopyData``, one row a message; ``select`` on the socket when
    nothing is buffered): psycopg's ``Copy`` iterator spent as long per row in its wait-and-retry
    generators as splitting the row did. Closed early, the rest of the COPY is read and dropped,
    so the connection is ready for the next query."""
    query = (
        f"COPY (SELECT {', '.join(STREAMED)} FROM {table} "  # noqa: S608  (quoted identifiers, ints)
        f"WHERE seq >= {int(lo)} AND seq <= {int(hi)} ORDER BY seq) TO STDOUT"
    )
    pg = conn.pgconn
    pg.send_query(query.encode())
    _expect(pg, pq.ExecStatus.COPY_OUT)
    get = pg.get_copy_data
    drain = scanner.drain if scanner is not None else _python_drain
    nbytes, partial = 0, b""
    try:
        while (got := (_python_drain(get) if partial else drain(get)))[0] >= 0:
            nbytes, message = got
            if nbytes == 0:  # nothing buffered: wait for the socket (without holding the GIL)
                _wait_readable(pg)
                continue
            if partial or message[-1] != NEWLINE:
                # Not whole rows (not what PostgreSQL sends, but never assumed): bytes until a
                # message ends a row, so a character split across two is decoded whole.
                partial += bytes(message)
                if partial[-1] != NEWLINE:
                    continue
                data, partial = partial.decode(), b""
            else:
                data = str(message, "utf-8")
            lines = [data[:-1]] if data.count("\n") == 1 else data[:-1].split("\n")
            for text in lines:
                yield read_row(text)
        nbytes = -1
    finally:
        while nbytes >= 0:  # closed early: drain the COPY
            nbytes = get(1)[0]
            if nbytes == 0:
                _wait_readable(pg)
        _expect(pg, pq.ExecStatus.COMMAND_OK)


def _wait_readable(pg: pq.abc.PGconn) -> None:
    select.select([pg.socket], [], [])
    pg.consume_input()


def _expect(pg: pq.abc.PGconn, status: pq.ExecStatus) -> None:
    """The next result of the connection's query has ``status`` (else its error is raised); on
    the end of a COPY, also collect the empty result that ends the query."""
    result = pg.get_result()
    if result is None or result.status != status:
        if result is None:
            raise psycopg.OperationalError(pg.get_error_message())
        error = psycopg.errors.error_from_result(result, encoding="utf-8")
        while pg.get_result() is not None:
            pass
        raise error
    if status == pq.ExecStatus.COMMAND_OK:
        while pg.get_result() is not None:
            pass


def _scanner(checkpoints: dict[int, str]) -> vihub_auditscan.Scanner | None:
    """The native row checker, or None when the module was not built (then Python does it all)."""
    return None if vihub_auditscan is None else vihub_auditscan.Scanner(_PIECES, _CHANGES, list(checkpoints))


def scan(
    conn: psycopg.Connection[Any],
    table: str,
    lo: int,
    hi: int,
    checkpoints: dict[int, str],
    exact: Callable[[int, str], bool],
) -> Segment:
    """Walk one seq range on ``conn`` (in its current transaction). An event whose fast hash
    does not match ends the COPY; ``exact`` then decides, and a false alarm resumes after it.

    The native scanner takes the plain rows that follow the one before them (it counts them and
    keeps the link); every other row comes here, where ``expected`` is first caught up with the
    rows it took, then checked as before."""
    segment = Segment()
    scanner = _scanner(checkpoints)
    seen, taken, expected_seq, expected_prev, start = 0, 0, 0, "", lo

    def catch_up() -> None:
        nonlocal taken, expected_seq, expected_prev
        if scanner is not None and scanner.accepted != taken and scanner.last is not None:
            taken = scanner.accepted
            last_seq, expected_prev = scanner.last
            expected_seq = last_seq + 1

    while start <= hi:
        suspect: tuple[int, str] | None = None
        rows = _rows(conn, table, start, hi, scanner)
        for seq, prev_hash, stored, fast in rows:
            catch_up()
            seen += 1
            n = seen + taken
            if n == 1:
                segment.first = (seq, prev_hash)
            elif seq != expected_seq or prev_hash != expected_prev:  # (the checks, inline: per row)
                bad = link_error(seq, prev_hash, expected_seq, expected_prev)
                if bad is not None:
                    return _failed(segment, bad, n)
            if fast != stored:
                suspect = (seq, stored)
                rows.close()  # the connection is needed for the exact check: end this COPY first
                break
            if seq in checkpoints and (bad := _checkpoint_error(seq, stored, checkpoints)) is not None:
                return _failed(segment, bad, n)
            expected_seq, expected_prev = seq + 1, stored
            if scanner is not None:
                scanner.expect(expected_seq, expected_prev)
        catch_up()
        n = seen + taken
        if suspect is None:
            if n:
                segment.last, segment.count = (expected_seq - 1, expected_prev), n
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
        if scanner is not None:
            scanner.expect(expected_seq, expected_prev)
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
