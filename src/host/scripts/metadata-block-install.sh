#!/usr/bin/env bash
# metadata-block-install.sh: metadata-block step of the capi-mgmt management server (runs as
# root). Brings a server created before the metadata service was closed to its containers to
# what cloud-init does on a new one (lib/metadataBlock.ts): installs host/metadata-block.sh and
# its systemd unit, enables the unit (every boot, before Docker, which requires it) and runs it
# now, which puts the rule in place at once. Idempotent: on a server whose cloud-init did all
# this, it writes the same files again and the rule is not added twice.
#
# Parameters (rendered above this header by lib/metadataBlock.ts):
#   SCRIPT_PATH  where the rule's script is installed
#   SCRIPT       its text (host/metadata-block.sh, rendered)
#   UNIT_PATH    where the unit file is written
#   UNIT         its text
#   UNIT_NAME    the unit's name
set -euo pipefail

# Writes $3 to $1 with mode $2, replacing the file in one rename.
write_file() {
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    printf '%s' "$3" >"$tmp"
    chmod "$2" "$tmp"
    mv -f "$tmp" "$1"
}

mkdir -p "$(dirname "$SCRIPT_PATH")" "$(dirname "$UNIT_PATH")"
write_file "$SCRIPT_PATH" 0755 "$SCRIPT"
write_file "$UNIT_PATH" 0644 "$UNIT"
systemctl daemon-reload
systemctl enable "$UNIT_NAME"
# A oneshot that remains active is not run again by `start`: `restart` runs it now.
systemctl restart "$UNIT_NAME"
echo "metadata-block: $UNIT_NAME enabled and run"
