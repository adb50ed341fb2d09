#!/usr/bin/env bash
# backup-before.sh: a backup of the Cluster API state before a risky operation (runs as root):
#   - the backup-before-upgrade step of `pulumi up` (src/backup/managementBackup.ts), before the
#     kind, ORC and Cluster API steps change a version (its trigger: those versions);
#   - the rebuild check (src/host/scripts/rebuild-check.sh), over SSH on the OLD server before a
#     serverGeneration bump creates the new one; with RELEASE_DIR it then unmounts the backup
#     volume there (synced), so that the detach that moves it to the new server finds it clean.
# A failed backup refuses the operation (exit 1) unless PROCEED_FILE exists (see
# lib/backup-before.sh). Without a management cluster on the server: nothing to do, exit 0.
#
# Parameters (rendered above this header by src/backup/backupBefore.ts):
#   REASON          the backup's reason, e.g. before-upgrade
#   WHAT            the operation, for the messages
#   BACKUP_COMMAND  the installed backup script
#   MGMT_KUBECONFIG the kind cluster's admin kubeconfig
#   ACTIVE_KUBECONFIG the active management cluster's kubeconfig when it exists (lib/mgmt-kubeconfig.sh)
#   PROCEED_FILE    the one-time override (`sudo touch` it to go on without a backup)
#   RELEASE_DIR     "" or the backup volume's mount point, to unmount after the backup
set -euo pipefail

# capi-mgmt:include backup-before.sh
# capi-mgmt:include mgmt-kubeconfig.sh

backup_before "$REASON" refuse "$WHAT" "$BACKUP_COMMAND" "$(mgmt_kubeconfig "$MGMT_KUBECONFIG" "$ACTIVE_KUBECONFIG")" "$PROCEED_FILE"

if [[ -n "$RELEASE_DIR" ]] && mountpoint -q -- "$RELEASE_DIR"; then
    sync
    # A backup the timer started meanwhile holds the lock; wait for it (bounded).
    if [[ -e "$RELEASE_DIR/.lock" ]]; then
        flock -w 900 "$RELEASE_DIR/.lock" true || echo "backup-before: a backup still runs in $RELEASE_DIR after 15 minutes" >&2
    fi
    if umount -- "$RELEASE_DIR"; then
        echo "backup-before: unmounted the backup volume from $RELEASE_DIR, for the new server" >&2
    else
        echo "backup-before: WARNING: could not unmount the backup volume from $RELEASE_DIR (it is synced; the new server replays its journal)" >&2
    fi
fi
