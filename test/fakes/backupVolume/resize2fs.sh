#!/usr/bin/env bash
# Fake resize2fs for test/backupVolume.spec.ts: logs.
echo "resize2fs $*" >>"$FAKE_LOG"
