#!/usr/bin/env bash
# backup.sh: backs up the Cluster API state of the management cluster (runs as root).
#
# Usage: backup.sh [REASON]   REASON: scheduled (the timer), manual (`npm run backup`), ...;
#                             without one, BACKUP_REASON or scheduled
#
# Runs `clusterctl move --to-directory` (Cluster API v1.14) for the workload namespace into a
# new directory under BACKUP_DIR, then keeps the newest KEEP complete backups. Layout:
#
#   BACKUP_DIR/<UTC time>-<reason>/objects/   clusterctl's files, one object each: what
#                                              `clusterctl move --from-directory` reads (nothing else
#                                              may be in there: it reads every file)
#   BACKUP_DIR/<UTC time>-<reason>/backup.env time, reason, namespace, counts (no secret)
#   BACKUP_DIR/<UTC time>-<reason>/clusterctl.log
#   BACKUP_DIR/latest -> <UTC time>-<reason>  the last good backup
#   BACKUP_DIR/last-success, BACKUP_DIR/FAILED (see below)
#
# What clusterctl v1.14 saves: every object of a kind whose CRD has the label
# clusterctl.cluster.x-k8s.io (clusterctl init puts it on the providers' CRDs, src/host/scripts/orc.sh on
# ORC's) that hangs off a Cluster, ClusterClass or ClusterResourceSet by owner references,
# plus every object labelled clusterctl.cluster.x-k8s.io/move (the tree's ORC Images and
# ServerGroups, the credential Secrets), plus the Secrets of the namespace (the clusters' CAs
# and kubeconfigs) and those of the infrastructure provider's namespace that are labelled.
# Not saved: the cluster-scoped OpenStackClusterIdentity (no owner, no label). The program
# re-creates it, and the credential Secrets, on every server through the Kubernetes API, so
# the two credential Secrets named in CREDENTIAL_SECRETS are removed from the backup: a
# backup holds no OpenStack credential (it still holds the workload clusters' CA keys: root
# only, like the server's kubeconfig).
#
# clusterctl refuses (and this script says why, and what to do) when a Cluster is paused or
# a ClusterClass is, and while a Cluster or Machine is still being provisioned (a Machine
# without a node: a rollout or scale-up under way). It pauses the Clusters while it saves and
# resumes them after; should it fail in between, this script resumes the Clusters it paused.
#
# A failed backup exits non-zero (the systemd unit is then "failed") and leaves
# BACKUP_DIR/FAILED with the time and the reason; the next good backup removes it.
# Logs go to stderr; stdout gets one summary line.
#
# Parameters (rendered above this header by src/backup/backup.ts, or taken from the environment):
#   MGMT_KUBECONFIG     admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG   the active management cluster's kubeconfig when it exists
#                       (lib/mgmt-kubeconfig.sh): the cluster backed up
#   NAMESPACE           namespace of the workload Clusters
#   BACKUP_DIR          root-only directory of the backups
#   KEEP                number of complete backups kept (>= 1)
#   CREDENTIAL_SECRETS  space-separated namespace/name of Secrets left out of the backup
set -euo pipefail
umask 077

: "${MGMT_KUBECONFIG:?}" "${ACTIVE_KUBECONFIG:?}" "${NAMESPACE:?}" "${BACKUP_DIR:?}" "${KEEP:?}" "${CREDENTIAL_SECRETS?}"
REASON="${1:-${BACKUP_REASON:-scheduled}}"

log() { echo "backup: $*" >&2; }

# capi-mgmt:include capi-move.sh
# capi-mgmt:include mgmt-kubeconfig.sh

mgmt=$(mgmt_kubeconfig "$MGMT_KUBECONFIG" "$ACTIVE_KUBECONFIG")

# fail MESSAGE: records the failure for the operator (FAILED) and exits non-zero.
fail() {
    local now
    now=$(date +%s)
    printf 'time=%s\nreason=%s\nmessage=%s\n' "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)" "$REASON" "$1" >"$BACKUP_DIR/FAILED"
    log "FAILED: $1"
    exit 1
}

[[ "$REASON" =~ ^[a-z][a-z-]{0,30}$ ]] || { log "reason must be lowercase letters and dashes, got '$REASON'"; exit 2; }
[[ "$KEEP" =~ ^[1-9][0-9]*$ ]] || { log "KEEP must be a positive number, got '$KEEP'"; exit 2; }

mkdir -p "$BACKUP_DIR"
chmod 0700 "$BACKUP_DIR"
# One backup at a time (the timer's and one before a risky operation may meet).
exec 9>"$BACKUP_DIR/.lock"
flock -w 900 9 || fail "another backup has held $BACKUP_DIR/.lock for 15 minutes"

command -v clusterctl >/dev/null 2>&1 || fail "clusterctl is not installed (the tools step installs it)"
command -v kubectl >/dev/null 2>&1 || fail "kubectl is not installed (the tools step installs it)"
[[ -r "$mgmt" ]] || fail "no kubeconfig at $mgmt: is the management cluster up?"

kube() { kubectl --kubeconfig "$mgmt" --request-timeout=30s "$@"; }

now=$(date +%s)
stamp="$(date -u -d "@$now" +%Y%m%dT%H%M%SZ)-$REASON"
final="$BACKUP_DIR/$stamp"
n=1
while [[ -e "$final" ]]; do
    n=$((n + 1))
    final="$BACKUP_DIR/$stamp-$n"
done
work="$final.partial"
rm -rf -- "$work"
mkdir -p "$work/objects"

# Clusters paused before the run (clusterctl refuses them, so normally none).
paused_before=$(kube -n "$NAMESPACE" get clusters.cluster.x-k8s.io \
    -o jsonpath='{range .items[?(@.spec.paused==true)]}{.metadata.name}{"\n"}{end}') ||
    fail "cannot list the Clusters of namespace $NAMESPACE (see the kubectl output above)"

log "saving namespace $NAMESPACE with clusterctl move --to-directory ($REASON)"
status=0
CLUSTERCTL_DISABLE_VERSIONCHECK=true clusterctl move --kubeconfig "$mgmt" \
    --namespace "$NAMESPACE" --to-directory "$work/objects" >"$work/clusterctl.log" 2>&1 || status=$?

if ((status != 0)); then
    out=$(cat "$work/clusterctl.log")
    sed 's/^/  clusterctl: /' "$work/clusterctl.log" >&2
    rm -rf -- "$work"
    if refusal=$(capi_refusal "$out" "back up" "$NAMESPACE"); then
        case "$refusal" in
            paused\|*) fail "${refusal#paused|}" ;;
            *) fail "${refusal#busy|}; the timer tries again, or run 'systemctl start capi-mgmt-backup' once 'kubectl -n $NAMESPACE get machines' shows every Machine Running" ;;
        esac
    fi
    # Any other failure may come after clusterctl paused the Clusters: resume those it paused.
    paused_now=$(kube -n "$NAMESPACE" get clusters.cluster.x-k8s.io \
        -o jsonpath='{range .items[?(@.spec.paused==true)]}{.metadata.name}{"\n"}{end}' || true)
    while read -r name; do
        [[ -n "$name" ]] || continue
        if ! grep -qxF -- "$name" <<<"$paused_before"; then
            log "resuming Cluster $NAMESPACE/$name, which clusterctl paused before it failed"
            kube -n "$NAMESPACE" patch clusters.cluster.x-k8s.io "$name" --type merge -p '{"spec":{"paused":false}}' >&2 ||
                log "could not resume Cluster $NAMESPACE/$name: resume it yourself (kubectl -n $NAMESPACE patch cluster $name --type merge -p '{\"spec\":{\"paused\":false}}')"
        fi
    done <<<"$paused_now"
    fail "clusterctl move --to-directory failed (exit code $status, its output above)"
fi

# The credentials are the program's to re-create; a backup keeps none.
for s in $CREDENTIAL_SECRETS; do
    rm -f -- "$work/objects/Secret_${s%%/*}_${s#*/}.yaml"
done

shopt -s nullglob
files=("$work/objects"/*)
clusters=("$work/objects"/Cluster_*)
if ((${#clusters[@]} == 0)); then
    log "namespace $NAMESPACE has no Cluster: the backup holds only what is not tied to one"
fi
{
    printf 'time=%s\n' "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)"
    printf 'epoch=%s\nreason=%s\nnamespace=%s\nobjects=%s\nclusters=%s\n' "$now" "$REASON" "$NAMESPACE" "${#files[@]}" "${#clusters[@]}"
} >"$work/backup.env"
mv -- "$work" "$final"
ln -sfn -- "$(basename -- "$final")" "$BACKUP_DIR/latest.tmp"
mv -Tf -- "$BACKUP_DIR/latest.tmp" "$BACKUP_DIR/latest"
cp -- "$final/backup.env" "$BACKUP_DIR/last-success"
rm -f -- "$BACKUP_DIR/FAILED"
# On disk before anything may detach the backup volume (a serverGeneration bump moves it).
sync

# HOOK: object storage upload. Here, after a good local backup ($final complete, `latest` and
# `last-success` updated) and before the retention below, src/host/scripts/backup-upload.sh
# (the Swift upload, a separate change) is called with $final. Nothing else goes here.

# Retention: the newest KEEP complete backups (names sort by time), and no stale partial one.
complete=()
for d in "$BACKUP_DIR"/[0-9]*Z-*; do
    [[ -d "$d" && "$d" != *.partial ]] && complete+=("$d")
done
for d in "$BACKUP_DIR"/*.partial; do
    log "removing the unfinished backup $d"
    rm -rf -- "$d"
done
excess=$((${#complete[@]} - KEEP))
for ((i = 0; i < excess; i++)); do
    log "removing ${complete[$i]} (keeping the newest $KEEP)"
    rm -rf -- "${complete[$i]}"
done

# Object storage (capi-mgmt:backupObjectStorage): pulumi up installs backup-upload.sh and its
# configuration; it copies this backup to the stack's Swift container and applies the retention there.
upload=${BACKUP_UPLOAD_SCRIPT:-/usr/local/lib/capi-mgmt/backup-upload.sh}
if [[ -x "$upload" ]]; then
    "$upload" upload "$final" >&2 || fail "copying $final to object storage failed ($upload exit code $?, its output above); the local backup is good"
fi

echo "backup: $final: ${#files[@]} objects, ${#clusters[@]} Cluster(s) of namespace $NAMESPACE"
