#!/usr/bin/env bash
# vendure-up.sh [PORT] -- real Vendure 3.7.3 commerce server (npm, SQLite via better-sqlite3) on 127.0.0.1:PORT
# (default 3000), seeded once with Vendure's own sample catalog: the initial-data.json, products.csv and product
# images that @vendure/create ships (54 products, 88 variants, 7 collections, assets served by AssetServerPlugin).
#   Shop API:  POST http://127.0.0.1:PORT/shop-api  (GraphQL, public; channel token header vendure-token)
#   Admin API: POST http://127.0.0.1:PORT/admin-api (GraphQL; login mutation -> vendure-auth-token header)
# Idempotent: installs when node_modules is missing, populates when the database is missing, starts when the
# server does not answer, waits until the collections' product filters have been applied, writes $BASE/env.
set -euo pipefail
PORT="${1:-${VENDURE_PORT:-3000}}"
BASE="${VENDURE_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/vendure}"
URL="http://127.0.0.1:${PORT}"
CHANNEL_TOKEN="contentmesh-default-channel" # not a secret: selects the default channel (USD)
JPY_CHANNEL_TOKEN="contentmesh-jpy-channel" # a second channel, JPY, with every product, collection and facet
export VENDURE_PORT="$PORT" VENDURE_DATA="$BASE/data" VENDURE_DISABLE_TELEMETRY=true VENDURE_CHANNEL_TOKEN="$CHANNEL_TOKEN"
log() { echo "[vendure-up] $*" >&2; }
mkdir -p "$BASE/data"; cd "$BASE"

# 1. install (~80-140 s; better-sqlite3 compiles from source with node-gyp: python3, make, g++ and the Node headers
#    (npm nodedir) are needed; sharp, used by the asset server, gets its binaries from the npm registry)
PKGS="@vendure/core@3.7.3 @vendure/asset-server-plugin@3.7.3 @vendure/create@3.7.3 better-sqlite3@12.9.0"
if [ ! -d node_modules/@vendure/core ] || [ ! -d node_modules/@vendure/asset-server-plugin ] \
   || [ ! -f node_modules/@vendure/create/assets/products.csv ] \
   || [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  log "npm install $PKGS"
  [ -f package.json ] || echo '{"name":"vendure-local","private":true}' > package.json
  if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ] && [ -d /usr/include/node ]; then
    export npm_config_nodedir=/usr
  fi
  # shellcheck disable=SC2086
  npm install --save-exact --no-audit --no-fund --loglevel=error $PKGS >"$BASE/npm-install.log" 2>&1 \
    || { tail -40 "$BASE/npm-install.log" >&2; exit 1; }
fi

cat > vendure-config.js <<'JS'
// Vendure 3 config for tests: SQLite (better-sqlite3), loopback only, assets served from the data dir.
const path = require('path');
const { DefaultJobQueuePlugin, DefaultSearchPlugin, dummyPaymentHandler } = require('@vendure/core');
const { AssetServerPlugin } = require('@vendure/asset-server-plugin');
const port = Number(process.env.VENDURE_PORT || 3000);
const dataDir = process.env.VENDURE_DATA || path.join(__dirname, 'data');
exports.config = {
  apiOptions: {
    hostname: '127.0.0.1', port,
    adminApiPath: 'admin-api', shopApiPath: 'shop-api',
    adminApiPlayground: false, shopApiPlayground: false,
  },
  authOptions: {
    tokenMethod: ['bearer', 'cookie'],
    superadminCredentials: { identifier: 'superadmin', password: 'superadmin-Pass-123' },
    cookieOptions: { secret: 'realservers-cookie-secret' },
    requireVerification: false,
  },
  defaultChannelToken: process.env.VENDURE_CHANNEL_TOKEN || null,
  dbConnectionOptions: {
    type: 'better-sqlite3',
    database: path.join(dataDir, 'vendure.sqlite'),
    synchronize: true,   // creates the schema on first start (fine for tests)
    logging: false,
  },
  paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
  importExportOptions: { importAssetsDir: path.join(__dirname, 'node_modules/@vendure/create/assets/images') },
  plugins: [
    AssetServerPlugin.init({
      route: 'assets',
      assetUploadDir: path.join(dataDir, 'assets'),
      assetUrlPrefix: `http://127.0.0.1:${port}/assets/`,
    }),
    DefaultJobQueuePlugin.init({ useDatabaseForBuffer: true }),
    DefaultSearchPlugin.init({ bufferUpdates: false, indexStockStatus: true }),
  ],
};
JS
cat > server.js <<'JS'
const { bootstrap, JobQueueService } = require('@vendure/core');
const { config } = require('./vendure-config');
bootstrap(config)
  .then(app => app.get(JobQueueService).start())   // run jobs (collection filters, search index) in-process
  .catch(err => { console.error(err); process.exit(1); });
JS
cat > populate.js <<'JS'
// One-off: schema + Vendure's sample catalog (initial data, products.csv, images) from @vendure/create.
const path = require('path');
const { bootstrap } = require('@vendure/core');
const { populate } = require('@vendure/core/cli');
const { config } = require('./vendure-config');
const assets = path.join(__dirname, 'node_modules/@vendure/create/assets');
populate(() => bootstrap(config), require(path.join(assets, 'initial-data.json')), path.join(assets, 'products.csv'))
  .then(app => app.close())
  .then(() => { console.log('populate done'); process.exit(0); })
  .catch(err => { console.error(err); process.exit(1); });
JS

shop() { curl -sf "${URL}/shop-api" -H 'Content-Type: application/json' -H "vendure-token: ${CHANNEL_TOKEN}" -d "$1"; }
if ! curl -sf "${URL}/health" >/dev/null 2>&1; then
  if [ ! -s "$BASE/data/vendure.sqlite" ]; then
    log "populating (schema + sample catalog)"
    node populate.js >"$BASE/populate.log" 2>&1 || { tail -30 "$BASE/populate.log" >&2; rm -f "$BASE/data/vendure.sqlite"; exit 1; }
  fi
  log "starting on ${URL}"
  nohup node server.js >"$BASE/server.log" 2>&1 </dev/null &
  echo $! > "$BASE/server.pid"
  for i in $(seq 1 600); do
    curl -sf "${URL}/health" >/dev/null 2>&1 && break
    kill -0 "$(cat "$BASE/server.pid")" 2>/dev/null || { tail -30 "$BASE/server.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "${URL}/health" >/dev/null || { log "not ready"; exit 1; }
fi
n=$(shop '{"query":"{ products { totalItems } }"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["products"]["totalItems"])')
[ "$n" -ge 50 ] || { log "expected the sample catalog (>=50 products), got $n"; exit 1; }
# The collections' facet filters are applied by a job after the first start: wait until every collection has products.
for i in $(seq 1 600); do
  empty=$(shop '{"query":"{ collections { items { productVariants(options:{take:1}) { totalItems } } } }"}' \
    | python3 -c 'import json,sys; c=json.load(sys.stdin)["data"]["collections"]["items"]; print(sum(1 for x in c if x["productVariants"]["totalItems"]==0) if c else 1)')
  [ "$empty" = "0" ] && break
  sleep 0.2
done
[ "$empty" = "0" ] || { log "collections still empty"; exit 1; }
# A second channel in a zero-decimal currency (JPY) with the whole catalog, made once through the Admin API.
python3 - "$URL" "$JPY_CHANNEL_TOKEN" <<'PY' || { log "JPY channel setup failed"; exit 1; }
import json, sys, urllib.request
url, token = sys.argv[1] + "/admin-api", sys.argv[2]
auth = {}
def gql(query, variables=None):
    req = urllib.request.Request(url, json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 {"Content-Type": "application/json", **auth})
    with urllib.request.urlopen(req, timeout=60) as resp:
        if "vendure-auth-token" in resp.headers:
            auth["Authorization"] = "Bearer " + resp.headers["vendure-auth-token"]
        body = json.load(resp)
    if body.get("errors"):
        raise SystemExit("admin-api: " + json.dumps(body["errors"]))
    return body["data"]
gql('mutation { login(username: "superadmin", password: "superadmin-Pass-123") { ... on CurrentUser { id } } }')
if any(c["code"] == "mesh-jpy" for c in gql("{ channels { items { code } } }")["channels"]["items"]):
    sys.exit(0)
zone = next(z["id"] for z in gql("{ zones { items { id name } } }")["zones"]["items"] if z["name"] == "Europe")
ch = gql("""mutation($zone: ID!, $token: String!) { createChannel(input: {code: "mesh-jpy", token: $token,
  defaultLanguageCode: en, pricesIncludeTax: false, defaultCurrencyCode: JPY, availableCurrencyCodes: [JPY],
  defaultShippingZoneId: $zone, defaultTaxZoneId: $zone}) { ... on Channel { id } ... on ErrorResult { message } } }""",
  {"zone": zone, "token": token})["createChannel"]
if "id" not in ch:
    raise SystemExit("createChannel: " + ch.get("message", "?"))
ids = lambda q, k: [x["id"] for x in gql(q)[k]["items"]]
gql("mutation($c: ID!, $p: [ID!]!) { assignProductsToChannel(input: {channelId: $c, productIds: $p, priceFactor: 1}) { id } }",
    {"c": ch["id"], "p": ids("{ products(options: {take: 1000}) { items { id } } }", "products")})
gql("mutation($c: ID!, $p: [ID!]!) { assignCollectionsToChannel(input: {channelId: $c, collectionIds: $p}) { id } }",
    {"c": ch["id"], "p": [i for i in ids("{ collections(options: {take: 1000}) { items { id } } }", "collections") if i != "1"]})
gql("mutation($c: ID!, $p: [ID!]!) { assignFacetsToChannel(input: {channelId: $c, facetIds: $p}) { id } }",
    {"c": ch["id"], "p": ids("{ facets(options: {take: 1000}) { items { id } } }", "facets")})
PY
cat > "$BASE/env" <<ENV
VENDURE_URL=${URL}
VENDURE_SHOP_API=${URL}/shop-api
VENDURE_ADMIN_API=${URL}/admin-api
VENDURE_CHANNEL_TOKEN=${CHANNEL_TOKEN}
VENDURE_JPY_CHANNEL_TOKEN=${JPY_CHANNEL_TOKEN}
VENDURE_SUPERADMIN=superadmin:superadmin-Pass-123
ENV
log "ready"; cat "$BASE/env"
