#!/usr/bin/env bash
# A `kubectl` for src/host/scripts/backup.sh (test/backup.spec.ts): lists the paused Clusters (a file per
# Cluster in $FAKE_STATE/paused) for `get clusters...` and resumes one for `patch clusters... NAME`.
# Inputs (environment): FAKE_LOG (`kubectl <args>` a line), FAKE_STATE.
echo "kubectl $*" >>"$FAKE_LOG"
args=" $* "
if [[ "$args" == *" get clusters.cluster.x-k8s.io "* ]]; then
    shopt -s nullglob
    for f in "$FAKE_STATE"/paused/*; do echo "${f##*/}"; done
elif [[ "$args" == *" patch clusters.cluster.x-k8s.io "* ]]; then
    name=${args##* patch clusters.cluster.x-k8s.io }
    rm -f "$FAKE_STATE/paused/${name%% *}"
else
    echo "fake kubectl: unexpected $*" >&2
    exit 64
fi
