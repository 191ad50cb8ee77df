#!/usr/bin/env bash
# Install PostgreSQL and the TimescaleDB extension on a Debian 12 or 13 machine, as root.
# Idempotent: every step is skipped when its result is already there.
# Debian 13 ships postgresql-17-timescaledb; Debian 12 has none, so there we build Debian's own
# source package (Apache-2 build) against PostgreSQL 15. The archive's URI is read from the
# machine's own apt sources, so no host name lives in this repository.
set -euo pipefail

log() { printf 'install-timescaledb: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

debian_major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo 0)
# Debian 12 (bookworm) has PostgreSQL 15 and no TimescaleDB package; Debian 13 and later have both.
if [ "$debian_major" = 12 ] || [ "$debian_major" = "bookworm/sid" ]; then pg=15; else pg=17; fi

pg_config=/usr/lib/postgresql/$pg/bin/pg_config
if [ "$pg" = 17 ]; then
  apt_install postgresql-17 postgresql-17-timescaledb
  echo "/usr/lib/postgresql/17/bin"
  exit 0
fi

apt_install postgresql-15 postgresql-client-15
sharedir=$("$pg_config" --sharedir 2>/dev/null || true)
if [ -n "$sharedir" ] && [ -f "$sharedir/extension/timescaledb.control" ]; then
  echo "/usr/lib/postgresql/15/bin"
  exit 0
fi

log "building TimescaleDB (Apache-2 build) for PostgreSQL 15 from Debian's source package"
apt_install postgresql-server-dev-15 cmake build-essential libssl-dev libkrb5-dev xz-utils
pg_config=/usr/lib/postgresql/15/bin/pg_config
uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { log "no Debian archive URI found in the apt sources"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" > "$work/sources.list"
o=(-oDir::Etc::SourceList="$work/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$work/lists")
apt-get "${o[@]}" update -qq
(cd "$work" && apt-get "${o[@]}" source --download-only timescaledb >/dev/null)
tar -C "$work" -xf "$work"/timescaledb_*.orig.tar.*
src=$(find "$work" -maxdepth 1 -type d -name 'timescaledb-*' | head -n1)
(cd "$src" && ./bootstrap -DPG_CONFIG="$pg_config" -DAPACHE_ONLY=1 \
    -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
    -DWARNINGS_AS_ERRORS=OFF >/dev/null)
make -C "$src/build" -j"$(nproc)" >/dev/null
make -C "$src/build" install >/dev/null
echo "/usr/lib/postgresql/15/bin"
