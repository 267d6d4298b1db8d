"""The PostgreSQL verifier (``hub.services.audit_verify_pg``) agrees with the Python walk: the
canonical bytes PostgreSQL builds are byte-for-byte ``canonical_event_bytes``; every kind of
tampering gets the same first bad event, message and count however the trail is cut into
segments; and the threaded path (its own connections, one exported snapshot) finds the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from hub.models import AuditCheckpoint, AuditEvent
from hub.services.audit import audit_record, canonical_event_bytes, event_hash_fields
from hub.services.audit_integrity import _walk, audit_checkpoint, audit_verify
from hub.services.audit_verify_pg import CANONICAL, Tampered, _prepare, _restore, _table, walk_postgresql
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
# Python walk too. A float in ``changes`` is hashed as written, checked as read back.)
FLOATS: list[dict[str, Any]] = [{"ratio": 0.5}, {"nested": [{"x": 1e-7}]}, {"n": 1.0}]


def _sql_canonical() -> dict[int, str | None]:
    table = _table()
    with transaction.atomic():
        previous = _prepare()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT seq, {CANONICAL} FROM {table} ORDER BY seq")  # noqa: S608
            found = {int(seq): text for seq, text in cursor.fetchall()}
        _restore(previous)
    return found


def test_postgresql_builds_exactly_the_canonical_bytes() -> None:
    for i, changes in enumerate(AWKWARD):
        audit_record(
            actor=None, action="organisation.seeded", object_id=f"o\"bj\\{i}\n", changes=changes,
            justification="Ünïcødé — \U0001f600 \"quoted\"\ttab", recipient="Children's Services (MASH)",
        )  # fmt: skip
    built = _sql_canonical()
    for event in AuditEvent.objects.order_by("seq"):
        assert built[event.seq] == canonical_event_bytes(event_hash_fields(event)).decode(), event.changes


def test_non_integer_numbers_are_left_to_python_and_still_checked() -> None:
    seqs = [audit_record(actor=None, action="organisation.seeded", changes=c).seq for c in FLOATS]
    built = _sql_canonical()
    assert all(built[seq] is None for seq in seqs)  # not guessed in SQL
    assert audit_verify(record=False).ok
    sql("""UPDATE hub_auditevent SET changes = '{"ratio": 0.25}' WHERE seq = %s""", [seqs[0]])
    result = audit_verify(record=False)
    assert not result.ok and result.first_bad_seq == seqs[0], result.message


def test_search_path_is_put_back_for_the_callers_transaction() -> None:
    audit_record(actor=None, action="organisation.seeded")
    with connection.cursor() as cursor:
        cursor.execute("SHOW search_path")
        before = cursor.fetchone()[0]
        assert audit_verify(record=False).ok
        cursor.execute("SHOW search_path")
        assert cursor.fetchone()[0] == before


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
        walk_postgresql(checkpoints, 3, counter, workers=workers, segments=segments)
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


@pytest.mark.parametrize("tamper", [None, *TAMPERS], ids=lambda f: f.__name__.strip("_") if f else "none")
def test_every_segmentation_finds_what_the_python_walk_finds(
    trail: list[int], tamper: Callable[[list[int]], int] | None
) -> None:
    if tamper is not None:
        tamper(trail)
    expected = _python_walk()
    for segments in (1, 2, 3, 5, 7, 20, 50):
        assert _pg_walk(segments) == expected, segments


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tamper", [None, _delete, _reorder, _truncate_behind_checkpoint, _rewrite_and_recompute]
)
def test_parallel_workers_on_one_snapshot_find_the_same(
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
