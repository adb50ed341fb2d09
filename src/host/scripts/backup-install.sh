#!/usr/bin/env bash
# Installs the backup (src/host/scripts/backup.sh, rendered) and its systemd service and
# timer, and starts the timer. Idempotent: files are replaced only when their text
# differs (atomically), systemd is reloaded only then; a second run changes nothing.
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

changed=0

# put PATH MODE TEXT: writes TEXT to PATH unless it is there already.
put() {
    local target=$1 mode=$2 text tmp
    text=$(printf '%s' "$3")
    if [[ -f "$target" && "$(cat "$target")" == "$text" ]]; then
        return 0
    fi
    mkdir -p -- "$(dirname -- "$target")"
    tmp=$(mktemp "$target.XXXXXX")
    printf '%s\n' "$text" >"$tmp"
    chmod "$mode" "$tmp"
    mv -f -- "$tmp" "$target"
    changed=1
    echo "backup-install: wrote $target"
}

put "$SCRIPT_PATH" 0700 "$SCRIPT"
put "$UNIT_DIR/$UNIT.service" 0644 "$SERVICE"
put "$UNIT_DIR/$UNIT.timer" 0644 "$TIMER"
if ((changed)); then
    systemctl daemon-reload
fi
systemctl enable --now "$UNIT.timer"
echo "backup-install: $UNIT.timer is $(systemctl is-active "$UNIT.timer" || true)"
