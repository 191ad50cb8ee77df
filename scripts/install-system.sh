#!/usr/bin/env bash
# Everything QuayWatch needs from Debian on a fresh machine, as root: PostgreSQL + TimescaleDB,
# and Alertmanager and promtool (used as real peers by the tests). Idempotent and quick when done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/install-timescaledb.sh" >/dev/null
missing=()
for p in prometheus-alertmanager prometheus; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-system: run as root to install ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
