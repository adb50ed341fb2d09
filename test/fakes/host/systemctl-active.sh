#!/usr/bin/env bash
# A recording `systemctl` for src/host/scripts/lb-cleanup-install.sh (test/lbCleanupInstall.spec.ts): logs its
# arguments; `is-active` prints "active".
# Inputs (environment): FAKE_LOG, the log (`systemctl <args>` a line).
echo "systemctl $*" >>"$FAKE_LOG"
[[ "$1" != is-active ]] || echo active
