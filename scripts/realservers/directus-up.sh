#!/usr/bin/env bash
# directus-up.sh [PORT] -- real Directus 11.3.5 (npm, SQLite via node-sqlite3) on 127.0.0.1:PORT
# directus@11.3.5 is the last release whose engines allow Node 20 (11.4.0+ and 12.x need Node >= 22).
# Idempotent. Seeds once what sources/directus's integration test reads: collections
#   authors    id, name, avatar (file, m2o directus_files), articles (o2m alias of articles.author), dates
#   categories id, name, slug, dates
#   articles   id, status, title, slug, body, author (m2o authors), cover (file), categories (m2m through
#              the junction articles_categories), date_created / date_updated
# with 1 image, 2 authors, 2 categories, 2 published articles and 1 draft; a public read permission
# (articles only when published, and the files), and a static admin token.
# Writes DIRECTUS_URL / DIRECTUS_TOKEN to $BASE/env.
set -euo pipefail
PORT="${1:-${DIRECTUS_PORT:-8055}}"
BASE="${DIRECTUS_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/directus}"
VERSION="${DIRECTUS_VERSION:-11.3.5}"
URL="http://127.0.0.1:${PORT}"
ADMIN_EMAIL="admin@example.com"; ADMIN_PASSWORD="admin-Pass-123"
STATIC_TOKEN="${DIRECTUS_STATIC_TOKEN:-mesh-static-token-123}"
log() { echo "[directus-up] $*" >&2; }
mkdir -p "$BASE/data/uploads" "$BASE/extensions"
cd "$BASE"

# 1. install (needs python3, make, g++: sqlite3 + isolated-vm compile from source because their
#    prebuilt-binary downloads (GitHub) are unreachable; npm's nodedir must point at Node's headers)
if [ ! -x node_modules/.bin/directus ] || ! grep -q "\"version\": \"${VERSION}\"" node_modules/directus/package.json 2>/dev/null; then
  log "npm install directus@${VERSION} (takes ~3.5 min on 2 cores)"
  [ -f package.json ] || echo '{"name":"directus-local","private":true}' > package.json
  if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ] && [ -d /usr/include/node ]; then
    export npm_config_nodedir=/usr   # node-gyp: use local headers instead of downloading them
  fi
  npm install --save-exact --no-audit --no-fund --loglevel=error "directus@${VERSION}" >"$BASE/npm-install.log" 2>&1 \
    || { tail -40 "$BASE/npm-install.log" >&2; exit 1; }
  node -e "require('$BASE/node_modules/sqlite3')" || { log "sqlite3 native module missing"; exit 1; }
fi

cat > "$BASE/directus.env" <<ENV
HOST=127.0.0.1
PORT=${PORT}
PUBLIC_URL=${URL}
DB_CLIENT=sqlite3
DB_FILENAME=${BASE}/data/data.db
KEY=realservers-key
SECRET=realservers-secret-0123456789abcdef
ADMIN_EMAIL=${ADMIN_EMAIL}
ADMIN_PASSWORD=${ADMIN_PASSWORD}
TELEMETRY=false
LOG_LEVEL=warn
STORAGE_LOCATIONS=local
STORAGE_LOCAL_ROOT=${BASE}/data/uploads
EXTENSIONS_PATH=${BASE}/extensions
ENV
set -a; . "$BASE/directus.env"; set +a

# 2. bootstrap DB (migrations + first admin) once; 3. start (run.js directly: skips the CLI's npm update check)
RUN="$BASE/node_modules/@directus/api/dist/cli/run.js"
if ! curl -sf "${URL}/server/ping" >/dev/null 2>&1; then
  if [ ! -s "$BASE/data/data.db" ]; then
    log "bootstrap"
    node "$RUN" bootstrap >"$BASE/bootstrap.log" 2>&1 || { tail -30 "$BASE/bootstrap.log" >&2; exit 1; }
  fi
  log "starting on ${URL}"
  nohup node "$RUN" start >"$BASE/server.log" 2>&1 </dev/null &
  echo $! > "$BASE/server.pid"
  for i in $(seq 1 240); do
    curl -sf "${URL}/server/ping" >/dev/null 2>&1 && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -30 "$BASE/server.log" >&2; exit 1; }
    sleep 0.25
  done
  curl -sf "${URL}/server/ping" >/dev/null || { log "not ready"; tail -30 "$BASE/server.log" >&2; exit 1; }
fi

# 4. seed once (marker: the collection "articles" answers the static token)
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
if ! curl -sf -o /dev/null -H "Authorization: Bearer ${STATIC_TOKEN}" "${URL}/items/articles"; then
  log "seeding"
  TOK=$(curl -sf "${URL}/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"${ADMIN_EMAIL}\",\"password\":\"${ADMIN_PASSWORD}\"}" | json "d['data']['access_token']")
  H=(-H "Authorization: Bearer ${TOK}" -H 'Content-Type: application/json')
  post() { curl -sf "${URL}$1" "${H[@]}" -d "$2"; }
  curl -sf -o /dev/null -X PATCH "${URL}/users/me" "${H[@]}" -d "{\"token\":\"${STATIC_TOKEN}\"}"
  id='{"field":"id","type":"integer","meta":{"hidden":true,"readonly":true},"schema":{"is_primary_key":true,"has_auto_increment":true}}'
  dates='{"field":"date_created","type":"timestamp","meta":{"special":["date-created"],"readonly":true,"hidden":true}},{"field":"date_updated","type":"timestamp","meta":{"special":["date-updated"],"readonly":true,"hidden":true}}'
  post /collections "{\"collection\":\"authors\",\"schema\":{},\"meta\":{\"note\":\"content mesh test\"},\"fields\":[${id},{\"field\":\"name\",\"type\":\"string\"},${dates}]}" >/dev/null
  post /collections "{\"collection\":\"categories\",\"schema\":{},\"fields\":[${id},{\"field\":\"name\",\"type\":\"string\"},{\"field\":\"slug\",\"type\":\"string\",\"schema\":{\"is_unique\":true}},${dates}]}" >/dev/null
  post /collections "{\"collection\":\"articles\",\"schema\":{},\"fields\":[${id},
    {\"field\":\"status\",\"type\":\"string\",\"meta\":{\"interface\":\"select-dropdown\"},\"schema\":{\"default_value\":\"draft\"}},
    {\"field\":\"title\",\"type\":\"string\"},{\"field\":\"slug\",\"type\":\"string\",\"schema\":{\"is_unique\":true}},
    {\"field\":\"body\",\"type\":\"text\",\"meta\":{\"interface\":\"input-rich-text-html\"}},${dates}]}" >/dev/null
  post /collections "{\"collection\":\"articles_categories\",\"meta\":{\"hidden\":true},\"schema\":{},\"fields\":[${id},
    {\"field\":\"articles_id\",\"type\":\"integer\"},{\"field\":\"categories_id\",\"type\":\"integer\"}]}" >/dev/null
  # m2o author, o2m authors.articles
  post /fields/articles '{"field":"author","type":"integer","meta":{"special":["m2o"],"interface":"select-dropdown-m2o"},"schema":{}}' >/dev/null
  post /relations '{"collection":"articles","field":"author","related_collection":"authors","meta":{"one_field":"articles"},"schema":{"on_delete":"SET NULL"}}' >/dev/null
  post /fields/authors '{"field":"articles","type":"alias","meta":{"special":["o2m"],"interface":"list-o2m"}}' >/dev/null
  # files: articles.cover, authors.avatar
  for f in articles:cover authors:avatar; do
    post "/fields/${f%%:*}" "{\"field\":\"${f##*:}\",\"type\":\"uuid\",\"meta\":{\"special\":[\"file\"],\"interface\":\"file-image\"},\"schema\":{}}" >/dev/null
    post /relations "{\"collection\":\"${f%%:*}\",\"field\":\"${f##*:}\",\"related_collection\":\"directus_files\",\"schema\":{\"on_delete\":\"SET NULL\"}}" >/dev/null
  done
  # m2m articles.categories through articles_categories
  post /fields/articles '{"field":"categories","type":"alias","meta":{"special":["m2m"],"interface":"list-m2m"}}' >/dev/null
  post /relations '{"collection":"articles_categories","field":"articles_id","related_collection":"articles","meta":{"one_field":"categories","junction_field":"categories_id"},"schema":{"on_delete":"CASCADE"}}' >/dev/null
  post /relations '{"collection":"articles_categories","field":"categories_id","related_collection":"categories","meta":{"one_field":null,"junction_field":"articles_id"},"schema":{"on_delete":"CASCADE"}}' >/dev/null
  # a 4x2 PNG
  python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4nGM4oaEBRwzIHAB22gjB9Lr9UAAAAABJRU5ErkJggg=="))' > "$BASE/mesh-cover.png"
  FILE=$(curl -sf "${URL}/files" -H "Authorization: Bearer ${TOK}" -F 'title=Mesh cover' -F 'description=A red cover' \
    -F "file=@$BASE/mesh-cover.png;type=image/png" | json "d['data']['id']")
  ada=$(post /items/authors "{\"name\":\"Ada Writer\",\"avatar\":\"${FILE}\"}" | json "d['data']['id']")
  bob=$(post /items/authors '{"name":"Bob Editor"}' | json "d['data']['id']")
  news=$(post /items/categories '{"name":"Mesh News","slug":"mesh-news"}' | json "d['data']['id']")
  goc=$(post /items/categories '{"name":"Go","slug":"go"}' | json "d['data']['id']")
  post /items/articles "[
    {\"status\":\"published\",\"title\":\"Mesh article 1\",\"slug\":\"mesh-article-1\",\"body\":\"<p>one</p>\",\"author\":${ada},\"cover\":\"${FILE}\",\"categories\":[{\"categories_id\":${news}},{\"categories_id\":${goc}}]},
    {\"status\":\"published\",\"title\":\"Mesh article 2\",\"slug\":\"mesh-article-2\",\"body\":\"<p>two</p>\",\"author\":${bob},\"categories\":[{\"categories_id\":${goc}}]},
    {\"status\":\"draft\",\"title\":\"Mesh draft\",\"slug\":\"mesh-draft\",\"body\":\"<p>soon</p>\",\"author\":${ada}}]" >/dev/null
  # public (unauthenticated) read; Directus 11 permissions hang off policies
  PUB=$(curl -sf "${URL}/policies?filter%5Bname%5D%5B_eq%5D=%24t%3Apublic_label&fields=id" "${H[@]}" | json "d['data'][0]['id']")
  post /permissions "{\"policy\":\"${PUB}\",\"collection\":\"articles\",\"action\":\"read\",\"fields\":[\"*\"],\"permissions\":{\"status\":{\"_eq\":\"published\"}}}" >/dev/null
  for c in authors categories articles_categories directus_files; do
    post /permissions "{\"policy\":\"${PUB}\",\"collection\":\"${c}\",\"action\":\"read\",\"fields\":[\"*\"],\"permissions\":{}}" >/dev/null
  done
fi
umask 077
cat > "$BASE/env" <<ENV
DIRECTUS_URL=${URL}
DIRECTUS_TOKEN=${STATIC_TOKEN}
DIRECTUS_ADMIN_EMAIL=${ADMIN_EMAIL}
DIRECTUS_ADMIN_PASSWORD=${ADMIN_PASSWORD}
ENV
log "ready"; sed 's/^\(DIRECTUS_TOKEN\|DIRECTUS_ADMIN_PASSWORD\)=.*/\1=(in the env file)/' "$BASE/env"
