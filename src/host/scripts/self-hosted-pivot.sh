#!/usr/bin/env bash
# self-hosted-pivot.sh: self-hosted-pivot step of the capi-mgmt management server (runs as root).
#
# capi-mgmt:managementCluster.mode selfHosted (docs/self-hosted.md). Moves every Cluster API
# object of NAMESPACE (the workload clusters and the self-hosted cluster's own Cluster) from
# the kind cluster to the self-hosted cluster, once, and removes the kind cluster's Flux.
# Idempotent; by the phase (host/lib/self-hosted-state.sh):
#   - kind: stops the kind cluster's Flux (its controllers scaled to zero: from here on it
#     re-creates nothing the move takes away, so no Cluster is ever reconciled by two
#     management clusters through Git), records `pivoting`, then moves (below);
#   - pivoting (an earlier move did not finish): moves again (below);
#   - pivoted: only makes sure the kind cluster's Flux is gone;
#   - unpivoting, unpivoted (a destroy is under way): refused.
# The move is the pivot script (PIVOT_SCRIPT, src/host/scripts/pivot.sh), called as
#   FROM_KUBECONFIG=<kind> TO_KUBECONFIG=<self-hosted> NAMESPACE=<ns> CLUSTERCTL=<path> bash "$PIVOT_SCRIPT"
# which checks its preconditions, runs `clusterctl move` and verifies where the objects
# are: exit 0 moved and verified, 1 refused or failed (its message on stderr), 2 bad
# arguments. On 0 the phase becomes `pivoted`, the self-hosted kubeconfig becomes the
# active one (active.kubeconfig, a link: every host tool's and the teardown's; made again
# on every run in phase pivoted) and the kind cluster's Flux is uninstalled (`flux
# uninstall`, which removes its objects' finalizers first, so nothing it applied is pruned). On
# anything else the phase stays `pivoting` and the kind cluster's Flux stays stopped:
# which objects are where is then the pivot script's report, and the next `pulumi up`
# moves again.
#
# Parameters (rendered above this header by src/cluster/selfHostedScripts.ts, or taken from the environment):
#   NAMESPACE         the namespace moved (the workload namespace)
#   KIND_KUBECONFIG   admin kubeconfig of the kind cluster
#   STATE_DIR         the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   CLUSTERCTL        path of clusterctl
#   PIVOT_SCRIPT      path of the pivot script
#   FLUX_NAMESPACE    namespace of the kind cluster's Flux
#   PIVOT_SCRIPT_TEXT the pivot script's text (base64), installed at PIVOT_SCRIPT (0700)
#                     before it runs; empty: the one installed there is used
# Exit status: 0 when the objects are on the self-hosted cluster; 1 otherwise.
set -euo pipefail

: "${NAMESPACE:?self-hosted-pivot: NAMESPACE (the namespace moved) must be set}"
: "${KIND_KUBECONFIG:?self-hosted-pivot: KIND_KUBECONFIG (kubeconfig of the kind cluster) must be set}"
: "${STATE_DIR:?self-hosted-pivot: STATE_DIR (the self-hosted state directory) must be set}"
: "${CLUSTERCTL:?self-hosted-pivot: CLUSTERCTL (path of clusterctl) must be set}"
: "${PIVOT_SCRIPT:?self-hosted-pivot: PIVOT_SCRIPT (path of the pivot script) must be set}"
: "${PIVOT_SCRIPT_TEXT?self-hosted-pivot: PIVOT_SCRIPT_TEXT (the pivot script, base64, or empty) must be set}"
: "${FLUX_NAMESPACE:?self-hosted-pivot: FLUX_NAMESPACE (namespace of the Flux of the kind cluster) must be set}"

readonly QUERY_TIMEOUT_SECONDS=120
readonly KILL_AFTER_SECONDS=10

log() {
    echo "self-hosted-pivot: $*" >&2
}

die() {
    echo "self-hosted-pivot: ERROR: $*" >&2
    exit 1
}

# capi-mgmt:include self-hosted-state.sh

kind_kube() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" kubectl --kubeconfig "$KIND_KUBECONFIG" --request-timeout=30s "$@" </dev/null
}

check_parameters() {
    if [[ ! "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || ! "$FLUX_NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "NAMESPACE and FLUX_NAMESPACE must be DNS labels, got '$NAMESPACE' and '$FLUX_NAMESPACE'"
    fi
    local name
    for name in KIND_KUBECONFIG STATE_DIR CLUSTERCTL PIVOT_SCRIPT; do
        [[ "${!name}" == /* ]] || die "$name must be an absolute path, got '${!name}'"
    done
    [[ -f "$KIND_KUBECONFIG" ]] || die "the kind cluster's kubeconfig $KIND_KUBECONFIG does not exist"
    [[ -f "$STATE_DIR/kubeconfig" ]] || die "the self-hosted cluster's kubeconfig $STATE_DIR/kubeconfig does not exist; the self-hosted-cluster step must run first"
    [[ -x "$CLUSTERCTL" ]] || die "clusterctl is not installed at $CLUSTERCTL; the tools step (install-tools) must run first"
    command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed; the tools step (install-tools) must run first"
}

install_pivot_script() {
    if [[ -n "$PIVOT_SCRIPT_TEXT" ]]; then
        local tmp="$PIVOT_SCRIPT.tmp.$$"
        mkdir -p -- "$(dirname -- "$PIVOT_SCRIPT")"
        base64 -d <<<"$PIVOT_SCRIPT_TEXT" >"$tmp" || die "PIVOT_SCRIPT_TEXT is not base64"
        chmod 0700 -- "$tmp"
        mv -f -T -- "$tmp" "$PIVOT_SCRIPT"
    fi
    [[ -f "$PIVOT_SCRIPT" ]] || die "the pivot script $PIVOT_SCRIPT is missing; nothing was moved"
}

# kind_has_flux MESSAGE: true when the kind cluster has Flux's namespace; dies with MESSAGE
# when that cannot be read.
kind_has_flux() {
    local found
    found=$(kind_kube get namespace "$FLUX_NAMESPACE" --ignore-not-found -o name) || die "$1"
    [[ -n "$found" ]]
}

# Scales every Deployment of the kind cluster's Flux to zero and suspends its Kustomizations
# (none there: nothing to do).
stop_kind_flux() {
    if ! kind_has_flux "cannot read the kind cluster's namespace $FLUX_NAMESPACE; nothing was moved"; then
        log "the kind cluster has no Flux"
        return 0
    fi
    kind_kube scale deployment --all -n "$FLUX_NAMESPACE" --replicas=0 >/dev/null ||
        die "cannot stop the kind cluster's Flux (scale deployment --all -n $FLUX_NAMESPACE --replicas=0); nothing was moved"
    suspend_kustomizations kind_kube "kind cluster"
    log "stopped the kind cluster's Flux: it re-creates nothing the move takes away"
}

# Uninstalls the kind cluster's Flux without pruning what it applied (none there: nothing to do).
remove_kind_flux() {
    local out
    kind_has_flux "the objects are on the self-hosted cluster, but the kind cluster's namespace $FLUX_NAMESPACE cannot be read; re-run 'pulumi up' to remove its Flux" ||
        return 0
    if ! out=$(timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" \
        flux uninstall --kubeconfig "$KIND_KUBECONFIG" --namespace "$FLUX_NAMESPACE" --silent </dev/null 2>&1); then
        die "the objects are on the self-hosted cluster, but removing the kind cluster's Flux failed (${out//$'\n'/ }); it stays stopped; re-run 'pulumi up'"
    fi
    log "removed the kind cluster's Flux"
}

move() {
    local status=0
    log "moving the Cluster API objects of $NAMESPACE from the kind cluster to the self-hosted cluster"
    # env: NAMESPACE and CLUSTERCTL are readonly here (rendered parameters), so not as assignments.
    env FROM_KUBECONFIG="$KIND_KUBECONFIG" TO_KUBECONFIG="$STATE_DIR/kubeconfig" NAMESPACE="$NAMESPACE" CLUSTERCTL="$CLUSTERCTL" \
        bash "$PIVOT_SCRIPT" </dev/null >&2 || status=$?
    case "$status" in
        0) ;;
        2) die "the pivot script refused its arguments (exit 2): a bug of capi-mgmt; nothing was moved, the kind cluster's Flux stays stopped" ;;
        *)
            die "the move to the self-hosted cluster failed (exit $status, the reason above). The kind cluster's Flux stays stopped" \
                "(phase pivoting), so nothing is re-created from Git on either cluster; fix the cause and re-run 'pulumi up', which moves again" \
                "(docs/self-hosted.md, \"A failed pivot\")"
            ;;
    esac
    link_active
    set_phase pivoted
    log "the Cluster API objects of $NAMESPACE are on the self-hosted cluster"
}

main() {
    check_parameters
    local phase
    open_state
    case "$phase" in
        kind)
            install_pivot_script
            stop_kind_flux
            set_phase pivoting
            move
            ;;
        pivoting)
            install_pivot_script
            stop_kind_flux
            move
            ;;
        pivoted)
            log "already pivoted"
            link_active
            ;;
        *)
            die "a 'pulumi destroy' is under way (phase $phase: the objects are being moved back to kind); re-run 'pulumi destroy' to finish it, nothing was changed"
            ;;
    esac
    remove_kind_flux
    echo "self-hosted-pivot: the Cluster API objects of $NAMESPACE are on the self-hosted cluster"
}

main "$@"
