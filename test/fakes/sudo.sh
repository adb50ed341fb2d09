#!/usr/bin/env bash
# The fake `sudo` of test/fakes/sudo.ts: only `sudo -n COMMAND ARGS...` (non-interactive, as the
# scripts must call it). Hands the command, NUL-separated, to the root helper of sudo.ts through
# the FIFO `$FAKE_SUDO_DIR/request` and exits with the status read from `$FAKE_SUDO_DIR/reply`
# (the command's output is dropped).
# Inputs (environment):
#   FAKE_SUDO_LOG  log of the arguments of every call, one line each
#   FAKE_SUDO_DIR  the FIFOs; with `$FAKE_SUDO_DIR/denied` present it refuses like sudo
#                  without a sudoers rule
set -euo pipefail
printf '%s\n' "$*" >>"$FAKE_SUDO_LOG"
if [[ "${1:-}" != -n ]]; then
    echo "fake sudo: only non-interactive 'sudo -n' may be used by the scripts, got: $*" >&2
    exit 1
fi
shift
if [[ -e "$FAKE_SUDO_DIR/denied" ]]; then
    echo "sudo: a password is required" >&2
    exit 1
fi
printf '%s\0' "$@" >"$FAKE_SUDO_DIR/request"
read -r status <"$FAKE_SUDO_DIR/reply"
exit "$status"
