#!/usr/bin/env bash
# strapi-up.sh [PORT] -- real Strapi 5.54.0 (npm, JS project, SQLite via better-sqlite3) on 127.0.0.1:PORT
# create-strapi-app@5.55.0 (latest at the time of writing) could NOT be used: its template pins
# @strapi/database@5.55.0, which the registry does not have (ETARGET). 5.54.0 is consistent and its
# engines allow Node 20.
# Idempotent. Adds the content types sources/strapi's integration test reads (as schema files, the
# normal Strapi way; the Content-Type Builder API only works under `strapi develop`):
#   article  (draft & publish, localized en + fr): title, slug, body (markdown), content (blocks),
#            seo (component shared.seo), cover (media), author (manyToOne), categories (manyToMany)
#   author   name, avatar (media), articles (oneToMany, mapped by article.author)
#   category name, slug, articles (manyToMany, mapped by article.categories)
# registers the first admin, adds the fr locale, creates a full-access API token, and seeds once:
# 1 image, 2 authors, 2 categories, 2 published articles (one also in fr), 1 draft-only article;
# then opens public find/findOne on the three types.
# Writes STRAPI_URL, STRAPI_TOKEN (full access) and STRAPI_READONLY_TOKEN to $BASE/env.
set -euo pipefail
PORT="${1:-${STRAPI_PORT:-1337}}"
BASE="${STRAPI_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/strapi}"
VERSION="${STRAPI_VERSION:-5.54.0}"
APP="$BASE/app"; URL="http://127.0.0.1:${PORT}"
ADMIN_EMAIL="admin@example.com"; ADMIN_PASSWORD="Admin-Pass-123"
export STRAPI_TELEMETRY_DISABLED=true
log() { echo "[strapi-up] $*" >&2; }
mkdir -p "$BASE"

# 1. scaffold + install (~2-3 min; better-sqlite3 compiles from source via node-gyp, needs python3/make/g++
#    and Node headers; @swc/core and esbuild binaries come from npm optional packages)
if [ ! -x "$APP/node_modules/.bin/strapi" ]; then
  log "create-strapi-app@${VERSION}"
  rm -rf "$APP"
  if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ] && [ -d /usr/include/node ]; then
    export npm_config_nodedir=/usr
  fi
  ( cd "$BASE" && npx -y "create-strapi-app@${VERSION}" app --non-interactive --skip-cloud --no-run --js \
      --use-npm --install --no-git-init --no-example --dbclient=sqlite --dbfile=.tmp/data.db ) \
      >"$BASE/create.log" 2>&1 </dev/null || { grep -v '^npm warn' "$BASE/create.log" | tail -30 >&2; exit 1; }
  [ -f "$APP/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ] || { log "better-sqlite3 not built"; exit 1; }
fi

# 2. content types and a component (files, like a developer would commit them); changed files mean a restart
changed=0
put() { # put FILE CONTENT: write when different
  mkdir -p "$(dirname "$1")"
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then printf '%s' "$2" > "$1"; changed=1; fi
}
put "$APP/src/components/shared/seo.json" '{
  "collectionName": "components_shared_seos",
  "info": { "displayName": "Seo" },
  "attributes": { "metaTitle": { "type": "string" }, "metaDescription": { "type": "text" } }
}'
put "$APP/src/api/article/content-types/article/schema.json" '{
  "kind": "collectionType",
  "collectionName": "articles",
  "info": { "singularName": "article", "pluralName": "articles", "displayName": "Article" },
  "options": { "draftAndPublish": true },
  "pluginOptions": { "i18n": { "localized": true } },
  "attributes": {
    "title": { "type": "string", "required": true, "pluginOptions": { "i18n": { "localized": true } } },
    "slug": { "type": "uid", "targetField": "title", "pluginOptions": { "i18n": { "localized": true } } },
    "body": { "type": "richtext", "pluginOptions": { "i18n": { "localized": true } } },
    "content": { "type": "blocks", "pluginOptions": { "i18n": { "localized": true } } },
    "seo": { "type": "component", "repeatable": false, "component": "shared.seo", "pluginOptions": { "i18n": { "localized": true } } },
    "cover": { "type": "media", "multiple": false, "allowedTypes": ["images"], "pluginOptions": { "i18n": { "localized": false } } },
    "author": { "type": "relation", "relation": "manyToOne", "target": "api::author.author", "inversedBy": "articles" },
    "categories": { "type": "relation", "relation": "manyToMany", "target": "api::category.category", "inversedBy": "articles" }
  }
}'
put "$APP/src/api/author/content-types/author/schema.json" '{
  "kind": "collectionType",
  "collectionName": "authors",
  "info": { "singularName": "author", "pluralName": "authors", "displayName": "Author" },
  "options": { "draftAndPublish": false },
  "attributes": {
    "name": { "type": "string", "required": true },
    "avatar": { "type": "media", "multiple": false, "allowedTypes": ["images"] },
    "articles": { "type": "relation", "relation": "oneToMany", "target": "api::article.article", "mappedBy": "author" }
  }
}'
put "$APP/src/api/category/content-types/category/schema.json" '{
  "kind": "collectionType",
  "collectionName": "categories",
  "info": { "singularName": "category", "pluralName": "categories", "displayName": "Category" },
  "options": { "draftAndPublish": false },
  "attributes": {
    "name": { "type": "string", "required": true },
    "slug": { "type": "uid", "targetField": "name" },
    "articles": { "type": "relation", "relation": "manyToMany", "target": "api::article.article", "mappedBy": "categories" }
  }
}'
for ct in article author category; do
  for k in controller:controllers router:routes service:services; do
    f=${k%%:*}; d=${k##*:}; F="$(tr '[:lower:]' '[:upper:]' <<<"${f:0:1}")${f:1}"
    put "$APP/src/api/$ct/$d/$ct.js" "'use strict'; const { factories } = require('@strapi/strapi'); module.exports = factories.createCore${F}('api::$ct.$ct');"
  done
done
# bind to loopback + chosen port (.env from the scaffold says HOST=0.0.0.0)
sed -i -e "s/^HOST=.*/HOST=127.0.0.1/" -e "s/^PORT=.*/PORT=${PORT}/" "$APP/.env"

# 3. start (or restart when the schema files changed under a running server)
running() { curl -sf -o /dev/null "${URL}/_health" 2>/dev/null; }
if running && [ "$changed" = 1 ] && [ -f "$BASE/server.pid" ]; then
  log "schema changed: restarting"
  "$(dirname "$0")/strapi-down.sh" >/dev/null
fi
if ! running; then
  log "starting on ${URL}"
  ( cd "$APP"
    HOST=127.0.0.1 PORT="$PORT" nohup node node_modules/@strapi/strapi/bin/strapi.js start \
      >"$BASE/server.log" 2>&1 </dev/null &
    echo $! > "$BASE/server.pid" )
  for i in $(seq 1 600); do
    running && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -30 "$BASE/server.log" >&2; exit 1; }
    sleep 0.25
  done
  running || { log "not ready"; exit 1; }
fi

# 4. seed once: first admin -> fr locale -> API token -> media, authors, categories, articles -> public read
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
if [ ! -s "$BASE/api-token" ]; then
  log "seeding"
  JWT=$(curl -s "${URL}/admin/register-admin" -H 'Content-Type: application/json' \
    -d "{\"firstname\":\"Mesh\",\"lastname\":\"Admin\",\"email\":\"${ADMIN_EMAIL}\",\"password\":\"${ADMIN_PASSWORD}\"}" \
    | j "(d.get('data') or {}).get('token') or ''")
  if [ -z "$JWT" ]; then   # admin already registered (re-run after losing api-token file)
    JWT=$(curl -sf "${URL}/admin/login" -H 'Content-Type: application/json' \
      -d "{\"email\":\"${ADMIN_EMAIL}\",\"password\":\"${ADMIN_PASSWORD}\"}" | j "d['data']['token']")
  fi
  AH=(-H "Authorization: Bearer ${JWT}" -H 'Content-Type: application/json')
  curl -s -o /dev/null "${URL}/i18n/locales" "${AH[@]}" -d '{"name":"French (fr)","code":"fr","isDefault":false}'
  TOK=$(curl -sf "${URL}/admin/api-tokens" "${AH[@]}" \
    -d "{\"name\":\"mesh-$(date +%s)\",\"description\":\"content mesh tests\",\"type\":\"full-access\",\"lifespan\":null}" \
    | j "d['data']['accessKey']")
  TH=(-H "Authorization: Bearer ${TOK}")
  api() { # api METHOD PATH JSON -> the answer's data.documentId
    curl -sf -X "$1" "${URL}/api/$2" "${TH[@]}" -H 'Content-Type: application/json' -d "$3" | j "d['data']['documentId']"
  }
  python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4nGM4oaEBRwzIHAB22gjB9Lr9UAAAAABJRU5ErkJggg=="))' > "$BASE/mesh-cover.png"
  FILE=$(curl -sf "${URL}/api/upload" "${TH[@]}" -F "files=@$BASE/mesh-cover.png;type=image/png" \
    -F 'fileInfo={"alternativeText":"Mesh cover","caption":"A cover"}' | j "d[0]['id']")
  ada=$(api POST authors "{\"data\":{\"name\":\"Ada Writer\",\"avatar\":${FILE}}}")
  bob=$(api POST authors '{"data":{"name":"Bob Editor"}}')
  news=$(api POST categories '{"data":{"name":"Mesh News","slug":"mesh-news"}}')
  goc=$(api POST categories '{"data":{"name":"Go","slug":"go"}}')
  blocks='[{"type":"paragraph","children":[{"type":"text","text":"Hello "},{"type":"text","text":"blocks","bold":true}]}]'
  a1=$(api POST 'articles?status=published' "{\"data\":{\"title\":\"Mesh article 1\",\"slug\":\"mesh-article-1\",\"body\":\"Body **1**\",\"content\":${blocks},\"seo\":{\"metaTitle\":\"Meta 1\"},\"cover\":${FILE},\"author\":\"${ada}\",\"categories\":[\"${news}\",\"${goc}\"]}}")
  api POST 'articles?status=published' "{\"data\":{\"title\":\"Mesh article 2\",\"slug\":\"mesh-article-2\",\"body\":\"Body **2**\",\"author\":\"${bob}\",\"categories\":[\"${goc}\"]}}" >/dev/null
  api PUT "articles/${a1}?locale=fr&status=published" "{\"data\":{\"title\":\"Article maille 1\",\"slug\":\"article-maille-1\",\"body\":\"Corps **1**\"}}" >/dev/null
  api POST 'articles?status=draft' "{\"data\":{\"title\":\"Mesh draft\",\"slug\":\"mesh-draft\",\"body\":\"Not yet\",\"author\":\"${ada}\"}}" >/dev/null
  PUBID=$(curl -sf "${URL}/users-permissions/roles" "${AH[@]}" | j "[r['id'] for r in d['roles'] if r['type']=='public'][0]")
  ro='{"find":{"enabled":true},"findOne":{"enabled":true}}'
  curl -sf -o /dev/null -X PUT "${URL}/users-permissions/roles/${PUBID}" "${AH[@]}" \
    -d "{\"name\":\"Public\",\"description\":\"Default role given to unauthenticated user.\",\"permissions\":{\"api::article\":{\"controllers\":{\"article\":${ro}}},\"api::author\":{\"controllers\":{\"author\":${ro}}},\"api::category\":{\"controllers\":{\"category\":${ro}}}}}"
  umask 077; printf '%s' "$TOK" > "$BASE/api-token"
fi
# a read-only API token too (it may not read the content-type schema: the adapter's other path)
if [ ! -s "$BASE/ro-token" ]; then
  JWT=$(curl -sf "${URL}/admin/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"${ADMIN_EMAIL}\",\"password\":\"${ADMIN_PASSWORD}\"}" | j "d['data']['token']")
  RO=$(curl -sf "${URL}/admin/api-tokens" -H "Authorization: Bearer ${JWT}" -H 'Content-Type: application/json' \
    -d "{\"name\":\"mesh-ro-$(date +%s)\",\"description\":\"content mesh tests, read-only\",\"type\":\"read-only\",\"lifespan\":null}" \
    | j "d['data']['accessKey']")
  umask 077; printf '%s' "$RO" > "$BASE/ro-token"
fi
umask 077
cat > "$BASE/env" <<ENV
STRAPI_URL=${URL}
STRAPI_TOKEN=$(cat "$BASE/api-token")
STRAPI_READONLY_TOKEN=$(cat "$BASE/ro-token")
STRAPI_ADMIN_EMAIL=${ADMIN_EMAIL}
STRAPI_ADMIN_PASSWORD=${ADMIN_PASSWORD}
ENV
log "ready"; sed 's/^\(STRAPI_TOKEN\|STRAPI_READONLY_TOKEN\|STRAPI_ADMIN_PASSWORD\)=.*/\1=(in the env file)/' "$BASE/env"
