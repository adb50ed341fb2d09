#!/usr/bin/env bash
# Fake umount for test/backupVolume.spec.ts: logs, and nothing is mounted any more.
echo "umount $*" >>"$FAKE_LOG"
rm -f "$FAKE_STATE/mounted"
