"""The scoped task list, per role, against the plain indexed filter and stock django-guardian.

Import only after ``django.setup()`` (``bench.run`` does it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from guardian.shortcuts import get_objects_for_user

from bench.measure import (
    captured,
    environment,
    explain,
    interleaved,
    quiet_gc,
    ratio,
    run_sql,
    server_interleaved,
    server_ms,
    sql_of,
    summary,
)
from bench.seed import SeedReport, ensure_member, log, verify_grants
from hub.models import Membership, Organisation, Task, TaskGroupObjectPermission, User
from hub.policies.roles import SPOKE_ROLES
from hub.selectors import task_list_for
from hub.services.organisations import api_token_create

PAGE_ROWS = 51  # the API's cursor page (50) plus the one row that tells it there is a next page
RELATED = ("assignee_org", "referral", "accepted_by")
ORDER = ("due_at", "id")
API_URL = "/api/v1/tasks/"
TARGET_RATIO = 2.0
LEVELS = ("orm", "sql", "server")


@dataclass(frozen=True)
class PersonaSpec:
    key: str
    org_code: str
    role: str


PERSONAS: tuple[PersonaSpec, ...] = (
    PersonaSpec("officer_small_force", "COLP", Membership.Role.OFFICER),
    PersonaSpec("officer_large_force", "MPS", Membership.Role.OFFICER),
    PersonaSpec("regional_coordinator", "LONDON", Membership.Role.REGIONAL_COORDINATOR),
    PersonaSpec("regional_coordinator_tarian", "TARIAN", Membership.Role.REGIONAL_COORDINATOR),
    PersonaSpec("hub_coordinator", "NCA", Membership.Role.COORDINATOR),
    PersonaSpec("auditor", "NCA", Membership.Role.AUDITOR),
)


@dataclass
class Persona:
    spec: PersonaSpec
    user: User
    membership: Membership
    token: str
    plain_org_ids: list[Any] | None  # None: every task (hub roles)

    @property
    def is_spoke(self) -> bool:
        return self.membership.role in SPOKE_ROLES


def first_page(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """What the API's first page evaluates: related rows joined, ``due_at, id`` order, 51 rows."""
    return queryset.select_related(*RELATED).order_by(*ORDER)[:PAGE_ROWS]


def make_persona(spec: PersonaSpec) -> Persona:
    created = ensure_member(f"bench-{spec.key.replace('_', '-')}", spec.org_code, spec.role)
    # Loaded the way the API loads it (hub.selectors.membership_for).
    membership = Membership.objects.select_related("organisation", "organisation__parent").get(pk=created.pk)
    user = User.objects.get(pk=membership.user_id)
    _, raw = api_token_create(user=user, actor=None, expires_days=1, name="bench")
    org = membership.organisation
    plain: list[Any] | None
    if membership.role not in SPOKE_ROLES:
        plain = None
    elif org.kind == Organisation.Kind.REGION:
        plain = [org.pk, *Organisation.objects.filter(parent=org).values_list("pk", flat=True)]
    else:
        plain = [org.pk]
    return Persona(spec=spec, user=user, membership=membership, token=raw, plain_org_ids=plain)


def plain_queryset(persona: Persona) -> QuerySet[Task]:
    ids = persona.plain_org_ids
    if ids is None:
        return Task.objects.all()
    if len(ids) == 1:
        return Task.objects.filter(assignee_org_id=ids[0])
    return Task.objects.filter(assignee_org_id__in=ids)


def unpaged(persona: Persona) -> dict[str, Callable[[], QuerySet[Task]]]:
    """Every variant of the persona's task list, unordered and unsliced."""
    found: dict[str, Callable[[], QuerySet[Task]]] = {
        "scoped": lambda: task_list_for(persona.membership),
        "plain": lambda: plain_queryset(persona),
    }
    if persona.is_spoke:
        found["guardian_stock"] = lambda: get_objects_for_user(persona.user, "hub.view_task", klass=Task)
    return found


def variants(persona: Persona) -> dict[str, Callable[[], QuerySet[Task]]]:
    """Each variant builds its first-page queryset from scratch (building is part of the cost)."""
    return {name: _paged(build) for name, build in unpaged(persona).items()}


def _paged(build: Callable[[], QuerySet[Task]]) -> Callable[[], QuerySet[Task]]:
    return lambda: first_page(build())


def _counter(build: Callable[[], QuerySet[Task]]) -> Callable[[], int]:
    return lambda: build().count()


def _evaluate(build: Callable[[], QuerySet[Task]]) -> Callable[[], object]:
    return lambda: list(build())


def _api_call(client: Client, path: str = API_URL) -> Callable[[], object]:
    def call() -> object:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} returned {response.status_code}: {response.content[:300]!r}")
        return response

    return call


def _ratios(results: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    plain = results.get("plain")
    found: dict[str, float | None] = {}
    for name in results:
        if name == "plain":
            continue
        short = "guardian" if name == "guardian_stock" else name
        found[f"{short}_vs_plain_p50"] = ratio(results[name], plain, "p50_ms")
        found[f"{short}_vs_plain_p95"] = ratio(results[name], plain, "p95_ms")
    return found


def measure_persona(persona: Persona, *, warmup: int, repeats: int) -> dict[str, Any]:
    spec = persona.spec
    log(f"measuring {spec.key} ({spec.role} @ {spec.org_code})")
    builders = variants(persona)
    orm_runs = {name: _evaluate(build) for name, build in builders.items()}

    # Correctness first: every variant must return the same page.
    pages = {name: [task.pk for task in build()] for name, build in builders.items()}
    same_rows = all(ids == pages["plain"] for ids in pages.values())
    query_counts = {name: len(captured(run)) for name, run in orm_runs.items()}

    compiled = {name: sql_of(build()) for name, build in builders.items()}
    sql_runs = {name: run_sql(sql, params) for name, (sql, params) in compiled.items()}

    orm = {
        name: summary(samples)
        for name, samples in interleaved(orm_runs, warmup=warmup, repeats=repeats).items()
    }
    sql = {
        name: summary(samples)
        for name, samples in interleaved(sql_runs, warmup=warmup, repeats=repeats).items()
    }
    server_runs = {name: server_ms(sql, params) for name, (sql, params) in compiled.items()}
    server = {
        name: summary(samples)
        for name, samples in server_interleaved(server_runs, warmup=warmup, repeats=repeats).items()
    }

    client = Client(headers={"Authorization": f"Bearer {persona.token}"})
    api_call = _api_call(client)
    api_samples = interleaved({"api": api_call}, warmup=warmup, repeats=repeats)["api"]
    api_queries = captured(api_call)
    api_ids = [row["id"] for row in client.get(API_URL).json()["results"]]
    api_same = api_ids == [str(pk) for pk in pages["scoped"][: PAGE_ROWS - 1]]

    plans = {name: explain(build()) for name, build in builders.items()}

    # COUNT(*) over the whole list (the web UI's paginator does one): every variant but stock
    # guardian must agree with the plain filter, which checks the grants on every row.
    counters = {name: _counter(build) for name, build in unpaged(persona).items() if name != "guardian_stock"}
    totals = {name: count() for name, count in counters.items()}
    count_ms = {
        name: summary(samples)
        for name, samples in interleaved(counters, warmup=1, repeats=max(3, repeats // 3)).items()
    }
    return {
        "org": spec.org_code,
        "role": spec.role,
        "visible_tasks": totals["plain"],
        "page_rows": len(pages["plain"]),
        "same_rows": same_rows,
        "same_count": len(set(totals.values())) == 1,
        "query_counts": query_counts,
        "orm": orm,
        "sql": sql,
        "server": server,
        "ratios": {"orm": _ratios(orm), "sql": _ratios(sql), "server": _ratios(server)},
        "api": {
            **summary(api_samples),
            "queries": len(api_queries),
            "rows": len(api_ids),
            "same_rows_as_scoped": api_same,
        },
        "count": {**count_ms, "ratios": _ratios(count_ms)},
        "explain": plans,
        "_api_sql": api_queries,
    }


def api_page_size_counts(persona: Persona) -> dict[str, int]:
    client = Client(headers={"Authorization": f"Bearer {persona.token}"})
    counts = {}
    for size in (10, 50, 200):
        call = _api_call(client, f"{API_URL}?page_size={size}")
        call()
        counts[str(size)] = len(captured(call))
    return counts


def data_summary(seed: SeedReport) -> dict[str, Any]:
    sizes = {}
    with connection.cursor() as cursor:
        for table in ("hub_task", "hub_referral", TaskGroupObjectPermission._meta.db_table):
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
            sizes[table] = round(cursor.fetchone()[0] / 2**20, 1)
        cursor.execute("SELECT status, count(*) FROM hub_task GROUP BY status ORDER BY status")
        statuses = dict(cursor.fetchall())
        cursor.execute(
            "SELECT o.code, count(*) FROM hub_task t JOIN hub_organisation o ON o.id = t.assignee_org_id "
            "GROUP BY o.code ORDER BY count(*) DESC"
        )
        by_holder = cursor.fetchall()
    return {
        "tasks": seed.tasks,
        "referrals": seed.referrals,
        "guardian_grants": seed.grants,
        "holders": len(by_holder),
        "largest_holders": dict(by_holder[:5]),
        "smallest_holders": dict(by_holder[-5:]),
        "tasks_by_status": statuses,
        "table_total_mb": sizes,
        "seed_seconds": seed.seconds,
    }


def run(*, seed: SeedReport, warmup: int, repeats: int) -> tuple[dict[str, Any], list[str]]:
    """Measure every persona; return the result document and a list of correctness problems."""
    personas = {spec.key: make_persona(spec) for spec in PERSONAS}
    quiet_gc()
    roles = {key: measure_persona(p, warmup=warmup, repeats=repeats) for key, p in personas.items()}

    small, large = roles["officer_small_force"], roles["officer_large_force"]
    page_sizes = api_page_size_counts(personas["officer_large_force"])
    api_counts = {
        "small_force": small["api"]["queries"],
        "large_force": large["api"]["queries"],
        "by_page_size_large_force": page_sizes,
        "constant": small["api"]["queries"] == large["api"]["queries"] and len(set(page_sizes.values())) == 1,
        "statements_large_force": [sql[:160] for sql in large["_api_sql"]],
    }
    for result in roles.values():
        del result["_api_sql"]

    problems: list[str] = verify_grants()
    for key, result in roles.items():
        if not result["same_rows"]:
            problems.append(f"{key}: the variants returned different first pages")
        if not result["same_count"]:
            problems.append(f"{key}: the variants count different totals")
        if not result["api"]["same_rows_as_scoped"]:
            problems.append(f"{key}: the API page differs from task_list_for's page")
        if result["query_counts"]["scoped"] != 1:
            problems.append(f"{key}: the scoped first page took {result['query_counts']['scoped']} queries")
    if not api_counts["constant"]:
        problems.append(f"API query count is not constant: {api_counts}")

    document = {
        "summary": summary_table(roles),
        "environment": environment(),
        "data": data_summary(seed),
        "roles": roles,
        "api_query_counts": api_counts,
        "verdict": verdict(roles),
    }
    return document, problems


def verdict(roles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Scoped against plain for every role: at the ORM level (what the API pays, the target),
    for the statement alone (``sql``) and as the server times it (``server``)."""

    def within(level: str, name: str, pct: str) -> dict[str, float | None]:
        return {key: r["ratios"][level].get(f"{name}_vs_plain_{pct}") for key, r in roles.items()}

    found: dict[str, Any] = {
        "target": f"scoped within {TARGET_RATIO}x of plain (p50 and p95) for every role",
        "judged_on": "orm (the first page evaluated to a list, as the API pays for it); "
        "sql and server are reported to show where the time goes",
    }
    for name in ("scoped",):
        for level in LEVELS:
            for pct in ("p50", "p95"):
                values = within(level, name, pct)
                failing = sorted(k for k, v in values.items() if v is not None and v > TARGET_RATIO)
                found[f"{name}_{level}_{pct}_failing"] = failing
        found[f"{name}_pass"] = not any(found[f"{name}_orm_{pct}_failing"] for pct in ("p50", "p95"))
    return found


def summary_table(roles: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One line per role: the ORM-level p50/p95 of each variant, the ratios to plain (ORM and
    server), and the API request."""
    table: dict[str, dict[str, Any]] = {}
    for key, result in roles.items():
        row: dict[str, Any] = {"org": result["org"], "visible_tasks": result["visible_tasks"]}
        for name, figures in result["orm"].items():
            row[f"{name}_p50_ms"] = figures["p50_ms"]
            row[f"{name}_p95_ms"] = figures["p95_ms"]
        for level in ("orm", "server"):
            for ratio_name, value in result["ratios"][level].items():
                if ratio_name.endswith("_p50"):
                    row[f"{level}_{ratio_name}"] = value
        row["api_p50_ms"] = result["api"]["p50_ms"]
        row["api_p95_ms"] = result["api"]["p95_ms"]
        row["api_queries"] = result["api"]["queries"]
        table[key] = row
    return table
