#!/usr/bin/env bash
# The whole suite, run by `make test` inside with-services.sh (PostgreSQL + Redis up).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=config.settings.test
.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
mkdir -p test-artifacts
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
