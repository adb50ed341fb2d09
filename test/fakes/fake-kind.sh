#!/usr/bin/env bash
# The fake kind of the teardown tests (test/fakes/teardownFakes.ts): `kind get clusters` lists
# the names in $FAKE_STATE/_kind_clusters (fails when $FAKE_STATE/_kind_fail exists);
# `kind get kubeconfig --name NAME` prints a kubeconfig of the fake management cluster when
# NAME is listed (and $FAKE_STATE/_kind_no_kubeconfig does not exist). Every call is logged
# to $FAKE_KIND_LOG.
set -euo pipefail
echo "$(date +%s%N) $*" >>"$FAKE_KIND_LOG"
if [[ "$*" == "get clusters" ]]; then
    if [[ -f "$FAKE_STATE/_kind_fail" ]]; then
        echo 'ERROR: failed to list clusters: command "docker ps" failed' >&2
        exit 1
    fi
    if [[ -s "$FAKE_STATE/_kind_clusters" ]]; then
        cat "$FAKE_STATE/_kind_clusters"
    else
        echo "No kind clusters found." >&2
    fi
    exit 0
fi
if [[ $# -eq 4 && "$1 $2 $3" == "get kubeconfig --name" ]]; then
    if [[ -f "$FAKE_STATE/_kind_no_kubeconfig" ]] || ! grep -qxF -- "$4" "$FAKE_STATE/_kind_clusters" 2>/dev/null; then
        echo "ERROR: could not locate any control plane nodes for cluster named '$4'" >&2
        exit 1
    fi
    printf 'apiVersion: v1\nkind: Config\ncurrent-context: mgmt\n'
    exit 0
fi
echo "fake kind: unexpected arguments: $*" >&2
exit 64
