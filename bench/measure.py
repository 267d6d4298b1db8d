"""Timing, query counting and EXPLAIN helpers. Every figure is in milliseconds."""

from __future__ import annotations

import gc
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
