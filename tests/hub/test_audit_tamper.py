"""verify_audit catches every kind of tampering and names the first bad event; an untouched
trail passes. The tampering is done the way an attacker with database rights would: with the
append-only triggers switched off."""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from hub.models import AuditEvent
from hub.services.audit import audit_record, compute_event_hash
from hub.services.audit_integrity import audit_checkpoint, audit_verify

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def trail() -> Iterator[list[int]]:
    """Twenty events, a signed checkpoint after the first fifteen, five more after it."""
    assert connection.vendor == "postgresql"
    seqs = [
        audit_record(actor=None, action="organisation.seeded", object_id=str(i), changes={"i": i}).seq
        for i in range(15)
    ]
    audit_checkpoint()
    seqs += [
        audit_record(actor=None, action="organisation.seeded", object_id=str(i)).seq for i in range(15, 20)
    ]
    yield seqs


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE hub_auditevent DISABLE TRIGGER USER")
        cursor.execute(statement, params or [])
        cursor.execute("ALTER TABLE hub_auditevent ENABLE TRIGGER USER")


def rehash_from(seq: int) -> None:
    """A full rewrite: recompute every hash from ``seq`` on, so the chain links again."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        event.prev_hash = prev
        event.hash = compute_event_hash(event)
        sql(
            "UPDATE hub_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [event.prev_hash, event.hash, event.pk],
        )
        prev = event.hash


def test_untouched_trail_verifies_and_the_command_exits_0(trail: list[int]) -> None:
    result = audit_verify()
    assert result.ok and result.first_bad_seq is None and result.checkpoints_checked == 1
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("OK:")


def _edit(seqs: list[int]) -> int:
    sql("UPDATE hub_auditevent SET action = 'referral.nothing_to_see' WHERE seq = %s", [seqs[7]])
    return seqs[7]


def _edit_changes(seqs: list[int]) -> int:
    sql("""UPDATE hub_auditevent SET changes = '{"i": 999}' WHERE seq = %s""", [seqs[3]])
    return seqs[3]


def _delete(seqs: list[int]) -> int:
    sql("DELETE FROM hub_auditevent WHERE seq = %s", [seqs[5]])
    return seqs[5]


def _insert(seqs: list[int]) -> int:
    # Make room at #10 and forge an event that links to #9 correctly.
    sql("UPDATE hub_auditevent SET seq = seq + 1000000 WHERE seq >= %s", [seqs[10]])
    sql("UPDATE hub_auditevent SET seq = seq - 1000000 + 1 WHERE seq >= %s", [seqs[10] + 1000000])
    before = AuditEvent.objects.get(seq=seqs[9])
    forged = AuditEvent(seq=seqs[10], occurred_at=before.occurred_at, action="forged", prev_hash=before.hash)
    forged.hash = compute_event_hash(forged)
    forged.save(force_insert=True)
    return seqs[10] + 1  # the original #10 no longer follows its predecessor


def _reorder(seqs: list[int]) -> int:
    a, b = seqs[12], seqs[13]
    sql("UPDATE hub_auditevent SET seq = -1 WHERE seq = %s", [a])
    sql("UPDATE hub_auditevent SET seq = %s WHERE seq = %s", [a, b])
    sql("UPDATE hub_auditevent SET seq = %s WHERE seq = -1", [b])
    return a


def _truncate_behind_checkpoint(seqs: list[int]) -> int:
    sql("DELETE FROM hub_auditevent WHERE seq >= %s", [seqs[12]])
    return seqs[12]


def _rewrite_and_recompute(seqs: list[int]) -> int:
    sql("UPDATE hub_auditevent SET action = 'rewritten' WHERE seq = %s", [seqs[4]])
    rehash_from(seqs[4])
    return seqs[14]  # links and hashes all check out until the signed checkpoint disagrees


@pytest.mark.parametrize(
    "tamper",
    [_edit, _edit_changes, _delete, _insert, _reorder, _truncate_behind_checkpoint, _rewrite_and_recompute],
    ids=lambda f: f.__name__.strip("_"),
)
def test_tampering_is_detected_and_the_first_bad_event_named(
    trail: list[int], tamper: Callable[[list[int]], int]
) -> None:
    first_bad = tamper(trail)
    result = audit_verify()
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.message
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit", stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 1
    assert f"#{first_bad}" in err.getvalue()


def test_a_forged_checkpoint_signature_is_detected(trail: list[int], settings: Any) -> None:
    settings.VIHUB_AUDIT_SIGNING_KEY = base64.b64encode(secrets.token_bytes(32)).decode()  # another key
    result = audit_verify()
    assert not result.ok and "bad signature" in result.message


def test_witness_copy_catches_a_deleted_checkpoint_row(
    trail: list[int], settings: Any, tmp_path: Any
) -> None:
    settings.VIHUB_AUDIT_CHECKPOINT_LOG = str(tmp_path / "witness.log")
    audit_record(actor=None, action="organisation.seeded")
    checkpoint = audit_checkpoint()
    assert checkpoint is not None
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE hub_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM hub_auditcheckpoint WHERE seq = %s", [checkpoint.seq])
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == checkpoint.seq and "witness" in result.message
