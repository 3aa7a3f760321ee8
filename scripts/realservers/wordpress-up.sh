#!/usr/bin/env bash
# wordpress-up.sh [PORT]  -- real WordPress (Debian package) on 127.0.0.1:PORT
# Self-contained: private MariaDB (unix socket only, no TCP port) + private Apache/mod_php
# instance; nothing touches the system apache2/mariadb services.
# Idempotent: re-running with everything up is a no-op apart from the readiness check.
# Seeds (once) what sources/wordpress's integration test checks: 2 authors, 2 categories (one a child),
# 2 tags, 1 image, 2 published posts and 1 draft (categories, tags, featured image, authors) and
# 2 pages (one a child of the other).
# Writes WP_URL, WP_USER and WP_APP_PASSWORD (Basic auth for drafts and REST writes) to $BASE/env.
set -euo pipefail
PORT="${1:-${WP_PORT:-8081}}"
BASE="${WP_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/wordpress}"
CFGNAME="${WP_CONFIG_NAME:-realservers}"   # -> /etc/wordpress/config-$CFGNAME.php (Debian's lookup scheme)
DBPASS="wp-test-pass"
ADMIN_USER="admin"; ADMIN_PASS="admin-Pass-123"; ADMIN_EMAIL="admin@example.test"
URL="http://127.0.0.1:${PORT}"
log() { echo "[wordpress-up] $*" >&2; }

# 1. packages (no-op when present)
need=()
for p in wordpress mariadb-server apache2 libapache2-mod-php php-mysql curl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$BASE"; chmod 755 "$BASE"
SOCK="$BASE/mysqld.sock"

# 2. private MariaDB, socket only
if [ ! -d "$BASE/mysql/mysql" ]; then
  log "initialising MariaDB datadir"
  mariadb-install-db --no-defaults --user=root --datadir="$BASE/mysql" --auth-root-authentication-method=socket >"$BASE/mysql-init.log" 2>&1
fi
if ! mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  nohup /usr/sbin/mariadbd --no-defaults --user=root --datadir="$BASE/mysql" --socket="$SOCK" \
    --skip-networking --pid-file="$BASE/mysqld.pid" --log-error="$BASE/mysqld.err" \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --performance-schema=OFF >/dev/null 2>&1 </dev/null &
  for i in $(seq 1 60); do
    mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null 2>&1 && break; sleep 0.5
  done
  mariadb-admin --no-defaults --socket="$SOCK" -uroot ping >/dev/null || { cat "$BASE/mysqld.err" >&2; exit 1; }
fi
mariadb --no-defaults --socket="$SOCK" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS wordpress DEFAULT CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '${DBPASS}';
GRANT ALL PRIVILEGES ON wordpress.* TO 'wordpress'@'localhost';
SQL

# 3. WordPress config picked by Debian's /usr/share/wordpress/wp-config.php via SetEnv WORDPRESS_CONFIG
cat > "/etc/wordpress/config-${CFGNAME}.php" <<PHP
<?php
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', '${DBPASS}');
define('DB_HOST', 'localhost:${SOCK}');
define('WP_HOME', '${URL}');
define('WP_SITEURL', '${URL}');
define('WP_ENVIRONMENT_TYPE', 'local');   // enables Application Passwords over plain http
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);   // never phone home
PHP
chmod 644 "/etc/wordpress/config-${CFGNAME}.php"

# 4. private Apache (prefork + mod_php), loopback only
M=/usr/lib/apache2/modules
cat > "$BASE/httpd.conf" <<CONF
ServerRoot /etc/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:${PORT}
PidFile ${BASE}/httpd.pid
Mutex file:${BASE}
User www-data
Group www-data
ErrorLog ${BASE}/httpd-error.log
LogFormat "%h %t \"%r\" %>s %b %D" short
CustomLog ${BASE}/httpd-access.log short
LoadModule mpm_prefork_module $M/mod_mpm_prefork.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule mime_module $M/mod_mime.so
LoadModule dir_module $M/mod_dir.so
LoadModule alias_module $M/mod_alias.so
LoadModule env_module $M/mod_env.so
LoadModule setenvif_module $M/mod_setenvif.so
LoadModule php_module $M/libphp8.2.so
# Enough idle workers for a client that fetches several listings at once (prefork spawns new ones
# only about once a second), and a short keep-alive: an idle keep-alive connection holds a whole
# prefork worker, and the default 5 s made concurrent clients wait for one.
StartServers 4
MinSpareServers 4
MaxSpareServers 8
MaxRequestWorkers 12
KeepAlive On
KeepAliveTimeout 1
TypesConfig /etc/mime.types
SetEnv WORDPRESS_CONFIG ${CFGNAME}
# pass Authorization through so Basic auth (application passwords) reaches PHP
SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=\$1
DocumentRoot /usr/share/wordpress
Alias /wp-content /var/lib/wordpress/wp-content
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory /usr/share/wordpress>
  Options FollowSymLinks
  Require all granted
  DirectoryIndex index.php
  # pretty permalinks (/wp-json/...) without mod_rewrite/.htaccess
  FallbackResource /index.php
</Directory>
<Directory /var/lib/wordpress/wp-content>
  Options FollowSymLinks
  Require all granted
</Directory>
<FilesMatch "\.php\$">
  SetHandler application/x-httpd-php
</FilesMatch>
CONF
if [ -f "$BASE/httpd.pid" ] && kill -0 "$(cat "$BASE/httpd.pid")" 2>/dev/null; then
  apache2 -f "$BASE/httpd.conf" -k graceful
else
  rm -f "$BASE/httpd.pid"
  log "starting Apache on ${URL}"
  apache2 -f "$BASE/httpd.conf" -k start
fi
for i in $(seq 1 60); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${URL}/wp-admin/install.php" || true)
  [[ "$code" =~ ^(200|302)$ ]] && break; sleep 0.5
done

# 5. non-interactive install (the same form POST a browser sends)
installed=$(mariadb --no-defaults --socket="$SOCK" -uroot -N wordpress -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='wordpress' AND table_name='wp_options'" 2>/dev/null)
if [ "$installed" = "0" ]; then
  log "running wp-admin/install.php?step=2"
  curl -sf -o /dev/null "${URL}/wp-admin/install.php?step=2" \
    --data-urlencode "weblog_title=Realservers Test" --data-urlencode "user_name=${ADMIN_USER}" \
    --data-urlencode "admin_password=${ADMIN_PASS}" --data-urlencode "admin_password2=${ADMIN_PASS}" \
    --data-urlencode "pw_weak=1" --data-urlencode "admin_email=${ADMIN_EMAIL}" \
    --data-urlencode "blog_public=0" --data-urlencode "language="
  # pretty permalinks so /wp-json/ routes work
  mariadb --no-defaults --socket="$SOCK" -uroot wordpress -e \
    "UPDATE wp_options SET option_value='/%postname%/' WHERE option_name='permalink_structure'"
fi

# 6. application password for REST writes (generated once, via WordPress's own PHP API)
if [ ! -s "$BASE/app-password" ]; then
  WORDPRESS_CONFIG="$CFGNAME" php -r '
    $_SERVER["WORDPRESS_CONFIG"]=getenv("WORDPRESS_CONFIG"); $_SERVER["HTTP_HOST"]="127.0.0.1";
    require "/usr/share/wordpress/wp-load.php";
    $u = get_user_by("login", $argv[1]);
    list($pw,) = WP_Application_Passwords::create_new_application_password($u->ID, array("name"=>"realservers"));
    echo $pw;' "$ADMIN_USER" > "$BASE/app-password"
fi
APP_PW=$(cat "$BASE/app-password")

# 7. seed once (marker: the post "mesh-post-1"); every write goes through the REST API
AUTH="${ADMIN_USER}:${APP_PW}"
seeded=$(mariadb --no-defaults --socket="$SOCK" -uroot -N wordpress -e \
  "SELECT COUNT(*) FROM wp_posts WHERE post_type='post' AND post_name='mesh-post-1'")
if [ "$seeded" = "0" ]; then
  log "seeding authors, categories, tags, media, posts, a draft, pages"
  api() { # api METHOD PATH JSON -> prints the new object's id
    curl -sf -u "$AUTH" -X "$1" "${URL}/wp-json/wp/v2/$2" -H 'Content-Type: application/json' -d "$3" \
      | php -r 'echo json_decode(stream_get_contents(STDIN))->id;'
  }
  # drop the default "Hello world!" post and "Sample Page" so totals are exactly the seeded ones
  curl -s -o /dev/null -u "$AUTH" -X DELETE "${URL}/wp-json/wp/v2/posts/1?force=true" || true
  curl -s -o /dev/null -u "$AUTH" -X DELETE "${URL}/wp-json/wp/v2/pages/2?force=true" || true   # Sample Page
  curl -s -o /dev/null -u "$AUTH" -X DELETE "${URL}/wp-json/wp/v2/pages/3?force=true" || true   # Privacy Policy (draft)
  bob=$(api POST users '{"username":"bob","name":"Bob Editor","email":"bob@example.test","password":"Bob-Pass-123456","roles":["author"],"slug":"bob"}')
  news=$(api POST categories '{"name":"Mesh News","slug":"mesh-news"}')
  goc=$(api POST categories "{\"name\":\"Go\",\"slug\":\"go\",\"parent\":${news}}")
  golang=$(api POST tags '{"name":"golang","slug":"golang"}')
  jam=$(api POST tags '{"name":"jamstack","slug":"jamstack"}')
  # a 2x1 PNG (no GD needed: WordPress reads the size with getimagesize)
  python3 -c 'import base64,sys; sys.stdout.buffer.write(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEElEQVR4nGP4z8DAwMDAAAAHAAH/bFZs2AAAAABJRU5ErkJggg=="))' > "$BASE/mesh-hero.png"
  hero=$(curl -sf -u "$AUTH" "${URL}/wp-json/wp/v2/media" -H 'Content-Type: image/png' \
    -H 'Content-Disposition: attachment; filename=mesh-hero.png' --data-binary @"$BASE/mesh-hero.png" \
    | php -r 'echo json_decode(stream_get_contents(STDIN))->id;')
  curl -sf -o /dev/null -u "$AUTH" "${URL}/wp-json/wp/v2/media/${hero}" -H 'Content-Type: application/json' \
    -d '{"alt_text":"Mesh hero","title":"Mesh hero"}'
  api POST posts "{\"title\":\"Mesh post 1\",\"slug\":\"mesh-post-1\",\"status\":\"publish\",\"content\":\"<p>Body of post 1</p>\",\"excerpt\":\"Excerpt 1\",\"categories\":[${news}],\"tags\":[${golang}],\"featured_media\":${hero}}" >/dev/null
  api POST posts "{\"title\":\"Mesh post 2\",\"slug\":\"mesh-post-2\",\"status\":\"publish\",\"content\":\"<p>Body of post 2</p>\",\"excerpt\":\"Excerpt 2\",\"categories\":[${goc}],\"tags\":[${golang},${jam}],\"author\":${bob}}" >/dev/null
  api POST posts "{\"title\":\"Mesh draft\",\"slug\":\"mesh-draft\",\"status\":\"draft\",\"content\":\"<p>Not yet</p>\",\"categories\":[${news}],\"author\":${bob}}" >/dev/null
  about=$(api POST pages '{"title":"About mesh","slug":"about-mesh","status":"publish","content":"<p>About</p>"}')
  api POST pages "{\"title\":\"Mesh team\",\"slug\":\"mesh-team\",\"status\":\"publish\",\"content\":\"<p>Team</p>\",\"parent\":${about}}" >/dev/null
fi

curl -sf -o /dev/null "${URL}/wp-json/wp/v2/posts?per_page=1" || { log "REST not ready"; exit 1; }
umask 077
cat > "$BASE/env" <<ENV
WP_URL=${URL}
WP_USER=${ADMIN_USER}
WP_PASSWORD=${ADMIN_PASS}
WP_APP_PASSWORD=${APP_PW}
ENV
log "ready"
sed 's/^\(WP_APP_PASSWORD\|WP_PASSWORD\)=.*/\1=(in the env file)/' "$BASE/env"   # never print the passwords
