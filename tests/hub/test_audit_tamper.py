"""verify_audit catches every kind of tampering and names the first bad event; an untouched
trail passes. The tampering is done the way an attacker with database rights would: with the
append-only triggers switched off."""

from __future__ import annotations

import base64
import io
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from hub.models import AuditCheckpoint, AuditEvent, AuditVerification
from hub.selectors.audit import audit_status
from hub.services.audit import audit_record, compute_event_hash
from hub.services.audit_integrity import audit_checkpoint, audit_verify
from hub.services.audit_sequencer import chain_pending
from tests.web import Client

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(params=["inline", "sequencer"])
def trail(request: pytest.FixtureRequest, settings: Any) -> Iterator[list[int]]:
    """Twenty events, a signed checkpoint after the first fifteen, five more after it: chained
    in their own transactions, or by the sequencer (issue 15): the same tampering is caught."""
    assert connection.vendor == "postgresql"
    settings.VIHUB_AUDIT_CHAIN = request.param

    def written(numbers: range, with_changes: bool) -> list[int]:
        events = [
            audit_record(actor=None, action="organisation.seeded", object_id=str(i),
                         changes={"i": i} if with_changes else None)
            for i in numbers
        ]  # fmt: skip
        chain_pending(wait=True)  # nothing waits inline; the sequencer's round otherwise
        seqs = dict(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).values_list("pk", "seq"))
        return [seqs[e.pk] for e in events]

    seqs = written(range(15), True)
    audit_checkpoint()
    seqs += written(range(15, 20), False)
    assert seqs == list(range(seqs[0], seqs[0] + 20))
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
    trail: list[int], settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VIHUB_AUDIT_CHECKPOINT_LOG = str(tmp_path / "witness.log")
    audit_record(actor=None, action="organisation.seeded")
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = audit_checkpoint()
    assert checkpoint is not None
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE hub_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM hub_auditcheckpoint WHERE seq = %s", [checkpoint.seq])
    result = audit_verify()
    assert not result.ok and result.first_bad_seq == checkpoint.seq and "witness" in result.message


# --- Issue 14: no escape hatch, verification results kept whole, the witness required ----------


def _refused(statement: str) -> str:
    """Run ``statement`` in a savepoint; the database's refusal (or "" if it was let through)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE"
        )  # no deferred checks pending in the test's transaction
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError as exc:
        return str(exc)
    return ""


def test_truncate_is_refused_even_for_a_session_that_sets_the_old_escape(trail: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET vihub.allow_audit_truncate = 'on'")
    assert "hub_auditevent is append-only (TRUNCATE refused)" in _refused("TRUNCATE hub_auditevent")
    assert "append-only" in _refused("TRUNCATE hub_auditcheckpoint")
    assert AuditEvent.objects.count() >= len(trail)


def test_verification_results_cannot_be_edited_and_one_written_by_hand_is_caught(
    trail: list[int], cast: dict[str, Any]
) -> None:
    failed = audit_verify()
    assert failed.ok
    assert "append-only (UPDATE refused)" in _refused("UPDATE hub_auditverification SET is_ok = false")
    assert "append-only" in _refused("DELETE FROM hub_auditverification")
    assert "append-only" in _refused("TRUNCATE hub_auditverification")
    # An insider inserts a reassuring row (inserting is what the app role may do).
    forged = AuditVerification.objects.create(
        ran_at=timezone.now(), is_ok=True, events_checked=10**6, checkpoints_checked=9,
        message="all fine", duration_ms=1,
    )  # fmt: skip
    assert audit_status().last_run != forged, "the status page does not believe it"
    auditor = Client()
    auditor.force_login(cast["auditor"].user)
    shown = auditor.get("/audit/verification/").content.decode()
    assert shown.count("data-forged") == 1 and "Not on the audit trail" in shown
    result = audit_verify(record=False)
    assert not result.ok and "written by hand" in result.message


def _emptied_with_its_checkpoints() -> None:
    with connection.cursor() as cursor:  # as the tables' owner: triggers off, then TRUNCATE
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE hub_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE hub_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute("TRUNCATE hub_auditevent, hub_auditcheckpoint")


def _newest_checkpoint_and_its_events_deleted() -> None:
    newest = AuditCheckpoint.objects.order_by("-seq").first()
    assert newest is not None
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE hub_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE hub_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM hub_auditcheckpoint WHERE seq = %s", [newest.seq])
        cursor.execute("DELETE FROM hub_auditevent WHERE seq > %s", [newest.seq - 3])


@pytest.mark.parametrize(
    "tamper", [_emptied_with_its_checkpoints, _newest_checkpoint_and_its_events_deleted],
    ids=lambda f: f.__name__.strip("_"),
)  # fmt: skip
def test_the_witness_catches_a_trail_cut_back_with_its_checkpoints(
    trail: list[int], settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any,
    tamper: Callable[[], None],
) -> None:  # fmt: skip
    settings.VIHUB_AUDIT_CHECKPOINT_LOG = str(tmp_path / "witness.log")
    audit_record(actor=None, action="organisation.seeded")
    with django_capture_on_commit_callbacks(execute=True):
        assert audit_checkpoint() is not None
    assert audit_verify(record=False).ok
    tamper()
    result = audit_verify(record=False)
    assert not result.ok and "missing from the database (the witness has it)" in result.message, (
        result.message
    )
    # Without the witness the same cut would pass: that is why production requires one.
    settings.VIHUB_AUDIT_CHECKPOINT_LOG = ""
    assert audit_verify(record=False).ok


def test_a_forged_or_missing_witness_is_itself_a_finding(
    trail: list[int], settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    witness = tmp_path / "witness.log"
    settings.VIHUB_AUDIT_CHECKPOINT_LOG = str(witness)
    audit_record(actor=None, action="organisation.seeded")
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = audit_checkpoint()
    assert checkpoint is not None and audit_verify(record=False).ok
    good = witness.read_text()
    witness.write_text(good + f"{checkpoint.seq + 50} {'a' * 64} {checkpoint.signature}\n")
    result = audit_verify(record=False)
    assert (
        not result.ok and "witness copy of checkpoint" in result.message and "bad signature" in result.message
    )
    witness.unlink()
    result = audit_verify(record=False)
    assert not result.ok and "is missing (the database has checkpoints)" in result.message


def test_production_does_not_start_without_a_witness(tmp_path: Any) -> None:
    env = {
        "PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "x" * 50, "VIHUB_AUDIT_PUBLIC_KEY": base64.b64encode(b"k" * 32).decode(),
        "DJANGO_ALLOWED_HOSTS": "vihub.example", "DATABASE_URL": "postgres://u:p@127.0.0.1:1/db",
        "REDIS_URL": "redis://127.0.0.1:1/0", "VIHUB_DATA_DIR": str(tmp_path),
        "VIHUB_SECRETS_KEYS": "tDC4uSAzzmKxzHLF0g9r5X3o2yfiQHy5hpYKlgxZCWU=",
    }  # fmt: skip
    code = "import django; django.setup()"
    missing = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode != 0 and "VIHUB_AUDIT_CHECKPOINT_LOG" in missing.stderr
    given = {**env, "VIHUB_AUDIT_CHECKPOINT_LOG": str(tmp_path / "witness.log")}
    started = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code], env=given, capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr[-600:]
