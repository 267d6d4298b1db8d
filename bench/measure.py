"""Timing, query counting, EXPLAIN and environment helpers shared by the benchmarks."""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import django
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 5 samples is the largest)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 95), 3),
        "min_ms": round(min(samples), 3),
        "max_ms": round(max(samples), 3),
        "n": len(samples),
    }


def ratio(numerator: dict[str, Any] | None, denominator: dict[str, Any] | None, key: str) -> float | None:
    if not numerator or not denominator or not denominator.get(key):
        return None
    return round(numerator[key] / denominator[key], 2)


def elapsed_ms(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def quiet_gc() -> None:
    """Collect now and freeze what survives, so a full collection of the set-up objects does not
    land in one sample (gunicorn workers that preload do the same)."""
    gc.collect()
    gc.freeze()


def interleaved(
    runs: Mapping[str, Callable[[], object]], *, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Time each callable ``repeats`` times, round-robin (so drift hits every variant alike),
    after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(elapsed_ms(run))
    return samples


def captured(run: Callable[[], object]) -> list[str]:
    """The SQL statements one call issues."""
    with CaptureQueriesContext(connection) as ctx:
        run()
    return [query["sql"] for query in ctx.captured_queries]


def sql_of(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def run_sql(sql: str, params: tuple[Any, ...]) -> Callable[[], object]:
    """Execute and fetch the compiled statement: the database and driver, without the ORM."""

    def run() -> object:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def server_ms(sql: str, params: tuple[Any, ...]) -> Callable[[], float]:
    """Planning + execution time as the server reports it (EXPLAIN ANALYZE, TIMING OFF): the
    query alone, without the round trip, the driver's decoding or the ORM."""

    def run() -> float:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) {sql}", params)
            raw = cursor.fetchone()[0]
        top = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        return float(top["Planning Time"]) + float(top["Execution Time"])

    return run


def server_interleaved(
    runs: Mapping[str, Callable[[], float]], *, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Like :func:`interleaved`, but each sample is the server's own figure."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def _plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    parts = [node["Node Type"]]
    for key in ("Join Type", "Relation Name", "Index Name", "Sort Method"):
        if key in node:
            parts.append(f"{key.split()[0].lower()}={node[key]}")
    if "Actual Total Time" in node:
        parts.append(
            f"rows={node.get('Actual Rows')}x{node.get('Actual Loops')} "
            f"(est {node.get('Plan Rows')}) time={node['Actual Total Time']}ms"
        )
    hit, read = node.get("Shared Hit Blocks", 0), node.get("Shared Read Blocks", 0)
    if hit or read:
        parts.append(f"buffers hit={hit} read={read}")
    if node.get("Rows Removed by Filter"):
        parts.append(f"removed_by_filter={node['Rows Removed by Filter']}")
    if node.get("Heap Fetches"):
        parts.append(f"heap_fetches={node['Heap Fetches']}")
    lines = ["  " * depth + " ".join(str(p) for p in parts)]
    for child in node.get("Plans", []):
        lines.extend(_plan_lines(child, depth + 1))
    return lines


def explain(queryset: QuerySet[Any]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the queryset's statement, summarised: the top node, total
    planning and execution time, and one line per plan node."""
    sql, params = sql_of(queryset)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    document = json.loads(raw) if isinstance(raw, str) else raw
    top = document[0]
    plan = top["Plan"]
    return {
        "top_node": plan["Node Type"],
        "top_node_actual_ms": plan.get("Actual Total Time"),
        "planning_ms": top.get("Planning Time"),
        "execution_ms": top.get("Execution Time"),
        "shared_hit_blocks": plan.get("Shared Hit Blocks"),
        "shared_read_blocks": plan.get("Shared Read Blocks"),
        "plan": _plan_lines(plan),
    }


# --- Counting statements without keeping them -------------------------------------------------

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
_FUNCTION = re.compile(r"^\s*SELECT\s+(\w+)", re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """``"INSERT hub_notification"``, ``"SELECT FOR UPDATE hub_task"``, ``"SELECT pg_advisory_xact_lock"``,
    ``"SAVEPOINT"``: the verb and the first table, to group statements by what they touch."""
    head = sql.lstrip()
    verb = head.split(None, 1)[0].upper() if head else "?"
    table = _TABLE.search(head)
    if verb == "SELECT":
        if table is None:
            function = _FUNCTION.match(head)
            return f"SELECT {function.group(1)}" if function else "SELECT"
        verb = "SELECT FOR UPDATE" if re.search(r"\bFOR (NO KEY )?UPDATE\b", head[-200:]) else "SELECT"
    return f"{verb} {table.group(1)}" if table else verb


@dataclass
class StatementStats:
    statements: int = 0
    rows: int = 0
    ms: float = 0.0


@dataclass
class QueryCounter:
    """A ``connection.execute_wrapper`` that counts statements, rows (``cursor.rowcount``: rows
    returned by a SELECT, written by an INSERT/UPDATE) and time per statement kind, keeping no
    SQL text, so memory stays flat over thousands of statements. ``sample`` names statements
    whose individual durations are kept (e.g. the sweep's due-alert query, once per batch)."""

    sample: Callable[[str], bool] | None = None
    by_kind: dict[str, StatementStats] = field(default_factory=dict)
    samples: list[tuple[float, int]] = field(default_factory=list)  # (ms, bound parameters)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - start) * 1000
            stats = self.by_kind.setdefault(statement_kind(sql), StatementStats())
            stats.statements += 1
            stats.ms += ms
            rowcount = getattr(context.get("cursor"), "rowcount", -1)
            stats.rows += max(0, rowcount or 0)
            if self.sample is not None and self.sample(sql):
                self.samples.append((ms, len(params) if isinstance(params, list | tuple) else 0))

    @property
    def statements(self) -> int:
        return sum(s.statements for s in self.by_kind.values())

    @property
    def ms(self) -> float:
        return sum(s.ms for s in self.by_kind.values())

    def rows(self, kind: str) -> int:
        return self.by_kind[kind].rows if kind in self.by_kind else 0

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.by_kind.items(), key=lambda item: -item[1].ms)
        return {
            "statements": self.statements,
            "database_ms": round(self.ms, 1),
            "by_kind": {
                kind: {"statements": s.statements, "rows": s.rows, "ms": round(s.ms, 1)}
                for kind, s in ordered
            },
        }


# --- Environment and memory -------------------------------------------------------------------


def cpu_count() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def environment() -> dict[str, Any]:
    """Versions, the PostgreSQL settings that steer plans, and the machine (with its load now:
    the figures are wall-clock times on a machine others may be using)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
        settings = {}
        for name in (
            "shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit",
            "max_parallel_workers_per_gather", "default_statistics_target", "synchronous_commit", "fsync",
            "full_page_writes",
        ):  # fmt: skip
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "django_guardian": version("django-guardian"),
        "psycopg": version("psycopg"),
        "celery": version("celery"),
        "postgresql": server_version,
        "postgresql_settings": settings,
        "machine": platform.machine(),
        "cpus": cpu_count(),
        "load_average_1_5_15": load_average(),
    }


def seconds_summary(samples: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/max of durations in seconds (nearest rank), and how many."""
    if not samples:
        return {"n": 0}
    return {
        "p50_s": round(statistics.median(samples), 3),
        "p95_s": round(percentile(samples, 95), 3),
        "p99_s": round(percentile(samples, 99), 3),
        "max_s": round(max(samples), 3),
        "min_s": round(min(samples), 3),
        "mean_s": round(statistics.fmean(samples), 3),
        "n": len(samples),
    }
