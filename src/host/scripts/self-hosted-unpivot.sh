#!/usr/bin/env bash
# self-hosted-unpivot.sh: destroy step of the self-hosted mode (runs as root), the delete of
# the self-hosted-unpivot command.
#
# capi-mgmt:managementCluster.mode selfHosted (docs/self-hosted.md, "pulumi destroy"). Runs
# after the teardown (teardown.sh) has deleted every workload cluster from the cluster that
# held them, leaving the self-hosted cluster's own Cluster (its KEEP_CLUSTER), and before the
# server, the kind cluster and the credentials go. Idempotent; by the phase
# (host/lib/self-hosted-state.sh):
#   - pivoted: stops the self-hosted cluster's Flux (its controllers scaled to zero; the
#     teardown has suspended its objects already), records `unpivoting`, then moves back
#     (below);
#   - unpivoting (an earlier move back did not finish): moves back again (below);
#   - pivoting (a move to the self-hosted cluster never finished): refused, nothing changed:
#     objects may be on both clusters, and only the pivot step's next run knows how to
#     finish that move; run `pulumi up`, then `pulumi destroy` again;
#   - kind, unpivoted: the objects are on the kind cluster already;
#   - kind with STATE_DIR/returned (the stack went back to kind mode: return-to-kind.sh moved
#     the objects back and deleted the self-hosted cluster earlier in the same `up`, and this
#     is the removed command's delete at its end): nothing to do, the marker is removed.
# Moving back is the pivot script with FROM and TO swapped:
#   FROM_KUBECONFIG=<self-hosted> TO_KUBECONFIG=<kind> NAMESPACE=<ns> CLUSTERCTL=<path> bash "$PIVOT_SCRIPT"
# (exit 0 moved and verified: phase `unpivoted`; anything else: the phase stays
# `unpivoting`, this fails and the destroy stops with the server kept). Then the kind
# cluster deletes the self-hosted cluster (its Cluster CLUSTER: Cluster API and CAPO remove
# its servers, load balancer and network), bounded by TIMEOUT_SECONDS, and ORC's objects of
# NAMESPACE (the node images, the server groups), whose deletion the teardown left to this
# step (only when no other Cluster is left in NAMESPACE: while a workload cluster is there,
# its node images and server groups stay); then the state is cleared. The moving and the
# deleting of the Cluster are host/lib/self-hosted-move-back.sh's, shared with return-to-kind.sh.
# When the kind cluster is gone, it fails unless the user
# created GONE_FILE (the self-hosted cluster's resources cleaned up by hand).
#
# Parameters (rendered above this header by src/cluster/selfHostedScripts.ts, or taken from the environment):
#   CLUSTER          name of the self-hosted cluster's Cluster
#   NAMESPACE        its namespace (the workload namespace)
#   KIND_KUBECONFIG  admin kubeconfig of the kind cluster
#   STATE_DIR        the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   CLUSTERCTL       path of clusterctl
#   PIVOT_SCRIPT     path of the pivot script (installed by the self-hosted-pivot step)
#   FLUX_NAMESPACE   namespace of the self-hosted cluster's Flux
#   TIMEOUT_SECONDS  bound of waiting for the self-hosted cluster's and ORC's deletion
#   GONE_FILE        when it exists and the kind cluster cannot be reached, the user says the
#                    self-hosted cluster's resources are gone
# Optional environment: SELF_HOSTED_POLL_SECONDS, seconds between two polls (default 10).
# Exit status: 0 when the self-hosted cluster is gone; 1 otherwise (the server is kept).
set -euo pipefail

: "${CLUSTER:?self-hosted-unpivot: CLUSTER (name of the self-hosted cluster) must be set}"
: "${NAMESPACE:?self-hosted-unpivot: NAMESPACE (its namespace) must be set}"
: "${KIND_KUBECONFIG:?self-hosted-unpivot: KIND_KUBECONFIG (kubeconfig of the kind cluster) must be set}"
: "${STATE_DIR:?self-hosted-unpivot: STATE_DIR (the self-hosted state directory) must be set}"
: "${CLUSTERCTL:?self-hosted-unpivot: CLUSTERCTL (path of clusterctl) must be set}"
: "${PIVOT_SCRIPT:?self-hosted-unpivot: PIVOT_SCRIPT (path of the pivot script) must be set}"
: "${FLUX_NAMESPACE:?self-hosted-unpivot: FLUX_NAMESPACE (namespace of the Flux of the self-hosted cluster) must be set}"
: "${TIMEOUT_SECONDS:?self-hosted-unpivot: TIMEOUT_SECONDS (bound of the deletion) must be set}"
: "${GONE_FILE:?self-hosted-unpivot: GONE_FILE (marker: the self-hosted cluster is gone) must be set}"

readonly ORC_RESOURCES=images.openstack.k-orc.cloud,servergroups.openstack.k-orc.cloud

log() {
    echo "self-hosted-unpivot: $*" >&2
}

die() {
    echo "self-hosted-unpivot: ERROR: $*" >&2
    echo "self-hosted-unpivot: ERROR: The management server (VM) was KEPT: 'pulumi destroy' stops here; fix the cause and re-run it (docs/self-hosted.md, \"A failed reverse pivot\")." >&2
    exit 1
}

# capi-mgmt:include self-hosted-state.sh
# capi-mgmt:include self-hosted-move-back.sh

# The kind cluster deletes the self-hosted cluster, then ORC's objects of NAMESPACE, which the
# teardown left to this step; those only when no other Cluster is left in NAMESPACE (the
# teardown has run): while a workload cluster is there, its node images and server groups stay.
delete_self_hosted() {
    delete_self_hosted_cluster
    if kube "$KIND_KUBECONFIG" get customresourcedefinitions images.openstack.k-orc.cloud -o name >/dev/null 2>&1; then
        local others
        others=$(kube "$KIND_KUBECONFIG" get "$CLUSTER_RESOURCE" -n "$NAMESPACE" -o name) ||
            die "cannot list the Clusters of $NAMESPACE on the kind cluster"
        if [[ -n "$others" ]]; then
            log "ORC's objects in $NAMESPACE are kept: Clusters are still there (${others//$'\n'/ })"
            return 0
        fi
        kube "$KIND_KUBECONFIG" delete "$ORC_RESOURCES" --all -n "$NAMESPACE" --wait=false >/dev/null ||
            die "cannot delete ORC's objects in $NAMESPACE on the kind cluster"
        wait_gone "ORC's objects in $NAMESPACE" "$ORC_RESOURCES" -n "$NAMESPACE"
    fi
}

main() {
    check_move_back_parameters GONE_FILE
    local phase
    open_state
    if [[ "$phase" == pivoting ]]; then
        die "a move to the self-hosted cluster never finished (phase pivoting): objects may be on both clusters. Run 'pulumi up'" \
            "(its pivot step finishes the move), then 'pulumi destroy' again; nothing was changed"
    fi
    if [[ "$phase" == kind && -f "$STATE_DIR/returned" ]]; then
        rm -f -- "$STATE_DIR/returned"
        echo "self-hosted-unpivot: nothing to do: the stack went back to kind mode and return-to-kind deleted the self-hosted cluster"
        return 0
    fi
    if ! kind_answers; then
        if [[ -e "$GONE_FILE" ]]; then
            log "WARNING: the kind cluster does not answer and $GONE_FILE exists: you said the self-hosted cluster's resources are gone"
            echo "self-hosted-unpivot: nothing to do: $GONE_FILE says the self-hosted cluster is gone"
            return 0
        fi
        die "the kind cluster does not answer (kubeconfig $KIND_KUBECONFIG), so it can neither take the self-hosted cluster's objects" \
            "back nor delete it (phase $phase). Bring it back (sudo docker start <prefix>-control-plane) and re-run 'pulumi destroy'; if it" \
            "cannot be saved, delete the self-hosted cluster's servers, load balancer and network in OpenStack by hand" \
            "(docs/teardown.md, \"What a workload cluster leaves in OpenStack\", for $NAMESPACE/$CLUSTER), then: sudo touch $GONE_FILE"
    fi
    case "$phase" in
        pivoted | unpivoting) move_back "'pulumi destroy'" ;;
    esac
    delete_self_hosted
    set_phase kind
    rm -f -- "$STATE_DIR/kubeconfig" "$STATE_DIR/active.kubeconfig" "$STATE_DIR/returned"
    echo "self-hosted-unpivot: the self-hosted cluster $NAMESPACE/$CLUSTER is deleted"
}

main "$@"
