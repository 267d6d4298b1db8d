"""Tamper evidence for the audit trail: signed checkpoints and full verification.

The chain: each event's ``hash`` = SHA-256(0x00 ‖ canonical JSON of its fields incl.
``prev_hash``), so an event's hash commits to everything before it. A checkpoint signs
(seq, head hash) with an Ed25519 key kept outside the database, and can be copied to a
witness file outside the database too.

``audit_verify`` checks the whole trail in bounded memory: on PostgreSQL a COPY stream per seq
segment, segments in parallel worker processes on one snapshot (``hub.services.audit_verify_pg``);
on SQLite by a Python walk over a streaming cursor. Either names the first bad event for: an
edited field, a deleted event (gap), an inserted event, reordered events, a tail truncated below
a checkpoint, and a full rewrite with recomputed hashes (the checkpoint's head hash or signature
no longer matches).
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from hub.clock import db_now
from hub.constants import GENESIS_HASH, AuditAction
from hub.models import AuditCheckpoint, AuditEvent, AuditVerification, User
from hub.policies.rules import Act, authorize
from hub.selectors.audit import verification_on_trail
from hub.services.audit import _lock_chain_head, audit_record, compute_event_hash
from hub.services.audit_sequencer import chain_pending
from hub.services.audit_verify_pg import Tampered as _Tampered
from hub.services.audit_verify_pg import walk_postgresql

ORIGIN = "vihub-audit-trail"


def _private_key() -> Ed25519PrivateKey:
    raw = settings.VIHUB_AUDIT_SIGNING_KEY
    if not raw:
        raise ImproperlyConfigured("VIHUB_AUDIT_SIGNING_KEY (or _FILE) is needed to sign audit checkpoints")
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def public_key() -> Ed25519PublicKey:
    """The verification key: VIHUB_AUDIT_PUBLIC_KEY if given (a verifier need not hold the
    private key), else derived from the signing key."""
    if settings.VIHUB_AUDIT_PUBLIC_KEY:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(settings.VIHUB_AUDIT_PUBLIC_KEY))
    return _private_key().public_key()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    """A C2SP-style signed note body: origin, size, root."""
    return f"{ORIGIN}\n{seq}\n{head_hash}\n".encode()


@transaction.atomic
def audit_checkpoint() -> AuditCheckpoint | None:
    """Sign the current head of the trail (no-op if nothing was added since the last one).

    Takes the chain lock so the head cannot move while it is read; appends the checkpoint to
    the witness file if one is configured.
    """
    head = _lock_chain_head()
    if head[0] == 0:
        return None
    last = AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first()
    if last is not None and last >= head[0]:
        return None
    key = _private_key()
    signature = base64.b64encode(key.sign(checkpoint_message(head[0], head[1]))).decode()
    checkpoint = AuditCheckpoint.objects.create(
        seq=head[0],
        head_hash=head[1],
        created_at=db_now(),
        key_id=key_id(key.public_key()),
        signature=signature,
    )
    witness = settings.VIHUB_AUDIT_CHECKPOINT_LOG
    if witness:
        line = f"{checkpoint.seq} {checkpoint.head_hash} {checkpoint.signature}\n"
        # Once the checkpoint is committed: a rolled-back one never reaches the witness.
        transaction.on_commit(lambda: _witness_append(Path(witness), line))
    return checkpoint


def _witness_append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None
    message: str
    duration_ms: int


def _checkpoint_signature_ok(checkpoint: AuditCheckpoint, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(
            base64.b64decode(checkpoint.signature), checkpoint_message(checkpoint.seq, checkpoint.head_hash)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _witness_checkpoints(key: Ed25519PublicKey, in_database: int) -> dict[int, str]:
    """The witness's copies (seq → head hash), each checked against its signature. A witness
    that is configured but gone, while the database has checkpoints, is itself a finding."""
    witness = settings.VIHUB_AUDIT_CHECKPOINT_LOG
    if not witness:
        return {}
    path = Path(witness)
    if not path.exists():
        if in_database:
            raise _Tampered(None, f"the witness file {witness} is missing (the database has checkpoints)")
        return {}
    entries: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit():
            raise _Tampered(None, f"the witness file's line {number} is not a checkpoint")
        seq, head, signature = int(parts[0]), parts[1], parts[2]
        try:
            key.verify(base64.b64decode(signature), checkpoint_message(seq, head))
        except (InvalidSignature, ValueError):
            raise _Tampered(seq, f"the witness copy of checkpoint #{seq} has a bad signature") from None
        entries[seq] = head
    return entries


def _check_checkpoints(checkpoints: dict[int, AuditCheckpoint], key: Ed25519PublicKey) -> None:
    for seq, head in _witness_checkpoints(key, len(checkpoints)).items():
        if seq not in checkpoints:
            raise _Tampered(seq, f"checkpoint #{seq} is missing from the database (the witness has it)")
        if checkpoints[seq].head_hash != head:
            raise _Tampered(seq, f"checkpoint #{seq} differs from the witness copy")
    for checkpoint in checkpoints.values():
        if not _checkpoint_signature_ok(checkpoint, key):
            raise _Tampered(checkpoint.seq, f"checkpoint #{checkpoint.seq} has a bad signature")


def _check_verifications() -> None:
    """Every verification result shown to auditors is one ``audit_verify`` recorded."""
    rows = list(AuditVerification.objects.order_by("ran_at", "id"))
    believed = verification_on_trail(rows)
    for row in rows:
        if not believed[row.pk]:
            raise _Tampered(
                None,
                f"the verification result of {row.ran_at:%Y-%m-%d %H:%M:%S} "
                f"({'intact' if row.is_ok else 'failed'}) is not on the audit trail: it was written by hand",
            )


def _walk(checkpoints: dict[int, AuditCheckpoint], chunk_size: int, counter: list[int]) -> None:
    """The Python walk (SQLite, and the reference the PostgreSQL path must agree with)."""
    expected_seq, expected_prev = 1, GENESIS_HASH
    # iterator() streams with a server-side cursor on PostgreSQL: memory stays flat at millions.
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        seq = event.seq
        if seq > expected_seq:
            raise _Tampered(expected_seq, f"event #{expected_seq} is missing (the next present is #{seq})")
        if seq < expected_seq:
            raise _Tampered(seq, f"event #{seq} is out of order or duplicated")
        if event.prev_hash != expected_prev:
            raise _Tampered(seq, f"event #{seq} does not follow #{seq - 1} (inserted, deleted or reordered)")
        if compute_event_hash(event) != event.hash:
            raise _Tampered(seq, f"event #{seq} was altered (its content no longer matches its hash)")
        checkpoint = checkpoints.get(seq)
        if checkpoint is not None and checkpoint.head_hash != event.hash:
            raise _Tampered(
                seq, f"event #{seq} differs from signed checkpoint #{seq} (the trail was rewritten)"
            )
        expected_prev, expected_seq = event.hash, expected_seq + 1
        counter[0] += 1
    last_checkpoint = max(checkpoints, default=0)
    if last_checkpoint >= expected_seq:
        raise _Tampered(
            expected_seq,
            f"event #{expected_seq} is missing: the trail ends at #{expected_seq - 1} "
            f"but checkpoint #{last_checkpoint} was signed (the tail was truncated)",
        )


def audit_verify(
    *,
    chunk_size: int = 5000,
    record: bool = True,
    actor: User | None = None,
    actor_display: str | None = None,
    workers: int | None = None,
) -> VerifyResult:
    """Walk the whole trail in seq order and check every link, every hash, every checkpoint.

    With ``record``, the result is kept for auditors and the run itself is an audit event
    (``audit.verified``), whoever started it: the command, the hourly job, or an auditor
    (``actor=None`` is the job or the shell operator). ``workers``: parallel processes, each
    with its own connection, on PostgreSQL (default 1: only a fresh process such as
    ``manage.py verify_audit`` should fork them; inside an open transaction always 1).
    ``chunk_size`` is the SQLite walk's batch."""
    authorize(actor, Act.AUDIT_VERIFY)
    started = time.monotonic()
    checkpoints = {c.seq: c for c in AuditCheckpoint.objects.order_by("seq")}
    counter = [0]
    try:
        _check_checkpoints(checkpoints, public_key())
        _check_verifications()
        if connection.vendor == "postgresql":
            walk_postgresql(checkpoints, counter, workers)
        else:
            _walk(checkpoints, chunk_size, counter)
    except _Tampered as bad:
        result = _finish(started, False, counter[0], len(checkpoints), bad.seq, bad.message)
    else:
        message = f"{counter[0]} events and {len(checkpoints)} signed checkpoints verified"
        result = _finish(started, True, counter[0], len(checkpoints), None, message)
    if record:
        _record_verification(result, actor, actor_display)
    return result


@transaction.atomic
def _record_verification(result: VerifyResult, actor: User | None, actor_display: str | None) -> None:
    """The event first, then the result row naming it: a row is believed only with its event.
    With the sequencer, the event is chained here and now (queueing for the chain), so the row
    can name its ``seq``."""
    event = audit_record(
        actor=actor,
        actor_display=actor_display,
        action=AuditAction.AUDIT_VERIFIED,
        object_type="audit_trail",
        outcome=AuditEvent.Outcome.SUCCESS if result.ok else AuditEvent.Outcome.FAILED,
        changes={"ok": result.ok, "events": result.events_checked, "first_bad_seq": result.first_bad_seq},
    )
    if event.seq is None:
        chain_pending(wait=True)
        event.seq = AuditEvent.objects.values_list("seq", flat=True).get(pk=event.pk)
    AuditVerification.objects.create(
        ran_at=db_now(),
        is_ok=result.ok,
        events_checked=result.events_checked,
        checkpoints_checked=result.checkpoints_checked,
        first_bad_seq=result.first_bad_seq,
        message=result.message,
        duration_ms=result.duration_ms,
        event_seq=event.seq,
    )


def _finish(
    started: float, ok: bool, checked: int, checkpoints: int, bad: int | None, message: str
) -> VerifyResult:
    return VerifyResult(ok, checked, checkpoints, bad, message, int((time.monotonic() - started) * 1000))
