#!/usr/bin/env bash
# Installs the upload of the backups to object storage on the management server (host step
# backup-object-storage, capi-mgmt:backupObjectStorage; docs/backup-restore.md): the script
# src/host/scripts/backup-upload.sh (root-only, executable), which backup.sh calls after each good
# backup, and its configuration with the backup application credential (root-only, 0600).
# Idempotent: a file is replaced only when its text differs (atomically); a second run changes
# nothing. Prints only paths, never the configuration (it holds the credential's secret).
#
# Parameters (rendered by src/backup/objectStorage.ts; this script arrives on stdin, a Pulumi secret):
#   SCRIPT_PATH  where backup-upload.sh goes
#   SCRIPT       its text
#   CONFIG_PATH  where its configuration goes
#   CONFIG       its text (key=value lines)
set -euo pipefail
umask 077

# put PATH MODE TEXT: writes TEXT to PATH unless it is there already.
put() {
    local target=$1 mode=$2 text tmp
    text=$(printf '%s' "$3")
    if [[ -f "$target" && "$(cat "$target")" == "$text" ]]; then
        chmod "$mode" "$target"
        return 0
    fi
    mkdir -p -- "$(dirname -- "$target")"
    tmp=$(mktemp "$target.XXXXXX")
    printf '%s\n' "$text" >"$tmp"
    chmod "$mode" "$tmp"
    mv -f -- "$tmp" "$target"
    echo "backup-object-storage: wrote $target"
}

put "$SCRIPT_PATH" 0700 "$SCRIPT"
put "$CONFIG_PATH" 0600 "$CONFIG"
