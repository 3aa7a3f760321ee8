#!/usr/bin/env bash
# kratos-up.sh [PUBLIC_PORT] [ADMIN_PORT] -- real Ory Kratos v1.3.1 (SQLite) on 127.0.0.1, for the
# integration test of sources/ory (sources/ory/ory_integration_test.go).
# `go install github.com/ory/kratos@v1.3.1` is refused (its go.mod has replace directives), so this
# builds the same module from the Go module proxy: `go mod download` -> writable copy ->
# drop the one replace that points at a nested module the proxy zip lacks (./internal/client-go,
# only used by examples/tests) -> `go build -tags sqlite,json1` (CGO + gcc for mattn/go-sqlite3).
# The build takes 2-5 minutes on 2 cores with a cold Go cache; it is skipped when the binary exists.
# Idempotent. Seeds 2 identities with passwords. Writes KRATOS_PUBLIC_URL/KRATOS_ADMIN_URL to $BASE/env.
# Stop with kratos-down.sh (by PID file); kratos-down.sh --purge-data also drops the SQLite data.
set -euo pipefail
PUB_PORT="${1:-${KRATOS_PUBLIC_PORT:-4433}}"
ADM_PORT="${2:-${KRATOS_ADMIN_PORT:-4434}}"
BASE="${KRATOS_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/kratos}"
VERSION="${KRATOS_VERSION:-v1.3.1}"
PUB="http://127.0.0.1:${PUB_PORT}"; ADM="http://127.0.0.1:${ADM_PORT}"
BIN="$BASE/bin/kratos-${VERSION}"
log() { echo "[kratos-up] $*" >&2; }
mkdir -p "$BASE/bin" "$BASE/data"

# 1. build once (~2.5 min on 2 cores with a cold Go cache; needs gcc)
if [ ! -x "$BIN" ]; then
  log "building kratos ${VERSION} from the Go module proxy"
  SRC_RO=$(go mod download -json "github.com/ory/kratos@${VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  rm -rf "$BASE/src"; cp -r "$SRC_RO" "$BASE/src"; chmod -R u+w "$BASE/src"
  ( cd "$BASE/src"
    go mod edit -dropreplace github.com/ory/client-go
    CGO_ENABLED=1 go build -tags sqlite,json1 -trimpath \
      -ldflags "-X github.com/ory/kratos/driver/config.Version=${VERSION}" -o "$BIN" . ) >"$BASE/build.log" 2>&1 \
    || { tail -30 "$BASE/build.log" >&2; exit 1; }
  rm -rf "$BASE/src"
fi

# 2. config
cat > "$BASE/identity.schema.json" <<'JSON'
{
  "$id": "https://example.test/schemas/default.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email", "title": "E-Mail",
          "ory.sh/kratos": {
            "credentials": { "password": { "identifier": true } },
            "verification": { "via": "email" },
            "recovery": { "via": "email" }
          }
        },
        "name": { "type": "object", "properties": { "first": {"type":"string"}, "last": {"type":"string"} } },
        "username": { "type": "string", "title": "Username" },
        "picture": { "type": "string", "format": "uri", "title": "Avatar URL" },
        "phone": { "type": "string", "title": "Phone" }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
JSON
cat > "$BASE/kratos.yml" <<YAML
version: ${VERSION}
dsn: sqlite://${BASE}/data/kratos.sqlite?_fk=true&mode=rwc
serve:
  public: { base_url: "${PUB}/", host: 127.0.0.1, port: ${PUB_PORT} }
  admin:  { base_url: "${ADM}/", host: 127.0.0.1, port: ${ADM_PORT} }
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  methods:
    password: { enabled: true }
  flows:
    login:        { ui_url: "http://127.0.0.1:4455/login" }
    registration: { ui_url: "http://127.0.0.1:4455/registration" }
    error:        { ui_url: "http://127.0.0.1:4455/error" }
identity:
  default_schema_id: default
  schemas:
    - { id: default, url: "file://${BASE}/identity.schema.json" }
courier:
  smtp: { connection_uri: "smtp://127.0.0.1:1025/?disable_starttls=true" }
secrets:
  cookie: ["realservers-cookie-secret-0123456789"]
  cipher: ["realservers-cipher-secret-012345"]   # must be exactly 32 chars
log: { level: warning, format: text }
YAML

# 3. migrate (idempotent) + start
if ! curl -sf "${ADM}/admin/health/ready" >/dev/null 2>&1; then
  "$BIN" migrate sql -e --yes -c "$BASE/kratos.yml" >"$BASE/migrate.log" 2>&1 || { tail -20 "$BASE/migrate.log" >&2; exit 1; }
  log "starting public=${PUB} admin=${ADM}"
  nohup "$BIN" serve -c "$BASE/kratos.yml" --dev --sqa-opt-out >"$BASE/server.log" 2>&1 </dev/null &
  echo $! > "$BASE/server.pid"
  for i in $(seq 1 200); do
    curl -sf "${ADM}/admin/health/ready" >/dev/null 2>&1 && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -20 "$BASE/server.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "${ADM}/admin/health/ready" >/dev/null || { log "not ready"; exit 1; }
fi

# 4. seed 2 identities (409 Conflict on re-run is fine)
for n in 1 2; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${ADM}/admin/identities" -H 'Content-Type: application/json' \
    -d "{\"schema_id\":\"default\",\"state\":\"active\",\"traits\":{\"email\":\"user${n}@example.test\",\"name\":{\"first\":\"User\",\"last\":\"N${n}\"}},\"credentials\":{\"password\":{\"config\":{\"password\":\"Very-Secret-Passw0rd-${n}!\"}}},\"metadata_public\":{\"plan\":\"gold\"}}")
  [[ "$code" =~ ^(201|409)$ ]] || { log "identity create failed: HTTP $code"; exit 1; }
done
cat > "$BASE/env" <<ENV
KRATOS_VERSION=${VERSION}
KRATOS_PUBLIC_URL=${PUB}
KRATOS_ADMIN_URL=${ADM}
KRATOS_USER1=user1@example.test:Very-Secret-Passw0rd-1!
KRATOS_USER2=user2@example.test:Very-Secret-Passw0rd-2!
ENV
log "ready"; cat "$BASE/env"
