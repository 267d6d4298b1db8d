"""Seed a realistic task population in SQL (no Python object per row), on PostgreSQL only.

What is seeded, all with fixed-seed pseudo-randomness so two runs of the same size hold the
same data:

* referrals (``hub_referral``) from the three reference agencies (NCMEC 70 %, IWF 20 %,
  INTERPOL 10 %), received over the last two years (denser towards now), graded 1–3 with a
  KIRAT risk, about 0.85 per task (so ~15 % of referrals have a second task elsewhere);
* tasks (``hub_task``) held by the 43 forces and 10 regions with a skewed distribution
  (:data:`FIXED_SHARES` and :data:`FORCE_TIERS`): the Metropolitan Police holds 4 %, the City
  of London Police 0.03 %, each region 0.4 %, the other forces 1.1–3.3 % by size; clocks from the
  real deadline policy (``hub_deadlinepolicy``), statuses by age (old tasks mostly completed,
  recent ones offered / accepted / declined), rows written in ``created_at`` order as they
  would be in production;
* the django-guardian grants (``hub_taskgroupobjectpermission``) exactly as
  :func:`hub.services.permissions.task_grant_holder` writes them: the (group, codename) pairs
  come from :func:`hub.services.permissions.task_grants_for_holder` for each holder and the
  ids from :func:`hub.services.permissions.permission_id`.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import CharField, DateTimeField, Model, TextField

from hub.models import Membership, Organisation, Referral, Task, TaskGroupObjectPermission, User
from hub.services.deadlines import deadline_policy_ensure_defaults
from hub.services.organisations import membership_set, organisations_seed_reference
from hub.services.permissions import permission_id, task_grant_holder, task_grants_for_holder, task_revoke_all

# Shares of all tasks fixed by code; each region holds REGION_SHARE (tasks not yet handed down).
FIXED_SHARES: dict[str, float] = {"MPS": 0.04, "COLP": 0.0003}
REGION_SHARE = 0.004
# Relative size of the other forces (3 = large, 2 = medium, 1 = small); they share what is left.
FORCE_TIERS: dict[str, int] = {
    **dict.fromkeys(
        (
            "GMP", "WMP", "WYORKS", "TVP", "HAMPSHIRE", "KENT", "MERSEYSIDE", "ESSEX", "DEVCORN",
            "NORTHUMBRIA", "SYORKS", "LANCASHIRE", "AVONSOM", "SUSSEX", "SWALES",
        ),
        3,
    ),
    **dict.fromkeys(
        (
            "HERTS", "SURREY", "NOTTS", "LEICS", "DERBYSHIRE", "STAFFS", "WMERCIA", "HUMBERSIDE",
            "CHESHIRE", "NORFOLK", "CAMBS", "NYORKS",
        ),
        2,
    ),
    **dict.fromkeys(
        (
            "CUMBRIA", "DYFEDPOWYS", "WARKS", "GWENT", "NWALES", "DURHAM", "CLEVELAND", "GLOS",
            "WILTS", "DORSET", "LINCS", "NORTHANTS", "BEDS", "SUFFOLK",
        ),
        1,
    ),
}  # fmt: skip
AGENCY_SHARES: tuple[tuple[str, float], ...] = (("NCMEC", 0.70), ("IWF", 0.20), ("INTERPOL", 0.10))
REFERRALS_PER_TASK = 0.85
SEEDER_USERNAME = "bench-seeder"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class SeedReport:
    tasks: int = 0
    referrals: int = 0
    grants: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        log(f"{name} …")
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        log(f"{name}: {self.seconds[name]} s")


@dataclass(frozen=True)
class Holder:
    org: Organisation
    share: float
    officer: User


def holder_shares(orgs: list[Organisation]) -> dict[str, float]:
    """Share of all tasks held by each force and region code (sums to 1)."""
    codes = {org.code for org in orgs}
    forces = {org.code for org in orgs if org.kind == Organisation.Kind.FORCE}
    regions = sorted(org.code for org in orgs if org.kind == Organisation.Kind.REGION)
    missing = forces - set(FORCE_TIERS) - set(FIXED_SHARES)
    if missing or not set(FIXED_SHARES) <= codes:
        raise RuntimeError(f"bench tiers do not match the reference forces (missing {sorted(missing)})")
    shares = {code: share for code, share in FIXED_SHARES.items()}
    shares.update(dict.fromkeys(regions, REGION_SHARE))
    rest = 1.0 - sum(shares.values())
    tiered = {code: tier for code, tier in FORCE_TIERS.items() if code in forces}
    units = sum(tiered.values())
    shares.update({code: rest * tier / units for code, tier in tiered.items()})
    return shares


def prepare_database() -> None:
    """Migrate, load the reference organisations and the default deadline policy."""
    if connection.vendor != "postgresql":
        raise SystemExit("bench: DATABASE_URL must point at PostgreSQL (run it through `make bench`)")
    call_command("migrate", verbosity=0, interactive=False)
    if Task.objects.exists():
        raise SystemExit(
            "bench: the database already holds tasks; run on an empty one (`make bench` makes one)"
        )
    organisations_seed_reference()
    deadline_policy_ensure_defaults()


def ensure_member(username: str, org_code: str, role: str) -> Membership:
    return membership_set(username=username, org_code=org_code, role=role, actor=None)


def holders() -> list[Holder]:
    """Every force and region, with its share of tasks and an officer who accepts its tasks."""
    orgs = list(
        Organisation.objects.select_related("parent")
        .filter(kind__in=[Organisation.Kind.FORCE, Organisation.Kind.REGION])
        .order_by("code")
    )
    shares = holder_shares(orgs)
    return [
        Holder(
            org=org,
            share=shares[org.code],
            officer=ensure_member(
                f"bench-officer-{org.code.lower()}", org.code, Membership.Role.OFFICER
            ).user,
        )
        for org in orgs
    ]


def _thresholds(shares: list[float]) -> list[float]:
    """Lower bounds of each bucket for ``width_bucket(random(), thresholds)`` (1-based)."""
    bounds, total = [], 0.0
    for share in shares:
        bounds.append(total)
        total += share
    return bounds


_REFERRALS_SQL = """
CREATE TEMP TABLE bench_ref AS
SELECT n, id, agency_ix, holder_ix, grade,
       CASE WHEN grade = 1 THEN 'very_high'
            WHEN grade = 2 THEN CASE WHEN r_risk < 0.5 THEN 'very_high' ELSE 'high' END
            WHEN r_risk < 0.10 THEN 'very_high' WHEN r_risk < 0.35 THEN 'high'
            WHEN r_risk < 0.70 THEN 'medium' ELSE 'low' END AS risk,
       received_at, received_at + (interval '20 minutes' * (1 + r_triage * 36 * (grade - 1))) AS triaged_at,
       r_urgent < 0.08 OR grade = 1 AS is_urgent, r_urgent > 0.93 AS is_information_incomplete,
       r_access, r_urgent
FROM (
  SELECT n, md5('vihub-bench-referral-' || n)::uuid AS id,
         width_bucket(r_agency, %(agency_bounds)s::float8[]) AS agency_ix,
         width_bucket(r_holder, %(holder_bounds)s::float8[]) AS holder_ix,
         CASE WHEN r_grade < 0.03 THEN 1 WHEN r_grade < 0.20 THEN 2 ELSE 3 END AS grade,
         r_risk, r_triage, r_urgent, r_access,
         %(now)s::timestamptz - interval '730 days' * power(r_age, 1.6) AS received_at
  FROM (
    SELECT n, random() AS r_agency, random() AS r_holder, random() AS r_grade, random() AS r_risk,
           random() AS r_triage, random() AS r_urgent, random() AS r_access, random() AS r_age
    FROM generate_series(1, %(referrals)s) AS n
  ) AS draws
) AS graded
"""

_REFERRAL_INSERT_SQL = """
INSERT INTO hub_referral (
  id, agency_id, external_id, received_at, summary, suspect_force_id, is_urgent, status, grade, risk,
  access_to_children, is_information_incomplete, triaged_at, non_actionable_reason,
  suspect_has_access_to_children, is_safeguarding_needed, closed_at, closure_note,
  created_by_id, created_at, updated_at/*EXTRA_COLUMNS*/)
SELECT r.id, (%(agencies)s::uuid[])[r.agency_ix], 'BENCH-' || r.n, r.received_at, '',
       CASE WHEN (%(holder_kinds)s::text[])[r.holder_ix] = 'force'
            THEN (%(holders)s::uuid[])[r.holder_ix] END,
       r.is_urgent, c.status, r.grade, r.risk,
       CASE WHEN r.r_access < 0.35 THEN '["family"]'::jsonb WHEN r.r_access < 0.50 THEN '["work"]'::jsonb
            WHEN r.r_access < 0.60 THEN '["leisure", "family"]'::jsonb ELSE '[]'::jsonb END,
       r.is_information_incomplete, r.triaged_at, '',
       CASE WHEN c.status <> 'allocated' THEN r.r_access < 0.6 END,
       CASE WHEN c.status <> 'allocated' THEN r.r_access < 0.4 END,
       CASE WHEN c.status = 'closed' THEN r.triaged_at + interval '45 days' END, '',
       %(seeder)s, r.received_at,
       CASE WHEN c.status = 'closed' THEN r.triaged_at + interval '45 days' ELSE r.triaged_at END
       /*EXTRA_VALUES*/
FROM bench_ref AS r
CROSS JOIN LATERAL (
  SELECT CASE WHEN r.received_at > %(now)s::timestamptz - interval '60 days' THEN 'allocated'
              WHEN r.r_urgent < 0.8 THEN 'closed' ELSE 'outcome_recorded' END AS status
) AS c
ORDER BY r.received_at
"""

_TASK_INSERT_SQL = """
INSERT INTO hub_task (
  id, referral_id, assignee_org_id, status, instructions, accept_due_at, due_at, accepted_at,
  accepted_by_id, declined_at, decline_reason, decline_note, completed_at, created_by_id,
  created_at, updated_at/*EXTRA_COLUMNS*/)
SELECT t.id, t.referral_id, (%(holders)s::uuid[])[t.holder_ix], t.status, '',
       t.created_at + t.accept_within, t.created_at + t.act_within,
       CASE WHEN t.status IN ('accepted', 'completed') THEN t.created_at + t.accept_within * t.r_speed END,
       CASE WHEN t.status IN ('accepted', 'completed') THEN (%(officers)s::uuid[])[t.holder_ix] END,
       CASE WHEN t.status = 'declined' THEN t.created_at + t.accept_within * t.r_speed END,
       CASE WHEN t.status = 'declined' THEN 'not_our_area' ELSE '' END, '',
       CASE WHEN t.status = 'completed' THEN t.created_at + t.act_within * t.r_speed END,
       %(seeder)s, t.created_at,
       CASE WHEN t.status = 'completed' THEN t.created_at + t.act_within * t.r_speed
            WHEN t.status IN ('accepted', 'declined') THEN t.created_at + t.accept_within * t.r_speed
            ELSE t.created_at END
       /*EXTRA_VALUES*/
FROM (
  SELECT s.*, COALESCE(ps.accept_within, pa.accept_within) AS accept_within,
         COALESCE(ps.act_within, pa.act_within) AS act_within,
         CASE WHEN s.created_at < %(now)s::timestamptz - interval '60 days' THEN
                CASE WHEN s.r_status < 0.86 THEN 'completed' WHEN s.r_status < 0.91 THEN 'cancelled'
                     WHEN s.r_status < 0.97 THEN 'accepted' ELSE 'declined' END
              ELSE
                CASE WHEN s.r_status < 0.25 THEN 'offered' WHEN s.r_status < 0.80 THEN 'accepted'
                     WHEN s.r_status < 0.85 THEN 'declined' ELSE 'completed' END
         END AS status
  FROM (
    SELECT d.n, md5('vihub-bench-task-' || d.n)::uuid AS id, r.id AS referral_id, r.grade, r.risk,
           -- A referral's second task goes to another holder (one open task per referral and
           -- holder: constraint one_open_task_per_referral_and_holder).
           CASE WHEN d.n <= %(referrals)s THEN r.holder_ix
                WHEN width_bucket(d.r_holder, %(holder_bounds)s::float8[]) <> r.holder_ix
                  THEN width_bucket(d.r_holder, %(holder_bounds)s::float8[])
                ELSE r.holder_ix %% cardinality(%(holders)s::uuid[]) + 1 END AS holder_ix,
           LEAST(r.triaged_at + interval '10 minutes' * (1 + d.r_delay * 5)
                 + CASE WHEN d.n > %(referrals)s THEN interval '3 days' * d.r_delay ELSE interval '0' END,
                 %(now)s::timestamptz) AS created_at,
           d.r_status, 0.05 + 0.9 * d.r_speed AS r_speed
    FROM (
      SELECT n, random() AS r_holder, random() AS r_delay, random() AS r_status, random() AS r_speed
      FROM generate_series(1, %(tasks)s) AS n
    ) AS d
    JOIN bench_ref AS r ON r.n = ((d.n - 1) %% %(referrals)s) + 1
  ) AS s
  LEFT JOIN hub_deadlinepolicy AS ps ON ps.grade = s.grade AND ps.risk = s.risk
  LEFT JOIN hub_deadlinepolicy AS pa ON pa.grade = s.grade AND pa.risk = ''
) AS t
ORDER BY t.created_at, t.id
"""


def with_other_columns(sql: str, model: type[Model], *, created: str) -> tuple[str, dict[str, Any]]:
    """Fill the columns ``sql`` does not name, so the bench keeps working as the model grows.

    A nullable column stays NULL; a date-time column with a default (e.g. ``offered_at``) takes
    the row's creation time (``created``); any other default is bound once as a parameter; a blank-able text
    column is ''. Anything else is an error naming the field: extend the SQL above for it.
    """
    head = sql.split("/*EXTRA_COLUMNS*/")[0]
    named = set(re.findall(r"\b(\w+)\b", head.split("(", 1)[1]))
    columns: list[str] = []
    values: list[str] = []
    params: dict[str, Any] = {}
    for fld in model._meta.concrete_fields:
        if fld.column in named or fld.null:
            continue
        if fld.has_default() and isinstance(fld, DateTimeField):
            value = created
        elif fld.has_default():
            key = f"extra_{fld.column}"
            params[key] = fld.get_db_prep_save(fld.get_default(), connection)
            value = f"%({key})s"
        elif fld.blank and isinstance(fld, CharField | TextField):
            value = "''"
        else:
            raise RuntimeError(
                f"bench/seed.py does not fill {model.__name__}.{fld.name}: add it to the seed SQL"
            )
        columns.append(str(fld.column))
        values.append(value)
    sql = sql.replace("/*EXTRA_COLUMNS*/", "".join(f", {c}" for c in columns))
    sql = sql.replace("/*EXTRA_VALUES*/", "".join(f", {v}" for v in values))
    return sql, params


_GRANT_INSERT_SQL = """
INSERT INTO hub_taskgroupobjectpermission (content_object_id, group_id, permission_id)
SELECT t.id, g.group_id, g.permission_id
FROM hub_task AS t
JOIN unnest(%(org_ids)s::uuid[], %(group_ids)s::int[], %(permission_ids)s::int[], %(ordinals)s::int[])
     AS g(org_id, group_id, permission_id, ordinal) ON g.org_id = t.assignee_org_id
ORDER BY t.created_at, t.id, g.ordinal
"""


def seed_tasks(n_tasks: int, *, seed: float = 0.42) -> SeedReport:
    """Seed ``n_tasks`` tasks, their referrals and their guardian grants; VACUUM ANALYZE after."""
    report = SeedReport()
    with report.step("users"):
        seeder = ensure_member(SEEDER_USERNAME, "NCA", Membership.Role.COORDINATOR).user
        holder_rows = holders()
    agencies = {org.code: org for org in Organisation.objects.filter(kind=Organisation.Kind.AGENCY)}
    n_referrals = max(1, round(n_tasks * REFERRALS_PER_TASK))
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (now,) = cursor.fetchone()
    params = {
        "now": now,
        "tasks": n_tasks,
        "referrals": n_referrals,
        "seeder": seeder.pk,
        "agencies": [agencies[code].pk for code, _ in AGENCY_SHARES],
        "agency_bounds": _thresholds([share for _, share in AGENCY_SHARES]),
        "holders": [h.org.pk for h in holder_rows],
        "holder_kinds": [h.org.kind for h in holder_rows],
        "holder_bounds": _thresholds([h.share for h in holder_rows]),
        "officers": [h.officer.pk for h in holder_rows],
    }
    grants = [
        (h.org.pk, group_id, permission_id(codename), ordinal)
        for h in holder_rows
        for ordinal, (group_id, codename) in enumerate(task_grants_for_holder(h.org))
    ]
    grant_params: dict[str, Any] = {
        "org_ids": [g[0] for g in grants],
        "group_ids": [g[1] for g in grants],
        "permission_ids": [g[2] for g in grants],
        "ordinals": [g[3] for g in grants],
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Check foreign keys per statement, so each step's time includes its own checks.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SELECT setseed(%s)", [seed])
        with report.step(f"draw {n_referrals} referrals"):
            cursor.execute(_REFERRALS_SQL, params)
            cursor.execute("CREATE INDEX ON bench_ref (n)")
            cursor.execute("ANALYZE bench_ref")
        with report.step("insert referrals"):
            sql, extra = with_other_columns(_REFERRAL_INSERT_SQL, Referral, created="r.received_at")
            cursor.execute(sql, {**params, **extra})
            report.referrals = cursor.rowcount
        with report.step(f"insert {n_tasks} tasks"):
            sql, extra = with_other_columns(_TASK_INSERT_SQL, Task, created="t.created_at")
            cursor.execute(sql, {**params, **extra})
            report.tasks = cursor.rowcount
        with report.step("insert guardian grants"):
            cursor.execute(_GRANT_INSERT_SQL, grant_params)
            report.grants = cursor.rowcount
        cursor.execute("DROP TABLE bench_ref")
    with report.step("vacuum analyze"), connection.cursor() as cursor:
        for table in (Task._meta.db_table, TaskGroupObjectPermission._meta.db_table, "hub_referral"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("ANALYZE")
    return report


def verify_grants() -> list[str]:
    """For one task per holder, the seeded grants must be exactly what ``task_grant_holder``
    writes: revoke them, let the service grant, compare, roll back."""
    problems = []
    holders = Organisation.objects.select_related("parent").filter(
        kind__in=[Organisation.Kind.FORCE, Organisation.Kind.REGION]
    )
    for holder in holders:
        task = Task.objects.filter(assignee_org=holder).order_by("id").first()
        if task is None:
            continue
        grants = TaskGroupObjectPermission.objects.filter(content_object=task)
        seeded = sorted(grants.values_list("group_id", "permission_id"))
        with transaction.atomic():
            task_revoke_all(task=task)
            task_grant_holder(task=task, holder=holder)
            written = sorted(grants.values_list("group_id", "permission_id"))
            transaction.set_rollback(True)
        if seeded != written:
            problems.append(
                f"grants seeded for {holder.code} {seeded} differ from task_grant_holder's {written}"
            )
    return problems
