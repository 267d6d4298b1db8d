#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL and Redis: install the server packages if they
# are missing, start both on free loopback ports in a temp dir, export DATABASE_URL and
# REDIS_URL, run the command, and stop both servers whatever the command's exit status.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ "${VIHUB_E2E:-1}" = 1 ]; then command -v chromium >/dev/null 2>&1 || need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "with-services: installing ${need[*]} (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PGPORT=$(free_port); REDISPORT=$(free_port)
WORK=$(mktemp -d /tmp/vihub-services.XXXXXX)
chmod 755 "$WORK"
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$WORK"   # PostgreSQL refuses to run as root
  AS_PG=(runuser -u postgres --)
fi
REDIS_PID=""
cleanup() {
  status=$?
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT INT TERM

"${AS_PG[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
# Fast and unsafe by default (tests); VIHUB_PG_DURABLE=1 gives production durability (benches).
if [ "${VIHUB_PG_DURABLE:-0}" = 1 ]; then
  PG_DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
else
  PG_DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o \
  "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 $PG_DURABILITY -c max_connections=200 -c shared_buffers=256MB" \
  start >/dev/null
# The application connects as an ordinary role (not a superuser), as it would in production.
"$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE vihub LOGIN CREATEDB PASSWORD 'vihub'" -c "CREATE DATABASE vihub OWNER vihub" >/dev/null

if [ "${VIHUB_PG_DURABLE:-0}" = 1 ]; then
  REDIS_DURABILITY=(--dir "$WORK" --save "" --appendonly yes --appendfsync everysec)
else
  REDIS_DURABILITY=(--save "" --appendonly no)
fi
redis-server --port "$REDISPORT" --bind 127.0.0.1 "${REDIS_DURABILITY[@]}" \
  --maxmemory-policy noeviction --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://vihub:vihub@127.0.0.1:$PGPORT/vihub"
export REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export VIHUB_PG_BIN="$PGBIN" VIHUB_SERVICES_DIR="$WORK"
echo >&2 "with-services: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') ($PG_DURABILITY) on 127.0.0.1:$PGPORT, Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$REDISPORT"
"$@"
