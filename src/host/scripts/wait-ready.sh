#!/usr/bin/env bash
# wait-ready.sh: readiness step of the capi-mgmt management server (runs as the login user).
#
# Waits, bounded, until cloud-init has finished, then requires the marker file that
# cloud-init's last step writes: the marker only exists when every earlier step succeeded.
# Later steps make the marker's directory root-only (0700), so on a re-run (pulumi-command
# runs the step again when its script or connection changes) the login user cannot see the
# marker: the script then looks for it as root, with non-interactive sudo, which the login
# user of the server image has (every later step runs with sudo too).
#
# Parameters (rendered above this header by lib/hostScripts.ts, or taken from the environment):
#   MARKER           path of the marker file cloud-init's last step writes
#   TIMEOUT_SECONDS  how long to wait for cloud-init to finish, in seconds
set -euo pipefail

: "${MARKER:?wait-ready: MARKER (path of the cloud-init completion marker) must be set}"
: "${TIMEOUT_SECONDS:?wait-ready: TIMEOUT_SECONDS (seconds to wait for cloud-init) must be set}"

# Seconds between the polite TERM and a KILL when cloud-init overruns the timeout.
readonly KILL_AFTER_SECONDS=10
readonly WHERE_TO_LOOK="see /var/log/cloud-init-output.log and 'cloud-init status --long' on the server"

log() {
    echo "wait-ready: $*" >&2
}

die() {
    echo "wait-ready: ERROR: $*" >&2
    exit 1
}

# Prints `cloud-init status --long`, or a note when even that fails; never fails itself.
long_status() {
    timeout --kill-after="$KILL_AFTER_SECONDS" 60 cloud-init status --long </dev/null 2>&1 ||
        echo "(cloud-init status --long failed too)"
}

check_parameters() {
    if [[ ! "$TIMEOUT_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
        die "TIMEOUT_SECONDS must be a positive whole number of seconds, got '$TIMEOUT_SECONDS'"
    fi
    if ! command -v cloud-init >/dev/null 2>&1; then
        die "cloud-init is not installed on this server; the server image must provide it"
    fi
}

# Waits for cloud-init and judges its exit status:
# 0 done, 2 done with recoverable errors (warn and go on), anything else fails the step.
wait_for_cloud_init() {
    local status=0
    log "waiting up to ${TIMEOUT_SECONDS}s for cloud-init to finish"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$TIMEOUT_SECONDS" \
        cloud-init status --wait </dev/null >&2 || status=$?
    case "$status" in
        0)
            log "cloud-init finished"
            ;;
        2)
            {
                echo "wait-ready: WARNING: cloud-init finished with recoverable errors; continuing."
                echo "wait-ready: WARNING: 'cloud-init status --long' reports:"
                long_status
            } >&2
            ;;
        124 | 137)
            long_status >&2
            die "cloud-init did not finish within ${TIMEOUT_SECONDS}s; $WHERE_TO_LOOK"
            ;;
        *)
            long_status >&2
            die "cloud-init failed (cloud-init status exit code $status); $WHERE_TO_LOOK"
            ;;
    esac
}

# True when the marker exists. The login user looks for it itself first; when it cannot
# see it (absent, or inside a directory it may not enter), root looks, through sudo.
marker_exists() {
    local errors
    if [[ -e "$MARKER" ]]; then
        return 0
    fi
    if ((EUID == 0)); then
        return 1
    fi
    if ! errors=$(sudo -n true 2>&1 </dev/null); then
        die "cannot look for the marker $MARKER as root: 'sudo -n true' failed (${errors//$'\n'/ });" \
            "the login user needs passwordless sudo, as every later step runs with sudo"
    fi
    sudo -n test -e "$MARKER" </dev/null
}

require_marker() {
    if ! marker_exists; then
        die "cloud-init finished but its last step did not write the marker $MARKER, so an earlier step failed; $WHERE_TO_LOOK"
    fi
}

main() {
    check_parameters
    wait_for_cloud_init
    require_marker
    echo "wait-ready: server is ready (cloud-init done, marker $MARKER present)"
}

main "$@"
