#!/usr/bin/env bash
# A recording `systemctl` (the host-proxy and metadata-block steps' tests): only logs its arguments.
# Inputs (environment): FAKE_LOG, the log (`systemctl <args>` a line).
echo "systemctl $*" >>"$FAKE_LOG"
