#!/usr/bin/env bash
# Fake mount for test/backupVolume.spec.ts: logs; the last argument is then a mount point.
set -euo pipefail
echo "mount $*" >>"$FAKE_LOG"
printf '%s\n' "${!#}" >"$FAKE_STATE/mounted"
