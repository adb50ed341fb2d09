#!/usr/bin/env bash
# Fake udevadm for test/backupVolume.spec.ts: nothing to settle.
exit 0
