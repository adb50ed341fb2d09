#!/usr/bin/env bash
# pivot.sh: moves the Cluster API objects of one namespace from one management cluster to
# another with `clusterctl move` (Cluster API v1.14): the self-hosted mode's pivot (kind ->
# the HA cluster) and its reverse before `destroy` (FROM and TO swapped). docs/self-hosted.md,
# "The move (pivot.sh)".
#
# Usage: FROM_KUBECONFIG=<path> TO_KUBECONFIG=<path> NAMESPACE=<ns> CLUSTERCTL=<path> bash pivot.sh
# (kubectl on PATH). Exit: 0 moved and verified (or already moved by an earlier run), 1 refused
# or failed (stderr says why and what to do), 2 bad arguments.
#
# Before anything moves it refuses, with every reason it finds:
#   - a provider of the source's clusterctl inventory missing on the target, or at another
#     version there (clusterctl itself only wants the target's to be at least as new);
#   - what clusterctl refuses (lib/capi-move.sh, the backup's words): a paused Cluster or
#     ClusterClass, a Cluster still provisioning or rolling out, a Machine without a node;
#   - an OpenStackClusterIdentity the source's OpenStackClusters (or their templates) use, its
#     credential Secret, or the Secret the ORC objects use, missing on the target: clusterctl
#     does not move the cluster-scoped identity, and the program puts the identity and both
#     credential Secrets on each cluster itself (through the Kubernetes API);
#   - Flux on the source not suspended: it would apply the moved objects there again from Git;
#   - Clusters of NAMESPACE already on the target (a second copy would build infrastructure),
#     unless they are this pivot's own copies (see "Re-runs").
# What clusterctl would get wrong, handled here:
#   - the credential Secrets carry clusterctl's move label, so clusterctl would copy the
#     source's over the target's own and delete them from the source: the label is taken off
#     them on the source for the move and put back after (also when the move fails);
#   - ORC's CRDs need the clusterctl label for their objects to move (ORC's release manifest
#     has none; src/host/scripts/orc.sh puts it): labelled here on both clusters;
#   - ORC does not know clusterctl's delete-for-move annotation: when clusterctl deletes a
#     managed ORC object from the source, the source's ORC would delete its OpenStack
#     resource (a server group, an image). Managed ORC objects get
#     spec.managedOptions.onDelete=detach for the move (the previous value recorded in the
#     annotation capi-mgmt.io/pivot-on-delete), restored on the target afterwards.
# After the move it checks: every Cluster on the target and not paused, none left in
# NAMESPACE on the source (clusterctl deleted them there, so the source's Cluster API has
# nothing left to reconcile), the ORC objects moved too.
#
# Re-runs. Before clusterctl runs, the source's Clusters and ClusterClasses get the annotation
# capi-mgmt.io/pivot (clusterctl copies it to the target; removed there at the end). A paused
# Cluster with it was paused by clusterctl during an earlier run of this script.
#   - After a completed pivot (no Cluster left on the source, the Clusters on the target):
#     nothing moves again; what is left to finish on the target is finished, then verified.
#   - clusterctl stopped before creating anything on the target: the source's Clusters it
#     paused are resumed and the pivot runs again.
#   - clusterctl stopped while creating on the target (the target lacks some of the source's
#     objects; clusterctl deletes nothing before every object is created): the source is
#     complete and the target's copies paused, so the source's Clusters are resumed and
#     clusterctl runs again (it updates the copies it made).
#   - clusterctl stopped while deleting from the source (every Cluster API object left on
#     the source is on the target): refused, naming the leftovers and the commands that
#     finish the deletion; run this script again afterwards.
# Logs on stderr (clusterctl's output, kinds and names, only when it fails); one summary line
# on stdout.
set -euo pipefail
umask 077

log() { echo "pivot: $*" >&2; }
usage() {
    log "$1"
    log "usage: FROM_KUBECONFIG=<path> TO_KUBECONFIG=<path> NAMESPACE=<namespace> CLUSTERCTL=<path> bash pivot.sh"
    exit 2
}
die() {
    log "REFUSED: $1"
    exit 1
}
fail() {
    log "FAILED: $1"
    exit 1
}

(($# == 0)) || usage "takes no arguments (got: $*); its parameters are environment variables"
for v in FROM_KUBECONFIG TO_KUBECONFIG NAMESPACE CLUSTERCTL; do
    [[ -n "${!v:-}" ]] || usage "$v is not set"
done
[[ "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || usage "NAMESPACE must be a Kubernetes namespace name, got '$NAMESPACE'"
[[ -r "$FROM_KUBECONFIG" ]] || usage "FROM_KUBECONFIG: no readable kubeconfig at $FROM_KUBECONFIG"
[[ -r "$TO_KUBECONFIG" ]] || usage "TO_KUBECONFIG: no readable kubeconfig at $TO_KUBECONFIG"
[[ -x "$CLUSTERCTL" ]] || usage "CLUSTERCTL: no executable clusterctl at $CLUSTERCTL"
command -v kubectl >/dev/null 2>&1 || fail "kubectl is not on PATH"

# capi-mgmt:include capi-move.sh
if ! declare -F capi_refusal >/dev/null; then
    # Run as a file (not rendered, so the line above is a comment): the shared functions next to it.
    # shellcheck source=/dev/null # lib/capi-move.sh, checked on its own
    source "$(dirname -- "${BASH_SOURCE[0]}")/lib/capi-move.sh"
fi

from() { kubectl --kubeconfig "$FROM_KUBECONFIG" --request-timeout=30s "$@"; }
to() { kubectl --kubeconfig "$TO_KUBECONFIG" --request-timeout=30s "$@"; }

readonly MARK="capi-mgmt.io/pivot"
readonly ON_DELETE_MARK="capi-mgmt.io/pivot-on-delete"
readonly MOVE_LABEL="clusterctl.cluster.x-k8s.io/move"
readonly CLUSTERCTL_LABEL="clusterctl.cluster.x-k8s.io"
readonly ORC_GROUP="openstack.k-orc.cloud"
readonly R_CLUSTER="clusters.v1beta2.cluster.x-k8s.io"
readonly R_CLASS="clusterclasses.v1beta2.cluster.x-k8s.io"
readonly R_IDENTITY="openstackclusteridentities.infrastructure.cluster.x-k8s.io"

server_of() { kubectl --kubeconfig "$1" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true; }
from_server=$(server_of "$FROM_KUBECONFIG")
to_server=$(server_of "$TO_KUBECONFIG")
[[ -z "$from_server" || "$from_server" != "$to_server" ]] || usage "FROM_KUBECONFIG and TO_KUBECONFIG point at the same API server ($from_server)"

# clusters KUBE: "name|spec.paused|annotations" of the namespace's Clusters, a line each.
clusters() { "$1" -n "$NAMESPACE" get "$R_CLUSTER" -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.spec.paused}{"|"}{.metadata.annotations}{"\n"}{end}'; }
names() { cut -d'|' -f1 <<<"$1" | sed '/^$/d' | paste -sd ' '; }
src_list=$(clusters from) || fail "cannot list the Clusters of namespace $NAMESPACE on the source ($FROM_KUBECONFIG): see kubectl's message above. Is Cluster API installed there?"
dst_list=$(clusters to) || fail "cannot list the Clusters of namespace $NAMESPACE on the target ($TO_KUBECONFIG): see kubectl's message above. Is Cluster API installed there?"
src_names=$(names "$src_list")
dst_names=$(names "$dst_list")

# The ORC kinds (resource names) both clusters have, and their CRDs labelled for clusterctl.
orc_kinds() { "$1" get crd -o name | sed -n "s#^customresourcedefinition.apiextensions.k8s.io/\(.*\.$ORC_GROUP\)\$#\1#p"; }
label_orc_crds() {
    local kube=$1 crds
    crds=$(orc_kinds "$kube" | paste -sd ' ') || return 1
    [[ -z "$crds" ]] && return 0
    # shellcheck disable=SC2086 # one word per CRD
    "$kube" label --overwrite crd $crds "$CLUSTERCTL_LABEL=" >/dev/null
}

# orc_objects KUBE: "resource|name|managementPolicy|onDelete|credentials secret|annotations" of the namespace's ORC objects.
orc_objects() {
    local kube=$1 kinds kind
    kinds=$(orc_kinds "$kube") || return 1
    for kind in $kinds; do
        "$kube" -n "$NAMESPACE" get "$kind" -o jsonpath="{range .items[*]}$kind{\"|\"}{.metadata.name}{\"|\"}{.spec.managementPolicy}{\"|\"}{.spec.managedOptions.onDelete}{\"|\"}{.spec.cloudCredentialsRef.secretName}{\"|\"}{.metadata.annotations}{\"\\n\"}{end}" || return 1
    done
}

# restore_on_delete KUBE: puts back the onDelete this script replaced by detach (the annotation's value).
restore_on_delete() {
    local kube=$1 objs kind name policy on_delete secret ann prev patch
    objs=$(orc_objects "$kube") || return 1
    while IFS='|' read -r kind name policy on_delete secret ann; do
        [[ -n "$name" && "$ann" == *"\"$ON_DELETE_MARK\":"* ]] || continue
        prev=$("$kube" -n "$NAMESPACE" get "$kind" "$name" -o jsonpath="{.metadata.annotations.capi-mgmt\\.io/pivot-on-delete}") || return 1
        if [[ "$prev" == unset ]]; then
            patch='[{"op":"remove","path":"/spec/managedOptions"}]'
        else
            patch="[{\"op\":\"replace\",\"path\":\"/spec/managedOptions/onDelete\",\"value\":\"$prev\"}]"
        fi
        "$kube" -n "$NAMESPACE" patch "$kind" "$name" --type json -p "$patch" >/dev/null || return 1
        "$kube" -n "$NAMESPACE" annotate "$kind" "$name" "$ON_DELETE_MARK-" >/dev/null || return 1
        log "ORC $kind $NAMESPACE/$name: onDelete back to ${prev/unset/its default}"
    done <<<"$objs"
}

# resume_marked KUBE: resumes the Clusters and ClusterClasses clusterctl paused during this pivot (marked), and only those.
resume_marked() {
    local kube=$1 list name paused ann
    list=$(clusters "$kube") || return 1
    while IFS='|' read -r name paused ann; do
        if [[ -n "$name" && "$paused" == true && "$ann" == *"\"$MARK\":"* ]]; then
            log "resuming Cluster $NAMESPACE/$name, paused by clusterctl during this pivot"
            "$kube" -n "$NAMESPACE" patch "$R_CLUSTER" "$name" --type merge -p '{"spec":{"paused":false}}' >/dev/null || return 1
        fi
    done <<<"$list"
    list=$("$kube" -n "$NAMESPACE" get "$R_CLASS" -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.metadata.annotations}{"\n"}{end}') || return 1
    while IFS='|' read -r name ann; do
        if [[ -n "$name" && "$ann" == *"\"$MARK\":"* && "$ann" == *'"cluster.x-k8s.io/paused":'* ]]; then
            log "resuming ClusterClass $NAMESPACE/$name, paused by clusterctl during this pivot"
            "$kube" -n "$NAMESPACE" annotate "$R_CLASS" "$name" cluster.x-k8s.io/paused- >/dev/null || return 1
        fi
    done <<<"$list"
}

# unmark KUBE: drops this pivot's annotation from the namespace's Clusters and ClusterClasses.
unmark() {
    "$1" -n "$NAMESPACE" annotate "$R_CLUSTER" --all "$MARK-" >/dev/null && "$1" -n "$NAMESPACE" annotate "$R_CLASS" --all "$MARK-" >/dev/null
}

# finish_on_target: what a pivot leaves to do on the target after clusterctl: its Clusters
# and ClusterClasses resumed (clusterctl does it; again after a stop in between), ORC's
# onDelete back, the marks gone.
finish_on_target() {
    resume_marked to || fail "could not resume the Clusters on the target (kubectl's message above); run pivot.sh again"
    restore_on_delete to || fail "could not put back the ORC objects' onDelete on the target (kubectl's message above); run pivot.sh again"
    unmark to || fail "could not remove the $MARK annotation on the target (kubectl's message above); run pivot.sh again"
}

# verify: every Cluster moved is on the target and not paused; none is left on the source.
verify() {
    local want=$1 list left problems=() name paused ann
    list=$(clusters to) || fail "cannot list the Clusters on the target to verify the move"
    for name in $want; do
        if ! grep -q "^$name|" <<<"$list"; then
            problems+=("Cluster $NAMESPACE/$name is not on the target")
        elif grep -q "^$name|true|" <<<"$list"; then
            problems+=("Cluster $NAMESPACE/$name is paused on the target")
        fi
    done
    left=$(clusters from) || fail "cannot list the Clusters on the source to verify the move"
    left=$(names "$left")
    [[ -z "$left" ]] || problems+=("the source still has Clusters in $NAMESPACE: $left")
    ((${#problems[@]} == 0)) || fail "the move is not complete: $(printf '%s; ' "${problems[@]}")run pivot.sh again"
}

# --- A run after a completed pivot: nothing to move.
if [[ -z "$src_names" ]]; then
    [[ -n "$dst_names" ]] || die "neither cluster has a Cluster in namespace $NAMESPACE: nothing to move. Check NAMESPACE, and that FROM_KUBECONFIG is the cluster that manages the Clusters now"
    log "the source has no Cluster in $NAMESPACE and the target has $dst_names: already moved, not moving again"
    finish_on_target
    verify "$dst_names"
    echo "pivot: already done: Cluster(s) $dst_names of namespace $NAMESPACE are on the target ($to_server), none on the source"
    exit 0
fi

# --- Clusters on the target: refused, unless they are this pivot's own copies.
rerun_create=false
if [[ -n "$dst_names" ]]; then
    marked_paused=true
    while IFS='|' read -r name paused ann; do
        [[ -n "$name" ]] || continue
        [[ "$paused" == true && "$ann" == *"\"$MARK\":"* ]] || marked_paused=false
    done <<<"$src_list"
    foreign=()
    for name in $dst_names; do
        [[ " $src_names " == *" $name "* ]] || foreign+=("$name")
    done
    if [[ "$marked_paused" != true || ${#foreign[@]} -gt 0 ]]; then
        die "the target already has Clusters in namespace $NAMESPACE: $dst_names. A move would give Cluster API a second copy of the source's Clusters ($src_names), each building infrastructure. Pivot only into a management cluster without them: if they came from Git (Flux), keep them out of the target's Git path until the pivot is done"
    fi
    # An earlier run stopped in the middle. clusterctl creates everything on the target before it
    # deletes anything on the source: compare the Cluster API objects of the namespace.
    kinds=$(from get crd -l "$CLUSTERCTL_LABEL" -o jsonpath='{range .items[?(@.spec.scope=="Namespaced")]}{.metadata.name}{"\n"}{end}') ||
        fail "cannot list the source's Cluster API CRDs"
    missing=()
    leftovers=()
    for kind in $kinds; do
        [[ "$kind" == providers.clusterctl.cluster.x-k8s.io ]] && continue
        src_objs=$(from -n "$NAMESPACE" get "$kind" -o name) || fail "cannot list $kind on the source"
        dst_objs=$(to -n "$NAMESPACE" get "$kind" -o name 2>/dev/null || true)
        for o in $src_objs; do
            if grep -qxF -- "$o" <<<"$dst_objs"; then
                leftovers+=("$o")
            else
                missing+=("$o")
            fi
        done
    done
    if ((${#missing[@]} == 0)); then
        die "an earlier pivot stopped while clusterctl deleted the moved objects from the source: everything left in $NAMESPACE on the source is also on the target (paused there, so nothing reconciles it). Finish the deletion on the source, as clusterctl does (each object: mark it, delete it, drop its finalizers so no controller acts on the deletion): for o in ${leftovers[*]}; do kubectl --kubeconfig $FROM_KUBECONFIG -n $NAMESPACE annotate \$o clusterctl.cluster.x-k8s.io/delete-for-move= && kubectl --kubeconfig $FROM_KUBECONFIG -n $NAMESPACE delete \$o --wait=false && kubectl --kubeconfig $FROM_KUBECONFIG -n $NAMESPACE patch \$o --type merge -p '{\"metadata\":{\"finalizers\":[]}}'; done; then run pivot.sh again (it resumes the Clusters on the target)"
    fi
    log "an earlier pivot stopped while creating on the target (${#missing[@]} object(s) not there yet, e.g. ${missing[0]}); the source is complete: resuming its Clusters and moving again (clusterctl updates the copies it made)"
    rerun_create=true
fi

# A pivot that stopped before creating anything (or while creating): the source's Clusters it paused resume.
if grep -q "^[^|]*|true|.*\"$MARK\":" <<<"$src_list"; then
    [[ "$rerun_create" == true ]] || log "an earlier pivot stopped before creating anything on the target: resuming the source's Clusters it paused, then moving"
    resume_marked from || fail "could not resume the source's Clusters paused by an earlier pivot (kubectl's message above)"
    restore_on_delete from || fail "could not put back the source's ORC onDelete (kubectl's message above)"
fi

# --- Preconditions: every problem, then refuse.
problems=()

# Providers: the source's inventory, each at the same version on the target.
inventory() { "$1" get providers.clusterctl.cluster.x-k8s.io -A -o jsonpath='{range .items[*]}{.type}{"/"}{.providerName}{"|"}{.version}{"\n"}{end}'; }
src_inv=$(inventory from) || fail "cannot read clusterctl's provider inventory on the source (providers.clusterctl.cluster.x-k8s.io): was it set up with clusterctl init?"
dst_inv=$(inventory to 2>/dev/null) || dst_inv=""
while IFS='|' read -r provider version; do
    [[ -n "$provider" ]] || continue
    there=$(sed -n "s#^$provider|##p" <<<"$dst_inv" | paste -sd ',')
    if [[ -z "$there" ]]; then
        problems+=("provider $provider $version is not installed on the target (clusterctl's inventory there has: $(cut -d'|' -f1 <<<"$dst_inv" | paste -sd ' ' || true)). Install the same providers at the same versions on the target first (clusterctl init with the source's versions)")
    elif [[ "$there" != "$version" ]]; then
        problems+=("provider $provider is $version on the source but $there on the target: install the same version on the target first")
    fi
done <<<"$src_inv"

# What clusterctl refuses (the backup's words).
checks=$(capi_move_check from "$NAMESPACE" move) || fail "cannot read the Clusters, ClusterClasses and Machines of $NAMESPACE on the source"
while IFS= read -r line; do
    case "$line" in
        paused\|*) problems+=("${line#paused|}") ;;
        busy\|*) problems+=("${line#busy|}; pivot once 'kubectl -n $NAMESPACE get machines' shows every Machine Running and the Clusters are provisioned") ;;
    esac
done <<<"$checks"

# The identity and the credential Secrets clusterctl must not move: the target's own.
identities=$(
    from -n "$NAMESPACE" get openstackclusters.infrastructure.cluster.x-k8s.io,openstackclustertemplates.infrastructure.cluster.x-k8s.io \
        -o jsonpath='{range .items[*]}{.spec.identityRef.type}{.spec.template.spec.identityRef.type}{"|"}{.spec.identityRef.name}{.spec.template.spec.identityRef.name}{"\n"}{end}' |
        sed -n 's/^ClusterIdentity|//p' | sort -u
) || fail "cannot read the OpenStackClusters of $NAMESPACE on the source"
credentials=()
for id in $identities; do
    ref=$(from get "$R_IDENTITY" "$id" -o jsonpath='{.spec.secretRef.namespace}/{.spec.secretRef.name}' 2>/dev/null || true)
    if ! to get "$R_IDENTITY" "$id" -o name >/dev/null 2>&1; then
        problems+=("the OpenStackClusterIdentity $id the Clusters use is not on the target: clusterctl does not move it (cluster-scoped). Create it there first, as the program does on each cluster (pulumi up), with its Secret")
    fi
    if [[ "$ref" == */* && "$ref" != /* && "$ref" != */ ]]; then
        credentials+=("$ref")
    fi
done
orc=$(orc_objects from) || fail "cannot read the ORC objects of $NAMESPACE on the source"
while IFS='|' read -r kind name policy on_delete secret ann; do
    [[ -n "$secret" ]] && credentials+=("$NAMESPACE/$secret")
done <<<"$orc"
mapfile -t credentials < <(printf '%s\n' "${credentials[@]}" | sed '/^$/d' | sort -u)
for ref in "${credentials[@]}"; do
    if ! to -n "${ref%%/*}" get secret "${ref#*/}" -o name >/dev/null 2>&1; then
        problems+=("the credential Secret $ref is not on the target: the program puts the OpenStack credentials on each cluster itself (they are not moved). Create it there first (pulumi up)")
    fi
done

# Flux on the source would apply the moved ClusterClass and Clusters there again from Git,
# and the source's Cluster API would build them a second time.
flux=$(from get kustomizations.kustomize.toolkit.fluxcd.io -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"|"}{.spec.suspend}{"\n"}{end}' 2>/dev/null || true)
active=$(sed -n 's/|\(false\)\{0,1\}$//p' <<<"$flux" | paste -sd ' ')
if [[ -n "$active" ]]; then
    problems+=("Flux on the source is not suspended (Kustomization(s) $active): it would apply the moved objects there again from Git, and the source's Cluster API would build the Clusters a second time. Suspend it first (flux suspend kustomization --all --all-namespaces, or kubectl patch each with spec.suspend=true), or remove it")
fi

if ((${#problems[@]})); then
    for p in "${problems[@]}"; do
        log "REFUSED: $p"
    done
    log "nothing was moved ($((${#problems[@]})) problem(s) above)"
    exit 1
fi

# --- The move.
label_orc_crds from || fail "cannot label ORC's CRDs on the source for clusterctl (kubectl's message above)"
label_orc_crds to || fail "cannot label ORC's CRDs on the target for clusterctl (kubectl's message above)"

unlabelled=()
relabel() {
    local ref
    for ref in "${unlabelled[@]}"; do
        from -n "${ref%%/*}" label secret "${ref#*/}" "$MOVE_LABEL=" --overwrite >/dev/null ||
            log "could not put the label $MOVE_LABEL back on the source's Secret $ref: kubectl --kubeconfig $FROM_KUBECONFIG -n ${ref%%/*} label secret ${ref#*/} $MOVE_LABEL="
    done
    unlabelled=()
}
trap relabel EXIT
for ref in "${credentials[@]}"; do
    labels=$(from -n "${ref%%/*}" get secret "${ref#*/}" -o jsonpath='{.metadata.labels}' 2>/dev/null || true)
    if [[ "$labels" == *"\"$MOVE_LABEL\":"* ]]; then
        unlabelled+=("$ref")
        from -n "${ref%%/*}" label secret "${ref#*/}" "$MOVE_LABEL-" >/dev/null || fail "cannot take the move label off the source's credential Secret $ref"
    fi
done

# Managed ORC objects: detach for the move (ORC ignores clusterctl's delete-for-move).
while IFS='|' read -r kind name policy on_delete secret ann; do
    [[ -n "$name" && "$policy" == managed && "$on_delete" != detach ]] || continue
    if ! { from -n "$NAMESPACE" annotate "$kind" "$name" --overwrite "$ON_DELETE_MARK=${on_delete:-unset}" >/dev/null &&
        from -n "$NAMESPACE" patch "$kind" "$name" --type merge -p '{"spec":{"managedOptions":{"onDelete":"detach"}}}' >/dev/null; }; then
        fail "cannot set onDelete=detach on the source's ORC $kind $NAMESPACE/$name (kubectl's message above)"
    fi
done <<<"$orc"

if ! { from -n "$NAMESPACE" annotate "$R_CLUSTER" --all --overwrite "$MARK=to $to_server" >/dev/null &&
    from -n "$NAMESPACE" annotate "$R_CLASS" --all --overwrite "$MARK=to $to_server" >/dev/null; }; then
    fail "cannot mark the source's Clusters for the pivot (kubectl's message above)"
fi

log "moving namespace $NAMESPACE (Cluster(s) $src_names) from $from_server to $to_server with clusterctl move"
logfile=$(mktemp)
trap 'rm -f -- "$logfile"; relabel' EXIT
status=0
CLUSTERCTL_DISABLE_VERSIONCHECK=true "$CLUSTERCTL" move --kubeconfig "$FROM_KUBECONFIG" --to-kubeconfig "$TO_KUBECONFIG" \
    --namespace "$NAMESPACE" >"$logfile" 2>&1 || status=$?
out=$(cat "$logfile")
if ((status != 0)); then
    sed 's/^/  clusterctl: /' "$logfile" >&2
    now=$(clusters to 2>/dev/null || true)
    if [[ -z "$(names "$now")" ]]; then
        # Nothing created on the target: the source as it was.
        resume_marked from || log "could not resume the source's Clusters: run pivot.sh again"
        restore_on_delete from || log "could not put back the source's ORC onDelete: run pivot.sh again"
        unmark from || true
        if refusal=$(capi_refusal "$out" move "$NAMESPACE"); then
            die "${refusal#*|}"
        fi
        fail "clusterctl move failed before creating anything on the target (exit code $status, its output above); the source is as it was. Fix the cause and run pivot.sh again"
    fi
    fail "clusterctl move stopped midway (exit code $status, its output above): the Clusters are paused on both sides, so nothing reconciles them. Fix the cause and run pivot.sh again: it completes the move"
fi
relabel
# ORC objects clusterctl did not take (no move label) stay on the source: their onDelete back.
restore_on_delete from || log "could not put back the onDelete of the ORC objects left on the source: kubectl --kubeconfig $FROM_KUBECONFIG -n $NAMESPACE get <kind> -o yaml shows them by the annotation $ON_DELETE_MARK"

finish_on_target
verify "$src_names"
echo "pivot: moved Cluster(s) $src_names of namespace $NAMESPACE from $from_server to $to_server; the target's Cluster API manages them now, the source has none"
