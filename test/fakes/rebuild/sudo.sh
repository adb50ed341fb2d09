#!/usr/bin/env bash
# Fake sudo for src/host/scripts/rebuild-check.sh's tests: only `sudo -n COMMAND…`, run as is.
set -euo pipefail
echo "sudo $*" >>"$FAKE_LOG"
if [[ "${1:-}" != -n ]]; then
    echo "fake sudo: only non-interactive 'sudo -n' may be used, got: $*" >&2
    exit 1
fi
shift
exec "$@"
