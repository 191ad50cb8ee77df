#!/usr/bin/env bash
# Print the bin directory of the newest installed PostgreSQL that has the TimescaleDB extension.
set -euo pipefail
for version in 17 16 15; do
  bin=/usr/lib/postgresql/$version/bin
  [ -x "$bin/pg_config" ] || [ -x "$bin/postgres" ] || continue
  share=/usr/share/postgresql/$version
  if [ -f "$share/extension/timescaledb.control" ]; then echo "$bin"; exit 0; fi
done
echo "pg-bin: no PostgreSQL with TimescaleDB found; run scripts/install-system.sh" >&2
exit 1
