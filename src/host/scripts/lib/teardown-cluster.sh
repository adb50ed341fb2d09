# shellcheck shell=bash
# One workload cluster's teardown, run by host/teardown.sh as a background job per Cluster:
# release its load balancers and volumes through the workload cluster's own API, then
# delete the Cluster and wait until Cluster API and CAPO have removed it.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-cluster.sh`
# line. Uses teardown-kube.sh and teardown-flux.sh (included before it).
# shellcheck disable=SC2154 # globals of teardown-kube.sh and teardown.sh

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

# Suspends Flux in the workload cluster (the `flux` add-on, or any Flux there), so it does not
# re-create the LoadBalancer Services and PVCs deleted next.
suspend_workload_flux() {
    if ! suspend_flux_with workload "$job" "workload cluster"; then
        jfail "$flux_error, so its Flux could re-create the load balancers and volumes deleted next" "$(left_behind)"
    fi
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
        suspend_workload_flux
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

