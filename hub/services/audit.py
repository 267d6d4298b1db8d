"""Writing the audit trail. Every service calls ``audit_record`` inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC
from typing import Any

from django.db import connection, transaction

from hub.clock import db_now
from hub.constants import AUDIT_CHAIN_LOCK_KEY, GENESIS_HASH
from hub.context import current_request_id
from hub.models import AuditEvent, User


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


def _actor_snapshot(actor: User | None) -> tuple[str, str, str]:
    if actor is None:
        return "system", "", ""
    membership = getattr(actor, "membership", None)
    if membership is None:
        return actor.display_name, "", ""
    return actor.display_name, membership.organisation.code, membership.role


def audit_record(
    *,
    actor: User | None,
    action: str,
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

    Guarantees: the event is committed if and only if the caller's transaction commits; the
    chain never forks, because appends are serialised (a transaction-scoped advisory lock on
    PostgreSQL, the database write lock on SQLite); ``occurred_at`` is database time.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        display, org, role = _actor_snapshot(actor)
        event = AuditEvent(
            seq=seq,
            occurred_at=db_now(),
            actor=actor,
            actor_display=actor_display or display,
            actor_org=org,
            actor_role=role,
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            referral_id=referral_id,
            task_id=task_id,
            request_id=current_request_id(),
            changes=changes or {},
            justification=justification,
            recipient=recipient,
            outcome=outcome,
            prev_hash=prev_hash,
        )
        event.hash = compute_event_hash(event)
        event.save(force_insert=True)
    return event
