"""Writing the audit trail. Every service calls ``audit_record`` inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from hub.clock import db_now
from hub.constants import AUDIT_CHAIN_LOCK_KEY, GENESIS_HASH, AuditAction
from hub.context import current_request_id, operator_var
from hub.exceptions import AuditUnavailable
from hub.models import AuditEvent, AuditPending, AuditRecord, User


def canonical_event_bytes(fields: dict[str, Any]) -> bytes:
    """The exact bytes hashed for an event: sorted keys, no whitespace, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash_fields(event: AuditEvent) -> dict[str, Any]:
    """The fields covered by an event's hash. ``verify_audit`` recomputes from the same list."""
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "actor_display": event.actor_display,
        "actor_org": event.actor_org,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "referral_id": str(event.referral_id) if event.referral_id else None,
        "task_id": str(event.task_id) if event.task_id else None,
        "request_id": event.request_id,
        "changes": event.changes,
        "justification": event.justification,
        "recipient": event.recipient,
        "outcome": event.outcome,
        "prev_hash": event.prev_hash,
    }


def compute_event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(b"\x00" + canonical_event_bytes(event_hash_fields(event))).hexdigest()


def storable_changes(value: Any) -> Any:
    """``changes`` as the database will give it back, so the hash covers what verification reads:
    PostgreSQL's jsonb keeps numbers as ``numeric`` and prints them without an exponent, so a
    float such as ``1e300`` comes back as an integer, and it refuses NaN and infinities (here
    their names, as text). Tuples become lists, keys text, as in JSON."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if "e" in repr(value) and value == int(value) else value
    if isinstance(value, dict):
        return {str(key): storable_changes(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable_changes(item) for item in value]
    return value


def _actor_snapshot(actor: User | None) -> tuple[str, str, str]:
    if actor is None:
        operator = operator_var.get()  # a management command: the person at the shell
        return (f"system ({operator})" if operator else "system"), "", ""
    membership = getattr(actor, "membership", None)
    if membership is None:
        return actor.display_name, "", ""
    return actor.display_name, membership.organisation.code, membership.role


def _lock_chain_head() -> tuple[int, str]:
    """Serialise appends (a transaction-scoped advisory lock on PostgreSQL; SQLite's write lock
    does it there) and return the current head: (seq, hash), or (0, genesis)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def audit_record(
    *,
    actor: User | None,
    action: AuditAction | str,
    object_type: str = "",
    object_id: str | uuid.UUID | None = "",
    referral_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
    justification: str = "",
    recipient: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    actor_display: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    Guarantees: the event is committed if and only if the caller's transaction commits;
    ``occurred_at`` is database time. If the event cannot be written, ``AuditUnavailable`` is
    raised and the caller's work is refused. ``action`` must be an ``AuditAction`` (a misspelt
    one raises ``ValueError``).

    With ``VIHUB_AUDIT_CHAIN = "inline"`` the event is chained here: appends are serialised (a
    transaction-scoped advisory lock on PostgreSQL, the database write lock on SQLite), so the
    chain never forks. With ``"sequencer"`` it is written to ``AuditPending`` with no lock and
    the sequencer chains it once committed (``hub.services.audit_sequencer``); the returned
    event's ``seq`` is then ``None``.
    """
    action = AuditAction(action)
    try:
        display, org, role = _actor_snapshot(actor)
        if actor_display and actor is None and operator_var.get():
            actor_display = f"{actor_display} ({operator_var.get()})"[:200]
        fields = _record_fields(
            actor=actor, snapshot=(actor_display or display, org, role), request_id=current_request_id(),
            action=action, object_type=object_type, object_id=object_id, referral_id=referral_id,
            task_id=task_id, changes=changes, justification=justification, recipient=recipient,
            outcome=outcome,
        )  # fmt: skip
        if sequenced():
            event_id = uuid.uuid4()
            occurred_at = _queue(event_id, fields)
            return AuditEvent(id=event_id, occurred_at=occurred_at, **fields)
        with transaction.atomic():
            seq, prev_hash = _lock_chain_head()
            event = AuditEvent(seq=seq + 1, occurred_at=db_now(), prev_hash=prev_hash, **fields)
            event.hash = compute_event_hash(event)
            event.save(force_insert=True)
        return event
    except DatabaseError as exc:
        raise AuditUnavailable(
            "The audit trail cannot be written just now, so this was refused. Try again shortly."
        ) from exc


def _record_fields(
    *,
    actor: User | None,
    snapshot: tuple[str, str, str],
    request_id: str,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    referral_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
    justification: str = "",
    recipient: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
) -> dict[str, Any]:
    """What an event says (``AuditRecord``'s fields), from ``audit_record``'s arguments or one of
    ``audit_record_many``'s dicts; ``snapshot`` is the actor's (display, organisation, role)."""
    display, org, role = snapshot
    return {
        "actor": actor, "actor_display": _fit(display, "actor_display"), "actor_org": org, "actor_role": role,
        "action": AuditAction(action), "object_type": str(object_type), "object_id": str(object_id or ""),
        "referral_id": referral_id, "task_id": task_id, "request_id": request_id,
        "changes": storable_changes(changes or {}), "justification": str(justification),
        "recipient": _fit(str(recipient), "recipient"), "outcome": str(outcome),
    }  # fmt: skip


def _fit(text: str, field: str) -> str:
    """A display text cut to its column, marked as cut: a person's full name can be longer than
    the column (first and last names of 150 each), and an event that cannot be written refuses
    the work it records. Who it was stays exact in ``actor``."""
    limit = getattr(AuditRecord._meta.get_field(field), "max_length", None) or len(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The queue's columns: the event's id and what it says (``AuditRecord``), the clock apart.
_QUEUED = ("event_id", *(f.attname for f in AuditRecord._meta.fields if f.attname != "occurred_at"))
# ``occurred_at`` is the database's clock (``hub.clock.db_now``), read by the INSERT itself.
_QUEUE_SQL = (
    f"INSERT INTO {AuditPending._meta.db_table} (occurred_at, {', '.join(_QUEUED)}) "  # noqa: S608
    f"VALUES (%s, {', '.join(['%s'] * len(_QUEUED))}) RETURNING occurred_at"
)
_QUEUE_SQL_DATABASE_CLOCK = _QUEUE_SQL.replace("VALUES (%s,", "VALUES (clock_timestamp(),", 1)


def _queue(event_id: uuid.UUID, fields: dict[str, Any]) -> datetime:
    """One event into the sequencer's queue; its ``occurred_at``. On PostgreSQL one INSERT
    that reads the clock itself, with no model instance (this runs on every audited request);
    elsewhere through the ORM."""
    if connection.vendor != "postgresql":
        return AuditPending.objects.create(event_id=event_id, occurred_at=db_now(), **fields).occurred_at
    database_clock = settings.VIHUB_CLOCK == "database"
    actor = fields["actor"]
    row = {**fields, "event_id": event_id}
    row["actor_id"], row["changes"] = (actor.pk if actor else None), json.dumps(row["changes"])
    params = [row[name] for name in _QUEUED]
    with connection.cursor() as cursor:
        if database_clock:
            cursor.execute(_QUEUE_SQL_DATABASE_CLOCK, params)
        else:
            cursor.execute(_QUEUE_SQL, [db_now(), *params])
        occurred_at: datetime = cursor.fetchone()[0]
    return occurred_at


def sequenced() -> bool:
    """Whether events wait for the sequencer (``VIHUB_AUDIT_CHAIN = "sequencer"``) rather than
    being chained in their own transaction."""
    return settings.VIHUB_AUDIT_CHAIN == "sequencer"


def audit_record_many(*, actor: User | None, events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events in one go (one chain lock, or none with the sequencer; one
    insert): for batch jobs such as the deadline sweep. Same guarantees as ``audit_record``;
    each dict holds its keyword arguments
    (action, object_type, object_id, referral_id, task_id, changes, justification, recipient)."""
    if not events:
        return []
    snapshot, request_id = _actor_snapshot(actor), current_request_id()
    rows = [
        _record_fields(actor=actor, snapshot=snapshot, request_id=request_id, **fields) for fields in events
    ]
    occurred_at = db_now()
    if sequenced():
        waiting = AuditPending.objects.bulk_create(
            [AuditPending(occurred_at=occurred_at, **row) for row in rows]
        )
        return [
            AuditEvent(id=item.event_id, occurred_at=occurred_at, **row)
            for item, row in zip(waiting, rows, strict=True)
        ]
    with transaction.atomic():
        seq, prev_hash = _lock_chain_head()
        chained = []
        for row in rows:
            seq += 1
            event = AuditEvent(seq=seq, occurred_at=occurred_at, prev_hash=prev_hash, **row)
            event.hash = prev_hash = compute_event_hash(event)
            chained.append(event)
        AuditEvent.objects.bulk_create(chained)
    return chained


def audit_list_read(*, actor: User, object_type: str, ids: list[Any], query: dict[str, Any]) -> None:
    """A list or search: record which objects were shown, not just that a list was opened."""
    audit_record(
        actor=actor,
        action=AuditAction(f"{object_type}.listed"),
        object_type=object_type,
        changes={"ids": [str(i) for i in ids], "count": len(ids), "query": query},
    )


def audit_task_records_read(*, actor: User, task: Any, object_type: str, ids: list[Any]) -> None:
    """The records of one task a person was shown (its leads, its safeguarding actions): one
    ``<object_type>.listed`` consultation naming their ids, an empty list included, whether a
    page or the API showed them."""
    audit_record(
        actor=actor,
        action=AuditAction(f"{object_type}.listed"),
        object_type=object_type,
        referral_id=task.referral_id,
        task_id=task.pk,
        changes={"ids": [str(i) for i in ids]},
    )


def set_changed(obj: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set on ``obj`` the ``values`` that differ from what it holds, and return them as the
    audit row's ``{"before": …, "after": …}`` (empty when nothing changes: nothing to save or
    audit). The caller saves ``obj`` with ``update_fields=list(result["after"])``."""
    before = {name: getattr(obj, name) for name in values if getattr(obj, name) != values[name]}
    if not before:
        return {}
    for name in before:
        setattr(obj, name, values[name])
    return {"before": before, "after": {name: values[name] for name in before}}
