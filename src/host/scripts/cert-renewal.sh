#!/usr/bin/env bash
# cert-renewal.sh: cert-renewal step of the capi-mgmt management server (runs as root).
#
# Installs the certificate renewal of the kind management cluster and runs it once:
#   - the renewal script (host/cert-renew.sh, rendered) as RENEW_COMMAND, mode 0700;
#   - the units SERVICE_NAME and TIMER_NAME (host/systemd/) into UNIT_DIR, mode 0644;
# each written only when it differs; then systemd reloads (when a unit changed), the timer is
# enabled and started (restarted when its unit changed), and RENEW_COMMAND runs once, so a
# certificate already within its renewal window is renewed by this run, and the server's
# copy of the admin kubeconfig is current before the kubeconfig step reads the cluster.
#
# Stdout stays empty; every log line goes to stderr. A failed renewal fails the step.
#
# Parameters (rendered above this header by lib/certRenewal.ts):
#   RENEW_SCRIPT_BASE64  the rendered renewal script, base64-encoded
#   RENEW_COMMAND  where it is installed (the service's ExecStart)
#   UNIT_DIR       where the units go (/etc/systemd/system)
#   SERVICE_NAME, SERVICE_UNIT, TIMER_NAME, TIMER_UNIT
#                  the units' file names and texts
set -euo pipefail

: "${RENEW_SCRIPT_BASE64:?cert-renewal: RENEW_SCRIPT_BASE64 must be set}"
: "${RENEW_COMMAND:?cert-renewal: RENEW_COMMAND must be set}"
: "${UNIT_DIR:?cert-renewal: UNIT_DIR must be set}"
: "${SERVICE_NAME:?cert-renewal: SERVICE_NAME must be set}"
: "${SERVICE_UNIT:?cert-renewal: SERVICE_UNIT must be set}"
: "${TIMER_NAME:?cert-renewal: TIMER_NAME must be set}"
: "${TIMER_UNIT:?cert-renewal: TIMER_UNIT must be set}"

readonly SYSTEMCTL_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10
# The renewal waits for the kind step's lock, renews and restarts the control plane (bounded inside).
readonly RENEW_TIMEOUT_SECONDS=1800

log() {
    echo "cert-renewal: $*" >&2
}

die() {
    echo "cert-renewal: ERROR: $*" >&2
    exit 1
}

systemctl_bounded() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$SYSTEMCTL_TIMEOUT_SECONDS" systemctl "$@" </dev/null ||
        die "'systemctl $*' failed; see 'systemctl status $TIMER_NAME $SERVICE_NAME'"
}

# capi-mgmt:include files.sh

# write_if_changed, logging what it installed; returns 1 when nothing was written.
install_file() {
    local file=$1 mode=$2 content=$3
    write_if_changed "$file" "$content" "$mode" || return 1
    log "installed $file"
}

main() {
    local units_changed=0 timer_changed=0 script
    if [[ "$RENEW_COMMAND" != /* || "$UNIT_DIR" != /* ]]; then
        die "RENEW_COMMAND and UNIT_DIR must be absolute paths, got '$RENEW_COMMAND' and '$UNIT_DIR'"
    fi
    script=$(base64 -d <<<"$RENEW_SCRIPT_BASE64") || die "RENEW_SCRIPT_BASE64 is not base64"
    install_file "$RENEW_COMMAND" 0700 "$script" || true
    if install_file "$UNIT_DIR/$SERVICE_NAME" 0644 "$SERVICE_UNIT"; then
        units_changed=1
    fi
    if install_file "$UNIT_DIR/$TIMER_NAME" 0644 "$TIMER_UNIT"; then
        units_changed=1
        timer_changed=1
    fi
    if ((units_changed)); then
        systemctl_bounded daemon-reload
    fi
    systemctl_bounded enable --now "$TIMER_NAME"
    if ((timer_changed)); then
        systemctl_bounded restart "$TIMER_NAME"
    fi
    log "$TIMER_NAME is enabled; running the renewal check once now"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$RENEW_TIMEOUT_SECONDS" "$RENEW_COMMAND" </dev/null >&2 ||
        die "the certificate renewal ($RENEW_COMMAND) failed (see above); the kubeconfig of the management cluster may be about to expire. Run 'sudo $RENEW_COMMAND' on the server after fixing the cause"
}

main "$@"
