"""The deadline sweep: its cost on a big table of open tasks, and breach-to-notification
latency in a storm served by real Celery workers.

Runs in its own database (``bench.db.sibling_database``). Import only after ``django.setup()``.

1. **Seed** (SQL only) ``tasks`` open tasks (offered 25 %, accepted 70 %, declined 5 %) with
   their referrals, one officer per holder, and each task's pending alerts exactly as
   :func:`hub.services.alerts.alerts_reschedule` writes them (reminders at 50/90 % of each open
   window, escalation step 1 of each clock, generation = ``task.alert_generation``). Every 100th
   task (1 %) is an accepted task that breached in the last five minutes: its act-by escalation
   step 1 is due now. Nothing else falls due for :data:`QUIET_PERIOD` (reminders that would, are
   left out, as a schedule rebuilt :data:`QUIET_PERIOD` from now leaves them out), so the sweep
   fires exactly the 1 % and an idle sweep finds nothing.
2. **Sweep**: ``EXPLAIN (ANALYZE, BUFFERS)`` of the due-alert query, one ``alerts_sweep()``
   firing the 1 % (seconds, alerts/s, statements and rows by kind, broker publishes), then idle
   sweeps on the same table.
3. **Storm**: ``storm_tasks`` more tasks breach within ``storm_window`` seconds; two real
   Celery worker processes (``--pool solo``) serve them while a thread enqueues
   ``deadline_sweep_job`` every :data:`BEAT_INTERVAL` seconds as beat would. Latency is
   ``fired_at - due_at`` per step-1 alert; 0 missed and 0 duplicates are checked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from bench.db import database_url
from bench.measure import QueryCounter, explain, seconds_summary, summary
from bench.seed import (
    AGENCY_SHARES,
    SeedReport,
    _thresholds,
    ensure_member,
    holders,
    log,
    with_other_columns,
)
from hub.clock import db_now
from hub.models import Alert, AuditEvent, Membership, Notification, Organisation, Referral, Task
from hub.services.alerts import alert_recipients, alerts_reschedule, alerts_sweep, oldest_due_unfired_age
from hub.services.audit_integrity import audit_verify

ROOT = Path(__file__).resolve().parent.parent
QUIET_PERIOD = timedelta(minutes=30)  # nothing but the chosen 1 % falls due this soon after seeding
DUE_EVERY = 100  # every 100th task is due now: 1 %
DUE_SPREAD_SECONDS = 300  # the due ones breached over the last five minutes
BEAT_INTERVAL = 5.0  # seconds between deadline_sweep_job enqueues in the storm
STORM_LEAD_SECONDS = 5.0  # from seeding the storm to its first breach
IDLE_SWEEPS = 5
SEEDER = "bench-sweep-seeder"
STORM_SEEDER = "bench-storm-seeder"


@dataclass(frozen=True)
class SweepConfig:
    tasks: int
    storm_tasks: int
    storm_window: float  # seconds over which the storm's tasks breach
    storm_timeout: float  # give up this long after the last breach
    email_drain_timeout: float  # then wait at most this long for the notification emails

    @classmethod
    def for_mode(cls, mode: str) -> SweepConfig:
        if mode == "full":
            return cls(tasks=1_000_000, storm_tasks=10_000, storm_window=60.0, storm_timeout=300.0,
                       email_drain_timeout=180.0)  # fmt: skip
        return cls(tasks=20_000, storm_tasks=2_000, storm_window=10.0, storm_timeout=120.0,
                   email_drain_timeout=10.0)  # fmt: skip


# --- Seeding ---------------------------------------------------------------------------------

_OPEN_SQL = """
CREATE TEMP TABLE bench_open AS
WITH draws AS (
  SELECT n, random() AS r_holder, random() AS r_grade, random() AS r_risk, random() AS r_status,
         random() AS r_age, random() AS r_speed, random() AS r_agency
  FROM generate_series(1, %(tasks)s) AS n
), typed AS (
  SELECT d.*, d.n %% %(due_every)s = 0 AS is_due,
         CASE WHEN d.n %% %(due_every)s = 0 THEN 'accepted' WHEN d.r_status < 0.25 THEN 'offered'
              WHEN d.r_status < 0.95 THEN 'accepted' ELSE 'declined' END AS status,
         CASE WHEN d.r_grade < 0.03 THEN 1 WHEN d.r_grade < 0.20 THEN 2 ELSE 3 END AS grade,
         width_bucket(d.r_holder, %(holder_bounds)s::float8[]) AS holder_ix,
         width_bucket(d.r_agency, %(agency_bounds)s::float8[]) AS agency_ix
  FROM draws AS d
), risked AS (
  SELECT t.*,
         CASE WHEN t.grade = 1 THEN 'very_high'
              WHEN t.grade = 2 THEN CASE WHEN t.r_risk < 0.5 THEN 'very_high' ELSE 'high' END
              WHEN t.r_risk < 0.10 THEN 'very_high' WHEN t.r_risk < 0.35 THEN 'high'
              WHEN t.r_risk < 0.70 THEN 'medium' ELSE 'low' END AS risk
  FROM typed AS t
), clocked AS (
  SELECT r.*, COALESCE(ps.accept_within, pa.accept_within) AS accept_within,
         COALESCE(ps.act_within, pa.act_within) AS act_within
  FROM risked AS r
  LEFT JOIN hub_deadlinepolicy AS ps ON ps.grade = r.grade AND ps.risk = r.risk
  LEFT JOIN hub_deadlinepolicy AS pa ON pa.grade = r.grade AND pa.risk = ''
), started AS (
  SELECT c.*,
         CASE WHEN c.is_due
                THEN %(now)s::timestamptz - make_interval(secs => 1 + %(due_spread)s * c.r_age) - c.act_within
              WHEN c.status = 'offered'
                THEN %(now)s::timestamptz
                     - GREATEST(c.accept_within - %(quiet)s::interval, interval '0') * c.r_age
              ELSE %(now)s::timestamptz - GREATEST(c.act_within - %(quiet)s::interval, interval '0') * c.r_age
         END AS created_at
  FROM clocked AS c
)
SELECT s.n, md5('vihub-bench-open-task-' || s.n)::uuid AS task_id,
       md5('vihub-bench-open-referral-' || s.n)::uuid AS referral_id,
       s.holder_ix, s.agency_ix, s.grade, s.risk, s.status, s.is_due, s.created_at,
       s.accept_within, s.act_within,
       s.created_at + s.accept_within AS accept_due_at, s.created_at + s.act_within AS due_at,
       CASE WHEN s.status IN ('accepted', 'declined')
            THEN s.created_at + LEAST(s.accept_within, %(now)s::timestamptz - s.created_at) * s.r_speed
       END AS answered_at,
       CASE WHEN s.status = 'offered' THEN 1 ELSE 2 END AS alert_generation
FROM started AS s
"""

_REFERRAL_SQL = """
INSERT INTO hub_referral (
  id, agency_id, external_id, received_at, summary, suspect_force_id, is_urgent, status, grade, risk,
  access_to_children, is_information_incomplete, triaged_at, non_actionable_reason, closure_note,
  created_by_id, created_at, updated_at/*EXTRA_COLUMNS*/)
SELECT o.referral_id, (%(agencies)s::uuid[])[o.agency_ix], %(prefix)s || o.n,
       o.created_at - interval '2 hours', '',
       CASE WHEN (%(holder_kinds)s::text[])[o.holder_ix] = 'force'
            THEN (%(holders)s::uuid[])[o.holder_ix] END,
       o.grade = 1, 'allocated', o.grade, o.risk, '[]'::jsonb, false, o.created_at - interval '1 hour',
       '', '',
       %(seeder)s, o.created_at - interval '2 hours', o.created_at/*EXTRA_VALUES*/
FROM {source} AS o
ORDER BY o.created_at, o.n
"""

_TASK_SQL = """
INSERT INTO hub_task (
  id, referral_id, assignee_org_id, status, instructions, offered_at, accept_due_at, due_at,
  accepted_at, accepted_by_id, declined_at, decline_reason, decline_note, pause_reason, alert_generation,
  created_by_id, created_at, updated_at/*EXTRA_COLUMNS*/)
SELECT o.task_id, o.referral_id, (%(holders)s::uuid[])[o.holder_ix], o.status, '', o.created_at,
       o.accept_due_at, o.due_at,
       CASE WHEN o.status = 'accepted' THEN o.answered_at END,
       CASE WHEN o.status = 'accepted' THEN (%(officers)s::uuid[])[o.holder_ix] END,
       CASE WHEN o.status = 'declined' THEN o.answered_at END,
       CASE WHEN o.status = 'declined' THEN 'not_our_area' ELSE '' END, '', '', o.alert_generation,
       %(seeder)s, o.created_at, COALESCE(o.answered_at, o.created_at)/*EXTRA_VALUES*/
FROM {source} AS o
ORDER BY o.created_at, o.n
"""

# The rows alerts_reschedule(task, now=schedule_at) writes: a reminder only if it is still ahead,
# escalation step 1 of each open clock always. Window points are computed on exact seconds
# (the policy's windows are whole hours or days), as Python's timedelta arithmetic does.
_ALERT_SQL = """
INSERT INTO hub_alert (
  id, task_id, generation, kind, clock, step, level, due_at, recipients, created_at/*EXTRA_COLUMNS*/)
SELECT gen_random_uuid(), o.task_id, o.alert_generation, c.kind, c.clock, c.step, c.level, c.due_at,
       '[]'::jsonb, %(now)s/*EXTRA_VALUES*/
FROM {source} AS o
CROSS JOIN LATERAL (VALUES
  (1, 'reminder', 'accept', 50, '',
   o.created_at + make_interval(secs => extract(epoch FROM o.accept_due_at - o.created_at) * 50 / 100),
   o.status = 'offered'),
  (2, 'reminder', 'accept', 90, '',
   o.created_at + make_interval(secs => extract(epoch FROM o.accept_due_at - o.created_at) * 90 / 100),
   o.status = 'offered'),
  (3, 'reminder', 'accept', 75, 'supervisor',
   o.created_at + make_interval(secs => extract(epoch FROM o.accept_due_at - o.created_at) * 75 / 100),
   o.status = 'offered' AND o.grade IN (1, 2)),
  (4, 'escalation', 'accept', 1, 'officer', o.accept_due_at, o.status = 'offered'),
  (5, 'reminder', 'act', 50, '',
   o.created_at + make_interval(secs => extract(epoch FROM o.due_at - o.created_at) * 50 / 100),
   o.status IN ('offered', 'accepted')),
  (6, 'reminder', 'act', 90, '',
   o.created_at + make_interval(secs => extract(epoch FROM o.due_at - o.created_at) * 90 / 100),
   o.status IN ('offered', 'accepted')),
  (7, 'reminder', 'act', 75, 'supervisor',
   o.created_at + make_interval(secs => extract(epoch FROM o.due_at - o.created_at) * 75 / 100),
   o.status IN ('offered', 'accepted') AND o.grade IN (1, 2)),
  (8, 'escalation', 'act', 1, 'officer', o.due_at, true)
) AS c(ord, kind, clock, step, level, due_at, applies)
WHERE c.applies AND (c.kind = 'escalation' OR c.due_at > %(schedule_at)s)
ORDER BY o.created_at, o.n, c.ord
"""

_STORM_SQL = """
CREATE TEMP TABLE bench_storm AS
SELECT n, md5('vihub-bench-storm-task-' || n)::uuid AS task_id,
       md5('vihub-bench-storm-referral-' || n)::uuid AS referral_id,
       1 + (n - 1) %% %(holder_count)s AS holder_ix, %(agency_ix)s AS agency_ix,
       2 AS grade, 'high' AS risk, 'offered' AS status, %(now)s::timestamptz AS created_at,
       %(breach_at)s::timestamptz + interval '1 day' AS accept_due_at,
       %(breach_at)s::timestamptz
         + make_interval(secs => ((n::bigint * 7919) %% %(tasks)s)::float8 / %(tasks)s * %(window)s)
         AS due_at,
       NULL::timestamptz AS answered_at, 1 AS alert_generation
FROM generate_series(1, %(tasks)s) AS n
"""

# As tests/hub/test_storm.py seeds it: one escalation step 1 on the act-by clock per task.
_STORM_ALERT_SQL = """
INSERT INTO hub_alert (
  id, task_id, generation, kind, clock, step, level, due_at, recipients, created_at/*EXTRA_COLUMNS*/)
SELECT gen_random_uuid(), s.task_id, 1, 'escalation', 'act', 1, 'officer', s.due_at, '[]'::jsonb,
       %(now)s/*EXTRA_VALUES*/
FROM bench_storm AS s
ORDER BY s.due_at
"""


def _timed(report: SeedReport, name: str, sql: str, params: dict[str, Any]) -> int:
    with report.step(name), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def seed_open_tasks(n_tasks: int) -> tuple[SeedReport, dict[str, Any]]:
    """Seed the open tasks and their pending alerts; return the report and the instants used."""
    report = SeedReport()
    with report.step("users"):
        seeder = ensure_member(SEEDER, "NCA", Membership.Role.COORDINATOR).user
        holder_rows = holders()
    agencies = {org.code: org for org in Organisation.objects.filter(kind=Organisation.Kind.AGENCY)}
    now = db_now()
    schedule_at = now + QUIET_PERIOD
    params: dict[str, Any] = {
        "now": now,
        "schedule_at": schedule_at,
        "quiet": QUIET_PERIOD,
        "tasks": n_tasks,
        "due_every": DUE_EVERY,
        "due_spread": DUE_SPREAD_SECONDS,
        "seeder": seeder.pk,
        "prefix": "BENCH-OPEN-",
        "agencies": [agencies[code].pk for code, _ in AGENCY_SHARES],
        "agency_bounds": _thresholds([share for _, share in AGENCY_SHARES]),
        "holders": [h.org.pk for h in holder_rows],
        "holder_kinds": [h.org.kind for h in holder_rows],
        "holder_bounds": _thresholds([h.share for h in holder_rows]),
        "officers": [h.officer.pk for h in holder_rows],
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SELECT setseed(0.42)")
        with report.step(f"draw {n_tasks} open tasks"):
            cursor.execute("DROP TABLE IF EXISTS bench_open")
            cursor.execute(_OPEN_SQL, params)
            cursor.execute("ANALYZE bench_open")
        sql, extra = with_other_columns(
            _REFERRAL_SQL.format(source="bench_open"), Referral, created="o.created_at"
        )
        report.referrals = _timed(report, "insert referrals", sql, {**params, **extra})
        sql, extra = with_other_columns(_TASK_SQL.format(source="bench_open"), Task, created="o.created_at")
        report.tasks = _timed(report, f"insert {n_tasks} tasks", sql, {**params, **extra})
        sql, extra = with_other_columns(_ALERT_SQL.format(source="bench_open"), Alert, created="o.created_at")
        alerts = _timed(report, "insert pending alerts", sql, {**params, **extra})
    with report.step("vacuum analyze"), connection.cursor() as cursor:
        for table in ("hub_alert", "hub_task", "hub_referral"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return report, {"now": now, "schedule_at": schedule_at, "alerts": alerts, "seeder": seeder}


def verify_schedule(schedule_at: datetime) -> list[str]:
    """For a few tasks of each kind (offered, accepted, declined, due), the seeded pending alerts
    must be exactly what ``alerts_reschedule(task, now=schedule_at)`` writes (run, compared,
    rolled back); and each holder's officer level must name exactly one person."""
    problems: list[str] = []
    samples: list[Any] = []
    with connection.cursor() as cursor:
        for condition in (
            "status = 'offered'",
            "status = 'accepted' AND NOT is_due",
            "status = 'declined'",
            "is_due",
            "status = 'offered' AND grade = 1",
            "status = 'accepted' AND grade = 3 AND risk = 'low'",
        ):
            cursor.execute(f"SELECT task_id FROM bench_open WHERE {condition} ORDER BY n LIMIT 5")
            samples += [row[0] for row in cursor.fetchall()]
    for pk in samples:
        with transaction.atomic():
            task = Task.objects.select_for_update().get(pk=pk)
            pending = Alert.objects.filter(task=task, fired_at__isnull=True, cancelled_at__isnull=True)
            seeded = sorted((a.kind, a.clock, a.step, a.level, a.due_at, a.generation) for a in pending)
            generation = task.alert_generation
            written = sorted(
                (a.kind, a.clock, a.step, a.level, a.due_at, a.generation - 1)
                for a in alerts_reschedule(task=task, now=schedule_at)
            )
            transaction.set_rollback(True)
        if seeded != written or any(row[5] != generation for row in seeded):
            problems.append(
                f"seeded alerts of task {pk} ({task.status}) {seeded} "
                f"differ from alerts_reschedule's {written}"
            )
    for holder in Organisation.objects.filter(kind__in=[Organisation.Kind.FORCE, Organisation.Kind.REGION]):
        offered = (
            Task.objects.select_related("assignee_org__parent", "accepted_by")
            .filter(assignee_org=holder, status=Task.Status.OFFERED)
            .first()
        )
        if offered is not None and len(alert_recipients(offered, Alert.Level.OFFICER)) != 1:
            problems.append(
                f"{holder.code}: the officer level of an offered task does not name exactly one person"
            )
    return problems


# --- Measuring one sweep ---------------------------------------------------------------------


def _due_query(now: datetime) -> Any:
    """The sweep's due-alert query, built as ``alerts_sweep`` builds it (first batch)."""
    return (
        Alert.objects.filter(fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
        .exclude(pk__in=set())
        .order_by("due_at")
        .values_list("pk", flat=True)[:200]
    )


def _accelerator_query(now: datetime) -> Any:
    return (
        Alert.objects.filter(
            fired_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__gt=now,
            due_at__lte=now + timedelta(seconds=60),
        )
        .order_by("due_at")
        .values_list("due_at", flat=True)[:5000]
    )


def _is_due_query(sql: str) -> bool:
    return sql.startswith('SELECT "hub_alert"."id"') and 'ORDER BY "hub_alert"."due_at"' in sql


PARTIAL_INDEX = "alert_pending_due_idx"


def _uses_index(plan: dict[str, Any]) -> bool:
    return any(f"index={PARTIAL_INDEX}" in line for line in plan["plan"])


@dataclass
class BrokerCounter:
    """Counts and times ``app.send_task`` (every enqueue goes through it), by job name."""

    published: dict[str, int] = field(default_factory=dict)
    ms: float = 0.0

    @contextmanager
    def installed(self) -> Iterator[BrokerCounter]:
        from config.celery import app  # noqa: PLC0415

        original = app.send_task

        def counted(name: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(name, *args, **kwargs)
            finally:
                self.ms += (time.perf_counter() - start) * 1000
                self.published[name] = self.published.get(name, 0) + 1

        app.send_task = counted
        try:
            yield self
        finally:
            del app.send_task


def _count(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.fetchone()[0])


def measure_sweep(due_expected: int) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    now = db_now()
    pending_due = _count(
        "SELECT count(*) FROM hub_alert WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= %s",
        [now],
    )
    plans = {
        "due_query_1pct_due": explain(_due_query(now)),
        "accelerator_query": explain(_accelerator_query(now)),
    }
    before = {
        "notifications": Notification.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "step2_alerts": Alert.objects.filter(kind=Alert.Kind.ESCALATION, step=2).count(),
    }
    counter = QueryCounter(sample=_is_due_query)
    broker = BrokerCounter()
    log(f"sweep: firing {pending_due} due alerts")
    with broker.installed(), connection.execute_wrapper(counter):
        start = time.perf_counter()
        result = alerts_sweep()
        seconds = time.perf_counter() - start
    log(f"sweep: fired {result.fired} in {seconds:.2f} s")
    after = {
        "notifications": Notification.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "step2_alerts": Alert.objects.filter(kind=Alert.Kind.ESCALATION, step=2).count(),
    }
    inserted = {key: after[key] - before[key] for key in before}
    due_samples = [ms for ms, _ in counter.samples]
    fire = {
        "due_alerts_before": pending_due,
        "seconds": round(seconds, 3),
        "fired": result.fired,
        "skipped": result.skipped,
        "alerts_fired_per_s": round(result.fired / seconds, 1) if seconds else None,
        "batches": max(0, len(counter.samples) - 1),
        "statements": counter.statements,
        "statements_per_alert": round(counter.statements / result.fired, 2) if result.fired else None,
        "database_s": round(counter.ms / 1000, 3),
        "broker_publishes": broker.published,
        "broker_s": round(broker.ms / 1000, 3),
        "rows_written": {
            "notifications_inserted": counter.rows("INSERT hub_notification"),
            "alerts_updated": counter.rows("UPDATE hub_alert"),
            "alerts_inserted_next_step": counter.rows("INSERT hub_alert"),
            "audit_events_inserted": counter.rows("INSERT hub_auditevent"),
            "tasks_updated": counter.rows("UPDATE hub_task"),
        },
        "table_deltas": inserted,
        "due_query_per_batch_ms": {
            "first": round(due_samples[0], 2) if due_samples else None,
            "last_nonempty": round(due_samples[-2], 2) if len(due_samples) > 1 else None,
            "max": round(max(due_samples), 2) if due_samples else None,
            "total": round(sum(due_samples), 1),
            "bound_ids_in_last": counter.samples[-1][1] - 1 if counter.samples else None,
            "by_batch": [round(ms, 1) for ms in due_samples],
        },
        "by_statement": counter.report()["by_kind"],
    }
    if pending_due != due_expected:
        problems.append(f"sweep: {pending_due} alerts were due before the sweep, expected {due_expected}")
    if result.fired != due_expected or result.skipped:
        problems.append(
            f"sweep: fired {result.fired} and skipped {result.skipped} of {due_expected} due alerts"
        )
    for key, value in inserted.items():
        if value != due_expected:
            problems.append(f"sweep: {key} grew by {value}, expected {due_expected} (one per fired alert)")
    if oldest_due_unfired_age() is not None:
        problems.append("sweep: alerts are still due after the sweep")

    idle_runs: list[float] = []
    idle_statements: list[int] = []
    idle_fired = 0
    for _ in range(IDLE_SWEEPS):
        idle = QueryCounter()
        with connection.execute_wrapper(idle):
            start = time.perf_counter()
            outcome = alerts_sweep()
            idle_runs.append((time.perf_counter() - start) * 1000)
        idle_statements.append(idle.statements)
        idle_fired += outcome.fired
    plans["due_query_idle"] = explain(_due_query(db_now()))
    if idle_fired:
        problems.append(f"sweep: idle sweeps fired {idle_fired} alerts")
    for name, plan in plans.items():
        if not _uses_index(plan):
            problems.append(f"sweep: {name} does not use {PARTIAL_INDEX}: {plan['plan'][:3]}")
    idle_figures = {**summary(idle_runs), "statements": idle_statements[-1], "fired": idle_fired}
    return {"fire_1pct": fire, "idle": idle_figures, "explain": plans}, problems


# --- The storm -------------------------------------------------------------------------------


def seed_storm(n: int, window: float) -> tuple[datetime, datetime, float]:
    """``n`` offered tasks held by the forces (round robin, one officer each) whose act-by
    escalation step 1 falls due over ``window`` seconds from ``STORM_LEAD_SECONDS`` from now."""
    seeder = ensure_member(STORM_SEEDER, "NCA", Membership.Role.COORDINATOR).user
    forces = list(Organisation.objects.filter(kind=Organisation.Kind.FORCE).order_by("code"))
    # The open-task seed gave each force exactly one officer: each alert notifies one person.
    officers = [
        ensure_member(f"bench-officer-{force.code.lower()}", force.code, Membership.Role.OFFICER).user.pk
        if not Membership.objects.filter(organisation=force, role=Membership.Role.OFFICER).exists()
        else Membership.objects.get(organisation=force, role=Membership.Role.OFFICER).user_id
        for force in forces
    ]
    ncmec = Organisation.objects.get(code="NCMEC")
    started = time.perf_counter()
    now = db_now()
    breach_at = now + timedelta(seconds=STORM_LEAD_SECONDS)
    params: dict[str, Any] = {
        "now": now,
        "breach_at": breach_at,
        "window": window,
        "tasks": n,
        "holder_count": len(forces),
        "agency_ix": 1,
        "agencies": [ncmec.pk],
        "holders": [f.pk for f in forces],
        "holder_kinds": [f.kind for f in forces],
        "officers": officers,
        "seeder": seeder.pk,
        "prefix": "BENCH-STORM-",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_storm")
        cursor.execute(_STORM_SQL, params)
        cursor.execute("CREATE INDEX ON bench_storm (task_id)")
        cursor.execute("ANALYZE bench_storm")
        for template, model in ((_REFERRAL_SQL, Referral), (_TASK_SQL, Task)):
            sql, extra = with_other_columns(
                template.format(source="bench_storm"), model, created="o.created_at"
            )
            cursor.execute(sql, {**params, **extra})
        sql, extra = with_other_columns(_STORM_ALERT_SQL, Alert, created="s.created_at")
        cursor.execute(sql, {**params, **extra})
    return breach_at, breach_at + timedelta(seconds=window), time.perf_counter() - started


def _worker(name: str, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603  (our own interpreter running celery)
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--queues", "safeguarding,default", "--hostname", f"{name}@bench-storm",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _stop(workers: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in workers.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in workers.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_ready(names: list[str], workers: dict[str, subprocess.Popen[bytes]], timeout: float) -> float:
    from config.celery import app  # noqa: PLC0415

    started = time.perf_counter()
    wanted = {f"{name}@bench-storm" for name in names}
    while time.perf_counter() - started < timeout:
        if any(p.poll() is not None for p in workers.values()):
            raise RuntimeError("a storm worker exited during start-up")
        replies = app.control.ping(timeout=1.0) or []
        if wanted <= {host for reply in replies for host in reply}:
            return time.perf_counter() - started
    raise RuntimeError(f"storm workers did not answer a ping within {timeout:.0f} s")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _storm_pending(breach_at: datetime, breach_end: datetime) -> int:
    # The storm's step-1 alerts are the only ones due in [breach_at, breach_end]: counted
    # through the partial index, cheap enough to poll twice a second.
    return Alert.objects.filter(
        fired_at__isnull=True, cancelled_at__isnull=True, due_at__gte=breach_at, due_at__lte=breach_end
    ).count()


def _queue_lengths() -> dict[str, int]:
    """Jobs left in the broker once the workers are stopped (kombu's Redis lists, and the
    hash of reserved-but-unacknowledged messages)."""
    import redis  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    client = redis.Redis.from_url(settings.REDIS_URL)
    found = {queue: int(client.llen(queue)) for queue in ("safeguarding", "default", "retry")}
    found["unacked"] = int(client.hlen("unacked"))
    return found


def _drain_emails(workers: dict[str, subprocess.Popen[bytes]], timeout: float) -> float | None:
    """Seconds until no notification is left unsent (None: still some after ``timeout``)."""
    started = time.perf_counter()
    last_log = 0.0
    while (elapsed := time.perf_counter() - started) < timeout:
        unsent = Notification.objects.filter(emailed_at__isnull=True).count()  # partial index
        if unsent == 0:
            return elapsed
        if elapsed - last_log >= 10:
            log(f"storm: {unsent} notification emails unsent {elapsed:.0f} s after the last fire")
            last_log = elapsed
        if all(p.poll() is not None for p in workers.values()):
            return None
        time.sleep(0.5)
    return None


def _beat(stop: threading.Event, sent: list[int]) -> None:
    from hub.tasks import deadline_sweep_job  # noqa: PLC0415

    while not stop.is_set():
        deadline_sweep_job.apply_async()
        sent[0] += 1
        stop.wait(BEAT_INTERVAL)


def _storm_figures(n: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT extract(epoch FROM a.fired_at - a.due_at)::float8,
                   extract(epoch FROM n.created_at - a.due_at)::float8,
                   extract(epoch FROM n.emailed_at - a.due_at)::float8
            FROM bench_storm AS s
            JOIN hub_alert AS a ON a.task_id = s.task_id AND a.kind = 'escalation' AND a.step = 1
            LEFT JOIN hub_notification AS n ON n.alert_id = a.id
            WHERE a.fired_at IS NOT NULL
            """
        )
        rows = cursor.fetchall()
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE a.step = 1),
                   count(*) FILTER (WHERE a.step = 1 AND a.fired_at IS NOT NULL),
                   count(*) FILTER (WHERE a.step = 1 AND a.fired_at IS NULL AND a.cancelled_at IS NULL),
                   count(*) FILTER (WHERE a.step = 2),
                   count(DISTINCT a.task_id) FILTER (WHERE a.step = 1 AND a.fired_at IS NOT NULL),
                   min(a.due_at) FILTER (WHERE a.step = 1), max(a.due_at) FILTER (WHERE a.step = 1),
                   max(a.fired_at) FILTER (WHERE a.step = 1)
            FROM bench_storm AS s JOIN hub_alert AS a ON a.task_id = s.task_id AND a.kind = 'escalation'
            """
        )
        step1, fired, missed, step2, tasks_fired, first_due, last_due, last_fired = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*), count(DISTINCT (n.alert_id, n.recipient_id)), count(DISTINCT n.alert_id),
                   count(*) FILTER (WHERE n.emailed_at IS NOT NULL)
            FROM bench_storm AS s
            JOIN hub_alert AS a ON a.task_id = s.task_id AND a.kind = 'escalation' AND a.step = 1
            JOIN hub_notification AS n ON n.alert_id = a.id
            """
        )
        notifications, distinct_pairs, alerts_notified, emailed = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM bench_storm AS s JOIN hub_auditevent AS e ON e.task_id = s.task_id "
            "WHERE e.action = 'task.escalated'"
        )
        (audit_events,) = cursor.fetchone()
    fired_lateness = [row[0] for row in rows]
    notified_lateness = [row[1] for row in rows if row[1] is not None]
    return {
        "latency_fired_at_minus_due_at": seconds_summary(fired_lateness),
        "latency_notification_created_minus_due_at": seconds_summary(notified_lateness),
        "latency_email_sent_minus_due_at": seconds_summary([row[2] for row in rows if row[2] is not None]),
        "first_due_to_last_fired_s": round((last_fired - first_due).total_seconds(), 1)
        if last_fired
        else None,
        "breach_span_s": round((last_due - first_due).total_seconds(), 1) if last_due else None,
        "checks": {
            "tasks": n,
            "step1_alerts": step1,
            "step1_fired": fired,
            "tasks_with_a_fired_step1": tasks_fired,
            "missed": missed,
            "notifications": notifications,
            "alerts_notified": alerts_notified,
            "duplicate_notifications": notifications - distinct_pairs,
            "step2_alerts": step2,
            "audit_task_escalated": audit_events,
            "notifications_emailed": emailed,
        },
    }


def run_storm(config: SweepConfig) -> tuple[dict[str, Any], list[str]]:
    from config.celery import app  # noqa: PLC0415

    problems: list[str] = []
    n = config.storm_tasks
    # Leave the storm to itself: the 1 % sweep's email jobs are queued for workers that never
    # ran, and its notifications would be re-enqueued by every sweep; count them as sent.
    Notification.objects.filter(emailed_at__isnull=True).update(emailed_at=db_now())
    purged = app.control.purge()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url()}
    logs = Path(tempfile.mkdtemp(prefix="vihub-bench-storm-"))
    names = ["a", "b"]
    workers: dict[str, subprocess.Popen[bytes]] = {}
    stop = threading.Event()
    sent = [0]
    beat = threading.Thread(target=_beat, args=(stop, sent), daemon=True)
    wall = time.perf_counter()
    try:
        workers = {name: _worker(name, env, logs / f"{name}.log") for name in names}
        ready_s = _wait_ready(names, workers, timeout=90)
        log(
            f"storm: workers ready in {ready_s:.1f} s; "
            f"seeding {n} tasks breaching over {config.storm_window:.0f} s"
        )
        breach_at, breach_end, seed_s = seed_storm(n, config.storm_window)
        beat.start()
        deadline = time.monotonic() + STORM_LEAD_SECONDS + config.storm_window + config.storm_timeout
        while time.monotonic() < deadline:
            if all(p.poll() is not None for p in workers.values()):
                problems.append("storm: both workers exited")
                break
            if db_now() > breach_end and _storm_pending(breach_at, breach_end) == 0:
                break
            time.sleep(0.5)
        else:
            problems.append(
                f"storm: not every alert fired within {config.storm_timeout:.0f} s of the last breach"
            )
        fired_s = time.perf_counter() - wall
        # Then the email copies (the in-app notification is what the latency above measures):
        # how long the workers take to send what the storm queued, beat still running.
        drain_s = _drain_emails(workers, config.email_drain_timeout)
    finally:
        stop.set()
        if beat.is_alive():
            beat.join(timeout=10)
        _stop(workers)
        queued = _queue_lengths()
        app.control.purge()
    storm_s = time.perf_counter() - wall
    emails_left = Notification.objects.filter(emailed_at__isnull=True).count()
    dead = {
        name: p.returncode for name, p in workers.items() if p.returncode not in (0, -signal.SIGTERM, None)
    }
    figures = _storm_figures(n)
    checks = figures["checks"]
    expected = {
        "step1_alerts": n,
        "step1_fired": n,
        "tasks_with_a_fired_step1": n,
        "missed": 0,
        "notifications": n,
        "alerts_notified": n,
        "duplicate_notifications": 0,
        "step2_alerts": n,
        "audit_task_escalated": n,
    }
    for key, value in expected.items():
        if checks[key] != value:
            problems.append(f"storm: {key} = {checks[key]}, expected {value}")
    if problems:
        for name in names:
            problems.append(f"storm: worker {name} log tail: {_tail(logs / f'{name}.log')}")
    document = {
        "tasks": n,
        "breach_window_s": config.storm_window,
        "workers": len(names),
        "worker_pool": "solo",
        "beat_interval_s": BEAT_INTERVAL,
        "beat_enqueues": sent[0],
        "workers_ready_s": round(ready_s, 1),
        "seed_s": round(seed_s, 2),
        "seeded_before_first_breach": seed_s < STORM_LEAD_SECONDS,
        "storm_wall_s": round(fired_s, 1),
        "email_drain": {
            "seconds_after_last_fire": round(drain_s, 1) if drain_s is not None else None,
            "timeout_s": config.email_drain_timeout,
            "unsent_left": emails_left,
        },
        "wall_s_with_email_drain": round(storm_s, 1),
        "broker_jobs_left_at_end": queued,
        "queues_purged_before": purged,
        "worker_exit_codes": {name: p.returncode for name, p in workers.items()},
        **figures,
    }
    if dead:
        document["workers_died"] = dead
    return document, problems


# --- Driver ----------------------------------------------------------------------------------


def data_summary(seed: SeedReport, alerts: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM hub_task GROUP BY status ORDER BY status")
        statuses = dict(cursor.fetchall())
        cursor.execute(
            "SELECT kind || ':' || clock || ':' || step, count(*) FROM hub_alert "
            "WHERE fired_at IS NULL AND cancelled_at IS NULL GROUP BY 1 ORDER BY 1"
        )
        pending = dict(cursor.fetchall())
        sizes = {}
        for relation in ("hub_task", "hub_referral", "hub_alert"):
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [relation])
            sizes[relation] = round(cursor.fetchone()[0] / 2**20, 1)
        cursor.execute("SELECT pg_relation_size(%s::regclass)", [PARTIAL_INDEX])
        index_mb = round(cursor.fetchone()[0] / 2**20, 1)
    return {
        "open_tasks": seed.tasks,
        "referrals": seed.referrals,
        "pending_alerts": alerts,
        "pending_alerts_per_task": round(alerts / seed.tasks, 2) if seed.tasks else None,
        "pending_by_kind_clock_step": pending,
        "tasks_by_status": statuses,
        "table_total_mb": sizes,
        f"{PARTIAL_INDEX}_mb": index_mb,
        "quiet_period_minutes": QUIET_PERIOD.total_seconds() / 60,
        "seed_seconds": seed.seconds,
    }


def run(config: SweepConfig, *, storm: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Seed, measure one sweep and idle sweeps, then the storm; return (document, problems)."""
    seed, instants = seed_open_tasks(config.tasks)
    problems = verify_schedule(instants["schedule_at"])
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_open")
    data = data_summary(seed, instants["alerts"])
    due_expected = config.tasks // DUE_EVERY
    sweep, sweep_problems = measure_sweep(due_expected)
    problems += sweep_problems
    document: dict[str, Any] = {"data": data, "sweep": sweep}
    if storm:
        storm_document, storm_problems = run_storm(config)
        problems += storm_problems
        document["storm"] = storm_document
    verified = audit_verify(record=False)
    document["audit_chain_after"] = {
        "ok": verified.ok,
        "events": verified.events_checked,
        "message": verified.message,
    }
    if not verified.ok:
        problems.append(f"sweep: the audit chain written by the sweeps does not verify: {verified.message}")
    document["summary"] = summary_line(document)
    return document, problems


def summary_line(document: dict[str, Any]) -> dict[str, Any]:
    fire = document["sweep"]["fire_1pct"]
    line: dict[str, Any] = {
        "open_tasks": document["data"]["open_tasks"],
        "pending_alerts": document["data"]["pending_alerts"],
        "fired": fire["fired"],
        "fire_s": fire["seconds"],
        "alerts_per_s": fire["alerts_fired_per_s"],
        "statements": fire["statements"],
        "idle_sweep_p50_ms": document["sweep"]["idle"]["p50_ms"],
        "due_query_exec_ms": document["sweep"]["explain"]["due_query_1pct_due"]["execution_ms"],
    }
    storm = document.get("storm")
    if storm:
        latency = storm["latency_fired_at_minus_due_at"]
        line.update(
            {
                "storm_tasks": storm["tasks"],
                "storm_p50_s": latency.get("p50_s"),
                "storm_p95_s": latency.get("p95_s"),
                "storm_p99_s": latency.get("p99_s"),
                "storm_max_s": latency.get("max_s"),
                "storm_missed": storm["checks"]["missed"],
                "storm_duplicates": storm["checks"]["duplicate_notifications"],
            }
        )
    return line
