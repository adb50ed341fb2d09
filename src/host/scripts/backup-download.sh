#!/usr/bin/env bash
# backup-download.sh: prints the management server's latest backup (src/host/scripts/backup.sh) for
# `npm run backup -- --to <directory>` (render/backup.ts): a line "name=<backup directory name>",
# then its objects/ and backup.env as base64 of a tar.gz. Runs as root; the backup holds the
# workload clusters' CA keys: it goes only to the ssh session's stdout.
#
# Parameters (rendered above this header by src/backup/backup.ts, or taken from the environment):
#   BACKUP_DIR  root-only directory of the backups
set -euo pipefail
: "${BACKUP_DIR:?}"
[[ -e "$BACKUP_DIR/latest" ]] || { echo "backup-download: no backup on this server ($BACKUP_DIR/latest is missing)" >&2; exit 1; }
src=$(readlink -f -- "$BACKUP_DIR/latest")
echo "name=${src##*/}"
tar -C "$src" -cz objects backup.env | base64 -w 76
