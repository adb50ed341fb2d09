# shellcheck shell=bash
# Flux and host/teardown.sh: suspends every Flux Kustomization and HelmRelease, so Flux
# re-creates nothing the teardown deletes.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-flux.sh`
# line. Uses teardown-kube.sh (included before it) and management_has_crd of teardown.sh.

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

