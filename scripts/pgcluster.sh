#!/usr/bin/env bash
# A private PostgreSQL + TimescaleDB cluster in its own folder, on its own port.
#   pgcluster.sh start DIR PORT [extra server options]   (initdb on first use; creates db quaywatch)
#   pgcluster.sh stop DIR
#   pgcluster.sh crash DIR      (immediate shutdown: what a power cut leaves, for outage tests)
# initdb refuses to run as root, so as root the server runs as the postgres user; DIR must be
# reachable by that user (callers use /var/lib/quaywatch/... or /tmp/...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/pg-bin.sh")
cmd=${1:?usage: pgcluster.sh start DIR PORT | stop DIR}
dir=${2:?DIR required}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    port=${3:?PORT required}
    shift 3
    extra="$*"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      if [ "$(id -u)" = 0 ]; then install -d -o postgres -m 700 "$dir"; else mkdir -p -m 700 "$dir"; fi
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
        "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c shared_preload_libraries=timescaledb \
         -c timescaledb.telemetry_level=off -c max_connections=200 -c shared_buffers=256MB $extra" \
        start >/dev/null
    fi
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = 'quaywatch'" | grep -q 1; then
      "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE quaywatch" >/dev/null
    fi
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  crash)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "pgcluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
