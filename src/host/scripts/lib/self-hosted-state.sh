# shellcheck shell=bash
# The self-hosted mode's state on the server (docs/self-hosted.md, "State on the server"),
# shared by self-hosted-cluster.sh, self-hosted-pivot.sh and self-hosted-unpivot.sh. In
# STATE_DIR (root-only):
#   phase             where the Cluster API objects are, one word; absent: on the kind cluster
#                     (nothing pivoted yet); `pivoting`: a move to the self-hosted cluster
#                     began and did not end; `pivoted`: on the self-hosted cluster;
#                     `unpivoting`: a move back to kind began and did not end; `unpivoted`:
#                     back on kind (a destroy is under way)
#   kubeconfig        the self-hosted cluster's admin kubeconfig (0600)
#   active.kubeconfig a link to it exactly while the phase is `pivoted`: the active management
#                     cluster's kubeconfig, which every host tool and the teardown read
#                     (lib/mgmt-kubeconfig.sh; without it they use the kind cluster's)
#   lock              flock(1) of the scripts that change the state, and of the kubeconfig
#                     refresh (self-hosted-kubeconfig.sh), which then never overlap
# Only these scripts (and the refresh, `kubeconfig` only) write them; the marker is written before each move and after its check,
# so a run stopped anywhere leaves a phase the next run of up or destroy continues from.
# Callers define die().

# Prints the phase: kind, pivoting, pivoted, unpivoting or unpivoted.
read_phase() {
    local p=kind
    if [[ -f "$STATE_DIR/phase" ]]; then
        p=$(<"$STATE_DIR/phase")
        if [[ ! "$p" =~ ^(pivoting|pivoted|unpivoting|unpivoted)$ ]]; then
            die "$STATE_DIR/phase holds '$p', which is no phase of the self-hosted mode; it is written only by capi-mgmt's scripts (docs/self-hosted.md, \"State on the server\")"
        fi
    fi
    echo "$p"
}

# write_state FILE TEXT: writes STATE_DIR/FILE atomically, mode 0600.
write_state() {
    local tmp="$STATE_DIR/.$1.tmp.$$"
    (umask 077 && printf '%s\n' "$2" >"$tmp")
    mv -f -T -- "$tmp" "$STATE_DIR/$1"
}

# link_active: makes active.kubeconfig a link to kubeconfig (atomically), so the refreshed
# kubeconfig is the one every tool reads.
link_active() {
    local tmp="$STATE_DIR/.active.kubeconfig.tmp.$$"
    ln -s -f -n kubeconfig "$tmp"
    mv -f -T -- "$tmp" "$STATE_DIR/active.kubeconfig"
}

# lock_state SECONDS: takes STATE_DIR/lock (fd 8, held until the script exits), waiting at
# most SECONDS; returns 1 when it is held longer.
lock_state() {
    exec 8>"$STATE_DIR/lock"
    flock -w "$1" 8
}

# secret_kubeconfig RUNNER NAMESPACE CLUSTER: prints the admin kubeconfig Cluster API keeps in
# the Secret NAMESPACE/CLUSTER-kubeconfig (its client certificate renewed by Cluster API) of the
# cluster RUNNER (a function running kubectl against it) reaches; returns 1 when it is missing
# or holds no kubeconfig.
secret_kubeconfig() {
    local encoded text
    encoded=$("$1" get secret "$3-kubeconfig" -n "$2" -o 'jsonpath={.data.value}' </dev/null 2>/dev/null) || return 1
    [[ -n "$encoded" ]] || return 1
    text=$(base64 -d <<<"$encoded" 2>/dev/null) || return 1
    [[ "$text" == *"apiVersion: v1"* && "$text" == *"server: https://"* ]] || return 1
    printf '%s\n' "$text"
}

# open_state: makes STATE_DIR (root-only), takes its lock (waiting at most 10 minutes) and
# sets `phase` (read_phase).
open_state() {
    umask 077
    mkdir -p -- "$STATE_DIR"
    chmod 0700 -- "$STATE_DIR"
    lock_state 600 || die "$STATE_DIR/lock is held (by the kubeconfig refresh, for 10 minutes?); nothing was changed, run it again"
    # shellcheck disable=SC2034 # phase is the caller's (declared local there)
    phase=$(read_phase)
}

# set_phase PHASE: records PHASE (kind removes the marker).
set_phase() {
    if [[ "$1" == kind ]]; then
        rm -f -- "$STATE_DIR/phase"
    else
        write_state phase "$1"
    fi
}

# suspend_kustomizations RUNNER WHO: sets spec.suspend on every Flux Kustomization of the
# cluster RUNNER (a function running kubectl against it) reaches, after its controllers were
# scaled to zero. pivot.sh refuses to move while a Kustomization of the source is not
# suspended (a Flux started again later would apply the moved objects there from Git); the
# Deployments scaled to zero alone do not say so. WHO names the cluster in messages.
suspend_kustomizations() {
    local runner=$1 who=$2 list ns name
    list=$("$runner" get kustomizations.kustomize.toolkit.fluxcd.io -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}') ||
        die "cannot list the $who's Flux Kustomizations; nothing was moved"
    while read -r ns name; do
        [[ -n "$name" ]] || continue
        "$runner" patch kustomizations.kustomize.toolkit.fluxcd.io "$name" -n "$ns" --type merge -p '{"spec":{"suspend":true}}' >/dev/null ||
            die "cannot suspend the $who's Flux Kustomization $ns/$name; nothing was moved"
    done <<<"$list"
}
