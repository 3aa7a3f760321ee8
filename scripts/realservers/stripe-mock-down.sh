#!/usr/bin/env bash
# stripe-mock-down.sh -- stop the stripe-mock started by stripe-mock-up.sh (by its PID file only).
set -uo pipefail
BASE="${STRIPE_MOCK_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/stripe-mock}"
if [ -f "$BASE/server.pid" ]; then
  pid=$(cat "$BASE/server.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$BASE/server.pid" "$BASE/https.sock"
fi
rm -f "$BASE/env"
echo "[stripe-mock-down] stopped"
