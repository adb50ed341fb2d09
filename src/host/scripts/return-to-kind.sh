#!/usr/bin/env bash
# return-to-kind.sh: return-to-kind step of the capi-mgmt management server (runs as root), kind
# mode only: the way back from `capi-mgmt:managementCluster.mode: selfHosted` on a running stack
# (docs/self-hosted.md, "selfHosted → kind"). The kind cluster's Flux waits for this step, so it
# syncs only once every Cluster API object is back on the kind cluster and nothing runs them on
# the self-hosted cluster any more.
#
# By the self-hosted mode's state on this server (host/lib/self-hosted-state.sh):
#   - no STATE_DIR: this server never ran the self-hosted mode: nothing to do, nothing written
#     (the first `up` of a kind stack after an upgrade);
#   - pivoting (a move to the self-hosted cluster never finished): refused, nothing changed;
#     objects may be on both clusters, and only the pivot step finishes that move: set the mode
#     back to selfHosted and run `pulumi up`, then switch to kind again;
#   - pivoted: stops the self-hosted cluster's Flux, records `unpivoting`, moves every Cluster
#     API object of NAMESPACE (the workload clusters' and the self-hosted cluster's own Cluster)
#     back to the kind cluster with the pivot script, records `unpivoted`
#     (host/lib/self-hosted-move-back.sh, as self-hosted-unpivot.sh on destroy);
#   - unpivoting (an earlier move back did not finish): moves back again;
#   - unpivoted, or kind with the self-hosted Cluster on the kind cluster (a selfHosted `up`
#     that stopped before its pivot): the objects are on kind already.
# Then the kind cluster deletes the self-hosted Cluster (bounded by TIMEOUT_SECONDS) and the
# self-hosted cluster's own ORC objects (ORC_OBJECTS; the workload clusters' node images and
# server groups stay), writes STATE_DIR/returned (the removed self-hosted-unpivot command's
# delete, at the end of the same `up`, then does nothing) and clears the state (phase kind, the
# kubeconfigs removed). Stopped anywhere, the next `up` runs it again and it goes on from the
# phase; until it has finished, no Flux runs on either cluster.
#
# Parameters (rendered above this header by src/cluster/selfHostedScripts.ts, or taken from the environment):
#   CLUSTER          name of the self-hosted cluster's Cluster
#   NAMESPACE        its namespace (the workload namespace)
#   KIND_KUBECONFIG  admin kubeconfig of the kind cluster
#   STATE_DIR        the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   CLUSTERCTL       path of clusterctl
#   PIVOT_SCRIPT     path of the pivot script (installed by the self-hosted-pivot step)
#   FLUX_NAMESPACE   namespace of the self-hosted cluster's Flux
#   TIMEOUT_SECONDS  bound of waiting for the self-hosted cluster's deletion
#   ORC_OBJECTS      the self-hosted cluster's own ORC objects, space-separated RESOURCE/NAME
# Optional environment: SELF_HOSTED_POLL_SECONDS, seconds between two polls (default 10).
# Exit status: 0 when nothing of the self-hosted mode is left running; 1 otherwise.
set -euo pipefail

for required in CLUSTER NAMESPACE KIND_KUBECONFIG STATE_DIR CLUSTERCTL PIVOT_SCRIPT FLUX_NAMESPACE TIMEOUT_SECONDS ORC_OBJECTS; do
    if [[ -z "${!required:-}" ]]; then
        echo "return-to-kind: ERROR: $required must be set" >&2
        exit 1
    fi
done

log() {
    echo "return-to-kind: $*" >&2
}

die() {
    echo "return-to-kind: ERROR: $*" >&2
    echo "return-to-kind: ERROR: the kind cluster's Flux is not started; fix the cause and run 'pulumi up' again (docs/self-hosted.md, \"selfHosted → kind\")." >&2
    exit 1
}

# capi-mgmt:include self-hosted-state.sh
# capi-mgmt:include self-hosted-move-back.sh

# True when the self-hosted Cluster is on the kind cluster (dies when that cannot be read).
self_hosted_on_kind() {
    local found
    found=$(kube "$KIND_KUBECONFIG" get "$CLUSTER_RESOURCE" "$CLUSTER" -n "$NAMESPACE" --ignore-not-found -o name) ||
        die "cannot read the Cluster $NAMESPACE/$CLUSTER on the kind cluster; nothing was changed"
    [[ -n "$found" ]]
}

# Deletes the self-hosted cluster's own ORC objects on the kind cluster and waits until they are
# gone (its server group: ORC removes it from OpenStack; its image is imported, not owned).
delete_own_orc_objects() {
    local object
    for object in $ORC_OBJECTS; do
        [[ "$object" =~ ^[a-z.-]+/[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "ORC_OBJECTS: '$object' is no RESOURCE/NAME"
        kube "$KIND_KUBECONFIG" delete "$object" -n "$NAMESPACE" --ignore-not-found --wait=false >/dev/null ||
            die "cannot delete $object in $NAMESPACE on the kind cluster"
    done
    for object in $ORC_OBJECTS; do
        wait_gone "$object in $NAMESPACE" "${object%%/*}" "${object#*/}" -n "$NAMESPACE" --ignore-not-found
    done
}

main() {
    # shellcheck disable=SC2119 # no extra path to check
    check_move_back_parameters
    if [[ ! -d "$STATE_DIR" ]]; then
        echo "return-to-kind: nothing to do: this server never ran the self-hosted mode"
        return 0
    fi
    local phase
    open_state
    if [[ "$phase" == pivoting ]]; then
        die "a move to the self-hosted cluster never finished (phase pivoting): objects may be on both clusters. Set" \
            "capi-mgmt:managementCluster.mode back to selfHosted and run 'pulumi up' (its pivot step finishes the move), then switch" \
            "to kind again; nothing was changed"
    fi
    kind_answers || die "the kind cluster does not answer with Cluster API (kubeconfig $KIND_KUBECONFIG); nothing was changed"
    case "$phase" in
        pivoted | unpivoting) move_back "'pulumi up'" ;;
        kind)
            if ! self_hosted_on_kind; then
                echo "return-to-kind: nothing to do: no self-hosted cluster $NAMESPACE/$CLUSTER (phase kind)"
                return 0
            fi
            ;;
    esac
    delete_self_hosted_cluster
    delete_own_orc_objects
    write_state returned "$NAMESPACE/$CLUSTER"
    set_phase kind
    rm -f -- "$STATE_DIR/kubeconfig" "$STATE_DIR/active.kubeconfig"
    echo "return-to-kind: every Cluster API object of $NAMESPACE is on the kind cluster; the self-hosted cluster $NAMESPACE/$CLUSTER is deleted"
}

main "$@"
