#!/usr/bin/env bash
# backup-install.sh: the backup step of `pulumi up` (src/backup/managementBackup.ts; runs as root).
# Installs the backup (src/host/scripts/backup.sh, rendered) and its systemd service and timer
# (src/host/systemd/capi-mgmt-backup.*, the timer with capi-mgmt:backup.schedule), and starts
# the timer. Idempotent: files are replaced only when their text differs (atomically), systemd
# is reloaded only then, the timer restarted only when its unit changed; a second run changes
# nothing.
#
# Parameters (rendered by src/backup/backup.ts):
#   SCRIPT_PATH  where the backup script goes (root-only, executable)
#   SCRIPT       its text
#   UNIT_DIR     systemd's directory for local units
#   UNIT         name of the service and the timer
#   SERVICE      text of <UNIT>.service
#   TIMER        text of <UNIT>.timer
set -euo pipefail
umask 022

# capi-mgmt:include files.sh
# capi-mgmt:include timer-install.sh

install_timer backup-install "$SCRIPT_PATH" "$SCRIPT" "$UNIT_DIR" "$UNIT" "$SERVICE" "$TIMER"
