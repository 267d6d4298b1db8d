"""The audit sequencer: links the events requests wrote (``AuditPending``) into the hash chain.

With ``VIHUB_AUDIT_CHAIN = "sequencer"`` a request writes its audit event in its own
transaction and takes no chain lock, so audited requests no longer queue behind one another.
One sequencer at a time (the chain's advisory lock, taken with ``pg_try_advisory_xact_lock``:
a second one finds it held and does nothing) reads the waiting events that are visible to it,
oldest first, gives each the next ``seq`` and its ``prev_hash`` and ``hash``, inserts them into
``AuditEvent`` and deletes them from ``AuditPending``, all in one transaction.

Why this chains in commit order and never skips a late committer: an event is chained only
once its transaction has committed (the sequencer cannot see it before), and it keeps waiting
in ``AuditPending`` until it is chained; its position is given when it is chained, not when it
was written. A transaction that began earlier but commits later is simply chained in a later
round, after the events that committed before it. Nothing is chosen by id ranges or
watermarks, so there is nothing to skip, and a long transaction delays only its own events.

Never lost, never twice: the insert into the chain and the delete from the queue are one
transaction (a sequencer that dies mid-round leaves everything waiting, as it was); the event
keeps its id (the chain's primary key), so chaining it twice would be refused by the database;
and the database refuses to delete a waiting event that is not in the chain (migration 0018).
The hash covers the fields as read back from the database, exactly what ``verify_audit`` reads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Min

from hub.clock import db_now
from hub.constants import AUDIT_CHAIN_LOCK_KEY, GENESIS_HASH
from hub.models import AuditEvent, AuditPending, AuditRecord
from hub.services.audit import compute_event_hash

logger = logging.getLogger(__name__)

BATCH = 2000  # events per round: one transaction, a few tens of milliseconds
# What an event says, waiting or chained: the shared base's fields (``actor_id`` for the actor).
_RECORD_FIELDS = tuple(f.attname for f in AuditRecord._meta.fields)


class ChainBusy(Exception):
    """Another sequencer holds the chain."""


def _take_chain(*, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: its single writer lock serialises the rounds
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def chain_round(*, limit: int = BATCH, wait: bool = False) -> int:
    """One round: chain up to ``limit`` waiting events; return how many. Raises ``ChainBusy``
    if another sequencer holds the chain and ``wait`` is false (with ``wait``, queue for it:
    for a caller that needs its own event's ``seq`` now, such as ``verify_audit``)."""
    with transaction.atomic():
        if not _take_chain(wait=wait):
            raise ChainBusy
        waiting = list(AuditPending.objects.order_by("queued")[:limit])
        if not waiting:
            return 0
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = last if last else (0, GENESIS_HASH)
        chained_at = db_now()
        events = []
        for item in waiting:
            seq += 1
            said = {name: getattr(item, name) for name in _RECORD_FIELDS}  # as read back
            event = AuditEvent(id=item.event_id, seq=seq, prev_hash=prev_hash, chained_at=chained_at, **said)
            event.hash = prev_hash = compute_event_hash(event)
            events.append(event)
        AuditEvent.objects.bulk_create(events)
        dequeued, _ = AuditPending.objects.filter(queued__in=[item.queued for item in waiting]).delete()
        if dequeued != len(waiting):  # cannot happen under the lock; refuse the round if it does
            raise RuntimeError(f"chained {len(waiting)} events but dequeued {dequeued}")
    return len(events)


def chain_pending(*, wait: bool = False, limit: int = BATCH, max_rounds: int | None = None) -> int | None:
    """Chain every waiting event (rounds of ``limit``); return how many, or ``None`` if another
    sequencer holds the chain (it will chain them)."""
    total = 0
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        try:
            done = chain_round(limit=limit, wait=wait)
        except ChainBusy:
            return None if total == 0 else total
        total += done
        rounds += 1
        if done < limit:
            break
    return total


@dataclass(frozen=True)
class ChainLag:
    waiting: int
    oldest: timedelta | None  # how long the oldest waiting event has waited


def chain_lag() -> ChainLag:
    """What waits for the chain (for ``/healthz`` and ``/metrics``)."""
    found = AuditPending.objects.aggregate(waiting=Count("pk"), oldest=Min("occurred_at"))
    oldest = max(db_now() - found["oldest"], timedelta(0)) if found["oldest"] is not None else None
    return ChainLag(waiting=found["waiting"], oldest=oldest)


def run_sequencer(*, interval: float = 0.2, stop: list[bool] | None = None) -> None:
    """The sequencer process (``manage.py audit_sequencer``): chain, sleep ``interval`` when
    nothing waits, and survive the database going away (log, wait, reconnect)."""
    stop = stop if stop is not None else [False]
    while not stop[0]:
        try:
            done = chain_pending(max_rounds=10)
        except Exception:
            logger.exception("audit sequencer: round failed; retrying")
            connection.close()
            time.sleep(min(5.0, max(interval, 1.0)))
            continue
        if not done:
            time.sleep(interval)
