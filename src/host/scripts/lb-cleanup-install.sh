#!/usr/bin/env bash
# Installs the deletion cleanup (host/lb-cleanup.sh, rendered) and its systemd service and
# timer, and starts the timer. Idempotent: files are replaced only when their text
# differs (atomically), systemd is reloaded only then; a second run changes nothing.
#
# Parameters (rendered by lib/lbCleanup.ts):
#   SCRIPT_PATH  where the cleanup script goes (root-only, executable)
#   SCRIPT       its text
#   UNIT_DIR     systemd's directory for local units
#   UNIT         name of the service and the timer
#   SERVICE      text of <UNIT>.service
#   TIMER        text of <UNIT>.timer
set -euo pipefail
umask 022

# capi-mgmt:include files.sh
# capi-mgmt:include timer-install.sh

install_timer lb-cleanup-install "$SCRIPT_PATH" "$SCRIPT" "$UNIT_DIR" "$UNIT" "$SERVICE" "$TIMER"
