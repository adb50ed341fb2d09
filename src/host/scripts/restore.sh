#!/usr/bin/env bash
# restore.sh: restores the Cluster API state of a backup into this management cluster (runs as
# root, sent by `npm run restore`, render/restore.ts; docs/operations.md, "Restore").
#
# Takes the backup given in UPLOAD (a base64 tar.gz of one backup directory of src/host/scripts/backup.sh:
# objects/ and backup.env) or, without one, BACKUP_DIR/latest on this server. Refuses
#   - a backup older than MAX_AGE_SECONDS (its backup.env time against this server's clock),
#     unless FORCE is true: the workload clusters have moved on since (rollouts, new
#     Machines), and Cluster API would act on the older state;
#   - a backup of another namespace than NAMESPACE;
#   - a management cluster that already has Clusters in NAMESPACE: two copies of a Cluster
#     (one from Git through Flux, one restored) would each build infrastructure. Restore
#     first, then let Flux apply the Clusters (it adopts the restored objects).
# Then runs `clusterctl move --from-directory` (Cluster API v1.14): it creates every object of
# the backup that does not exist yet (an existing one is kept as it is: the ClusterClass and
# templates Flux applied, the credentials and the identity the program created), rebuilds
# their owner references, and resumes the Clusters and ClusterClasses (saved paused). The
# workload clusters' servers are not touched: the providers find their infrastructure again.
#
# (clusterctl takes the target as --to-kubeconfig with --from-directory; --kubeconfig is refused.)
# clusterctl's output (object kinds and names, never their content) goes to stderr only when
# it fails. Logs go to stderr; stdout gets one summary line. Exit: 0 restored, 1 refused or
# failed, 2 bad parameters.
#
# Parameters (rendered above this header by src/backup/restore.ts, or taken from the environment):
#   MGMT_KUBECONFIG   admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG the active management cluster's kubeconfig when it exists
#                     (lib/mgmt-kubeconfig.sh): the cluster restored into
#   NAMESPACE         namespace of the workload Clusters
#   BACKUP_DIR        root-only directory of the local backups
#   MAX_AGE_SECONDS   the oldest backup restored without FORCE
#   FORCE             true: restore a backup older than MAX_AGE_SECONDS
#   UPLOAD            a backup as base64 of a tar.gz, or empty: BACKUP_DIR/latest
#   FROM_SWIFT        without UPLOAD: an object of the stack's Swift container (latest: the newest)
#                     fetched with UPLOAD_SCRIPT (backup-upload.sh fetch), or empty
#   UPLOAD_SCRIPT     backup-upload.sh as installed by pulumi up (capi-mgmt:backupObjectStorage)
set -euo pipefail
umask 077

: "${MGMT_KUBECONFIG:?}" "${ACTIVE_KUBECONFIG:?}" "${NAMESPACE:?}" "${BACKUP_DIR:?}" "${MAX_AGE_SECONDS:?}" "${FORCE:?}" "${UPLOAD?}" "${FROM_SWIFT?}" "${UPLOAD_SCRIPT:?}"

log() { echo "restore: $*" >&2; }

# capi-mgmt:include mgmt-kubeconfig.sh

mgmt=$(mgmt_kubeconfig "$MGMT_KUBECONFIG" "$ACTIVE_KUBECONFIG")
die() {
    log "$1"
    exit "${2:-1}"
}

[[ "$MAX_AGE_SECONDS" =~ ^[0-9]+$ ]] || die "MAX_AGE_SECONDS must be a number of seconds, got '$MAX_AGE_SECONDS'" 2
command -v clusterctl >/dev/null 2>&1 || die "clusterctl is not installed on this server (the tools step installs it)"
command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed on this server (the tools step installs it)"
[[ -r "$mgmt" ]] || die "no kubeconfig at $mgmt: is the management cluster up (pulumi up done)?"

work=""
cleanup() { [[ -z "$work" ]] || rm -rf -- "$work"; }
trap cleanup EXIT

if [[ -n "$UPLOAD" ]]; then
    mkdir -p "$BACKUP_DIR"
    chmod 0700 "$BACKUP_DIR"
    work=$(mktemp -d "$BACKUP_DIR/.restore-XXXXXX")
    base64 -d <<<"$UPLOAD" | tar -xz -C "$work" || die "the uploaded backup is not a tar.gz of a backup directory"
    src=$work
    what="the uploaded backup"
elif [[ -n "$FROM_SWIFT" ]]; then
    [[ -x "$UPLOAD_SCRIPT" ]] || die "this server has no copy to object storage ($UPLOAD_SCRIPT is missing): set capi-mgmt:backupObjectStorage.enabled and pulumi up first"
    mkdir -p "$BACKUP_DIR"
    chmod 0700 "$BACKUP_DIR"
    work=$(mktemp -d "$BACKUP_DIR/.restore-XXXXXX")
    object=()
    [[ "$FROM_SWIFT" == latest ]] || object=("$FROM_SWIFT")
    "$UPLOAD_SCRIPT" fetch "${object[@]}" "$work/backup" >&2 || die "could not fetch the backup $FROM_SWIFT from object storage (its output above)"
    src=$work/backup
    what="the backup $FROM_SWIFT from object storage"
else
    [[ -e "$BACKUP_DIR/latest" ]] || die "this server has no backup ($BACKUP_DIR/latest is missing: a new server starts without one); give one with --from <directory>"
    src=$(readlink -f -- "$BACKUP_DIR/latest")
    what="this server's latest backup ($src)"
fi
[[ -f "$src/backup.env" && -d "$src/objects" ]] || die "$what has no backup.env and objects/: not a backup of src/host/scripts/backup.sh"

# backup.env: key=value lines written by backup.sh; read, never sourced.
field() { sed -n "s/^$1=//p" "$src/backup.env" | head -n 1; }
epoch=$(field epoch)
taken=$(field time)
reason=$(field reason)
backup_ns=$(field namespace)
[[ "$epoch" =~ ^[0-9]+$ ]] || die "$what has no valid time in backup.env"
[[ "$backup_ns" == "$NAMESPACE" ]] || die "$what is of namespace '$backup_ns', this stack's workload namespace is '$NAMESPACE'"

now=$(date +%s)
age=$((now - epoch))
hours() { echo "$(($1 / 3600))h$(printf '%02d' $((($1 % 3600) / 60)))m"; }
if ((age > MAX_AGE_SECONDS)); then
    if [[ "$FORCE" != true ]]; then
        die "$what was taken at $taken ($reason), $(hours "$age") ago: older than the maximum age of $(hours "$MAX_AGE_SECONDS"). The workload clusters may have changed since (rollouts, new or replaced Machines), and Cluster API would act on that older state. Restore a newer backup, or this one with --force once you have checked what changed"
    fi
    log "WARNING: restoring a backup $(hours "$age") old (taken at $taken), older than the maximum age of $(hours "$MAX_AGE_SECONDS"): forced"
fi

kube() { kubectl --kubeconfig "$mgmt" --request-timeout=30s "$@"; }
existing=$(kube -n "$NAMESPACE" get clusters.cluster.x-k8s.io -o jsonpath='{range .items[*]}{.metadata.name}{" "}{end}') ||
    die "cannot list the Clusters of namespace $NAMESPACE (see the kubectl output above): is Cluster API installed (pulumi up done)?"
if [[ -n "${existing// /}" ]]; then
    die "the management cluster already has Clusters in namespace $NAMESPACE: ${existing% }. A restore would give Cluster API a second copy of each; it only restores into a management cluster without them. If Flux applied them from Git, see docs/operations.md, \"Restore\" (keep the Clusters out of the Git path until the restore is done)"
fi

shopt -s nullglob
files=("$src/objects"/*)
clusters=("$src/objects"/Cluster_*)
((${#files[@]} > 0)) || die "$what holds no object"
names=()
for f in "${clusters[@]}"; do
    f=${f##*/Cluster_"$NAMESPACE"_}
    names+=("${f%.yaml}")
done

log "restoring ${#files[@]} objects (${#clusters[@]} Cluster(s): ${names[*]:-none}) taken at $taken ($reason), $(hours "$age") ago"
logfile=$(mktemp)
status=0
CLUSTERCTL_DISABLE_VERSIONCHECK=true clusterctl move --to-kubeconfig "$mgmt" \
    --from-directory "$src/objects" >"$logfile" 2>&1 || status=$?
if ((status != 0)); then
    sed 's/^/  clusterctl: /' "$logfile" >&2
    rm -f -- "$logfile"
    work="" # kept: the command below needs it
    die "clusterctl move --from-directory failed (exit code $status, its output above). What it created stays, so a re-run of the restore refuses (the Clusters exist now); once the cause is fixed, complete it on the server (it keeps existing objects): sudo CLUSTERCTL_DISABLE_VERSIONCHECK=true clusterctl move --to-kubeconfig $mgmt --from-directory $src/objects"
fi
rm -f -- "$logfile"
echo "restore: restored ${#files[@]} objects of namespace $NAMESPACE, ${#clusters[@]} Cluster(s): ${names[*]:-none}, from the backup taken at $taken ($reason); Cluster API on this server manages them now"
