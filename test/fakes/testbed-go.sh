#!/usr/bin/env bash
# A fake `go` for testbed/build.sh's unit test (test/testbedBuild.spec.ts), on PATH as `go`.
#   go env GOVERSION              prints go1.26.0
#   go mod download -json MODULE  prints the module at version v1.0.0 in $FAKE_GO_MODDIR
#   go build ... -o OUT PACKAGE   writes a small executable to OUT
# Every call is appended to $FAKE_GO_LOG (one line: the arguments).
set -euo pipefail
echo "$*" >>"${FAKE_GO_LOG:-/dev/null}"
case "${1:-}" in
    env) echo "go1.26.0" ;;
    mod)
        module="${*: -1}"
        printf '{"Path": "%s", "Version": "v1.0.0", "Dir": "%s"}\n' "$module" "${FAKE_GO_MODDIR:-/nonexistent}"
        ;;
    build)
        out=""
        while (($#)); do
            case "$1" in
                -o) out=$2; shift 2 ;;
                *) shift ;;
            esac
        done
        [ -n "$out" ] || { echo "fake go: build without -o" >&2; exit 2; }
        printf '#!/bin/sh\necho fake\n' >"$out"
        chmod +x "$out"
        ;;
    *) echo "fake go: unexpected: $*" >&2; exit 2 ;;
esac
