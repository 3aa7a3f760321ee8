#!/usr/bin/env bash
# wordpress-down.sh [--purge] -- stop the private Apache and MariaDB started by wordpress-up.sh (by PID file).
set -uo pipefail
BASE="${WP_BASE:-${REALSERVERS_DIR:-/tmp/contentmesh-realservers}/wordpress}"
stop_pid() { # pidfile name
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$f"
}
stop_pid "$BASE/httpd.pid"    # apache parent; it stops its own children
stop_pid "$BASE/mysqld.pid"
if [ "${1:-}" = "--purge" ]; then
  rm -rf "$BASE"
  rm -f /etc/wordpress/config-"${WP_CONFIG_NAME:-realservers}".php
fi
echo "[wordpress-down] stopped"
