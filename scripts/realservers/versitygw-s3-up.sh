#!/usr/bin/env bash
# Start a real Versity S3 Gateway (Apache-2.0) with its posix backend on
# 127.0.0.1, building it from the Go module proxy if needed: the S3 server of the
# tests of mesh/s3store and of `contentmesh pull` (they read S3_ENDPOINT,
# S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION; the defaults match this script's). Objects are plain
# files under the data dir; metadata in user xattrs (the filesystem must support
# user xattrs, e.g. ext4/xfs/btrfs; otherwise set VGW_META_SIDECAR=/some/dir).
# Idempotent: if it is already running and answers a signed request, exits 0.
#
# Usage: versitygw-s3-up.sh [PORT] [ACCESS_KEY] [SECRET_KEY]
#   PORT        S3 port (default $S3_PORT or 7070); only this one port is used.
#   ACCESS_KEY  default $S3_ACCESS_KEY or "testkey"
#   SECRET_KEY  default $S3_SECRET_KEY or "testsecret"
# Env: REALSERVERS_DIR (default /tmp/contentmesh-realservers); data, log, pid
#      live in $REALSERVERS_DIR/versitygw, the binary in $REALSERVERS_DIR/bin.
#      VERSITYGW_VERSION (default v1.8.0), REALSERVERS_FRESH=1 wipes data first,
#      READY_TIMEOUT seconds (default 30).
# Prints S3_ENDPOINT=... lines on success (also written to $REALSERVERS_DIR/<name>/env).
set -euo pipefail

PORT="${1:-${S3_PORT:-7070}}"
AK="${2:-${S3_ACCESS_KEY:-testkey}}"
SK="${3:-${S3_SECRET_KEY:-testsecret}}"
ROOT="${REALSERVERS_DIR:-/tmp/contentmesh-realservers}"
VERSION="${VERSITYGW_VERSION:-v1.8.0}"
DIR="$ROOT/versitygw"
BIN="$ROOT/bin/versitygw-$VERSION"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
mkdir -p "$DIR" "$ROOT/bin"

log() { echo "[versitygw-s3-up] $*" >&2; }

signed_ok() { # 200 on a SigV4-signed ListBuckets == credentials work
  local code  # versitygw (like AWS) requires x-amz-content-sha256 on every signed request
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "x-amz-content-sha256: $EMPTY_SHA" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" "http://127.0.0.1:$PORT/" 2>/dev/null || true)
  [ "$code" = "200" ]
}
emit() { printf 'S3_ENDPOINT=http://127.0.0.1:%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\nS3_REGION=us-east-1\n' "$PORT" "$AK" "$SK" | tee "$DIR/env"; }

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  if signed_ok; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; emit; exit 0; fi
  log "pid $(cat "$PIDFILE") alive but not answering on $PORT with these credentials; run versitygw-s3-down.sh first"
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then log "127.0.0.1:$PORT is already in use by another process"; exit 1; fi

if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { log "go not found"; exit 1; }
  log "building versitygw $VERSION (first time: ~1 min on 2 cores)"
  t0=$(date +%s)
  TMPBIN=$(mktemp -d "$ROOT/bin/.build.XXXXXX")
  GOBIN="$TMPBIN" go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSION"
  mv "$TMPBIN/versitygw" "$BIN"; rmdir "$TMPBIN"
  log "built $BIN in $(( $(date +%s) - t0 ))s"
fi

[ "${REALSERVERS_FRESH:-0}" = "1" ] && rm -rf "$DIR/data"
mkdir -p "$DIR/data"
SIDECAR=()
if [ -n "${VGW_META_SIDECAR:-}" ]; then mkdir -p "$VGW_META_SIDECAR"; SIDECAR=(--sidecar "$VGW_META_SIDECAR"); fi

t0=$(date +%s.%N)
# single-account mode (no --iam-dir): the root key pair is the only identity.
ROOT_ACCESS_KEY="$AK" ROOT_SECRET_KEY="$SK" \
nohup "$BIN" --port "127.0.0.1:$PORT" --region us-east-1 --quiet --health /healthz \
  posix "${SIDECAR[@]}" "$DIR/data" >"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"

# on a failed start, stop what this script started (log stays for inspection)
stop_started() {
  local pid; pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null || true; sleep 2; kill -KILL "$pid" 2>/dev/null || true; rm -f "$PIDFILE"
}
deadline=$(( $(date +%s) + READY_TIMEOUT ))
until signed_ok; do
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    log "versitygw exited during startup; last log lines:"; tail -20 "$LOG" >&2; rm -f "$PIDFILE"; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then log "not ready after ${READY_TIMEOUT}s; see $LOG"; stop_started; exit 1; fi
  sleep 0.05
done
log "ready on 127.0.0.1:$PORT (pid $(cat "$PIDFILE")) after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")s"
emit
