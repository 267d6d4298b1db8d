#!/usr/bin/env bash
# The whole suite, run by `make test` inside with-services.sh (PostgreSQL + Redis up).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=config.settings.test
# What reviewers would otherwise check by hand: lint, formatting, types (strict on the apps),
# and that no model changed without its migration.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
mkdir -p test-artifacts
# The quick benchmarks (figures, never pass/fail on time) run first, so pytest's summary is
# the last thing printed.
.venv/bin/python -m bench.run --quick >/dev/null
for name in scoping sweep audit matching; do
  echo "bench-quick $name: $(python3 -c 'import json,sys;d=json.load(open(f"bench/results/{sys.argv[1]}-quick.json"));print(json.dumps(d.get("summary", {}))[:400])' "$name" || true)"
done
# `make run`'s embedded default is SQLite: the API paths that compile their own SQL
# (hub/selectors/prepared.py: the token, intake's lookups, the task and agency reads) run on it
# too, since a backend difference there would be a 500 on `make run` that PostgreSQL never shows
# (about 30 s; `make test-sqlite` runs the whole suite there).
env -u DATABASE_URL -u REDIS_URL VIHUB_DATA_DIR="$(mktemp -d)" .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/hub/test_prepared.py tests/hub/test_foundation.py tests/hub/test_workflow.py tests/hub/test_query_counts.py
# Two processes, one per core (pytest-xdist; each has its own test database): about half the
# wall time of one, which keeps `make test` near 15 minutes on a 2-core machine.
exec .venv/bin/python -m pytest -p no:cacheprovider -n "${VIHUB_TEST_PROCESSES:-2}" "$@"
