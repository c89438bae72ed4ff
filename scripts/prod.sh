#!/usr/bin/env bash
# The production processes, started by `make prod` once the database is migrated: the web server
# (gunicorn, gunicorn.conf.py), a Celery worker and Celery beat, against the PostgreSQL and Redis the
# environment names (DATABASE_URL, REDIS_URL; SECRET_KEY; see README "Production"). If any of them
# stops, the others are stopped too and the command fails, so a supervisor (systemd, a container
# runtime) restarts the whole set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
BIND=${BIND:-127.0.0.1:8000}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-2}
mkdir -p instance

pids=()
stop() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true; }
trap stop EXIT INT TERM

"$BIN/celery" -A worker worker --loglevel INFO --concurrency "$WORKER_CONCURRENCY" -n "sanku@%h" &
pids+=($!)
"$BIN/celery" -A worker beat --loglevel INFO --schedule instance/celerybeat-schedule &
pids+=($!)
"$BIN/gunicorn" --config gunicorn.conf.py --bind "$BIND" &
pids+=($!)

# The first of them to stop ends the set.
wait -n "${pids[@]}"
echo "prod: a process stopped; stopping the others" >&2
exit 1
