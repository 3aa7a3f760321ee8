#!/usr/bin/env bash
# dynalite-up.sh [PORT] -- dynalite (github.com/architect/dynalite: DynamoDB's JSON protocol on LevelDB,
# from npm) on 127.0.0.1:PORT (default 4567), in memory. Installs the pinned version into $BASE when
# missing (seconds), starts it in the background with tables created, updated and deleted at once
# (no CREATING state), waits until it answers, and writes $BASE/env. Idempotent: a running server is
# left alone. Tables and items are created by the tests themselves (sources/dynamodb's integration
# test creates uniquely named tables through the API, signed, and deletes them).
# dynalite checks that requests carry a well-formed SigV4 Authorization header, not which key signed
# them: the key and secret below are placeholders, not credentials.
# npm 11 skips the install script of dynalite's native classic-level module; the in-memory store
# used here does not need it.
set -euo pipefail
VERSION="4.0.0"
PORT="${1:-${DYNALITE_PORT:-4567}}"
BASE="${DYNALITE_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/dynalite}"
URL="http://127.0.0.1:${PORT}"
REGION="us-east-1"
KEY_ID="AKIDDYNALITELOCAL"
SECRET="dynalite-local-placeholder-secret"
log() { echo "[dynalite-up] $*" >&2; }
mkdir -p "$BASE"; cd "$BASE"

installed() { [ -x "$BASE/node_modules/.bin/dynalite" ] &&
  [ "$(node -p 'require("./node_modules/dynalite/package.json").version' 2>/dev/null)" = "$VERSION" ]; }
if ! installed; then
  log "npm install dynalite@${VERSION}"
  [ -f package.json ] || echo '{"name":"contentmesh-dynalite","private":true}' > package.json
  npm install --no-fund --no-audit --loglevel=error "dynalite@${VERSION}" >"$BASE/install.log" 2>&1 ||
    { tail -30 "$BASE/install.log" >&2; exit 1; }
  installed || { log "dynalite ${VERSION} not installed"; exit 1; }
fi

# dynalite answers GET / with "healthy: dynamodb.us-east-1.amazonaws.com".
ready() { curl -sf --max-time 2 "${URL}/" 2>/dev/null | grep -q '^healthy: dynamodb'; }
if ! ready; then
  log "starting on ${URL}"
  nohup "$BASE/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$PORT" \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$BASE/server.log" 2>&1 </dev/null &
  echo $! > "$BASE/server.pid"
  for i in $(seq 1 300); do
    ready && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -20 "$BASE/server.log" >&2; exit 1; }
    sleep 0.1
  done
  ready || { log "not ready after 30 s"; tail -20 "$BASE/server.log" >&2; exit 1; }
fi
cat > "$BASE/env" <<ENV
DYNALITE_URL=${URL}
DYNALITE_REGION=${REGION}
DYNALITE_ACCESS_KEY_ID=${KEY_ID}
DYNALITE_SECRET_ACCESS_KEY=${SECRET}
DYNALITE_VERSION=${VERSION}
ENV
log "ready"; cat "$BASE/env"
