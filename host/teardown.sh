#!/usr/bin/env bash
# teardown.sh: destroy step of the capi-mgmt management server (runs as root).
#
# Removes every workload cluster of the kind management cluster, and first the OpenStack
# resources that controllers inside each workload cluster made and Cluster API does not
# know about: the load balancers of Services of type LoadBalancer (OpenStack cloud
# controller manager) and the Cinder volumes of PersistentVolumeClaims (Cinder CSI).
# Deleting a Cluster alone would leave those behind, orphaned. Steps:
#   1. no kind cluster, or no kubeconfig of it: nothing to tear down;
#   2. suspend Flux (every Kustomization and HelmRelease), so it re-creates nothing;
#   3. for every Cluster, in parallel, each bounded by PER_CLUSTER_TIMEOUT_SECONDS: in the
#      workload cluster delete the LoadBalancer Services and wait until they are gone, then
#      the workloads that mount PVCs, the VolumeSnapshots and the PVCs, and wait until the
#      PersistentVolumes with reclaim policy Delete are gone; then delete the Cluster and
#      wait until Cluster API and CAPO have removed it;
#   4. report, and fail when a cluster was not torn down, naming it and what is left;
#   5. delete ORC's objects (the GitOps tree's node images, and any other ORC resource), so
#      ORC removes what they stand for in OpenStack (Glance images) before ORC itself goes
#      with the kind cluster; fail, naming them, when ORC does not finish in time.
# A cluster whose workload API cannot be reached is NOT deleted: its load balancers and
# volumes would be orphaned. A Cluster already being deleted is only waited for.
#
# Parameters (rendered above this header by lib/teardownScript.ts, or taken from the environment):
#   CLUSTER_NAME                 name of the kind management cluster
#   KUBECONFIG_PATH              admin kubeconfig of the management cluster
#   TIMEOUT_SECONDS              overall bound of the teardown, in seconds (the final
#                                report may take up to a minute more)
#   PER_CLUSTER_TIMEOUT_SECONDS  bound of each workload cluster's teardown, in seconds
# Optional environment: TEARDOWN_POLL_SECONDS, seconds between two polls (default 5).
#
# Output: progress, warnings and errors on stderr, every line prefixed "teardown:" (a
# cluster's lines with its namespace/name too); one result line on stdout on success.
# While it waits, a "still waiting" line at least every HEARTBEAT_SECONDS, so the SSH
# session of the remote command carries data and no idle timeout drops it (the session's
# end would kill the teardown).
# Exit status: 0 when no workload cluster and no ORC object is left; 1 otherwise, and the
# server is kept.
# shellcheck disable=SC2034,SC2154 # globals shared with the host/lib/teardown-*.sh includes
set -euo pipefail

: "${CLUSTER_NAME:?teardown: CLUSTER_NAME (name of the kind management cluster) must be set}"
: "${KUBECONFIG_PATH:?teardown: KUBECONFIG_PATH (admin kubeconfig of the management cluster) must be set}"
: "${TIMEOUT_SECONDS:?teardown: TIMEOUT_SECONDS (overall bound, seconds) must be set}"
: "${PER_CLUSTER_TIMEOUT_SECONDS:?teardown: PER_CLUSTER_TIMEOUT_SECONDS (bound per workload cluster, seconds) must be set}"

# capi-mgmt:include teardown-kube.sh
# capi-mgmt:include teardown-flux.sh
# capi-mgmt:include teardown-cluster.sh
# capi-mgmt:include teardown-jobs.sh
# capi-mgmt:include teardown-orc.sh

# The workload Clusters, one entry per Cluster at the same index in every array.
cluster_namespaces=()
cluster_names=()
# The Cluster's deletionTimestamp, empty unless it is already being deleted.
cluster_deleting=()

check_parameters() {
    local name
    if [[ ! "$CLUSTER_NAME" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "CLUSTER_NAME must be a lowercase DNS label, got '$CLUSTER_NAME'"
    fi
    if [[ "$KUBECONFIG_PATH" != /* ]]; then
        die "KUBECONFIG_PATH must be an absolute path, got '$KUBECONFIG_PATH'"
    fi
    for name in TIMEOUT_SECONDS PER_CLUSTER_TIMEOUT_SECONDS; do
        if [[ ! "${!name}" =~ ^[1-9][0-9]{0,5}$ ]]; then
            die "$name must be a positive whole number of seconds, got '${!name}'"
        fi
    done
    if ((PER_CLUSTER_TIMEOUT_SECONDS > TIMEOUT_SECONDS)); then
        die "PER_CLUSTER_TIMEOUT_SECONDS ($PER_CLUSTER_TIMEOUT_SECONDS) must not exceed TIMEOUT_SECONDS ($TIMEOUT_SECONDS)"
    fi
    if [[ ! "$POLL_SECONDS" =~ ^[0-9]{1,3}(\.[0-9]{1,3})?$ ]]; then
        die "TEARDOWN_POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
    fi
}

# True when the kind management cluster and its kubeconfig exist; logs why not otherwise.
management_cluster_exists() {
    local clusters
    if ! command -v kind >/dev/null 2>&1; then
        log "kind is not installed, so there is no management cluster"
        return 1
    fi
    clusters=$(timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$KUBECTL_TIMEOUT_SECONDS" \
        kind get clusters </dev/null 2>&1) ||
        die "cannot list the kind clusters ('kind get clusters' failed: ${clusters//$'\n'/ }; is Docker running?)," \
            "so the workload clusters cannot be torn down. The server was kept: fix this and re-run 'pulumi destroy'"
    if ! grep -qxF -- "$CLUSTER_NAME" <<<"$clusters"; then
        log "there is no kind cluster named $CLUSTER_NAME"
        return 1
    fi
    if [[ ! -f "$KUBECONFIG_PATH" ]]; then
        warn "the kind cluster $CLUSTER_NAME exists but its kubeconfig $KUBECONFIG_PATH does not," \
            "so it was never set up to manage workload clusters"
        return 1
    fi
    if ! command -v kubectl >/dev/null 2>&1; then
        die "kubectl is not installed, but the management cluster $CLUSTER_NAME exists:" \
            "its workload clusters cannot be torn down. The server was kept: install kubectl and re-run 'pulumi destroy'"
    fi
}

# True when the management cluster serves resource $1 (a CRD); fails when it cannot tell.
management_has_crd() {
    local found
    found=$(mgmt get customresourcedefinitions "$1" --ignore-not-found -o name) ||
        die "cannot read the CRD $1 from the management cluster $CLUSTER_NAME ($KUBECONFIG_PATH);" \
            "nothing was deleted and the server was kept"
    [[ -n "$found" ]]
}

# Fills cluster_namespaces, cluster_names and cluster_deleting.
list_clusters() {
    local rows ns name deleting
    if ! management_has_crd "$CLUSTER_RESOURCE"; then
        log "Cluster API is not installed on the management cluster"
        return 0
    fi
    rows=$(mgmt get "$CLUSTER_RESOURCE" -A -o "jsonpath=$OBJECT_ROWS") ||
        die "cannot list the workload Clusters of the management cluster $CLUSTER_NAME;" \
            "nothing was deleted and the server was kept"
    while IFS='|' read -r ns name deleting; do
        if [[ -n "$name" ]]; then
            cluster_namespaces+=("$ns")
            cluster_names+=("$name")
            cluster_deleting+=("$deleting")
        fi
    done <<<"$rows"
}

cleanup() {
    local i
    for i in "${!pids[@]}"; do
        if [[ -z "${results[i]:-}" ]]; then
            kill -KILL -- "-${pids[i]}" 2>/dev/null || true
        fi
    done
    if [[ -n "$workdir" ]]; then
        rm -rf -- "$workdir"
    fi
}

main() {
    umask 077
    check_parameters
    started=$(now)
    next_heartbeat=$((started + HEARTBEAT_SECONDS))
    deadline=$((started + TIMEOUT_SECONDS))
    if ! management_cluster_exists; then
        echo "teardown: nothing to tear down"
        return 0
    fi
    trap cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    trap 'exit 129' HUP
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-teardown.XXXXXXXX")
    local overall_deadline=$deadline result
    suspend_flux
    list_clusters
    if ((${#cluster_names[@]} == 0)); then
        result="teardown: nothing to tear down: no workload cluster on the management cluster $CLUSTER_NAME"
    else
        log "tearing down ${#cluster_names[@]} workload cluster(s) in parallel (bound: ${PER_CLUSTER_TIMEOUT_SECONDS}s each, ${TIMEOUT_SECONDS}s overall)"
        start_jobs
        wait_for_jobs
        result=$(report) || exit 1
    fi
    # The clusters may have used up the overall bound: ORC still gets a short one of its own.
    local floor=$(($(now) + (REPORT_SECONDS < TIMEOUT_SECONDS ? REPORT_SECONDS : TIMEOUT_SECONDS)))
    deadline=$((overall_deadline > floor ? overall_deadline : floor))
    delete_orc_objects
    echo "$result"
}

main "$@"
