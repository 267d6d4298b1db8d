"""The audit sequencer (issue 15): requests write their events without the chain lock, and one
sequencer links them into the hash chain in the order they committed, never losing one,
never chaining one twice, across crashes and a second sequencer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from bench.db import database_url
from hub.constants import AUDIT_CHAIN_LOCK_KEY
from hub.models import AuditEvent, AuditPending
from hub.services import audit, audit_sequencer
from hub.services.audit import audit_record, audit_record_many, compute_event_hash
from hub.services.audit_integrity import audit_verify
from hub.services.audit_sequencer import ChainBusy, chain_lag, chain_pending, chain_round
from tests.conftest import make_persona
from tests.factories import make_task, make_triaged
from tests.hub.test_concurrency import run_in_parallel

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def sequencer_mode(settings: Any) -> None:
    settings.VIHUB_AUDIT_CHAIN = "sequencer"


def _write(label: str) -> AuditEvent:
    return audit_record(actor=None, action="organisation.seeded", object_id=label, changes={"label": label})


def _chained_labels() -> list[str]:
    return list(
        AuditEvent.objects.filter(action="organisation.seeded", changes__has_key="label")
        .order_by("seq")
        .values_list("object_id", flat=True)
    )


def _other_session_holds_the_chain() -> Any:
    """A second database session that takes the chain's lock (as a sequencer mid-round would)."""
    import psycopg  # noqa: PLC0415

    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, dbname=db["NAME"],
        user=db["USER"], password=db["PASSWORD"] or None, autocommit=True,
    )  # fmt: skip
    other.execute("SELECT pg_advisory_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])
    return other


def test_an_audited_request_does_not_wait_for_the_chain(committed_db: Any) -> None:
    """The officer's read is audited and answered while another session holds the chain lock:
    with the inline chain it would queue behind it (here it would time out)."""
    task = make_task(holder="KENT")
    kent = make_persona("kent-seq", "KENT", "officer").client
    other = _other_session_holds_the_chain()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        response = kent.get(f"/api/v1/tasks/{task.pk}/")
        assert response.status_code == 200
        read = AuditPending.objects.get(action="task.viewed", task_id=task.pk)
        with pytest.raises(ChainBusy):
            chain_round()  # the other session holds the chain: this sequencer stands by
        assert chain_pending() is None
    finally:
        # Unlock before closing: a closed session's backend lets go of its locks only when it
        # has exited, which can be after the next line's try-lock (a failed CI run).
        other.execute("SELECT pg_advisory_unlock(%s)", [AUDIT_CHAIN_LOCK_KEY])
        other.close()
    assert (chain_pending() or 0) >= 1
    event = AuditEvent.objects.get(pk=read.event_id)
    assert event.action == "task.viewed" and event.chained_at is not None
    assert not AuditPending.objects.filter(event_id=read.event_id).exists()
    assert audit_verify(record=False).ok


def test_a_late_committer_is_chained_after_those_that_committed_first_and_never_skipped(
    committed_db: Any,
) -> None:
    written, release = threading.Event(), threading.Event()

    def slow_request() -> None:
        try:
            with transaction.atomic():
                _write("early-but-slow")
                written.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    slow = threading.Thread(target=slow_request)
    slow.start()
    assert written.wait(timeout=10)
    _write("later-but-quick")  # written after the slow one, committed before it
    chain_pending()
    assert _chained_labels() == ["later-but-quick"], "only what has committed is chained"
    release.set()
    slow.join(timeout=20)
    chain_pending()
    assert _chained_labels() == ["later-but-quick", "early-but-slow"], "chained in commit order"
    assert not AuditPending.objects.exists()
    assert audit_verify(record=False).ok


def test_many_writers_and_two_sequencers_chain_every_event_exactly_once(committed_db: Any) -> None:
    writers, per_writer = 6, 40
    done = threading.Event()
    rounds_by: dict[str, int] = {"a": 0, "b": 0}

    def sequencer(name: str) -> None:
        try:
            while not done.is_set():
                if chain_pending(max_rounds=1, limit=25):
                    rounds_by[name] += 1
        finally:
            connections.close_all()

    sequencers = [threading.Thread(target=sequencer, args=(name,)) for name in rounds_by]
    for thread in sequencers:
        thread.start()
    results = run_in_parallel(writers, lambda i: [_write(f"w{i}-{n}").pk for n in range(per_writer)])
    done.set()
    for thread in sequencers:
        thread.join(timeout=30)
    chain_pending(wait=True)
    assert not any(isinstance(r, Exception) for r in results), results
    ids = {pk for batch in results for pk in batch}
    assert len(ids) == writers * per_writer
    labelled = AuditEvent.objects.filter(action="organisation.seeded", changes__has_key="label")
    chained = list(labelled.values_list("id", "seq"))
    assert {pk for pk, _ in chained} == ids, "every event chained, none twice, none invented"
    seqs = sorted(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)), "one chain: no gap, no fork"
    for i in range(writers):  # each writer's events keep their order
        mine = [label for label in _chained_labels() if label.startswith(f"w{i}-")]
        assert mine == [f"w{i}-{n}" for n in range(per_writer)]
    assert not AuditPending.objects.exists()
    assert audit_verify(record=False).ok


def test_a_sequencer_that_dies_mid_round_loses_nothing(
    committed_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(10):
        _write(f"e{n}")
    real_hash = compute_event_hash
    calls = [0]

    def dies_on_the_sixth(event: AuditEvent) -> str:
        calls[0] += 1
        if calls[0] == 6:
            raise SystemExit("sequencer killed")  # not an Exception: nothing catches it
        return real_hash(event)

    monkeypatch.setattr(audit_sequencer, "compute_event_hash", dies_on_the_sixth)
    with pytest.raises(SystemExit):
        chain_round()
    assert not _chained_labels(), "the round was all or nothing"
    assert AuditPending.objects.filter(changes__has_key="label").count() == 10
    monkeypatch.setattr(audit_sequencer, "compute_event_hash", real_hash)
    chain_pending()
    assert _chained_labels() == [f"e{n}" for n in range(10)]
    assert audit_verify(record=False).ok


def test_the_sequencer_process_chains_and_stops_cleanly(committed_db: Any) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(), "VIHUB_AUDIT_CHAIN": "sequencer",
           "DJANGO_SETTINGS_MODULE": "config.settings.test"}  # fmt: skip
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and manage.py)
        [sys.executable, "manage.py", "audit_sequencer", "--interval", "0.05"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for n in range(30):
            _write(f"p{n}")
        deadline = time.monotonic() + 30
        while AuditPending.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not AuditPending.objects.exists(), "the running sequencer chained them"
        assert _chained_labels() == [f"p{n}" for n in range(30)]
        delays = [
            (e.chained_at - e.occurred_at).total_seconds()
            for e in AuditEvent.objects.filter(changes__has_key="label")
        ]
        assert min(delays) >= 0
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-800:]
    assert audit_verify(record=False).ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE hub_auditpending SET action = 'forged'",
        "DELETE FROM hub_auditpending",
        "TRUNCATE hub_auditpending",
    ],
    ids=["update", "delete", "truncate"],
)
def test_a_waiting_event_cannot_be_altered_or_dropped(sql: str) -> None:
    waiting = _write("waiting")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="hub_auditpending"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditPending.objects.get(event_id=waiting.pk).action == "organisation.seeded"
    chain_pending()  # chained, it leaves the queue (the one DELETE the database allows)
    assert AuditEvent.objects.get(pk=waiting.pk).object_id == "waiting"


@pytest.mark.django_db
def test_a_read_is_refused_when_its_event_cannot_be_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    task = make_task()
    kent = make_persona("kent-seq-closed", "KENT", "officer").client
    kent.get("/api/v1/tasks/")

    # The queue's INSERT fails in the database (as a revoked grant or a full disk would).
    monkeypatch.setattr(
        audit, "_QUEUE_SQL", audit._QUEUE_SQL.replace("hub_auditpending", "hub_no_such_table")
    )
    response = kent.get(f"/api/v1/tasks/{task.pk}/")
    assert response.status_code == 503 and response.json()["code"] == "audit_unavailable"
    assert str(task.referral_id) not in response.content.decode()


@pytest.mark.django_db
def test_healthz_and_metrics_show_what_waits_for_the_chain(
    client: Any, admin_client: Any, settings: Any
) -> None:
    admin_client.get("/healthz")  # signing in writes its own events: chained before counting
    chain_pending()
    _write("one")
    _write("two")
    lag = chain_lag()
    assert lag.waiting == 2 and lag.oldest is not None
    health = client.get("/healthz").json()
    assert health["checks"]["audit_chain"] == "ok" and health["checks"]["audit_chain_lag_seconds"] >= 0
    assert "audit_chain_waiting" not in health["checks"], "a count of activity is for operators"
    assert admin_client.get("/healthz").json()["checks"]["audit_chain_waiting"] == 2
    settings.VIHUB_METRICS_TOKEN = "t" * 32
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "t" * 32).content.decode()
    assert "vihub_audit_unchained_events 2.0" in metrics
    chain_pending()
    assert chain_lag().waiting == 0
    assert admin_client.get("/healthz").json()["checks"]["audit_chain_waiting"] == 0


@pytest.mark.django_db
def test_a_decision_on_a_view_whose_changes_were_chained_since_is_not_refused(cast: dict[str, Any]) -> None:
    """The version counts changes wherever they are (waiting or chained): the sequencer moving
    them does not make a fresh view look stale, and a real change since still does."""
    referral = make_triaged()
    hub = cast["coordinator"].client
    version = hub.get(f"/api/v1/referrals/{referral.pk}/").json()["version"]
    assert AuditPending.objects.filter(referral_id=referral.pk, action="referral.triaged").exists()
    chain_pending()
    assert hub.get(f"/api/v1/referrals/{referral.pk}/").json()["version"] == version
    regrade = {"grade": 1, "risk": "very_high", "access_to_children": [], "information_incomplete": False,
               "rationale": "worse"}  # fmt: skip
    first = hub.post(
        f"/api/v1/referrals/{referral.pk}/triage/", regrade, format="json", HTTP_IF_MATCH=f'"{version}"'
    )
    assert first.status_code == 200, first.content
    again = hub.post(f"/api/v1/referrals/{referral.pk}/triage/", {**regrade, "rationale": "again"},
                     format="json", HTTP_IF_MATCH=f'"{version}"')  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "stale"
    assert [c["action"] for c in again.json()["details"]["changes"]] == ["referral.regraded"]


@pytest.mark.django_db
def test_a_queued_event_is_timed_by_the_database_clock(settings: Any) -> None:
    """Production's path: the INSERT reads PostgreSQL's clock itself (no extra round trip)."""
    settings.VIHUB_CLOCK = "database"
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (before,) = cursor.fetchone()
    event = _write("timed")
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (after,) = cursor.fetchone()
    assert before <= event.occurred_at <= after
    assert AuditPending.objects.get(event_id=event.pk).occurred_at == event.occurred_at
    chain_pending()
    assert AuditEvent.objects.get(pk=event.pk).occurred_at == event.occurred_at
    assert audit_verify(record=False).ok


@pytest.mark.django_db
def test_a_batch_of_events_waits_and_is_chained_in_its_order() -> None:
    """``audit_record_many`` (the deadline sweep's path) queues its events too."""
    events = audit_record_many(
        actor=None,
        events=[
            {"action": "organisation.seeded", "object_id": f"b{n}", "changes": {"label": f"b{n}"}}
            for n in range(5)
        ],
    )
    assert all(e.seq is None for e in events)
    assert AuditPending.objects.filter(changes__has_key="label").count() == 5
    chain_pending()
    assert _chained_labels() == [f"b{n}" for n in range(5)]
    assert [AuditEvent.objects.get(pk=e.pk).object_id for e in events] == [f"b{n}" for n in range(5)]
    assert audit_verify(record=False).ok
