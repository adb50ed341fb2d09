#!/usr/bin/env bash
# teardown.sh: destroy step of the capi-mgmt management server (runs as root).
#
# Removes every workload cluster of the kind management cluster, and first the OpenStack
# resources that controllers inside each workload cluster made and Cluster API does not
# know about: the load balancers of Services of type LoadBalancer (OpenStack cloud
# controller manager) and the Cinder volumes of PersistentVolumeClaims (Cinder CSI).
# Deleting a Cluster alone would leave those behind, orphaned. Steps:
#   1. find the management cluster; when there is no kind, no kind cluster or no way to
#      reach it (a missing kubeconfig is exported again from kind), FAIL, keeping the
#      server, and list what workload clusters would have left in OpenStack and how to
#      find it; unless CLUSTERS_GONE_FILE exists: the user says they are gone (exit 0);
#   2. suspend Flux (every Kustomization and HelmRelease), so it re-creates nothing;
#   3. for every Cluster, in parallel, each bounded by PER_CLUSTER_TIMEOUT_SECONDS: in the
#      workload cluster suspend its own Flux (the `flux` add-on), delete the LoadBalancer
#      Services and wait until they are gone, then the workloads that mount PVCs, the
#      VolumeSnapshots and the PVCs, and wait until the PersistentVolumes with reclaim
#      policy Delete are gone; then delete the Cluster and wait until Cluster API and CAPO
#      have removed it;
#   4. report, and fail when a cluster was not torn down, naming it and what is left;
#   5. delete ORC's objects (the GitOps tree's node images, and any other ORC resource), so
#      ORC removes what they stand for in OpenStack (Glance images) before ORC itself goes
#      with the kind cluster; fail, naming them, when ORC does not finish in time.
# A cluster whose workload API cannot be reached is NOT deleted: its load balancers and
# volumes would be orphaned. A Cluster already being deleted is only waited for.
# Every Flux object suspended is first recorded in FLUX_RESUME_SCRIPT. When the teardown
# fails or is stopped (TERM, INT, HUP, PIPE: the SSH session's end) before it deleted
# anything, it resumes them; after, they stay suspended and it says how to resume them.
#
# Parameters (rendered above this header by lib/teardownScript.ts, or taken from the environment):
#   CLUSTER_NAME                 name of the kind management cluster
#   KUBECONFIG_PATH              admin kubeconfig of the management cluster
#   TIMEOUT_SECONDS              overall bound of the teardown, in seconds (the final
#                                report may take up to a minute more)
#   PER_CLUSTER_TIMEOUT_SECONDS  bound of each workload cluster's teardown, in seconds
#   CLUSTERS_GONE_FILE           absolute path; when it exists and the management cluster
#                                is gone, the user says the workload clusters are gone too
#   FLUX_RESUME_SCRIPT           absolute path of the script that resumes the Flux objects
#                                the teardown suspended (written by the teardown)
#   BACKUP_COMMAND               the installed backup script (src/host/scripts/backup.sh): a
#                                backup "before-destroy" runs first, once the management
#                                cluster is found; a failed one is only a warning ("" or
#                                unset: none)
#   KEEP_CLUSTER                 optional, "namespace/name": the self-hosted management
#                                cluster's own Cluster (capi-mgmt:managementCluster.mode
#                                selfHosted), which is neither torn down nor counted as left,
#                                and whose node images and server group ORC keeps: with it,
#                                step 5 is left to self-hosted-unpivot.sh, which runs after
#                                the teardown (docs/self-hosted.md)
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
: "${CLUSTERS_GONE_FILE:?teardown: CLUSTERS_GONE_FILE (marker: the workload clusters are gone) must be set}"
: "${FLUX_RESUME_SCRIPT:?teardown: FLUX_RESUME_SCRIPT (where the Flux resume script is written) must be set}"
: "${BACKUP_COMMAND:=}"

# capi-mgmt:include teardown-kube.sh
# capi-mgmt:include teardown-gone.sh
# capi-mgmt:include teardown-flux.sh
# capi-mgmt:include teardown-cluster.sh
# capi-mgmt:include teardown-jobs.sh
# capi-mgmt:include teardown-orc.sh
# capi-mgmt:include backup-before.sh

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
    for name in KUBECONFIG_PATH CLUSTERS_GONE_FILE FLUX_RESUME_SCRIPT; do
        if [[ "${!name}" != /* ]]; then
            die "$name must be an absolute path, got '${!name}'"
        fi
    done
    for name in TIMEOUT_SECONDS PER_CLUSTER_TIMEOUT_SECONDS; do
        if [[ ! "${!name}" =~ ^[1-9][0-9]{0,5}$ ]]; then
            die "$name must be a positive whole number of seconds, got '${!name}'"
        fi
    done
    if [[ -n "${KEEP_CLUSTER:-}" && ! "${KEEP_CLUSTER:-}" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "KEEP_CLUSTER must be namespace/name, got '${KEEP_CLUSTER:-}'"
    fi
    if ((PER_CLUSTER_TIMEOUT_SECONDS > TIMEOUT_SECONDS)); then
        die "PER_CLUSTER_TIMEOUT_SECONDS ($PER_CLUSTER_TIMEOUT_SECONDS) must not exceed TIMEOUT_SECONDS ($TIMEOUT_SECONDS)"
    fi
    if [[ ! "$POLL_SECONDS" =~ ^[0-9]{1,3}(\.[0-9]{1,3})?$ ]]; then
        die "TEARDOWN_POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
    fi
}

# Finds the kind management cluster and its kubeconfig (exported again from kind into the
# private work directory when KUBECONFIG_PATH is missing); ends the teardown through
# management_gone when there is none.
find_management_cluster() {
    local clusters exported
    if ! command -v kind >/dev/null 2>&1; then
        management_gone "kind is not installed on the server, so there is no management cluster $CLUSTER_NAME"
    fi
    clusters=$(timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$KUBECTL_TIMEOUT_SECONDS" \
        kind get clusters </dev/null 2>&1) ||
        die "cannot list the kind clusters ('kind get clusters' failed: ${clusters//$'\n'/ }; is Docker running?)," \
            "so the workload clusters cannot be torn down. The server was kept: fix this and re-run 'pulumi destroy'"
    if ! grep -qxF -- "$CLUSTER_NAME" <<<"$clusters"; then
        management_gone "there is no kind cluster named $CLUSTER_NAME on the server"
    fi
    if ! command -v kubectl >/dev/null 2>&1; then
        die "kubectl is not installed, but the management cluster $CLUSTER_NAME exists:" \
            "its workload clusters cannot be torn down. The server was kept: install kubectl and re-run 'pulumi destroy'"
    fi
    if [[ ! -f "$KUBECONFIG_PATH" ]]; then
        exported="$workdir/management.kubeconfig"
        if ! timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$KUBECTL_TIMEOUT_SECONDS" \
            kind get kubeconfig --name "$CLUSTER_NAME" </dev/null >"$exported" 2>"$workdir/kind.errors" || [[ ! -s "$exported" ]]; then
            relay_errors "$workdir/kind.errors"
            management_gone "the kind cluster $CLUSTER_NAME exists but its kubeconfig $KUBECONFIG_PATH does not," \
                "and kind cannot export it"
        fi
        rm -f -- "$workdir/kind.errors"
        warn "the kubeconfig $KUBECONFIG_PATH is missing: using the one kind exports for $CLUSTER_NAME"
        mgmt_kubeconfig=$exported
    fi
}

# True when the management cluster serves resource $1 (a CRD); fails when it cannot tell.
management_has_crd() {
    local found
    found=$(mgmt get customresourcedefinitions "$1" --ignore-not-found -o name) ||
        die "cannot read the CRD $1 from the management cluster $CLUSTER_NAME ($mgmt_kubeconfig);" \
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
        if [[ -n "$name" && "$ns/$name" == "${KEEP_CLUSTER:-}" ]]; then
            log "keeping $ns/$name: the self-hosted management cluster itself (self-hosted-unpivot.sh deletes it after the teardown)"
        elif [[ -n "$name" ]]; then
            cluster_namespaces+=("$ns")
            cluster_names+=("$name")
            cluster_deleting+=("$deleting")
        fi
    done <<<"$rows"
}

# The EXIT trap: kills the jobs left, resumes or reports the suspended Flux objects, and
# removes the work directory. Never fails (stderr may be gone with the SSH session).
cleanup() {
    local status=$? i
    set +e
    trap '' PIPE
    for i in "${!pids[@]}"; do
        if [[ -z "${results[i]:-}" ]]; then
            kill -KILL -- "-${pids[i]}" 2>/dev/null
        fi
    done
    if [[ "$flux_started" == true ]]; then
        finish_flux "$status"
    fi
    if [[ -n "$workdir" ]]; then
        rm -rf -- "$workdir"
    fi
    return "$status"
}

# True once the resume script is set up (finish_flux then looks at it).
flux_started=false

main() {
    umask 077
    check_parameters
    started=$(now)
    next_heartbeat=$((started + HEARTBEAT_SECONDS))
    deadline=$((started + TIMEOUT_SECONDS))
    trap cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    trap 'exit 129' HUP
    trap 'exit 141' PIPE
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-teardown.XXXXXXXX")
    find_management_cluster
    # A backup first (docs/backup-restore.md, "Before risky operations"): onto the backup volume,
    # which this destroy deletes right after the teardown unless the user took it out of the
    # stack. Only a warning when it fails: the destroy goes on. Its time is not the teardown's.
    if [[ -n "$BACKUP_COMMAND" ]]; then
        backup_before before-destroy warn "the teardown of pulumi destroy" "$BACKUP_COMMAND" "$KUBECONFIG_PATH" "" >&2
        started=$(now)
        next_heartbeat=$((started + HEARTBEAT_SECONDS))
        deadline=$((started + TIMEOUT_SECONDS))
    fi
    local overall_deadline=$deadline result
    start_resume_script ||
        die "cannot write the Flux resume script $FLUX_RESUME_SCRIPT; nothing was changed and the server was kept"
    flux_started=true
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
    if [[ -n "${KEEP_CLUSTER:-}" ]]; then
        log "ORC's objects are kept for the self-hosted cluster ${KEEP_CLUSTER}: self-hosted-unpivot.sh deletes them after it"
    else
        delete_orc_objects
    fi
    echo "$result"
}

main "$@"
