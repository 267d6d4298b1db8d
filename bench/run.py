"""``python -m bench.run --quick|--full [--only scoping,sweep,audit]``: seed PostgreSQL, measure, print JSON.

Needs ``DATABASE_URL`` pointing at an empty PostgreSQL database whose role may create
databases, and ``REDIS_URL`` (the sweep's storm runs real Celery workers); ``make bench`` and
``make bench-quick`` start a throwaway pair. Each benchmark writes its JSON document to
``bench/results/<benchmark>-<mode>.json``; stdout gets that document when one benchmark runs,
else ``{"mode", "benchmarks": {name: document}, "problems"}``. Progress goes to stderr. Exits 1
if any correctness check failed (never on time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("scoping", "sweep", "audit", "matching", "verify")


@dataclass(frozen=True)
class Mode:
    tasks: int
    repeats: int
    warmup: int


MODES = {
    "quick": Mode(tasks=20_000, repeats=5, warmup=2),
    "full": Mode(tasks=1_000_000, repeats=30, warmup=3),
}


def _benchmarks(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BENCHMARKS)} (got {value!r})")
    return tuple(name for name in BENCHMARKS if name in names)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--quick", action="store_const", dest="mode", const="quick", help="CI sizes")
    size.add_argument("--full", action="store_const", dest="mode", const="full", help="1,000,000 rows")
    parser.add_argument(
        "--only",
        type=_benchmarks,
        default=BENCHMARKS,
        help="comma-separated subset of scoping,sweep,audit,matching,verify",
    )
    parser.add_argument("--tasks", type=int, help="scoping: override the number of tasks")
    parser.add_argument("--repeats", type=int, help="scoping: override timed repetitions per measurement")
    parser.add_argument("--sweep-tasks", type=int, help="sweep: override the number of open tasks")
    parser.add_argument("--storm-tasks", type=int, help="sweep: override the number of storm tasks")
    parser.add_argument("--storm-window", type=float, help="sweep: seconds over which the storm breaches")
    parser.add_argument("--no-storm", action="store_true", help="sweep: skip the storm (no Celery workers)")
    parser.add_argument("--audit-events", type=int, help="audit: override the number of seeded events")
    parser.add_argument("--verify-events", type=int, help="verify: events seeded (fast, in COPY text)")
    parser.add_argument("--verify-workers", type=int, help="verify: audit_verify's workers (default: CPUs)")
    parser.add_argument(
        "--verify-legacy-events", type=int, help="verify: time the Python walk only up to this trail length"
    )
    parser.add_argument("--match-hashes", type=int, help="matching: known and referral hashes (each)")
    parser.add_argument("--keep-databases", action="store_true", help="keep the sweep/audit databases")
    parser.add_argument("--output", type=Path, help="where to write the JSON (one benchmark only)")
    args = parser.parse_args(argv)
    if args.output and len(args.only) != 1:
        parser.error("--output needs exactly one benchmark (--only NAME); results go to bench/results/")
    return args


def run_scoping(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from bench.scoping import run  # noqa: PLC0415
    from bench.seed import log, prepare_database, seed_tasks  # noqa: PLC0415

    mode = MODES[args.mode]
    tasks = args.tasks or mode.tasks
    repeats = args.repeats or mode.repeats
    log(f"scoping: mode={args.mode} tasks={tasks} repeats={repeats}")
    prepare_database()
    seed = seed_tasks(tasks)
    measured_from = time.perf_counter()
    document, problems = run(seed=seed, warmup=mode.warmup, repeats=repeats)
    return {
        "seconds_measure": round(time.perf_counter() - measured_from, 1),
        "method": {
            "repeats": repeats,
            "warmup_rounds": mode.warmup,
            "page_rows": 51,
            "order_by": ["due_at", "id"],
            "select_related": ["assignee_org", "referral", "accepted_by"],
            "timing": "wall clock per call, variants round-robin; orm = build queryset + list(); "
            "sql = execute + fetchall of the compiled statement; api = GET /api/v1/tasks/ in-process",
        },
        **document,
    }, problems


def run_sweep(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from bench import sweep  # noqa: PLC0415
    from bench.db import sibling_database  # noqa: PLC0415
    from bench.measure import environment  # noqa: PLC0415
    from bench.seed import log, prepare_database  # noqa: PLC0415

    config = sweep.SweepConfig.for_mode(args.mode)
    config = replace(
        config,
        tasks=args.sweep_tasks or config.tasks,
        storm_tasks=args.storm_tasks or config.storm_tasks,
        storm_window=args.storm_window or config.storm_window,
    )
    log(f"sweep: mode={args.mode} {config}")
    with sibling_database("sweep", keep=args.keep_databases):
        prepare_database()
        document, problems = sweep.run(config, storm=not args.no_storm)
        document["environment"] = environment()
    return {"config": config.__dict__, **document}, problems


def run_audit(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from bench import audit  # noqa: PLC0415
    from bench.db import sibling_database  # noqa: PLC0415
    from bench.measure import environment  # noqa: PLC0415
    from bench.seed import log, prepare_database  # noqa: PLC0415

    config = audit.AuditConfig.for_mode(args.mode)
    config = replace(config, events=args.audit_events or config.events)
    log(f"audit: mode={args.mode} {config}")
    with sibling_database("audit", keep=args.keep_databases):
        prepare_database()
        document, problems = audit.run(config)
        document["environment"] = environment()
    return {"config": config.__dict__, **document}, problems


def run_matching(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from bench import matching  # noqa: PLC0415
    from bench.db import sibling_database  # noqa: PLC0415
    from bench.measure import environment  # noqa: PLC0415
    from bench.seed import log, prepare_database  # noqa: PLC0415

    config = matching.MatchingConfig.for_mode(args.mode)
    if args.match_hashes:
        config = replace(config, known=args.match_hashes, referral=args.match_hashes)
    log(f"matching: mode={args.mode} {config}")
    with sibling_database("matching", keep=args.keep_databases):
        prepare_database()
        document, problems = matching.run(config)
        document["environment"] = environment()
    return {"config": config.__dict__, **document}, problems


def run_verify(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    from bench import verify  # noqa: PLC0415
    from bench.db import sibling_database  # noqa: PLC0415
    from bench.measure import environment  # noqa: PLC0415
    from bench.seed import log, prepare_database  # noqa: PLC0415

    config = verify.VerifyConfig.for_mode(args.mode)
    config = replace(
        config,
        events=args.verify_events or config.events,
        workers=args.verify_workers or config.workers,
        legacy_events=args.verify_legacy_events
        if args.verify_legacy_events is not None
        else config.legacy_events,
    )
    log(f"verify: mode={args.mode} {config}")
    with sibling_database("verify", keep=args.keep_databases):
        prepare_database()
        document, problems = verify.run(config)
        document["environment"] = environment()
    return {"config": config.__dict__, **document}, problems


RUNNERS: dict[str, Callable[[argparse.Namespace], tuple[dict[str, Any], list[str]]]] = {
    "scoping": run_scoping,
    "sweep": run_sweep,
    "audit": run_audit,
    "matching": run_matching,
    "verify": run_verify,
}


def run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.seed import log  # noqa: PLC0415

    started = time.perf_counter()
    started_at = datetime.now(UTC)
    try:
        body, problems = RUNNERS[name](args)
    except Exception as exc:  # noqa: BLE001  (one benchmark failing must not hide the others' figures)
        log(f"{name}: FAILED\n{traceback.format_exc()}")
        body, problems = {"error": traceback.format_exc()}, [f"{name}: {type(exc).__name__}: {exc}"]
    seconds: dict[str, float] = {"total": round(time.perf_counter() - started, 1)}
    if "seconds_measure" in body:
        seconds["measure"] = body.pop("seconds_measure")
    document = {
        "benchmark": name,
        "mode": args.mode,
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": seconds,
        **body,
        "problems": problems,
    }
    output = args.output or RESULTS_DIR / f"{name}-{args.mode}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"{name}: wrote {output} in {seconds['total']} s")
    return document


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django  # noqa: PLC0415

    django.setup()
    from bench.seed import log  # noqa: PLC0415

    documents = {name: run_one(name, args) for name in args.only}
    problems = [p for document in documents.values() for p in document["problems"]]
    if len(documents) == 1:
        print(json.dumps(next(iter(documents.values())), indent=2, default=str))
    else:
        combined = {"mode": args.mode, "benchmarks": documents, "problems": problems}
        print(json.dumps(combined, indent=2, default=str))
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
