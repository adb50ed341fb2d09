#!/usr/bin/env bash
# cloud-provider-restart.sh: cloud-provider-restart step of the capi-mgmt management server
# (runs as root), after the cloud-provider application credential changed (a rotation).
#
# The OpenStack cloud controller manager and Cinder CSI read cloud.conf (Secret
# kube-system/cloud-config, copied into every labelled workload cluster by the
# ClusterResourceSet) only when they start. So, for every Cluster API Cluster in
# WORKLOAD_NAMESPACE labelled CLUSTER_SELECTOR, in parallel, with its kubeconfig Secret:
#   1. waits (bounded by WAIT_SECONDS) until that Secret's cloud.conf carries the new
#      credential (application-credential-id=CREDENTIAL_ID): the ClusterResourceSet copies it
#      asynchronously, and a restart before would load the old one again;
#   2. `kubectl rollout restart` of each of WORKLOADS that exists there (the OCCM DaemonSet,
#      Cinder CSI's controller Deployment and node DaemonSet); one not installed is skipped.
# A cluster that cannot be reached, or whose cloud.conf does not change in time, is reported
# with what to run by hand, and does not fail the step: the rotation of the others goes on.
# A management cluster that cannot be asked fails the step.
#
# Stdout stays empty; every log line goes to stderr. Secret contents are never printed.
#
# Parameters (rendered above this header by lib/credentialRotation.ts):
#   KUBECONFIG_PATH       admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG     the active management cluster's kubeconfig when it exists
#                         (lib/mgmt-kubeconfig.sh); the Clusters are read there
#   WORKLOAD_NAMESPACE    namespace of the workload Clusters
#   CLUSTER_SELECTOR      label selector of the Clusters that get the cloud config
#   CREDENTIAL_ID         ID of the new cloud-provider application credential
#   CLOUD_CONFIG_SECRET   namespace/name of the cloud.conf Secret in workload clusters
#   WORKLOADS             kind/name of the workloads to restart (in that namespace), one a line
#   WAIT_SECONDS          bound of the wait for the new cloud.conf, per cluster
set -euo pipefail

: "${KUBECONFIG_PATH:?cloud-provider-restart: KUBECONFIG_PATH must be set}"
: "${WORKLOAD_NAMESPACE:?cloud-provider-restart: WORKLOAD_NAMESPACE must be set}"
: "${CLUSTER_SELECTOR:?cloud-provider-restart: CLUSTER_SELECTOR must be set}"
: "${CREDENTIAL_ID:?cloud-provider-restart: CREDENTIAL_ID must be set}"
: "${CLOUD_CONFIG_SECRET:?cloud-provider-restart: CLOUD_CONFIG_SECRET must be set}"
: "${WORKLOADS:?cloud-provider-restart: WORKLOADS must be set}"
: "${WAIT_SECONDS:?cloud-provider-restart: WAIT_SECONDS must be set}"
: "${ACTIVE_KUBECONFIG:?cloud-provider-restart: ACTIVE_KUBECONFIG must be set}"

readonly CALL_TIMEOUT_SECONDS=30
readonly KILL_AFTER_SECONDS=10
readonly POLL_SECONDS=10
readonly SECRET_NAMESPACE=${CLOUD_CONFIG_SECRET%%/*}
readonly SECRET_NAME=${CLOUD_CONFIG_SECRET#*/}
# Private directory of the clusters' kubeconfigs and results, removed on exit.
workdir=""

# capi-mgmt:include mgmt-kubeconfig.sh

mgmt=$(mgmt_kubeconfig "$KUBECONFIG_PATH" "$ACTIVE_KUBECONFIG")

log() {
    echo "cloud-provider-restart: $*" >&2
}

die() {
    echo "cloud-provider-restart: ERROR: $*" >&2
    exit 1
}

# kubectl with kubeconfig $1, bounded, never reading stdin.
kube() {
    local kubeconfig=$1
    shift
    timeout --kill-after="$KILL_AFTER_SECONDS" "$CALL_TIMEOUT_SECONDS" \
        kubectl --kubeconfig "$kubeconfig" --request-timeout="${CALL_TIMEOUT_SECONDS}s" "$@" </dev/null
}

check_parameters() {
    if [[ ! "$CREDENTIAL_ID" =~ ^[A-Za-z0-9_-]+$ ]]; then
        die "CREDENTIAL_ID must be an application credential ID, got '$CREDENTIAL_ID'"
    fi
    if [[ ! "$WAIT_SECONDS" =~ ^[1-9][0-9]{0,4}$ ]]; then
        die "WAIT_SECONDS must be a positive whole number, got '$WAIT_SECONDS'"
    fi
    if [[ "$CLOUD_CONFIG_SECRET" != */* ]]; then
        die "CLOUD_CONFIG_SECRET must be namespace/name, got '$CLOUD_CONFIG_SECRET'"
    fi
    command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed; the tools step must run first"
}

# True when the workload cluster (kubeconfig $1) has the new credential in its cloud.conf.
has_new_cloud_conf() {
    local encoded
    encoded=$(kube "$1" get secret -n "$SECRET_NAMESPACE" "$SECRET_NAME" --ignore-not-found -o 'jsonpath={.data.cloud\.conf}' 2>/dev/null) ||
        return 1
    base64 -d <<<"$encoded" 2>/dev/null | grep -qxF -- "application-credential-id=$CREDENTIAL_ID"
}

# One cluster's job: prints one line, "ok <what was done>" or "failed <why>", on stdout.
restart_in_cluster() {
    local name=$1 dir=$2 kubeconfig="$2/$1.kubeconfig" encoded deadline workload found restarted=() skipped=()
    encoded=$(kube "$mgmt" get secret -n "$WORKLOAD_NAMESPACE" "$name-kubeconfig" --ignore-not-found -o 'jsonpath={.data.value}' 2>"$dir/$name.err") || {
        echo "failed cannot read its kubeconfig Secret $WORKLOAD_NAMESPACE/$name-kubeconfig"
        return 0
    }
    if [[ -z "$encoded" ]] || ! base64 -d <<<"$encoded" >"$kubeconfig" 2>/dev/null; then
        echo "failed its kubeconfig Secret $WORKLOAD_NAMESPACE/$name-kubeconfig is missing or not base64"
        return 0
    fi
    deadline=$(($(date +%s) + WAIT_SECONDS))
    until has_new_cloud_conf "$kubeconfig"; do
        if (($(date +%s) >= deadline)); then
            echo "failed its $CLOUD_CONFIG_SECRET did not get the new credential within ${WAIT_SECONDS}s (is the cluster reachable? see 'kubectl get clusterresourcesetbinding -n $WORKLOAD_NAMESPACE $name')"
            return 0
        fi
        sleep "$POLL_SECONDS"
    done
    while IFS= read -r workload; do
        [[ -n "$workload" ]] || continue
        if ! found=$(kube "$kubeconfig" get -n "$SECRET_NAMESPACE" "$workload" --ignore-not-found -o name 2>"$dir/$name.err"); then
            echo "failed cannot look up $workload${restarted[*]:+ (restarted: ${restarted[*]})}"
            return 0
        fi
        if [[ -z "$found" ]]; then
            skipped+=("$workload")
            continue
        fi
        if ! kube "$kubeconfig" rollout restart -n "$SECRET_NAMESPACE" "$workload" >/dev/null 2>"$dir/$name.err"; then
            echo "failed 'kubectl rollout restart $workload' failed${restarted[*]:+ (restarted: ${restarted[*]})}"
            return 0
        fi
        restarted+=("$workload")
    done <<<"$WORKLOADS"
    echo "ok restarted: ${restarted[*]:-nothing}${skipped[*]:+; not installed: ${skipped[*]}}"
}

main() {
    local clusters name failed=() result
    check_parameters
    clusters=$(kube "$mgmt" get clusters.cluster.x-k8s.io -n "$WORKLOAD_NAMESPACE" -l "$CLUSTER_SELECTOR" \
        --no-headers -o custom-columns=NAME:.metadata.name) ||
        die "cannot list the Clusters in $WORKLOAD_NAMESPACE (see above); OCCM and Cinder CSI were not restarted. Check 'kubectl --kubeconfig $mgmt get clusters -A' and run 'pulumi up' again"
    if [[ -z "$clusters" ]]; then
        log "no Cluster in $WORKLOAD_NAMESPACE has $CLUSTER_SELECTOR; nothing to restart"
        return 0
    fi
    workdir=$(mktemp -d)
    trap 'rm -rf -- "$workdir"' EXIT
    chmod 0700 -- "$workdir"
    log "the cloud-provider credential is now $CREDENTIAL_ID; restarting OCCM and Cinder CSI in: $(paste -s -d ' ' <<<"$clusters")"
    while IFS= read -r name; do
        restart_in_cluster "$name" "$workdir" >"$workdir/$name.result" &
    done <<<"$clusters"
    wait
    while IFS= read -r name; do
        result=$(cat "$workdir/$name.result")
        if [[ "$result" == ok* ]]; then
            log "$WORKLOAD_NAMESPACE/$name: ${result#ok }"
        else
            log "WARNING: $WORKLOAD_NAMESPACE/$name: ${result#failed }"
            failed+=("$name")
        fi
    done <<<"$clusters"
    if ((${#failed[@]} > 0)); then
        log "WARNING: OCCM and Cinder CSI still use the old credential in: ${failed[*]}. Once the cluster answers and has the new $CLOUD_CONFIG_SECRET, run there: kubectl -n $SECRET_NAMESPACE rollout restart $(paste -s -d ' ' <<<"$WORKLOADS")"
    fi
}

main "$@"
