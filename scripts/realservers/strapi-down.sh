#!/usr/bin/env bash
# strapi-down.sh [--purge-data] -- stop the Strapi started by strapi-up.sh (by PID file).
set -uo pipefail
BASE="${STRAPI_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/strapi}"
if [ -f "$BASE/server.pid" ]; then
  pid=$(cat "$BASE/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$BASE/server.pid"
fi
[ "${1:-}" = "--purge-data" ] && rm -rf "$BASE/app/.tmp" "$BASE/app/public/uploads"/* "$BASE/api-token" "$BASE/ro-token" "$BASE/env"
echo "[strapi-down] stopped"
