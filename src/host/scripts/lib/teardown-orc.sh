# shellcheck shell=bash
# ORC's objects in host/teardown.sh: deleted once no workload cluster is left, so ORC
# removes what they stand for in OpenStack (Glance images) before it goes with the kind
# cluster.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-orc.sh`
# line. Uses teardown-kube.sh (included before it).

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
