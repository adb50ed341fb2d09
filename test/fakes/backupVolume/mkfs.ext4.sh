#!/usr/bin/env bash
# Fake mkfs.ext4 for test/backupVolume.spec.ts: logs, and the device then holds ext4.
set -euo pipefail
echo "mkfs.ext4 $*" >>"$FAKE_LOG"
echo ext4 >"$FAKE_STATE/fstype"
echo 0b6f1c2e-1111-4222-8333-944455556666 >"$FAKE_STATE/uuid"
