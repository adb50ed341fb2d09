# shellcheck shell=bash
# Flux and host/teardown.sh: suspends every Flux Kustomization and HelmRelease, on the
# management cluster (its Flux would re-create the Clusters) and in each workload cluster
# (the `flux` add-on would re-create LoadBalancer Services and PVCs), and records each one
# first in a resume script on the server. A teardown that fails or is stopped before it
# deleted anything resumes them itself; after that they stay suspended (resuming would let
# Flux re-create what was deleted while `pulumi destroy` is to be re-run), and the user runs
# the resume script if they give up the destroy.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-flux.sh`
# line. Reads the parameters KUBECONFIG_PATH and FLUX_RESUME_SCRIPT; uses teardown-kube.sh
# (included before it).
# shellcheck disable=SC2154 # globals of teardown-kube.sh

# The Flux resources the teardown suspends, and their names for the log.
readonly -a FLUX_RESOURCES=("$KUSTOMIZATION_RESOURCE" "$HELMRELEASE_RESOURCE")
readonly -a FLUX_KINDS=("Kustomizations" "HelmReleases")
readonly FLUX_ROWS='{range .items[*]}{.metadata.namespace}|{.metadata.name}|{.spec.suspend}{"\n"}{end}'
readonly SUSPEND_PATCH='{"spec":{"suspend":true}}'

# Why suspend_flux_with failed, and how many objects its last call suspended.
flux_error=""
flux_suspended=0
# True when an earlier teardown left objects suspended (its resume script has entries).
flux_earlier_suspensions=false

# True when the resume script lists at least one object.
resume_script_has_entries() {
    [[ -f "$FLUX_RESUME_SCRIPT" ]] && grep -q '^resume ' "$FLUX_RESUME_SCRIPT"
}

# Writes the head of the resume script unless it exists (an earlier teardown's entries stay).
start_resume_script() {
    if resume_script_has_entries; then
        flux_earlier_suspensions=true
        return 0
    fi
    local tmp="$FLUX_RESUME_SCRIPT.tmp.$$"
    cat >"$tmp" <<EOF
#!/usr/bin/env bash
# Written by capi-mgmt's teardown (pulumi destroy): the Flux objects it suspended, each
# recorded just before it was suspended. Run this (sudo bash $FLUX_RESUME_SCRIPT) only if
# you give up the destroy: Flux then re-creates, from Git, whatever the teardown deleted.
# Objects already gone (or whose workload cluster is gone) are skipped. When every object
# is resumed, the file removes itself.
set -uo pipefail
readonly MANAGEMENT_KUBECONFIG=$(printf '%q' "$KUBECONFIG_PATH")
readonly THIS_SCRIPT=$(printf '%q' "$FLUX_RESUME_SCRIPT")
readonly RESUME_PATCH='{"spec":{"suspend":false}}'
failed=0
tmp=\$(mktemp -d)
finish() {
    rm -rf -- "\$tmp"
    if ((failed == 0)); then
        rm -f -- "\$THIS_SCRIPT"
        echo "resume-flux: done" >&2
    else
        echo "resume-flux: some objects are still suspended (see above); fix that and run it again" >&2
        exit 1
    fi
}
trap finish EXIT
k() {
    timeout --kill-after=10 70 kubectl --request-timeout=60s "\$@" </dev/null
}
# resume WHERE RESOURCE NAMESPACE NAME: WHERE is "management" or a workload Cluster "namespace/name".
resume() {
    local where=\$1 resource=\$2 ns=\$3 name=\$4 kubeconfig=\$MANAGEMENT_KUBECONFIG found
    if [[ "\$where" != management ]]; then
        kubeconfig="\$tmp/\${where//\//_}.kubeconfig"
        if [[ ! -s "\$kubeconfig" ]]; then
            if ! found=\$(k --kubeconfig "\$MANAGEMENT_KUBECONFIG" get secret -n "\${where%%/*}" "\${where#*/}-kubeconfig" --ignore-not-found -o 'jsonpath={.data.value}'); then
                echo "resume-flux: cannot read the kubeconfig Secret of workload cluster \$where; \$resource \$ns/\$name stays suspended" >&2
                failed=1
                return 0
            fi
            if [[ -z "\$found" ]]; then
                echo "resume-flux: workload cluster \$where is gone; skipping \$resource \$ns/\$name" >&2
                return 0
            fi
            base64 -d <<<"\$found" >"\$kubeconfig"
        fi
    fi
    if ! found=\$(k --kubeconfig "\$kubeconfig" get "\$resource" -n "\$ns" "\$name" --ignore-not-found -o name); then
        echo "resume-flux: cannot read \$resource \$ns/\$name (\$where); it stays suspended" >&2
        failed=1
    elif [[ -z "\$found" ]]; then
        echo "resume-flux: \$resource \$ns/\$name (\$where) is gone; skipping it" >&2
    elif k --kubeconfig "\$kubeconfig" patch "\$resource" -n "\$ns" "\$name" --type=merge --patch "\$RESUME_PATCH" >/dev/null; then
        echo "resume-flux: resumed \$resource \$ns/\$name (\$where)" >&2
    else
        failed=1
    fi
}
EOF
    mv -f -- "$tmp" "$FLUX_RESUME_SCRIPT"
}

# Suspends every Flux Kustomization and HelmRelease not suspended yet, through kubectl
# function $1 (mgmt or workload), recording each in the resume script under $2 ("management"
# or the Cluster "namespace/name") before it is patched; $3 names the cluster for messages.
# Returns 1 with flux_error set when it cannot; sets flux_suspended.
suspend_flux_with() {
    local kubectl_fn=$1 where=$2 cluster=$3 i resource what found rows ns name suspended count
    flux_suspended=0
    for i in "${!FLUX_RESOURCES[@]}"; do
        resource=${FLUX_RESOURCES[i]}
        what=${FLUX_KINDS[i]}
        if ! found=$("$kubectl_fn" get customresourcedefinitions "$resource" --ignore-not-found -o name); then
            flux_error="cannot read the CRD $resource from the $cluster"
            return 1
        fi
        if [[ -z "$found" ]]; then
            continue
        fi
        if ! rows=$("$kubectl_fn" get "$resource" -A -o "jsonpath=$FLUX_ROWS"); then
            flux_error="cannot list the Flux $what of the $cluster"
            return 1
        fi
        count=0
        while IFS='|' read -r ns name suspended; do
            if [[ -z "$name" || "$suspended" == true ]]; then
                continue
            fi
            if ! printf 'resume %q %q %q %q\n' "$where" "$resource" "$ns" "$name" >>"$FLUX_RESUME_SCRIPT"; then
                flux_error="cannot record the Flux $what $ns/$name of the $cluster in $FLUX_RESUME_SCRIPT"
                return 1
            fi
            if ! "$kubectl_fn" patch "$resource" -n "$ns" "$name" --type=merge --patch "$SUSPEND_PATCH" >/dev/null; then
                flux_error="cannot suspend the Flux $what $ns/$name of the $cluster"
                return 1
            fi
            count=$((count + 1))
        done <<<"$rows"
        log "${job:+$job: }suspended $count Flux $what"
        flux_suspended=$((flux_suspended + count))
    done
}

# Suspends the management cluster's Flux, so it neither re-creates the Clusters deleted
# below nor prunes anything.
suspend_flux() {
    if ! suspend_flux_with mgmt management "management cluster $CLUSTER_NAME"; then
        die "$flux_error; unsuspended, Flux could re-create the Clusters this teardown deletes. Nothing was deleted and the server was kept"
    fi
}

# After the teardown ended with status $1: resumes what it suspended when it failed before
# deleting anything (and no earlier teardown left objects suspended); otherwise says how.
finish_flux() {
    local status=$1
    if ! resume_script_has_entries; then
        rm -f -- "$FLUX_RESUME_SCRIPT"
        return 0
    fi
    if ((status == 0)); then
        return 0
    fi
    if [[ ! -e "$workdir/deleted" && "$flux_earlier_suspensions" == false ]]; then
        log "nothing was deleted: resuming the Flux objects this teardown suspended"
        if bash "$FLUX_RESUME_SCRIPT" 2>"$workdir/resume.errors"; then
            relay_errors "$workdir/resume.errors"
            return 0
        fi
        relay_errors "$workdir/resume.errors"
    fi
    warn "the Flux Kustomizations and HelmReleases this teardown suspended (management and workload" \
        "clusters) stay SUSPENDED, so that nothing deleted is re-created before 'pulumi destroy' runs again." \
        "If you give up the destroy instead, resume them on the server: sudo bash $FLUX_RESUME_SCRIPT"
}
