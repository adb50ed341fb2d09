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
set -euo pipefail

: "${CLUSTER_NAME:?teardown: CLUSTER_NAME (name of the kind management cluster) must be set}"
: "${KUBECONFIG_PATH:?teardown: KUBECONFIG_PATH (admin kubeconfig of the management cluster) must be set}"
: "${TIMEOUT_SECONDS:?teardown: TIMEOUT_SECONDS (overall bound, seconds) must be set}"
: "${PER_CLUSTER_TIMEOUT_SECONDS:?teardown: PER_CLUSTER_TIMEOUT_SECONDS (bound per workload cluster, seconds) must be set}"

readonly POLL_SECONDS="${TEARDOWN_POLL_SECONDS:-5}"
# Bound of one kubectl call (less when a deadline is closer).
readonly KUBECTL_TIMEOUT_SECONDS=60
# Seconds between the polite TERM and a KILL when a command overruns its bound.
readonly KILL_AFTER_SECONDS=10
# Seconds a cluster's job may overrun its own bound before it is killed.
readonly JOB_KILL_GRACE_SECONDS=30
# Bound of the final report's kubectl calls, after the overall deadline if need be.
readonly REPORT_SECONDS=60
# Most seconds between two lines of output while the teardown waits.
readonly HEARTBEAT_SECONDS=30

readonly CLUSTER_RESOURCE="clusters.cluster.x-k8s.io"
readonly KUSTOMIZATION_RESOURCE="kustomizations.kustomize.toolkit.fluxcd.io"
readonly HELMRELEASE_RESOURCE="helmreleases.helm.toolkit.fluxcd.io"
readonly SNAPSHOT_RESOURCE="volumesnapshots.snapshot.storage.k8s.io"

# kubectl jsonpath templates printing one row per object, fields separated by "|" (so an
# empty field keeps its place when read with IFS='|').
readonly OBJECT_ROWS='{range .items[*]}{.metadata.namespace}|{.metadata.name}|{.metadata.deletionTimestamp}{"\n"}{end}'
readonly SERVICE_ROWS='{range .items[*]}{.metadata.namespace}|{.metadata.name}|{.metadata.deletionTimestamp}|{.spec.type}{"\n"}{end}'
readonly VOLUME_ROWS='{range .items[*]}{.metadata.name}|{.spec.persistentVolumeReclaimPolicy}|{.spec.claimRef.namespace}/{.spec.claimRef.name}{"\n"}{end}'
readonly KUBECONFIG_VALUE='{.data.value}'

# Workload resources whose pods may mount PersistentVolumeClaims, each with the path of its
# pod spec. Controllers come before Pods, so a deleted Pod is not re-created.
readonly -a CLAIM_WORKLOADS=(
    "cronjobs .spec.jobTemplate.spec.template.spec"
    "deployments .spec.template.spec"
    "statefulsets .spec.template.spec"
    "daemonsets .spec.template.spec"
    "replicasets .spec.template.spec"
    "jobs .spec.template.spec"
    "pods .spec"
)

# The workload Clusters, one entry per Cluster at the same index in every array.
cluster_namespaces=()
cluster_names=()
# The Cluster's deletionTimestamp, empty unless it is already being deleted.
cluster_deleting=()
# Per cluster job: process id (also its process group), kill deadline, and "ok"/"failed".
pids=()
kill_deadlines=()
results=()

# Private directory (0700) of job logs, kubectl errors and workload kubeconfigs, removed on exit.
workdir=""
# Epoch second after which the current work must stop (overall, or a job's own bound).
deadline=0
# Epoch seconds: start of the teardown, and when the next "still waiting" line is due.
started=0
next_heartbeat=0

# Set in each cluster's job: "namespace/name", the workload kubeconfig and the reason file.
job=""
workload_kubeconfig=""
reason_file=""

log() {
    echo "teardown: $*" >&2
}

warn() {
    echo "teardown: WARNING: $*" >&2
}

die() {
    echo "teardown: ERROR: $*" >&2
    exit 1
}

now() {
    date +%s
}

# Logs "still waiting: $2..." unless one was logged less than HEARTBEAT_SECONDS ago; $1 is now().
heartbeat() {
    local t=$1
    shift
    if ((t >= next_heartbeat)); then
        log "still waiting ($((t - started))s since the start, bound ${TIMEOUT_SECONDS}s): $*"
        next_heartbeat=$((t + HEARTBEAT_SECONDS))
    fi
}

past_deadline() {
    (($(now) >= deadline))
}

# Seconds one kubectl call may take: KUBECTL_TIMEOUT_SECONDS, less near the deadline.
call_seconds() {
    local left=$((deadline - $(now)))
    if ((left > KUBECTL_TIMEOUT_SECONDS)); then
        left=$KUBECTL_TIMEOUT_SECONDS
    fi
    if ((left < 1)); then
        left=1
    fi
    echo "$left"
}

# Prints the lines of file $1 (a command's errors) on stderr with our prefix, then removes it.
relay_errors() {
    local line
    while IFS= read -r line || [[ -n "$line" ]]; do
        echo "teardown: ${job:+$job: }$line" >&2
    done <"$1"
    rm -f -- "$1"
}

# kubectl with kubeconfig $1, bounded, never reading stdin; its errors are relayed with our
# prefix. --foreground keeps kubectl in the caller's process group, so killing a cluster's
# job kills its kubectl too.
kube() {
    local kubeconfig=$1 seconds status=0 errors="$workdir/errors.$BASHPID"
    shift
    seconds=$(call_seconds)
    timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$seconds" \
        kubectl --kubeconfig "$kubeconfig" --request-timeout="${seconds}s" "$@" </dev/null 2>"$errors" ||
        status=$?
    if ((status == 124 || status == 137)); then
        echo "kubectl $1 ${2:-}: no answer within ${seconds}s" >>"$errors"
    fi
    relay_errors "$errors"
    return "$status"
}

# kubectl against the management cluster.
mgmt() {
    kube "$KUBECONFIG_PATH" "$@"
}

# kubectl against the current job's workload cluster.
workload() {
    kube "$workload_kubeconfig" "$@"
}

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

# Sets spec.suspend of every object of Flux resource $1 ($2 names them for the log).
suspend_flux_objects() {
    local resource=$1 what=$2 rows ns name count=0
    if ! management_has_crd "$resource"; then
        return 0
    fi
    rows=$(mgmt get "$resource" -A -o "jsonpath=$OBJECT_ROWS") ||
        die "cannot list the Flux $what; nothing was deleted and the server was kept"
    while IFS='|' read -r ns name _; do
        if [[ -z "$name" ]]; then
            continue
        fi
        mgmt patch "$resource" -n "$ns" "$name" --type=merge --patch '{"spec":{"suspend":true}}' >/dev/null ||
            die "cannot suspend the Flux $what $ns/$name, which could re-create the Clusters this teardown" \
                "deletes; nothing was deleted and the server was kept"
        count=$((count + 1))
    done <<<"$rows"
    log "suspended $count Flux $what"
}

# Suspends Flux, so it neither re-creates the Clusters deleted below nor prunes anything.
suspend_flux() {
    suspend_flux_objects "$KUSTOMIZATION_RESOURCE" "Kustomizations"
    suspend_flux_objects "$HELMRELEASE_RESOURCE" "HelmReleases"
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

# --- one workload cluster's teardown (runs as a background job) ---------------------------

jlog() {
    log "$job: $*"
}

jwarn() {
    warn "$job: $*"
}

# Fails this cluster's teardown: logs $1 (why) and $2 (what is left and what to do),
# records $1 for the summary and ends the job.
jfail() {
    echo "teardown: ERROR: $job: $1" >&2
    echo "teardown: ERROR: $job: $2" >&2
    printf '%s\n' "$1" >"$reason_file"
    exit 1
}

# What is left and what to do when a cluster fails before its Cluster was deleted.
left_behind() {
    local ns=${job%%/*} name=${job#*/}
    echo "Its OpenStack load balancers (from Services of type LoadBalancer, made by the OpenStack" \
        "cloud controller manager) and Cinder volumes (from PersistentVolumeClaims, made by Cinder CSI)" \
        "may still exist, so the Cluster was NOT deleted. Fix access to the workload cluster and re-run" \
        "'pulumi destroy', or delete those load balancers and volumes yourself, then the Cluster" \
        "('kubectl delete cluster.cluster.x-k8s.io -n $ns $name'), and re-run 'pulumi destroy'."
}

# Decodes key "value" of Secret <name>-kubeconfig into a private file, never printing it.
fetch_workload_kubeconfig() {
    local ns=$1 secret="$2-kubeconfig" encoded
    encoded=$(mktemp "$workdir/encoded.XXXXXXXX")
    workload_kubeconfig=$(mktemp "$workdir/kubeconfig.XXXXXXXX")
    if ! mgmt get secrets -n "$ns" "$secret" --ignore-not-found -o "jsonpath=$KUBECONFIG_VALUE" >"$encoded"; then
        rm -f -- "$encoded"
        jfail "cannot read its kubeconfig Secret $ns/$secret from the management cluster" "$(left_behind)"
    fi
    if [[ ! -s "$encoded" ]]; then
        rm -f -- "$encoded"
        jfail "its kubeconfig Secret $ns/$secret (key 'value') is missing, so the workload cluster cannot be reached" \
            "$(left_behind)"
    fi
    if ! base64 -d <"$encoded" >"$workload_kubeconfig" 2>/dev/null || [[ ! -s "$workload_kubeconfig" ]]; then
        rm -f -- "$encoded"
        jfail "its kubeconfig Secret $ns/$secret does not hold a base64 kubeconfig under key 'value'" "$(left_behind)"
    fi
    rm -f -- "$encoded"
}

check_workload_reachable() {
    if ! workload get --raw /readyz >/dev/null; then
        jfail "the workload cluster's API cannot be reached (or is not ready)" "$(left_behind)"
    fi
    jlog "the workload cluster's API is reachable"
}

# Deletes every Service of type LoadBalancer (again, should one be re-created) until none
# is left, so the cloud controller manager releases their load balancers.
release_load_balancers() {
    local rows ns name deleting type pending
    while true; do
        pending=()
        if rows=$(workload get services -A -o "jsonpath=$SERVICE_ROWS"); then
            while IFS='|' read -r ns name deleting type; do
                if [[ "$type" != LoadBalancer ]]; then
                    continue
                fi
                pending+=("$ns/$name")
                if [[ -z "$deleting" ]]; then
                    jlog "deleting Service $ns/$name of type LoadBalancer"
                    workload delete services -n "$ns" "$name" --wait=false --ignore-not-found >/dev/null ||
                        jwarn "deleting Service $ns/$name failed; retrying"
                fi
            done <<<"$rows"
            if ((${#pending[@]} == 0)); then
                jlog "no Service of type LoadBalancer is left"
                return 0
            fi
        else
            pending=("(the Services cannot be listed)")
        fi
        if past_deadline; then
            jfail "Services of type LoadBalancer are still there after ${PER_CLUSTER_TIMEOUT_SECONDS}s: ${pending[*]}" \
                "Check the OpenStack cloud controller manager in the workload cluster. $(left_behind)"
        fi
        sleep "$POLL_SECONDS"
    done
}

# The jsonpath rows "namespace|name|deletionTimestamp|claims" of a workload resource whose
# pod spec is at $1; claims is blank unless its pods mount a PersistentVolumeClaim (a
# persistentVolumeClaim or ephemeral volume, or a StatefulSet's volumeClaimTemplates).
claim_rows() {
    local spec=$1
    printf '%s' "{range .items[*]}{.metadata.namespace}|{.metadata.name}|{.metadata.deletionTimestamp}|" \
        "{$spec.volumes[*].persistentVolumeClaim.claimName} " \
        "{$spec.volumes[*].ephemeral.volumeClaimTemplate.spec.accessModes[*]} " \
        "{.spec.volumeClaimTemplates[*].metadata.name}{\"\\n\"}{end}"
}

# Deletes every workload whose pods mount a PersistentVolumeClaim, so the claims get free.
delete_claim_workloads() {
    local entry resource spec rows ns name deleting claims count=0
    for entry in "${CLAIM_WORKLOADS[@]}"; do
        read -r resource spec <<<"$entry"
        rows=$(workload get "$resource" -A -o "jsonpath=$(claim_rows "$spec")") ||
            jfail "cannot list the $resource of the workload cluster" "$(left_behind)"
        while IFS='|' read -r ns name deleting claims; do
            if [[ -z "$name" || -n "$deleting" || -z "${claims//[[:space:]]/}" ]]; then
                continue
            fi
            jlog "deleting $resource $ns/$name (it mounts a PersistentVolumeClaim)"
            workload delete "$resource" -n "$ns" "$name" --wait=false --ignore-not-found >/dev/null ||
                jfail "cannot delete $resource $ns/$name, which mounts a PersistentVolumeClaim" "$(left_behind)"
            count=$((count + 1))
        done <<<"$rows"
    done
    jlog "deleted $count workloads that mount PersistentVolumeClaims"
}

# Deletes every VolumeSnapshot and waits until they are gone: Cinder does not delete a
# volume that still has snapshots.
delete_volume_snapshots() {
    local found left
    found=$(workload get customresourcedefinitions "$SNAPSHOT_RESOURCE" --ignore-not-found -o name) ||
        jfail "cannot read the CRD $SNAPSHOT_RESOURCE of the workload cluster" "$(left_behind)"
    if [[ -z "$found" ]]; then
        jlog "no VolumeSnapshot CRD, so no snapshot to delete"
        return 0
    fi
    jlog "deleting every VolumeSnapshot"
    workload delete "$SNAPSHOT_RESOURCE" --all -A --wait=false >/dev/null ||
        jfail "cannot delete the VolumeSnapshots of the workload cluster" "$(left_behind)"
    while true; do
        if left=$(workload get "$SNAPSHOT_RESOURCE" -A -o "jsonpath=$OBJECT_ROWS") && [[ -z "$left" ]]; then
            jlog "no VolumeSnapshot is left"
            return 0
        fi
        if past_deadline; then
            jfail "VolumeSnapshots are still there after ${PER_CLUSTER_TIMEOUT_SECONDS}s: ${left//$'\n'/ }" \
                "Check the CSI snapshot controller in the workload cluster. $(left_behind)"
        fi
        sleep "$POLL_SECONDS"
    done
}

delete_claims() {
    jlog "deleting every PersistentVolumeClaim"
    workload delete persistentvolumeclaims --all -A --wait=false >/dev/null ||
        jfail "cannot delete the PersistentVolumeClaims of the workload cluster" "$(left_behind)"
}

# Waits until no PersistentVolume with reclaim policy Delete is left (their Cinder volumes
# are deleted), then warns about the volumes kept on purpose by their policy.
wait_for_volumes() {
    local rows name policy claim deleting kept
    while true; do
        deleting=()
        kept=()
        if rows=$(workload get persistentvolumes -o "jsonpath=$VOLUME_ROWS"); then
            while IFS='|' read -r name policy claim; do
                if [[ -z "$name" ]]; then
                    continue
                elif [[ "$policy" == Delete ]]; then
                    deleting+=("$name")
                else
                    kept+=("$name (policy $policy, claim ${claim/#\//none})")
                fi
            done <<<"$rows"
            if ((${#deleting[@]} == 0)); then
                break
            fi
        else
            deleting=("(the PersistentVolumes cannot be listed)")
        fi
        if past_deadline; then
            jfail "PersistentVolumes with reclaim policy Delete are still there after ${PER_CLUSTER_TIMEOUT_SECONDS}s: ${deleting[*]}" \
                "Check Cinder CSI in the workload cluster and what still uses those volumes. $(left_behind)"
        fi
        sleep "$POLL_SECONDS"
    done
    jlog "no PersistentVolume with reclaim policy Delete is left"
    if ((${#kept[@]} > 0)); then
        jwarn "${#kept[@]} PersistentVolume(s) are KEPT on purpose by their reclaim policy, and so are their" \
            "Cinder volumes after the cluster is gone: ${kept[*]}. Delete those volumes in OpenStack yourself" \
            "when you no longer need them."
    fi
}

# What is left and what to do when a deleted Cluster does not go away.
cluster_left_behind() {
    local ns=${job%%/*} name=${job#*/}
    echo "Cluster API and CAPO have not finished removing it: its servers, networks or API load balancer" \
        "may still exist in OpenStack. Check 'kubectl describe cluster.cluster.x-k8s.io -n $ns $name' and the" \
        "logs of capo-controller-manager (namespace capo-system), then re-run 'pulumi destroy', which waits for it again."
}

delete_cluster() {
    local ns=$1 name=$2
    jlog "deleting the Cluster"
    mgmt delete cluster.cluster.x-k8s.io -n "$ns" "$name" --wait=false --ignore-not-found >/dev/null ||
        jfail "cannot delete the Cluster from the management cluster" \
            "Its load balancers and volumes were released. Delete it yourself" \
            "('kubectl delete cluster.cluster.x-k8s.io -n $ns $name') and re-run 'pulumi destroy'."
}

wait_for_cluster_gone() {
    local ns=$1 name=$2 found
    while true; do
        if found=$(mgmt get "$CLUSTER_RESOURCE" -n "$ns" "$name" --ignore-not-found -o name) && [[ -z "$found" ]]; then
            jlog "the Cluster is gone"
            return 0
        fi
        if past_deadline; then
            jfail "the Cluster still exists after ${PER_CLUSTER_TIMEOUT_SECONDS}s" "$(cluster_left_behind)"
        fi
        sleep "$POLL_SECONDS"
    done
}

# Tears down cluster $1 (an index of the arrays). Runs as a background job with stdout and
# stderr in its own log file; its exit status says whether it succeeded.
teardown_cluster() {
    local i=$1 ns=${cluster_namespaces[$1]} name=${cluster_names[$1]} bound
    job="$ns/$name"
    reason_file="$workdir/job-$i.reason"
    bound=$(($(now) + PER_CLUSTER_TIMEOUT_SECONDS))
    if ((bound < deadline)); then
        deadline=$bound
    fi
    trap 'if [[ -n "$workload_kubeconfig" ]]; then rm -f -- "$workload_kubeconfig"; fi' EXIT
    if [[ -n "${cluster_deleting[i]}" ]]; then
        jwarn "the Cluster is already being deleted (since ${cluster_deleting[i]}), so its load balancers" \
            "and volumes cannot be released any more; waiting for it to go. Unless an earlier teardown" \
            "deleted it, check OpenStack for load balancers and volumes of this cluster afterwards."
    else
        fetch_workload_kubeconfig "$ns" "$name"
        check_workload_reachable
        release_load_balancers
        delete_claim_workloads
        delete_volume_snapshots
        delete_claims
        wait_for_volumes
        rm -f -- "$workload_kubeconfig"
        workload_kubeconfig=""
        delete_cluster "$ns" "$name"
    fi
    wait_for_cluster_gone "$ns" "$name"
    jlog "torn down"
}

# --- running the jobs ---------------------------------------------------------------------

# Starts one background job per Cluster, each in its own process group (job control on),
# so a straggler can be killed together with its kubectl.
start_jobs() {
    local i
    set -m
    for i in "${!cluster_names[@]}"; do
        log "tearing down ${cluster_namespaces[i]}/${cluster_names[i]}"
        teardown_cluster "$i" >"$workdir/job-$i.log" 2>&1 &
        pids[i]=$!
        kill_deadlines[i]=$(($(now) + PER_CLUSTER_TIMEOUT_SECONDS + JOB_KILL_GRACE_SECONDS))
    done
    set +m
}

# Prints job $1's log on stderr, prefixing lines that kubectl wrote with the cluster.
print_job_log() {
    local i=$1 line prefix="teardown: ${cluster_namespaces[$1]}/${cluster_names[$1]}:"
    while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" == teardown:* ]]; then
            printf '%s\n' "$line" >&2
        else
            printf '%s %s\n' "$prefix" "$line" >&2
        fi
    done <"$workdir/job-$i.log"
}

# Records job $1's outcome from its exit status $2 and prints its log.
finish_job() {
    local i=$1 status=$2
    if ((status == 0)); then
        results[i]="ok"
    else
        results[i]="failed"
        if [[ ! -s "$workdir/job-$i.reason" ]]; then
            echo "its teardown ended with exit status $status" >"$workdir/job-$i.reason"
        fi
    fi
    print_job_log "$i"
}

# Kills job $1's process group: TERM, then KILL if it lingers.
kill_job() {
    local pid=${pids[$1]} tries
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((tries = 0; tries < 5; tries++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Waits for every job; kills a job past its own bound, and every job past the overall one.
# Looks every poll interval, or sooner when a heartbeat or a deadline is due (at least 1 s apart).
wait_for_jobs() {
    local i running status waiting t due pause
    while true; do
        running=0
        waiting=()
        t=$(now)
        due=$deadline
        for i in "${!pids[@]}"; do
            if [[ -n "${results[i]:-}" ]]; then
                continue
            fi
            if ! kill -0 "${pids[i]}" 2>/dev/null; then
                status=0
                wait "${pids[i]}" || status=$?
                finish_job "$i" "$status"
            elif ((t >= deadline || t >= kill_deadlines[i])); then
                kill_job "$i"
                echo "killed: its teardown did not finish in time (TIMEOUT_SECONDS=$TIMEOUT_SECONDS," \
                    "PER_CLUSTER_TIMEOUT_SECONDS=$PER_CLUSTER_TIMEOUT_SECONDS)" >"$workdir/job-$i.reason"
                finish_job "$i" 124
            else
                running=$((running + 1))
                waiting+=("${cluster_namespaces[i]}/${cluster_names[i]}")
                due=$((kill_deadlines[i] < due ? kill_deadlines[i] : due))
            fi
        done
        if ((running == 0)); then
            return 0
        fi
        heartbeat "$t" "$running workload cluster(s) being torn down: ${waiting[*]}"
        due=$((next_heartbeat < due ? next_heartbeat : due))
        pause=$((due - t < ${POLL_SECONDS%.*} ? due - t : ${POLL_SECONDS%.*}))
        sleep "$((pause < 1 ? 1 : pause))"
    done
}

# Prints the summary; exits 1, naming what is left, unless every cluster is gone.
report() {
    local i id reason failed=() left table line
    log "summary:"
    for i in "${!cluster_names[@]}"; do
        id="${cluster_namespaces[i]}/${cluster_names[i]}"
        if [[ "${results[i]}" == ok ]]; then
            log "  $id: torn down"
        else
            reason=$(<"$workdir/job-$i.reason")
            log "  $id: FAILED: $reason"
            failed+=("$id ($reason)")
        fi
    done
    deadline=$(($(now) + REPORT_SECONDS))
    left=$(mgmt get "$CLUSTER_RESOURCE" -A -o name) || left="(the Clusters cannot be listed)"
    if ((${#failed[@]} == 0)) && [[ -z "$left" ]]; then
        echo "teardown: tore down ${#cluster_names[@]} workload cluster(s) with their load balancers and volumes"
        return 0
    fi
    table=$(mgmt get "$CLUSTER_RESOURCE" -A 2>&1) || true
    {
        echo "teardown: ERROR: not every workload cluster was torn down."
        for reason in "${failed[@]}"; do
            echo "teardown: ERROR: failed: $reason"
        done
        echo "teardown: ERROR: Clusters left on the management cluster (kubectl get clusters -A):"
        while IFS= read -r line; do
            echo "teardown:   $line"
        done <<<"${table:-(none)}"
        echo "teardown: ERROR: The management server (VM) and its credentials were KEPT, so you can act:" \
            "'pulumi destroy' stops here. Each cluster's log above says what may be left (OpenStack load" \
            "balancers, Cinder volumes) and what to do; then re-run 'pulumi destroy'. On the server:" \
            "sudo kubectl --kubeconfig $KUBECONFIG_PATH get clusters -A"
    } >&2
    exit 1
}

# Suffix of the names of ORC's CRDs (images.openstack.k-orc.cloud, ...).
readonly ORC_CRD_SUFFIX=".openstack.k-orc.cloud"

# Deletes every ORC object and waits until ORC has removed them, and with them the OpenStack
# resources they manage (objects with managedOptions.onDelete: detach leave theirs in
# OpenStack, as asked). Runs once no workload cluster uses the node images any more.
delete_orc_objects() {
    local crds crd resources=() resource left found
    crds=$(mgmt get customresourcedefinitions -o name) ||
        die "cannot list the CRDs of the management cluster $CLUSTER_NAME, so ORC's objects (node images)" \
            "were not deleted; the workload clusters are gone and the server was kept: re-run 'pulumi destroy'"
    while IFS= read -r crd; do
        crd=${crd##*/}
        if [[ "$crd" == *"$ORC_CRD_SUFFIX" ]]; then
            resources+=("$crd")
        fi
    done <<<"$crds"
    if ((${#resources[@]} == 0)); then
        return 0
    fi
    for resource in "${resources[@]}"; do
        mgmt delete "$resource" --all -A --wait=false >/dev/null ||
            die "cannot delete the ORC $resource; the server was kept: re-run 'pulumi destroy'"
    done
    while true; do
        left=""
        for resource in "${resources[@]}"; do
            found=$(mgmt get "$resource" -A -o name) || found="$resource (cannot be listed)"
            left+=${found:+$found$'\n'}
        done
        if [[ -z "$left" ]]; then
            log "ORC removed its objects (${resources[*]}) and what they manage in OpenStack"
            return 0
        fi
        left=${left%$'\n'}
        heartbeat "$(now)" "ORC is removing ${left//$'\n'/, }"
        if past_deadline; then
            die "ORC has not removed these objects, whose OpenStack resources (e.g. Glance images) would" \
                "be left behind: ${left//$'\n'/ } Check 'kubectl describe' of each and the logs of" \
                "orc-controller-manager (namespace orc-system); the server was kept: re-run 'pulumi destroy'."
        fi
        sleep "$POLL_SECONDS"
    done
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
