#!/usr/bin/env bash
# A fake `sudo` for tests that already run as the needed user: drops a leading `-n` and runs
# the command as it is (never the machine's sudo). No inputs.
[[ "$1" == -n ]] && shift
exec "$@"
