#!/usr/bin/env bash
# What `make run` prints before it starts the service: where the API is, a working token, one
# command to try, and where the data lives.   run-banner.sh TOKEN_FILE DATA
set -euo pipefail
token=$(cat "$1")
api="http://${QUAYWATCH_API_HOST:-127.0.0.1}:${QUAYWATCH_API_PORT:-8080}"
cat <<BANNER

  QuayWatch, local demo
  API       $api/api/v1        docs: $api/api/v1/docs
  token     $token
            (national admin; kept in $1, mode 0600, the same at every start)
  try       curl -H "Authorization: Bearer $token" "$api/api/v1/nodes?level=customs"
  data      $2
  CLI       .venv/bin/quaywatch uses this database with no variable set
  webhooks  to 127.0.0.1 are accepted in this demo (QUAYWATCH_ALLOW_PRIVATE_URLS=true)

BANNER
