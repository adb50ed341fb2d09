#!/usr/bin/env bash
# Fake kubectl for src/host/scripts/rebuild-check.sh's tests: answers the two questions the check asks.
# FAKE_KUBE=down: the API does not answer; nocrd: no Cluster API CRD; otherwise the CRD exists
# and the Clusters are $FAKE_CLUSTERS (one `namespace/name` per line).
set -euo pipefail
echo "kubectl $*" >>"$FAKE_LOG"
if [[ "${FAKE_KUBE:-up}" == down ]]; then
    echo "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?" >&2
    exit 1
fi
case "$*" in
    *" get customresourcedefinition clusters.cluster.x-k8s.io --ignore-not-found -o name")
        if [[ "${FAKE_KUBE:-up}" != nocrd ]]; then
            echo "customresourcedefinition.apiextensions.k8s.io/clusters.cluster.x-k8s.io"
        fi
        ;;
    *" get clusters.cluster.x-k8s.io --all-namespaces -o jsonpath="*)
        if [[ -n "${FAKE_CLUSTERS:-}" ]]; then
            printf '%s\n' "$FAKE_CLUSTERS"
        fi
        ;;
    *)
        echo "fake kubectl: unexpected: $*" >&2
        exit 64
        ;;
esac
