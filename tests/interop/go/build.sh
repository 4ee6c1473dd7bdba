#!/usr/bin/env bash
# Builds the dubbo-go interop peers, goprovider and goconsumer, into target/interop-go/ of the
# workspace (or $INTEROP_GO_OUT); safe to re-run, and quick when nothing changed (Go's build
# and module caches keep the work). Needs a go command and the Go module proxy for a cold
# module cache; versions are pinned by go.mod and go.sum. go.mod asks for Go >= 1.25: an
# older go fetches that toolchain through the proxy (GOTOOLCHAIN=auto, the default).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${INTEROP_GO_OUT:-$root/target/interop-go}

if ! command -v go >/dev/null 2>&1; then
  echo "interop-go: go not found on PATH (install Go)" >&2
  exit 127
fi
# Modules exactly as go.sum pins them; no VCS stamp (the binaries do not change with commits).
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS="-mod=readonly -buildvcs=false"

cd "$here"
started=$(date +%s%N)
mkdir -p "$out"
echo "interop-go: $(go version | cut -d' ' -f3-), $(go list -m -f '{{.Path}} {{.Version}}' \
  dubbo.apache.org/dubbo-go/v3 github.com/apache/dubbo-go-hessian2 | paste -sd' ' | sed 's/ \([a-z]\)/, \1/2')"
echo "interop-go: go build ./cmd/goprovider ./cmd/goconsumer -> $out (modules download on first use)"
go build -trimpath -ldflags="-s -w" -o "$out/" ./cmd/goprovider ./cmd/goconsumer
elapsed=$((($(date +%s%N) - started) / 1000000))
echo "interop-go: ready in ${elapsed} ms: $out/goprovider $out/goconsumer"
