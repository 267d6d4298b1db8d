"""The audit trail is a gap-free hash chain, and history cannot be edited."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from hub.constants import GENESIS_HASH, AuditAction
from hub.models import AuditEvent
from hub.services.audit import audit_record, compute_event_hash
from tests.conftest import make_persona
from tests.factories import make_task

pytestmark = pytest.mark.django_db


def test_events_chain_with_gap_free_sequence() -> None:
    for i in range(5):
        audit_record(
            actor=None, action="organisation.seeded", object_type="thing", object_id=str(i), changes={"i": i}
        )
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + len(events)))
    prev = GENESIS_HASH if events[0].seq == 1 else events[0].prev_hash
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == compute_event_hash(event)
        prev = event.hash


def test_rolled_back_transaction_leaves_no_event() -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="organisation.seeded")
        raise RuntimeError("boom")
    assert AuditEvent.objects.count() == before


def test_orm_cannot_update_or_delete_events() -> None:
    event = audit_record(actor=None, action="organisation.seeded")
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE hub_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM hub_auditevent WHERE id = %s",
        "TRUNCATE hub_auditevent",
    ],
    ids=["update", "delete", "truncate"],
)
@pytest.mark.postgres
def test_app_database_connection_cannot_rewrite_history(sql: str) -> None:
    event = audit_record(actor=None, action="membership.set")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks to mask the trigger
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [str(event.pk)] if "%s" in sql else [])
    assert AuditEvent.objects.filter(pk=event.pk, action="membership.set").exists()


def test_a_read_is_refused_when_its_audit_row_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: no consultation without its trace (503 with a clear message, no data)."""
    task = make_task()
    kent = make_persona("kent-closed", "KENT", "officer").client
    kent.get("/api/v1/tasks/")  # warm the token's last-used write out of the way

    def broken(*args: object, **kwargs: object) -> None:
        raise DatabaseError("permission denied for table hub_auditevent")

    monkeypatch.setattr(AuditEvent, "save", broken)
    response = kent.get(f"/api/v1/tasks/{task.pk}/")
    assert response.status_code == 503
    assert response.json()["code"] == "audit_unavailable"
    assert str(task.referral_id) not in response.content.decode()


def test_a_person_with_a_name_longer_than_the_column_is_still_audited_and_served() -> None:
    """First and last names may be 150 characters each; the event's actor_display holds 200. The
    fuzzer found it: a supervisor renamed at length had every audited request refused (503)."""
    task = make_task()
    persona = make_persona("kent-long-name", "KENT", "officer")
    persona.user.first_name, persona.user.last_name = "A" * 150, "B" * 150
    persona.user.save(update_fields=["first_name", "last_name"])
    response = persona.client.get(f"/api/v1/tasks/{task.pk}/")
    assert response.status_code == 200
    event = AuditEvent.objects.filter(actor=persona.user).latest("seq")
    assert event.actor_display == ("A" * 150 + " " + "B" * 48 + "…") and len(event.actor_display) == 200


def test_a_misspelt_action_is_refused_and_every_written_action_is_a_known_one(cast: Any) -> None:
    """One list of audit actions (hub.constants.AuditAction): a name not on it never reaches
    the trail, and a realistic workload writes only names on it."""
    with pytest.raises(ValueError, match="task.acepted"):
        audit_record(actor=None, action="task.acepted")
    task = make_task(accepted=True)
    cast["kent_officer"].client.get(f"/api/v1/tasks/{task.pk}/")
    cast["essex_officer"].client.get(f"/api/v1/tasks/{task.pk}/")
    written = set(AuditEvent.objects.values_list("action", flat=True))
    assert written and written <= set(AuditAction)


def test_the_embedded_default_s_audit_tables_refuse_update_and_delete_too() -> None:
    """SQLite (``make run``): the migration's triggers, applied to a scratch database."""
    import importlib
    import sqlite3

    migration = importlib.import_module("hub.migrations.0016_audit_no_escape")
    db = sqlite3.connect(":memory:")

    def on(table: str, template: str) -> str:
        return template.format(table=table)  # the migration's own table names, never input

    for table in migration.TABLES:
        db.execute(on(table, "CREATE TABLE {table} (id INTEGER PRIMARY KEY, note TEXT)"))
        db.execute(on(table, "INSERT INTO {table} (note) VALUES ('kept')"))
    for _, statement in migration.sqlite_triggers():
        db.execute(statement)
    for table in migration.TABLES:
        db.execute(on(table, "INSERT INTO {table} (note) VALUES ('appended')"))  # appending is allowed
        for statement in ("UPDATE {table} SET note = 'changed'", "DELETE FROM {table}"):
            with pytest.raises(sqlite3.DatabaseError, match=f"{table} is append-only"):
                db.execute(on(table, statement))
        notes = [row[0] for row in db.execute(on(table, "SELECT note FROM {table} ORDER BY id"))]
        assert notes == ["kept", "appended"]


@pytest.mark.parametrize(
    "value",
    [1e300, 1e16, 2.5e20, -1e22, 1.5, 1e-7, 0.1, float("nan"), float("inf"), {"deep": [1e17, 3.25]}],
)
def test_numbers_in_changes_hash_as_the_database_gives_them_back(value: Any) -> None:
    """The hash covers what verification will read back: PostgreSQL's jsonb writes ``1e300`` as a
    301-digit integer and refuses NaN and infinities, so an event holding them must neither fail
    to be written nor look altered to ``verify_audit`` afterwards."""
    from hub.services.audit_integrity import audit_verify  # noqa: PLC0415

    event = audit_record(actor=None, action="organisation.seeded", changes={"value": value, "list": [value]})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert compute_event_hash(stored) == stored.hash == event.hash
    result = audit_verify(record=False)
    assert result.ok, result.message
