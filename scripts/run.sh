#!/usr/bin/env bash
# `make run`: migrate, seed, then run web + Celery worker + beat (+ embedded Redis unless
# REDIS_URL is set) in the foreground. Ctrl-C stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}"
export VIHUB_WEB_PORT="$PORT"  # honcho overwrites PORT in each child
export VIHUB_DATA_DIR="$(python3 -c 'import os,sys;print(os.path.abspath(sys.argv[1]))' "${VIHUB_DATA_DIR:-var}")"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.dev}"
export PYTHONUNBUFFERED=1
mkdir -p "$VIHUB_DATA_DIR"
PY=.venv/bin/python

$PY manage.py migrate --noinput -v 0
$PY manage.py seed_reference
$PY manage.py audit_checkpoint >/dev/null  # sign the head now: the witness in the data dir has it
$PY manage.py collectstatic --noinput -v 0

processes="web worker beat"
if [ -z "${REDIS_URL:-}" ]; then processes="redis $processes"; fi
# On PostgreSQL the audit chain is linked by the sequencer process (docs/deploy.md); SQLite chains inline.
case "${DATABASE_URL:-}" in
  postgres*) if [ "${VIHUB_AUDIT_CHAIN:-sequencer}" = sequencer ]; then processes="$processes sequencer"; fi ;;
esac

cat <<MSG

  VIHub is starting on http://127.0.0.1:${PORT}/   (API: /api/v1/, schema: /api/v1/schema/, health: /healthz)
  Data: ${VIHUB_DATA_DIR}   Database: ${DATABASE_URL:-SQLite (embedded default)}   Redis: ${REDIS_URL:-embedded}

  To try it at once:  .venv/bin/python manage.py seed_demo   (a demo user per role, demo referrals)
  Or create the first user and a token, in another shell:
    printf '%s\n' 'choose-a-long-password' | .venv/bin/python manage.py add_member coord1 --org NCA --role coordinator --password-stdin
    .venv/bin/python manage.py create_api_token coord1
  Ctrl-C stops everything.

MSG
exec .venv/bin/honcho --procfile Procfile.dev start $processes
