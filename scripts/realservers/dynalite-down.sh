#!/usr/bin/env bash
# dynalite-down.sh -- stop the dynalite started by dynalite-up.sh (by its PID file only). Its data was in
# memory: it goes with it.
set -uo pipefail
BASE="${DYNALITE_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/dynalite}"
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
echo "[dynalite-down] stopped"
