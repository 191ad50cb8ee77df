#!/usr/bin/env bash
# What `make run` prints before it starts the service: where the API is, a working token, one
# command to try, where the data lives, and Grafana.
#   run-banner.sh TOKEN_FILE DATA KEYS_FILE [GRAFANA_DIR GRAFANA_PORT]
set -euo pipefail
token=$(cat "$1")
api="http://${QUAYWATCH_API_HOST:-127.0.0.1}:${QUAYWATCH_API_PORT:-8080}"
grafana_dir=${4:-}
if [ -z "$grafana_dir" ]; then
  grafana="not configured with DATABASE_URL set (docs/dashboards.md, Locally)"
elif command -v grafana >/dev/null || command -v grafana-server >/dev/null; then
  grafana="http://127.0.0.1:${5:-3000}   user admin, password in $grafana_dir/admin-password"
else
  grafana="not installed; its configuration is ready in $grafana_dir (docs/dashboards.md)"
fi
cat <<BANNER

  QuayWatch, local demo
  API       $api/api/v1        docs: $api/api/v1/docs
  token     $token
            (national admin; kept in $1, mode 0600, the same at every start)
  try       curl -H "Authorization: Bearer $token" "$api/api/v1/nodes?level=customs"
  data      $2
  CLI       .venv/bin/quaywatch uses this database with no variable set
  secrets   channel secrets are encrypted with the key in ${3:-?} (mode 0600)
  webhooks  to 127.0.0.1 are accepted in this demo (QUAYWATCH_ALLOW_PRIVATE_URLS=true)
  grafana   $grafana

BANNER
