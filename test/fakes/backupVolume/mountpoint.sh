#!/usr/bin/env bash
# Fake mountpoint for test/backupVolume.spec.ts: true for what the fake mount mounted.
[[ -f "$FAKE_STATE/mounted" && "$(cat "$FAKE_STATE/mounted")" == "${!#}" ]]
