#!/usr/bin/env bash
# Fake umount for test/backupBefore.spec.ts: logs its arguments.
echo "umount $*" >>"$FAKE_LOG"
