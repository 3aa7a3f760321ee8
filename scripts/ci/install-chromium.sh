#!/usr/bin/env bash
# install-chromium.sh -- installs Debian's chromium for the headless page test of report.html
# (mesh/reporthtml, TestChromiumRenders). Idempotent: does nothing when chromium is on PATH.
# Needs root or sudo; the package and its libraries are a few hundred MB.
set -euo pipefail
log() { echo "[install-chromium] $*" >&2; }

if command -v chromium >/dev/null 2>&1; then
  log "already installed: $(chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { log "need root or sudo to apt-get install chromium"; exit 1; }
  SUDO="sudo"
fi
log "apt-get install chromium"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version 2>/dev/null | head -n 1 >&2
