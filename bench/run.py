"""``python -m bench.run --quick|--full``: seed PostgreSQL, measure the scoped task list, print JSON.

Needs ``DATABASE_URL`` pointing at an empty PostgreSQL database; ``make bench`` and
``make bench-quick`` start a throwaway one. The JSON document goes to stdout and to
``bench/results/scoping-<mode>.json``; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Mode:
    tasks: int
    repeats: int
    warmup: int


MODES = {
    "quick": Mode(tasks=20_000, repeats=5, warmup=2),
    "full": Mode(tasks=1_000_000, repeats=30, warmup=3),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--quick", action="store_const", dest="mode", const="quick", help="~20k tasks (CI)")
    size.add_argument("--full", action="store_const", dest="mode", const="full", help="1,000,000 tasks")
    parser.add_argument("--tasks", type=int, help="override the number of tasks")
    parser.add_argument("--repeats", type=int, help="override timed repetitions per measurement")
    parser.add_argument("--output", type=Path, help="where to write the JSON (default bench/results/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = MODES[args.mode]
    tasks = args.tasks or mode.tasks
    repeats = args.repeats or mode.repeats

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()

    from bench.scoping import run
    from bench.seed import log, prepare_database, seed_tasks

    started = time.perf_counter()
    started_at = datetime.now(UTC)
    log(f"mode={args.mode} tasks={tasks} repeats={repeats}")
    prepare_database()
    seed = seed_tasks(tasks)
    measured_from = time.perf_counter()
    document, problems = run(seed=seed, warmup=mode.warmup, repeats=repeats)
    result = {
        "benchmark": "scoping",
        "mode": args.mode,
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": {
            "total": round(time.perf_counter() - started, 1),
            "measure": round(time.perf_counter() - measured_from, 1),
        },
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
        "problems": problems,
    }
    text = json.dumps(result, indent=2, default=str)
    output = args.output or RESULTS_DIR / f"scoping-{args.mode}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    print(text)
    log(f"wrote {output} in {result['seconds']['total']} s")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
