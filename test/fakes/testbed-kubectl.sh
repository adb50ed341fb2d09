#!/usr/bin/env bash
# A fake `kubectl` for testbed/build.sh's unit test (test/testbedBuild.spec.ts), on PATH as
# `kubectl`: `kubectl kustomize DIR` prints one Namespace; anything else fails.
set -euo pipefail
[ "${1:-}" = "kustomize" ] || { echo "fake kubectl: unexpected: $*" >&2; exit 2; }
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fake\n'
