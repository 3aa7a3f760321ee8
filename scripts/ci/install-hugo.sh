#!/usr/bin/env bash
# install-hugo.sh -- puts Hugo (the version the hugo-site example is tested with) into $(go env GOPATH)/bin.
# Debian's hugo package (0.111) is too old: the example needs content adapters and hugo.Data (0.156+).
# v0.163.0 is the newest Hugo whose go.mod asks only for the Go we build with; `go install` takes about
# 1.5 minutes on 2 cores (modules come from the Go module proxy). Idempotent: does nothing when that
# version is already on PATH or in GOPATH/bin.
# Afterwards put the binary on PATH:  export PATH="$(go env GOPATH)/bin:$PATH"
set -euo pipefail
VERSION="${HUGO_VERSION:-v0.163.0}"
BIN="$(go env GOPATH)/bin"
log() { echo "[install-hugo] $*" >&2; }

have() { "$1" version 2>/dev/null | grep -q "hugo ${VERSION}[ +-]"; }
for candidate in "$(command -v hugo || true)" "$BIN/hugo"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && have "$candidate"; then
    log "hugo ${VERSION} already at $candidate"
    exit 0
  fi
done

log "go install github.com/gohugoio/hugo@${VERSION} (about 1.5 min)"
# The standard edition: pure Go, no cgo (the extended edition's WebP/LibSass need a C toolchain).
CGO_ENABLED=0 GOBIN="$BIN" go install "github.com/gohugoio/hugo@${VERSION}"
"$BIN/hugo" version >&2
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) log "add it to PATH: export PATH=\"$BIN:\$PATH\"" ;;
esac
