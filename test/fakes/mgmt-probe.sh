#!/usr/bin/env bash
# Fake kubectl, clusterctl and sonobuoy for test/mgmtKubeconfig.spec.ts: records which
# cluster a host tool talks to (the text of the kubeconfig it passes with --kubeconfig or
# --to-kubeconfig, "-" when none) as `<tool> <text>` in $FAKE_PROBE_LOG, then refuses (exit 1),
# so that the tool stops at its first call.
set -euo pipefail
config=""
prev=""
for arg in "$@"; do
    case "$prev" in
        --kubeconfig | --to-kubeconfig) config=$arg ;;
    esac
    case "$arg" in
        --kubeconfig=* | --to-kubeconfig=*) config=${arg#*=} ;;
    esac
    prev=$arg
done
text="-"
if [[ -n "$config" ]]; then
    text=$(cat -- "$config" 2>/dev/null || echo "missing:$config")
fi
echo "$(basename -- "$0") $text" >>"$FAKE_PROBE_LOG"
echo "probe: refused" >&2
exit 1
