# shellcheck shell=bash
# Moving the Cluster API objects back from the self-hosted cluster to the kind cluster, and the
# kind cluster deleting the self-hosted Cluster: shared by self-hosted-unpivot.sh (the reverse
# pivot on `pulumi destroy`) and return-to-kind.sh (the way back to kind mode on a running
# stack), docs/self-hosted.md. Callers include self-hosted-state.sh, define die() and log(), and
# set CLUSTER, NAMESPACE, KIND_KUBECONFIG, STATE_DIR, CLUSTERCTL, PIVOT_SCRIPT, FLUX_NAMESPACE and
# TIMEOUT_SECONDS. Optional environment: SELF_HOSTED_POLL_SECONDS, seconds between two polls
# (default 10).
#
# `returned` in STATE_DIR: written by return-to-kind.sh once it has deleted the self-hosted
# cluster; the removed self-hosted-unpivot command's delete, at the end of the same `up`, finds
# it and does nothing (and removes it).

readonly CLUSTER_RESOURCE=clusters.cluster.x-k8s.io
readonly POLL_SECONDS="${SELF_HOSTED_POLL_SECONDS:-10}"
readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10

# kube KUBECONFIG ARGS...: kubectl, bounded.
kube() {
    local config=$1
    shift
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" kubectl --kubeconfig "$config" --request-timeout=30s "$@" </dev/null
}

# Checks the parameters both scripts share (dies naming the bad one); arguments: more names of
# absolute paths to check (the unpivot passes GONE_FILE, return-to-kind none).
# shellcheck disable=SC2120 # return-to-kind.sh passes no argument
check_move_back_parameters() {
    if [[ ! "$CLUSTER" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || ! "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "CLUSTER and NAMESPACE must be DNS labels, got '$CLUSTER' and '$NAMESPACE'"
    fi
    if [[ ! "$TIMEOUT_SECONDS" =~ ^[1-9][0-9]{0,5}$ ]]; then
        die "TIMEOUT_SECONDS must be a positive whole number of seconds, got '$TIMEOUT_SECONDS'"
    fi
    local name
    for name in KIND_KUBECONFIG STATE_DIR CLUSTERCTL PIVOT_SCRIPT "$@"; do
        [[ "${!name}" == /* ]] || die "$name must be an absolute path, got '${!name}'"
    done
}

# True when the kind cluster answers with Cluster API installed.
kind_answers() {
    [[ -f "$KIND_KUBECONFIG" ]] && command -v kubectl >/dev/null 2>&1 &&
        kube "$KIND_KUBECONFIG" get customresourcedefinitions "$CLUSTER_RESOURCE" -o name >/dev/null 2>&1
}

# move_back AGAIN: stops the self-hosted cluster's Flux (controllers scaled to zero,
# Kustomizations suspended), records `unpivoting`, and runs the pivot script self-hosted → kind;
# records `unpivoted` when it exits 0, dies (the phase staying `unpivoting`) otherwise, naming
# AGAIN, what the user runs again ('pulumi destroy' or 'pulumi up').
move_back() {
    local again=$1 status=0 self=$STATE_DIR/kubeconfig
    [[ -f "$self" ]] || die "the self-hosted cluster's kubeconfig $self is missing, so its objects cannot be moved back"
    [[ -f "$PIVOT_SCRIPT" ]] || die "the pivot script $PIVOT_SCRIPT is missing; nothing was moved"
    if kube "$self" get namespace "$FLUX_NAMESPACE" --ignore-not-found -o name | grep -q .; then
        kube "$self" scale deployment --all -n "$FLUX_NAMESPACE" --replicas=0 >/dev/null ||
            die "cannot stop the self-hosted cluster's Flux; nothing was moved"
        # shellcheck disable=SC2317 # called by suspend_kustomizations (self-hosted-state.sh)
        self_kube() { kube "$STATE_DIR/kubeconfig" "$@"; }
        suspend_kustomizations self_kube "self-hosted cluster"
        log "stopped the self-hosted cluster's Flux"
    fi
    set_phase unpivoting
    rm -f -- "$STATE_DIR/active.kubeconfig"
    log "moving the Cluster API objects of $NAMESPACE back to the kind cluster"
    # env: NAMESPACE and CLUSTERCTL are readonly here (rendered parameters), so not as assignments.
    env FROM_KUBECONFIG="$self" TO_KUBECONFIG="$KIND_KUBECONFIG" NAMESPACE="$NAMESPACE" CLUSTERCTL="$CLUSTERCTL" \
        bash "$PIVOT_SCRIPT" </dev/null >&2 || status=$?
    if ((status != 0)); then
        die "moving the objects back to the kind cluster failed (exit $status, the reason above); the phase stays unpivoting:" \
            "no Flux runs on either cluster and the next $again moves back again"
    fi
    set_phase unpivoted
    log "the Cluster API objects of $NAMESPACE are back on the kind cluster"
}

# wait_gone WHAT ARGS...: polls `get ARGS -o name` on the kind cluster until it lists nothing,
# until the caller's `deadline` (epoch seconds).
wait_gone() {
    local what=$1 left
    shift
    while :; do
        left=$(kube "$KIND_KUBECONFIG" get "$@" -o name 2>/dev/null) || left="(cannot be listed)"
        [[ -z "$left" ]] && return 0
        if (($(date +%s) >= deadline)); then
            die "$what still there after ${TIMEOUT_SECONDS}s: ${left//$'\n'/ }. On the server: kubectl --kubeconfig $KIND_KUBECONFIG -n $NAMESPACE get clusters,machines,openstackmachines"
        fi
        sleep "$POLL_SECONDS"
    done
}

# The kind cluster deletes the self-hosted cluster's Cluster (Cluster API and CAPO remove its
# servers, load balancer and network) and waits until it is gone; sets `deadline`.
delete_self_hosted_cluster() {
    deadline=$(($(date +%s) + TIMEOUT_SECONDS))
    kube "$KIND_KUBECONFIG" delete "$CLUSTER_RESOURCE" "$CLUSTER" -n "$NAMESPACE" --ignore-not-found --wait=false >/dev/null ||
        die "cannot delete the Cluster $NAMESPACE/$CLUSTER on the kind cluster"
    log "deleting the self-hosted cluster $NAMESPACE/$CLUSTER (its servers, load balancer and network)"
    wait_gone "the self-hosted cluster $NAMESPACE/$CLUSTER" "$CLUSTER_RESOURCE" -n "$NAMESPACE" --field-selector "metadata.name=$CLUSTER"
}
