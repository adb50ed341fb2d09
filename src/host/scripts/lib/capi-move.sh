# shellcheck shell=bash
# What `clusterctl move` (Cluster API v1.14) refuses, in the user's words: shared by
# host/backup.sh (`move --to-directory`) and host/pivot.sh (`move` to another cluster).
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text in place of a
# script's `# capi-mgmt:include capi-move.sh` line; pivot.sh, run as a file, sources it when
# it was not rendered. VERB is what the caller does ("back up", "move"); NAMESPACE the
# workload namespace. Each function prints one message on stdout (no trailing newline).

# capi_paused_message LIST VERB NAMESPACE: Clusters paused (clusterctl refuses them).
capi_paused_message() {
    printf '%s' "Cluster(s) paused: $1. clusterctl does not $2 a paused Cluster (spec.paused or the cluster.x-k8s.io/paused annotation). Unpause it when whoever paused it is done: kubectl -n $3 patch cluster <name> --type merge -p '{\"spec\":{\"paused\":false}}'"
}

# capi_paused_class_message LIST VERB NAMESPACE: ClusterClasses paused (clusterctl refuses them).
capi_paused_class_message() {
    printf '%s' "ClusterClass(es) paused: $1. clusterctl does not $2 while a ClusterClass has the cluster.x-k8s.io/paused annotation. Remove it when whoever set it is done: kubectl -n $3 annotate clusterclass <name> cluster.x-k8s.io/paused-"
}

# capi_busy_message BUSY VERB: Clusters or Machines still being created; BUSY lists them
# ("Machine ns/name has no node yet; ..."). The caller adds when to try again.
capi_busy_message() {
    printf '%s' "a Cluster or Machine is still being created (a cluster being built, or a rollout or scale-up under way: a Machine without its node yet): ${1:-see the clusterctl output above}. clusterctl does not $2 then"
}

# capi_refusal OUTPUT VERB NAMESPACE: clusterctl's output of a refused move, as a message.
# Prints "paused|<message>", "busy|<message>" (the caller appends when to retry), or
# nothing (returns 1) when the output is no refusal it knows.
capi_refusal() {
    local out=$1 verb=$2 ns=$3 busy
    if [[ "$out" == *"following Clusters are paused: "* ]]; then
        printf 'paused|%s' "$(capi_paused_message "${out##*following Clusters are paused: }" "$verb" "$ns")"
        return 0
    fi
    if [[ "$out" == *"following ClusterClasses are paused: "* ]]; then
        printf 'paused|%s' "$(capi_paused_class_message "${out##*following ClusterClasses are paused: }" "$verb" "$ns")"
        return 0
    fi
    if [[ "$out" == *"still provisioning the node"* || "$out" == *"still provisioning the infrastructure"* || "$out" == *"is not yet initialized"* ]]; then
        # clusterctl's messages name the object (its kind is often printed empty: "/, Kind=").
        busy=$(sed -n -E \
            -e 's#.*[" ]([a-z0-9.-]+/[a-z0-9.-]+) is still provisioning the node.*#Machine \1 has no node yet#p' \
            -e 's#.*[" ]([a-z0-9.-]+/[a-z0-9.-]+) is still provisioning the infrastructure.*#Cluster \1 is still provisioning its infrastructure#p' \
            -e 's#.*[" ]([a-z0-9.-]+/[a-z0-9.-]+) is not yet initialized.*#the control plane of Cluster \1 is not yet initialized#p' \
            <<<"${out//cannot start/$'\n'cannot start}" | sort -u | paste -sd ';' | sed 's/;/; /g' || true)
        printf 'busy|%s' "$(capi_busy_message "$busy" "$verb")"
        return 0
    fi
    return 1
}

# capi_move_check KUBE NAMESPACE VERB: what clusterctl v1.14 would refuse, checked before it
# runs (KUBE: a function running kubectl against the cluster moved from). Prints one message
# per line, "paused|..." or "busy|...", nothing when the move may start; returns 1 when
# kubectl fails. Checks: Clusters paused (spec.paused, annotation), ClusterClasses paused
# (annotation), a Cluster's infrastructure not provisioned or control plane not initialized,
# a Cluster rolling out (its RollingOut condition), a Machine without a nodeRef.
capi_move_check() {
    local kube=$1 ns=$2 verb=$3 clusters classes machines paused="" cpaused="" busy=()
    local name spec_paused ann_paused infra cp_cond cp_init rolling node
    # Fields separated by "|" (an empty field stays one; a tab would not), the annotations (JSON) last.
    clusters=$("$kube" -n "$ns" get clusters.v1beta2.cluster.x-k8s.io -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.spec.paused}{"|"}{.status.initialization.infrastructureProvisioned}{"|"}{.status.conditions[?(@.type=="ControlPlaneInitialized")].status}{"|"}{.status.initialization.controlPlaneInitialized}{"|"}{.status.conditions[?(@.type=="RollingOut")].status}{"|"}{.metadata.annotations}{"\n"}{end}') || return 1
    classes=$("$kube" -n "$ns" get clusterclasses.v1beta2.cluster.x-k8s.io -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.metadata.annotations}{"\n"}{end}') || return 1
    machines=$("$kube" -n "$ns" get machines.v1beta2.cluster.x-k8s.io -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.nodeRef.name}{"\n"}{end}') || return 1
    while IFS='|' read -r name spec_paused infra cp_cond cp_init rolling ann_paused; do
        [[ -n "$name" ]] || continue
        if [[ "$spec_paused" == true || "$ann_paused" == *'"cluster.x-k8s.io/paused":'* ]]; then
            paused+="${paused:+, }$ns/$name"
            continue
        fi
        if [[ "$infra" != true ]]; then
            busy+=("Cluster $ns/$name is still provisioning its infrastructure")
        elif [[ "$cp_cond" != True || "$cp_init" != true ]]; then
            busy+=("the control plane of Cluster $ns/$name is not yet initialized")
        elif [[ "$rolling" == True ]]; then
            busy+=("Cluster $ns/$name is rolling out (its RollingOut condition is True)")
        fi
    done <<<"$clusters"
    while IFS='|' read -r name ann_paused; do
        if [[ -n "$name" && "$ann_paused" == *'"cluster.x-k8s.io/paused":'* ]]; then
            cpaused+="${cpaused:+, }$ns/$name"
        fi
    done <<<"$classes"
    while IFS='|' read -r name node; do
        if [[ -n "$name" && -z "$node" ]]; then
            busy+=("Machine $ns/$name has no node yet")
        fi
    done <<<"$machines"
    [[ -z "$paused" ]] || printf 'paused|%s\n' "$(capi_paused_message "$paused" "$verb" "$ns")"
    [[ -z "$cpaused" ]] || printf 'paused|%s\n' "$(capi_paused_class_message "$cpaused" "$verb" "$ns")"
    if ((${#busy[@]})); then
        local joined
        joined=$(printf '%s\n' "${busy[@]}" | sort -u | paste -sd ';' | sed 's/;/; /g')
        printf 'busy|%s\n' "$(capi_busy_message "$joined" "$verb")"
    fi
    return 0
}
