#!/usr/bin/env bash
# The fake kubectl of the teardown tests (test/fakes/teardownFakes.ts), on PATH as `kubectl`:
# sends its arguments to the fake kubectl's server (test/fakes/kubectl-server/server.cjs, a Node process of the test run) over a
# loopback TCP connection and relays its answer (exit status, stdout, stderr).
# Inputs (environment):
#   FAKE_KUBECTL_PORT  the server's port on 127.0.0.1
#   FAKE_STATE, FAKE_KUBECTL_LOG, FAKE_CLOCK_DIR  passed on to the server with the client's PID:
#                      the fake API state, the call log, the virtual clock
set -euo pipefail
exec 3<>"/dev/tcp/127.0.0.1/$FAKE_KUBECTL_PORT"
printf '%s\0' "$(($# + 4))" "$FAKE_STATE" "$FAKE_KUBECTL_LOG" "$FAKE_CLOCK_DIR" "$$" "$@" >&3
IFS= read -r -d '' code <&3
IFS= read -r -d '' out <&3 || true
IFS= read -r -d '' err <&3 || true
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$code"
