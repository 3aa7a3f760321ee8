#!/usr/bin/env bash
# stripe-mock-up.sh [PORT] -- Stripe's own API mock (github.com/stripe/stripe-mock) on 127.0.0.1:PORT (default 12111).
# Installs the pinned version with `go install` (Go module proxy) into $BASE/bin when missing, starts it in the
# background (HTTP on loopback; its HTTPS listener goes to a Unix socket so nothing binds a public address),
# waits until it answers, and writes $BASE/env. Idempotent: a running server is left alone.
# stripe-mock is stateless: it validates requests against Stripe's OpenAPI spec and answers canned fixtures.
set -euo pipefail
VERSION="v0.203.0"
PORT="${1:-${STRIPE_MOCK_PORT:-12111}}"
BASE="${STRIPE_MOCK_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/stripe-mock}"
URL="http://127.0.0.1:${PORT}"
KEY="sk_test_123" # stripe-mock accepts any test-mode-looking key; this one is not a secret
log() { echo "[stripe-mock-up] $*" >&2; }
mkdir -p "$BASE/bin"; cd "$BASE"

if [ ! -x "$BASE/bin/stripe-mock" ] || [ "$(cat "$BASE/bin/version" 2>/dev/null)" != "$VERSION" ]; then
  log "go install github.com/stripe/stripe-mock@${VERSION}"
  GOBIN="$BASE/bin" go install "github.com/stripe/stripe-mock@${VERSION}"
  echo "$VERSION" > "$BASE/bin/version"
fi

ready() { curl -sf -o /dev/null -H "Authorization: Bearer ${KEY}" "${URL}/v1/products?limit=1"; }
if ! ready 2>/dev/null; then
  log "starting on ${URL}"
  rm -f "$BASE/https.sock"
  nohup "$BASE/bin/stripe-mock" -http-addr "127.0.0.1:${PORT}" -https-unix "$BASE/https.sock" \
    >"$BASE/server.log" 2>&1 </dev/null &
  echo $! > "$BASE/server.pid"
  for i in $(seq 1 300); do
    ready 2>/dev/null && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -20 "$BASE/server.log" >&2; exit 1; }
    sleep 0.1
  done
  ready || { log "not ready"; exit 1; }
fi
cat > "$BASE/env" <<ENV
STRIPE_MOCK_URL=${URL}
STRIPE_MOCK_KEY=${KEY}
STRIPE_MOCK_VERSION=${VERSION}
ENV
log "ready"; cat "$BASE/env"
