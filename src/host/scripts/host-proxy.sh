#!/usr/bin/env bash
# host-proxy.sh: host proxy step of the capi-mgmt management server (runs as root).
#
# Keeps apt's and Docker's proxy on a live server as capi-mgmt:proxy says, the same as the
# user-data set them on the first boot (cloud-init runs its modules only once):
#   - apt: APT_PROXY_CONF is written to APT_PROXY_PATH (cloud-init's own apt proxy file);
#     without a proxy the file is removed.
#   - Docker: DOCKER_DAEMON_JSON (the text the user-data renders) is written to
#     DOCKER_DAEMON_JSON_PATH when it differs. Docker reads its proxy only when it starts;
#     restarting it would stop the kind node with the whole management cluster, so Docker is
#     restarted only when no container runs. Otherwise STATE_DIR/RESTART_PENDING_FILE is
#     left behind, and the kind step restarts Docker before it next creates the cluster
#     (the only time Docker itself pulls: kind's node image). A reboot applies it as well.
#
# Stdout says what changed; logs go to stderr.
#
# Parameters (rendered above this header by lib/hostScripts.ts, or taken from the environment):
#   APT_PROXY_PATH           apt's proxy file
#   APT_PROXY_CONF           optional: its content (Acquire::http(s)::Proxy lines); unset: no proxy
#   DOCKER_DAEMON_JSON_PATH  Docker's daemon.json
#   DOCKER_DAEMON_JSON       its content
#   STATE_DIR                root-only directory of the program's state
#   RESTART_PENDING_FILE     name (in STATE_DIR) of the marker of a deferred Docker restart
set -euo pipefail

: "${APT_PROXY_PATH:?host-proxy: APT_PROXY_PATH must be set}"
: "${DOCKER_DAEMON_JSON_PATH:?host-proxy: DOCKER_DAEMON_JSON_PATH must be set}"
: "${DOCKER_DAEMON_JSON:?host-proxy: DOCKER_DAEMON_JSON must be set}"
: "${STATE_DIR:?host-proxy: STATE_DIR must be set}"
: "${RESTART_PENDING_FILE:?host-proxy: RESTART_PENDING_FILE must be set}"

readonly QUERY_TIMEOUT_SECONDS=60
readonly RESTART_TIMEOUT_SECONDS=300
readonly KILL_AFTER_SECONDS=10

log() {
    echo "host-proxy: $*" >&2
}

die() {
    echo "host-proxy: ERROR: $*" >&2
    exit 1
}

# capi-mgmt:include files.sh

configure_apt() {
    if [[ -n "${APT_PROXY_CONF:-}" ]]; then
        if write_if_changed "$APT_PROXY_PATH" "$APT_PROXY_CONF" 0644; then
            echo "host-proxy: apt's proxy written to $APT_PROXY_PATH"
        fi
    elif [[ -e "$APT_PROXY_PATH" ]]; then
        rm -f -- "$APT_PROXY_PATH"
        echo "host-proxy: apt's proxy removed ($APT_PROXY_PATH)"
    fi
}

configure_docker() {
    local running
    if ! write_if_changed "$DOCKER_DAEMON_JSON_PATH" "$DOCKER_DAEMON_JSON" 0644; then
        log "Docker's $DOCKER_DAEMON_JSON_PATH is up to date"
        return 0
    fi
    running=$(timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" docker ps --quiet </dev/null) ||
        die "wrote $DOCKER_DAEMON_JSON_PATH but cannot ask Docker which containers run ('docker ps' failed); see 'systemctl status docker'"
    if [[ -n "$running" ]]; then
        touch -- "$STATE_DIR/$RESTART_PENDING_FILE"
        echo "host-proxy: Docker's $DOCKER_DAEMON_JSON_PATH changed; containers run (the kind node), so Docker is not restarted now: it takes the new proxy at its next restart (the kind step restarts it before it creates the cluster again, or a reboot)"
        return 0
    fi
    log "restarting Docker for its new $DOCKER_DAEMON_JSON_PATH (no container runs)"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$RESTART_TIMEOUT_SECONDS" systemctl restart docker.service </dev/null ||
        die "restarting Docker for its new $DOCKER_DAEMON_JSON_PATH failed; see 'systemctl status docker' and 'journalctl -u docker'"
    rm -f -- "$STATE_DIR/$RESTART_PENDING_FILE"
    echo "host-proxy: Docker's $DOCKER_DAEMON_JSON_PATH changed; Docker restarted"
}

main() {
    umask 077
    if [[ "$APT_PROXY_PATH" != /* || "$DOCKER_DAEMON_JSON_PATH" != /* || "$STATE_DIR" != /* ]]; then
        die "APT_PROXY_PATH, DOCKER_DAEMON_JSON_PATH and STATE_DIR must be absolute paths"
    fi
    mkdir -p -- "$STATE_DIR"
    chmod 0700 -- "$STATE_DIR"
    configure_apt
    configure_docker
    echo "host-proxy: apt's and Docker's proxy are as configured"
}

main "$@"
