#!/usr/bin/env bash
# self-hosted-cluster.sh: self-hosted-cluster step of the capi-mgmt management server (runs as root).
#
# capi-mgmt:managementCluster.mode selfHosted (docs/self-hosted.md). Brings the self-hosted
# management cluster's own objects (MANIFEST: its Cluster, ORC Image and ServerGroup,
# src/cluster/selfHostedManifest.ts) to what the settings say, on the cluster that holds them:
#   - phase kind (nothing pivoted yet): first the GitOps tree's ClusterClass and the add-ons
#     the cluster needs (BOOTSTRAP), then MANIFEST, both to the kind cluster (server-side
#     apply, field manager capi-mgmt); kind's Cluster API builds the cluster on OpenStack;
#   - phase pivoted: MANIFEST to the self-hosted cluster itself, which then manages its own
#     change (a new flavor or Kubernetes version rolls its nodes); BOOTSTRAP is left to its
#     Flux, which owns those objects from Git;
#   - phase pivoting (a move did not finish): nothing is applied (the next pivot step
#     finishes the move first);
#   - phase unpivoting or unpivoted (a destroy is under way): refused.
# Then it waits, bounded by WAIT_TIMEOUT_SECONDS, until the Cluster is Available, writes its
# admin kubeconfig (from the `<CLUSTER>-kubeconfig` Secret) to SELF_KUBECONFIG (0600), and
# waits until its API answers with it.
#
# Stdout is ONLY that kubeconfig (a secret output: the program's Kubernetes provider of the
# self-hosted cluster reads it); every log line goes to stderr.
#
# Parameters (rendered above this header by src/cluster/selfHostedScripts.ts, or taken from the environment):
#   CLUSTER                name of the self-hosted cluster's Cluster
#   NAMESPACE              its namespace (the workload namespace)
#   MANIFEST               its objects (multi-document YAML)
#   BOOTSTRAP              the tree's objects the kind cluster needs to build it (multi-document YAML)
#   KIND_KUBECONFIG        admin kubeconfig of the kind cluster
#   STATE_DIR              the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   WAIT_TIMEOUT_SECONDS   bound of waiting for the Cluster and its API
# Optional environment: SELF_HOSTED_POLL_SECONDS, seconds between two polls (default 10).
# Exit status: 0 with the kubeconfig on stdout; 1 with the reason on stderr.
set -euo pipefail

: "${CLUSTER:?self-hosted-cluster: CLUSTER (name of the self-hosted cluster) must be set}"
: "${NAMESPACE:?self-hosted-cluster: NAMESPACE (its namespace) must be set}"
: "${MANIFEST:?self-hosted-cluster: MANIFEST (its objects) must be set}"
: "${BOOTSTRAP:?self-hosted-cluster: BOOTSTRAP (the ClusterClass and add-ons it is built from) must be set}"
: "${KIND_KUBECONFIG:?self-hosted-cluster: KIND_KUBECONFIG (kubeconfig of the kind cluster) must be set}"
: "${STATE_DIR:?self-hosted-cluster: STATE_DIR (the self-hosted state directory) must be set}"
: "${WAIT_TIMEOUT_SECONDS:?self-hosted-cluster: WAIT_TIMEOUT_SECONDS (bound of the waits) must be set}"

readonly POLL_SECONDS="${SELF_HOSTED_POLL_SECONDS:-10}"
readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10
readonly FIELD_MANAGER=capi-mgmt
readonly CLUSTER_RESOURCE=clusters.cluster.x-k8s.io

# Stdout carries only the kubeconfig: keep it on fd 3 and send everything else to stderr.
exec 3>&1 1>&2

log() {
    echo "self-hosted-cluster: $*" >&2
}

die() {
    echo "self-hosted-cluster: ERROR: $*" >&2
    exit 1
}

# capi-mgmt:include self-hosted-state.sh

# kube KUBECONFIG ARGS...: kubectl, bounded; stdin is kept (apply reads it).
kube() {
    local config=$1
    shift
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" kubectl --kubeconfig "$config" --request-timeout=30s "$@"
}

check_parameters() {
    if [[ ! "$CLUSTER" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || ! "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "CLUSTER and NAMESPACE must be DNS labels, got '$CLUSTER' and '$NAMESPACE'"
    fi
    if [[ ! "$WAIT_TIMEOUT_SECONDS" =~ ^[1-9][0-9]{0,5}$ ]]; then
        die "WAIT_TIMEOUT_SECONDS must be a positive whole number of seconds, got '$WAIT_TIMEOUT_SECONDS'"
    fi
    if [[ "$STATE_DIR" != /* ]]; then
        die "STATE_DIR must be an absolute path, got '$STATE_DIR'"
    fi
    if [[ ! -f "$KIND_KUBECONFIG" ]]; then
        die "the kind cluster's kubeconfig $KIND_KUBECONFIG does not exist; the kind step (kind-cluster.sh) must run first"
    fi
    command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed; the tools step (install-tools) must run first"
}

# apply KUBECONFIG WHAT TEXT: server-side apply of TEXT into NAMESPACE.
apply() {
    local out
    if ! out=$(kube "$1" apply --server-side --force-conflicts --field-manager "$FIELD_MANAGER" -n "$NAMESPACE" -f - <<<"$3" 2>&1); then
        die "applying $2 failed: ${out//$'\n'/ }"
    fi
    log "applied $2"
}

# wait_until WHAT COMMAND...: runs COMMAND until it succeeds, bounded by the deadline.
wait_until() {
    local what=$1
    shift
    while ! "$@"; do
        if (($(date +%s) >= deadline)); then
            die "$what did not happen within ${WAIT_TIMEOUT_SECONDS}s; nothing was deleted. Look at the Cluster (kubectl --kubeconfig $holder -n $NAMESPACE describe cluster $CLUSTER) and re-run 'pulumi up'"
        fi
        sleep "$POLL_SECONDS"
    done
}

cluster_available() {
    local status
    status=$(kube "$holder" get "$CLUSTER_RESOURCE" "$CLUSTER" -n "$NAMESPACE" \
        -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}' </dev/null 2>/dev/null) || return 1
    [[ "$status" == True ]]
}

# Writes the Cluster's admin kubeconfig (its `<CLUSTER>-kubeconfig` Secret) to SELF_KUBECONFIG.
kubeconfig_written() {
    local text
    text=$(secret_kubeconfig holder_kube "$NAMESPACE" "$CLUSTER") || return 1
    write_state kubeconfig "$text"
}

holder_kube() {
    kube "$holder" "$@"
}

self_api_answers() {
    kube "$STATE_DIR/kubeconfig" get --raw /readyz </dev/null >/dev/null 2>&1
}

main() {
    check_parameters
    local phase
    open_state
    holder=$KIND_KUBECONFIG
    case "$phase" in
        kind)
            apply "$holder" "the ClusterClass and add-ons of the GitOps tree to the kind cluster" "$BOOTSTRAP"
            apply "$holder" "the self-hosted cluster $NAMESPACE/$CLUSTER to the kind cluster" "$MANIFEST"
            ;;
        pivoted)
            holder=$STATE_DIR/kubeconfig
            [[ -f "$holder" ]] || die "the phase is pivoted but $holder is missing; see docs/self-hosted.md, \"State on the server\""
            apply "$holder" "the self-hosted cluster $NAMESPACE/$CLUSTER to itself" "$MANIFEST"
            ;;
        pivoting)
            log "a move to the self-hosted cluster did not finish: nothing applied (the pivot step finishes the move)"
            [[ -f "$STATE_DIR/kubeconfig" ]] || die "the phase is pivoting but $STATE_DIR/kubeconfig is missing"
            holder=$STATE_DIR/kubeconfig
            ;;
        *)
            die "a 'pulumi destroy' is under way (phase $phase: the Cluster API objects are being moved back to kind); re-run 'pulumi destroy' to finish it, nothing was changed"
            ;;
    esac
    deadline=$(($(date +%s) + WAIT_TIMEOUT_SECONDS))
    if [[ "$phase" != pivoting ]]; then
        wait_until "Cluster $NAMESPACE/$CLUSTER becoming Available" cluster_available
        wait_until "reading the kubeconfig Secret $NAMESPACE/$CLUSTER-kubeconfig" kubeconfig_written
    fi
    wait_until "the self-hosted cluster's API answering" self_api_answers
    log "the self-hosted cluster $NAMESPACE/$CLUSTER is Available (phase $phase)"
    cat -- "$STATE_DIR/kubeconfig" >&3
}

main "$@"
