#!/usr/bin/env bash
# vendure-down.sh [--purge-data] -- stop the Vendure started by vendure-up.sh (by its PID file only).
set -uo pipefail
BASE="${VENDURE_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/vendure}"
if [ -f "$BASE/server.pid" ]; then
  pid=$(cat "$BASE/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$BASE/server.pid"
fi
rm -f "$BASE/env"
[ "${1:-}" = "--purge-data" ] && rm -rf "$BASE/data"
echo "[vendure-down] stopped"
