#!/usr/bin/env bash
# A `clusterctl` for src/host/scripts/backup.sh (test/backup.spec.ts): `move --to-directory DIR` writes
# object files as clusterctl v1.14 names them (<Kind>_<namespace>_<name>.yaml), or fails
# with clusterctl's own messages.
# Inputs (environment): FAKE_LOG (`clusterctl <args>` a line), FAKE_STATE (its paused/
# directory: a file per Cluster paused, shared with the fake kubectl), FAKE_CLUSTERCTL_MODE:
#   ok (default)  writes the files
#   paused        refuses as for a paused Cluster
#   provisioning  refuses as for a Machine without a node
#   midway        pauses Cluster "alpha" (as clusterctl does first), then fails
echo "clusterctl $*" >>"$FAKE_LOG"
[[ "${CLUSTERCTL_DISABLE_VERSIONCHECK:-}" == true ]] || { echo "fake clusterctl: the version check would reach GitHub" >&2; exit 99; }
dir=""
while (($#)); do
    case "$1" in
        --to-directory) dir=$2; shift ;;
    esac
    shift
done
[[ -n "$dir" && -d "$dir" ]] || { echo "fake clusterctl: no --to-directory DIR that exists" >&2; exit 64; }
case "${FAKE_CLUSTERCTL_MODE:-ok}" in
    ok)
        for f in Cluster_clusters_alpha Secret_clusters_alpha-ca Secret_clusters_alpha-kubeconfig Image_clusters_ubuntu-2404 \
            Secret_capo-system_capi-mgmt-openstack-credentials Secret_clusters_openstack-credentials; do
            printf '{"kind":"%s","metadata":{"name":"%s"}}' "${f%%_*}" "${f##*_}" >"$dir/$f.yaml"
        done
        echo "Moving to directory..."
        ;;
    paused)
        echo 'Error: cannot start operation while the following Clusters are paused: clusters/alpha, clusters/beta'
        exit 1
        ;;
    provisioning)
        # clusterctl v1.14's aggregate of two errors, the kind printed empty as it does.
        echo 'Error: failed to get object graph: failed to check for provisioned infrastructure: [cannot start the move operation while "/, Kind=" clusters/alpha-md-0-x7k2p-abcde is still provisioning the node, cannot start the move operation while the control plane for "/, Kind=" clusters/beta is not yet initialized]'
        exit 1
        ;;
    midway)
        mkdir -p "$FAKE_STATE/paused" && touch "$FAKE_STATE/paused/alpha"
        echo 'Error: error reading "cluster.x-k8s.io/v1beta2, Kind=Cluster" clusters/alpha: connection refused'
        exit 1
        ;;
esac
