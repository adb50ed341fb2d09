#!/usr/bin/env bash
# Fake mountpoint for test/backupBefore.spec.ts: "mounted" when $FAKE_MOUNTED is 1.
[[ "${FAKE_MOUNTED:-0}" == 1 ]]
