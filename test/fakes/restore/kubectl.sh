#!/usr/bin/env bash
# A `kubectl` for src/host/scripts/restore.sh (test/restore.spec.ts): `get clusters...` lists the Clusters of
# the fake management cluster (a file each in $FAKE_ROOT/clusters).
# Inputs (environment): FAKE_LOG (`kubectl <args>` a line), FAKE_ROOT.
echo "kubectl $*" >>"$FAKE_LOG"
if [[ " $* " == *" get clusters.cluster.x-k8s.io "* ]]; then
    shopt -s nullglob
    for f in "$FAKE_ROOT"/clusters/*; do printf '%s ' "${f##*/}"; done
else
    echo "fake kubectl: unexpected $*" >&2
    exit 64
fi
