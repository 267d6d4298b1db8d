"""The PostgreSQL verifier (``hub.services.audit_verify_pg``) agrees with the Python walk: its
fast hash of a COPY row is ``compute_event_hash`` of the event; a row it misreads is decided by
``compute_event_hash``; every kind of tampering gets the same first bad event, message and count
however the trail is cut into segments; and forked workers on one exported snapshot find the same."""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

import vihub_auditscan
from hub.context import request_id_var
from hub.models import AuditCheckpoint, AuditEvent
from hub.services import audit_verify_pg
from hub.services.audit import audit_record, compute_event_hash
from hub.services.audit_integrity import _walk, audit_checkpoint, audit_verify
from hub.services.audit_verify_pg import _PIECES, Tampered, _rows, _table, read_row, walk_postgresql
from tests.hub.test_audit_tamper import (
    _delete,
    _edit,
    _edit_changes,
    _insert,
    _reorder,
    _rewrite_and_recompute,
    _truncate_behind_checkpoint,
    sql,
    trail,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
__all__ = ["trail"]  # the fixture, shared with the tamper tests

AWKWARD: list[dict[str, Any]] = [
    {},
    {"z": 1, "a": 2, "B": 3, "é": 4, "ä": 5, "aa": 6, "\U0001f600": 7, "": 8, "a b": 9},
    {"quote": 'say "hi"\\', "ctl": "\x01\x08\x0c\n\r\t\x1f\x7f", "u": "\u2028\u2029\ufeff caf\u00e9"},
    {"nested": {"list": [1, -2, 0, [], {}, [None, True, False]], "deep": {"y": {"x": "ok"}}}},
    {"big": 12345678901234567890123, "neg": -7, "zero": 0, "null": None, "t": True, "f": False},
    {"ids": ["8c5d7d3e-0000-4000-8000-000000000000"], "count": 1, "query": {"q": "Smith's", "page": 2}},
]
# (Not 1e300: written as 1e+300, stored as an integer numeric, read back as an int, it fails the
# Python walk too: a float in ``changes`` is hashed as written and checked as read back.)
FLOATS: list[dict[str, Any]] = [{"ratio": 0.5}, {"nested": [{"x": 1e-7}]}, {"n": 1.0}, {"n": -0.1}]


def _fast_hashes() -> dict[int, str]:
    with transaction.atomic():
        raw = connection.connection
        assert raw is not None
        return {seq: fast for seq, _, _, fast in _rows(raw, _table(), -(10**9), 10**9)}


def test_the_fast_hash_is_compute_event_hash() -> None:
    for i, changes in enumerate(AWKWARD + FLOATS):
        audit_record(
            actor=None, action="organisation.seeded", object_id=f"o\"bj\\{i}\n", changes=changes,
            justification="Ünïcødé — \U0001f600 \"quoted\"\ttab\\n\\", recipient="Children's Services (MASH)",
        )  # fmt: skip
        # No character COPY escapes, several JSON does: read on the unescaped path.
        audit_record(
            actor=None, action="organisation.seeded", object_id=f'o"bj{i}\x01', changes=changes,
            justification='Ünïcødé — \U0001f600 "quoted" \x7f\u2028', recipient='"MASH" \x1f',
        )  # fmt: skip
    fast = _fast_hashes()
    for event in AuditEvent.objects.order_by("seq"):
        assert fast[event.seq] == compute_event_hash(event) == event.hash, event.changes


def test_a_row_the_template_cannot_read_is_decided_by_compute_event_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seqs = [audit_record(actor=None, action="organisation.seeded", changes={"i": i}).seq for i in range(6)]
    # Every row a suspect, on either way of reading it (with escapes or without).
    monkeypatch.setattr("hub.services.audit_verify_pg._canonical", lambda *fields: "not the event")
    monkeypatch.setattr("hub.services.audit_verify_pg.fast_hash", lambda fields: "")
    assert audit_verify(record=False).ok
    sql("""UPDATE hub_auditevent SET changes = '{"i": 99}' WHERE seq = %s""", [seqs[2]])
    result = audit_verify(record=False)
    assert not result.ok and result.first_bad_seq == seqs[2], result.message


def _python_walk() -> tuple[int | None, str, int]:
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.order_by("seq")}
    counter = [0]
    try:
        _walk(checkpoints, 5000, counter)
    except Tampered as bad:
        return bad.seq, bad.message, counter[0]
    return None, "", counter[0]


def _pg_walk(segments: int, workers: int = 1) -> tuple[int | None, str, int]:
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.order_by("seq")}
    counter = [0]
    try:
        walk_postgresql(checkpoints, counter, workers=workers, segments=segments)
    except Tampered as bad:
        return bad.seq, bad.message, counter[0]
    return None, "", counter[0]


TAMPERS = [
    _edit,
    _edit_changes,
    _delete,
    _insert,
    _reorder,
    _truncate_behind_checkpoint,
    _rewrite_and_recompute,
]


@pytest.fixture(params=["native", "python"])
def scanners(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The walk's rows checked in C where it can (the native scanner), or all in Python; the
    scanners made, to see that the native one really took rows."""
    made: list[Any] = []
    if request.param == "python":
        monkeypatch.setattr(audit_verify_pg, "vihub_auditscan", None)
    else:
        assert audit_verify_pg.vihub_auditscan is vihub_auditscan  # built by the install step
    original = audit_verify_pg._scanner

    def recording(checkpoints: dict[int, str]) -> Any:
        made.append(scanner := original(checkpoints))
        return scanner

    monkeypatch.setattr(audit_verify_pg, "_scanner", recording)
    return made


@pytest.mark.parametrize("tamper", [None, *TAMPERS], ids=lambda f: f.__name__.strip("_") if f else "none")
def test_every_segmentation_finds_what_the_python_walk_finds(
    trail: list[int], tamper: Callable[[list[int]], int] | None, scanners: list[Any]
) -> None:
    if tamper is not None:
        tamper(trail)
    expected = _python_walk()
    for segments in (1, 2, 3, 5, 7, 20, 50):
        scanners.clear()
        assert _pg_walk(segments) == expected, segments
        if scanners[0] is not None and segments == 1 and tamper is None:
            # All but the first row and the checkpoint's row, in C.
            assert sum(s.accepted for s in scanners) >= len(trail) - 2
    if tamper is None:
        out = io.StringIO()
        call_command("verify_audit", stdout=out)
        assert re.fullmatch(r"OK: .* in \d+ ms \([\d,]+ events/s\)\n", out.getvalue()), out.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tamper", [None, _delete, _reorder, _truncate_behind_checkpoint, _rewrite_and_recompute]
)
def test_forked_workers_on_one_snapshot_find_the_same(
    committed_db: None, tamper: Callable[[list[int]], int] | None
) -> None:
    seqs = [audit_record(actor=None, action="organisation.seeded", changes={"i": i}).seq for i in range(30)]
    audit_checkpoint()
    seqs += [audit_record(actor=None, action="organisation.seeded").seq for _ in range(10)]
    if tamper is not None:
        tamper(seqs)
    expected = _python_walk()
    assert not connection.in_atomic_block
    for segments in (2, 3, 8):
        assert _pg_walk(segments, workers=2) == expected, segments
    result = audit_verify(record=False, workers=2)
    assert (result.first_bad_seq, result.events_checked) == (expected[0], expected[2])
    assert result.ok == (expected[0] is None) and (result.ok or result.message == expected[1])


@pytest.mark.django_db(transaction=True)
def test_a_process_that_may_not_fork_verifies_on_one_connection(
    committed_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seqs = [audit_record(actor=None, action="organisation.seeded", changes={"i": i}).seq for i in range(12)]
    audit_checkpoint()

    class NoFork:
        def Pool(self, processes: int) -> None:  # noqa: N802  (multiprocessing's name)
            raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr("hub.services.audit_verify_pg.multiprocessing.get_context", lambda method: NoFork())
    assert audit_verify(record=False, workers=2).ok
    _delete(seqs)
    result = audit_verify(record=False, workers=2)
    assert (result.first_bad_seq, result.events_checked) == (seqs[5], seqs[5] - 1)


def test_a_null_is_not_taken_for_the_text_backslash_n() -> None:
    seqs = [audit_record(actor=None, action="organisation.seeded", justification="\\N").seq for _ in range(3)]
    seqs.append(audit_record(actor=None, action="organisation.seeded", changes={"i": 1}).seq)
    assert audit_verify(record=False).ok
    sql("ALTER TABLE hub_auditevent ALTER COLUMN justification DROP NOT NULL")
    sql("ALTER TABLE hub_auditevent ALTER COLUMN changes DROP NOT NULL")
    sql("UPDATE hub_auditevent SET changes = NULL WHERE seq = %s", [seqs[3]])
    assert audit_verify(record=False).first_bad_seq == seqs[3]
    sql("UPDATE hub_auditevent SET justification = NULL WHERE seq = %s", [seqs[1]])
    result = audit_verify(record=False)
    assert not result.ok and result.first_bad_seq == seqs[1], result.message


class _SplittingPg:
    """libpq as if it handed over each row in two messages, cut inside its first multi-byte
    character (else in the middle)."""

    def __init__(self, pg: Any) -> None:
        self.pg, self.queue = pg, list[tuple[int, memoryview]]()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pg, name)

    def get_copy_data(self, async_: int) -> tuple[int, Any]:
        if self.queue:
            return self.queue.pop(0)
        nbytes, message = self.pg.get_copy_data(async_)
        if nbytes <= 0:
            return nbytes, message
        data = bytes(message)
        multibyte = next((i for i, byte in enumerate(data) if byte >= 0x80), None)
        cut = multibyte + 1 if multibyte is not None else len(data) // 2
        self.queue.append((len(data) - cut, memoryview(data[cut:])))
        return cut, memoryview(data[:cut])


def test_a_row_in_pieces_is_read_as_the_whole_row() -> None:
    for i in range(3):
        audit_record(actor=None, action="organisation.seeded", justification=f"Ünïcødé {i}", changes={"i": i})
    with transaction.atomic():
        raw = connection.connection
        assert raw is not None
        whole = list(_rows(raw, _table(), -(10**9), 10**9))
        pieces = list(
            _rows(type("Conn", (), {"pgconn": _SplittingPg(raw.pgconn)})(), _table(), -(10**9), 10**9)
        )
    assert pieces == whole and all(fast == stored for _, _, stored, fast in whole)


def _copy_rows() -> list[tuple[AuditEvent, bytes]]:
    """Each event with its row as the verifier's COPY sends it."""
    columns = ", ".join(audit_verify_pg.STREAMED)
    with connection.cursor() as cursor:
        raw = cursor.connection
        query = f"COPY (SELECT {columns} FROM {_table()} ORDER BY seq) TO STDOUT"  # noqa: S608  (constants)
        with raw.cursor().copy(query) as copy:
            messages = [bytes(row) for row in copy]
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) == len(messages)
    return list(zip(events, messages, strict=True))


def _leaf(event: AuditEvent) -> bytes:
    from hub.services.audit import canonical_event_bytes, event_hash_fields

    return b"\x00" + canonical_event_bytes(event_hash_fields(event))


def test_the_native_scanner_builds_the_bytes_compute_event_hash_hashes() -> None:
    for i, changes in enumerate(AWKWARD + FLOATS):
        token = request_id_var.set(f"r-{i}")
        audit_record(
            actor=None, action="organisation.seeded", object_id=f"obj {i} é \U0001f600", changes=changes,
            justification=f"Ünïcødé — {i}", recipient="Children's Services (MASH)",
        )  # fmt: skip
        request_id_var.reset(token)
        audit_record(
            actor=None, action="organisation.seeded", object_id=f'o"bj{i}\x01', changes=changes,
            justification='tab\there \\ "quoted"', recipient='"MASH" \x1f',
        )  # fmt: skip
    scanner = vihub_auditscan.Scanner(_PIECES, audit_verify_pg._CHANGES, [])
    taken = 0
    for event, message in _copy_rows():
        native = scanner.canonical(message)
        if native is not None:
            taken += 1
            assert native == _leaf(event), event.object_id
    # The plain rows (one of each pair) are read in C; the rest is Python's.
    assert taken == len(AWKWARD + FLOATS)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {rng.choice(["a", "B", "é", "aa", "", "z z", "\U0001f600", "key"]) + str(rng.randrange(3)):
                _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}  # fmt: skip
    if depth < 4 and roll < 0.4:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return rng.choice([
        0, 1, -1, 7, -12345, 10**30, -(10**25), True, False, None, "", "plain", "café ünï \U0001f600",
        "it's", "a/b", 0.5, -2.25, 1e-7, 3.0, 'say "hi"', "back\\slash", "tab\tnew\nline", "\u2028",
    ])  # fmt: skip


def test_the_native_scanner_writes_changes_as_python_does() -> None:
    """Random nested changes: where C writes their canonical JSON itself, the row's bytes are
    still compute_event_hash's, and C takes most of them (the rest go to the Python mapping)."""
    rng = random.Random(1989)
    values = [{"v": _random_json(rng), "w": _random_json(rng)} for _ in range(300)]
    for value in values:
        audit_record(actor=None, action="organisation.seeded", changes=value)

    class Unreadable(dict[str, str]):
        def __missing__(self, key: str) -> str:
            raise ValueError(key)  # as for text that is not JSON: the row is Python's

    scanner = vihub_auditscan.Scanner(_PIECES, Unreadable(), [])  # only what C writes itself
    written = 0
    for event, message in _copy_rows()[-len(values) :]:
        native = scanner.canonical(message)
        if native is not None:
            written += 1
            assert native == _leaf(event), event.changes
    assert written > 100, written


def test_the_native_scanner_takes_only_a_good_row_that_follows_the_one_before() -> None:
    for i in range(4):
        audit_record(actor=None, action="organisation.seeded", object_id=str(i), changes={"i": i})
    (first, m1), (second, m2), (third, m3), (fourth, m4) = _copy_rows()[-4:]
    scanner = vihub_auditscan.Scanner(_PIECES, audit_verify_pg._CHANGES, [fourth.seq])
    assert not scanner.feed(m2)  # not primed: the first row is Python's
    scanner.expect(second.seq, "0" * 64)
    assert not scanner.feed(m2)  # a broken link
    scanner.expect(second.seq + 1, second.hash)
    assert not scanner.feed(m2)  # a repeated or out-of-order row
    scanner.expect(second.seq, first.hash)
    edited = m2.replace(b'{"i": 1}', b'{"i": 7}')
    assert edited != m2 and not scanner.feed(edited)  # altered: it no longer matches its hash
    assert scanner.feed(m2) and scanner.feed(m3)
    assert (scanner.accepted, scanner.last) == (2, (third.seq, third.hash))
    assert not scanner.feed(m4)  # a checkpoint's row: Python checks it against the checkpoint
    scanner.expect(fourth.seq + 1, fourth.hash)
    assert scanner.accepted == 2 and scanner.last == (fourth.seq, fourth.hash)


def test_the_native_scanner_never_takes_a_row_python_would_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every cut and every one-byte change of real rows: the scanner takes a row only if the
    Python reading of the same bytes has the stored hash (and never reads out of bounds)."""
    rng = random.Random(15)
    for i in range(3):
        token = request_id_var.set(f"req-{i}")
        audit_record(
            actor=None, action="organisation.seeded", object_id=f"obj-{i}", changes={"i": i, "s": "é"},
            justification="checked",
        )  # fmt: skip
        request_id_var.reset(token)
    rows = _copy_rows()[-3:]
    scanner = vihub_auditscan.Scanner(_PIECES, audit_verify_pg._CHANGES, [])
    tried, taken = 0, []
    for (before, _), (event, message) in itertools.pairwise(rows):
        variants = {message[:cut] for cut in range(len(message))}
        for position in range(len(message)):
            for byte in {0, 9, 10, 13, 32, 34, 92, 48, 78, rng.randrange(256), message[position] ^ 1}:
                variants.add(message[:position] + bytes([byte]) + message[position + 1 :])
        scanner.expect(event.seq, before.hash)
        assert scanner.feed(message)  # the row itself
        variants.discard(message)
        for variant in variants:
            scanner.expect(event.seq, before.hash)
            tried += 1
            if scanner.feed(variant):
                taken.append(variant)
                assert variant.endswith(b"\n")
                seq, prev_hash, stored, fast = read_row(variant[:-1].decode())
                assert (seq, prev_hash) == (event.seq, before.hash) and fast == stored, variant
    # Taken: only changes that the canonical form does not see (JSON's spacing in ``changes``:
    # PostgreSQL never sends a carriage return unescaped, but the JSON is the same).
    assert tried > 5000 and all(b"\r" in variant for variant in taken), taken


def _forged(
    message: bytes, leaf: bytes, row_part: bytes, leaf_part: bytes, into: tuple[bytes, bytes]
) -> bytes:
    """``message`` with ``row_part`` written as ``into[0]``, and its stored hash recomputed over
    ``leaf`` with ``leaf_part`` written as ``into[1]``: a row whose hash is right for bytes that
    a careless reader would build from it."""
    assert row_part in message and leaf_part in leaf
    fields = message.replace(row_part, into[0]).split(b"\t")
    stored = fields[len(audit_verify_pg.REPEATING) + 2]
    forged_hash = hashlib.sha256(leaf.replace(leaf_part, into[1])).hexdigest().encode()
    return message.replace(row_part, into[0]).replace(stored, forged_hash)


def test_the_native_scanner_reads_no_more_than_python_would() -> None:
    """Rows PostgreSQL would not send (found in review): bytes that are not UTF-8, a timestamp
    that is not ASCII (Python slices it by characters, not bytes), an integer longer than
    Python may be set to read. Each carries the hash of the bytes a byte-wise reader would
    build, so taking it would be wrong; none is taken."""
    audit_record(actor=None, action="organisation.seeded", object_id="obj-x", changes={"n": 7})
    audit_record(actor=None, action="organisation.seeded", object_id="obj-y", changes={"n": 8})
    (before, _), (event, message) = _copy_rows()[-2:]
    leaf = _leaf(event)
    at = message.split(b"\t")[len(audit_verify_pg.REPEATING) + 3]  # as COPY prints it
    time_in_row, time_in_leaf = at[11:], at[11:19] + (at[19:] or b".").ljust(7, b"0")
    unreadable = {"not UTF-8": _forged(message, leaf, b"obj-y", b"obj-y", (b"obj\xff", b"obj\xff"))}
    unreadable["not ASCII"] = _forged(
        message, leaf, time_in_row, time_in_leaf, (at[11:19] + ".é".encode(), at[11:19] + ".é0000".encode())
    )
    long_int = b"7" * 700
    unreadable["long int"] = _forged(
        message, leaf, b'{"n": 8}', b'{"n":8}', (b'{"n": ' + long_int + b"}", b'{"n":' + long_int + b"}")
    )

    class Unreadable(dict[str, str]):
        def __missing__(self, key: str) -> str:
            raise ValueError(key)

    scanner = vihub_auditscan.Scanner(_PIECES, Unreadable(), [])
    scanner.expect(event.seq, before.hash)
    assert scanner.feed(message)  # the real row is taken
    for why, row in unreadable.items():
        scanner.expect(event.seq, before.hash)
        assert not scanner.feed(row), why
