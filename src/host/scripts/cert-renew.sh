#!/usr/bin/env bash
# cert-renew.sh: renews the kind management cluster's certificates before they expire (root).
#
# Installed as /usr/local/sbin/capi-mgmt-cert-renew by the cert-renewal step
# (host/cert-renewal.sh); run daily by capi-mgmt-cert-renew.timer, and by the kubeconfig step
# before it reads the kubeconfig. By hand: `sudo capi-mgmt-cert-renew [--force]`.
#
# kubeadm's certificates in the kind node last one year: the API server's, etcd's, and the
# admin client certificate in /etc/kubernetes/admin.conf (the kubeconfig kind exports). When
# the admin client certificate or the API server certificate expires within RENEW_BEFORE_DAYS
# days (or with --force):
#   1. `kubeadm certs renew all` in the node: new certificates for a year from the same CA,
#      admin.conf and the other kubeconfigs rewritten;
#   2. the control plane's static pods load them: the containers of etcd, kube-apiserver,
#      kube-controller-manager and kube-scheduler are stopped (crictl) and the kubelet starts
#      them again (running workloads are not touched);
#   3. waits, bounded, until the API server answers again, then checks that neither
#      certificate expires within RENEW_BEFORE_DAYS days any more.
# Every run then exports the admin kubeconfig to KUBECONFIG_PATH again when the copy there is
# missing or holds another CA or client certificate than admin.conf, so a renewal by hand
# (`kubeadm certs renew all`) is picked up too.
#
# No kind cluster named CLUSTER_NAME: nothing to do (exit 0). Runs under the kind step's lock.
# Log lines go to stderr (the journal under systemd); stdout stays empty. Exit status 1 when
# a renewal is due and fails: the service shows as failed, and the next day's run retries.
#
# Parameters (rendered above this header by lib/certRenewal.ts, or taken from the environment):
#   CLUSTER_NAME             kind cluster name (its node container is CLUSTER_NAME-control-plane)
#   STATE_DIR                root-only state directory (the kind step's lock file)
#   KUBECONFIG_PATH          the server's copy of the admin kubeconfig (mode 0600)
#   RENEW_BEFORE_DAYS        renew when a certificate expires within this many days
#   RESTART_TIMEOUT_SECONDS  bound of the wait for the API server after the restart
set -euo pipefail

: "${CLUSTER_NAME:?cert-renew: CLUSTER_NAME (kind cluster name) must be set}"
: "${STATE_DIR:?cert-renew: STATE_DIR must be set}"
: "${KUBECONFIG_PATH:?cert-renew: KUBECONFIG_PATH must be set}"
: "${RENEW_BEFORE_DAYS:?cert-renew: RENEW_BEFORE_DAYS must be set}"
: "${RESTART_TIMEOUT_SECONDS:?cert-renew: RESTART_TIMEOUT_SECONDS must be set}"

readonly NODE="$CLUSTER_NAME-control-plane"
readonly LOCK_FILE="$STATE_DIR/kind-cluster.lock"
readonly LOCK_WAIT_SECONDS=900
readonly API_CERT="/etc/kubernetes/pki/apiserver.crt"
readonly NODE_ADMIN_CONF="/etc/kubernetes/admin.conf"
readonly CONTROL_PLANE_CONTAINERS="etcd kube-apiserver kube-controller-manager kube-scheduler"
readonly QUERY_TIMEOUT_SECONDS=60
readonly RENEW_TIMEOUT_SECONDS=300
readonly KILL_AFTER_SECONDS=10
readonly POLL_SECONDS=5

log() {
    echo "cert-renew: $*" >&2
}

die() {
    echo "cert-renew: ERROR: $*" >&2
    exit 1
}

# Runs a short command, bounded, never reading stdin.
query() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" "$@" </dev/null
}

# A command in the node container, bounded.
in_node() {
    query docker exec "$NODE" "$@"
}

# kind_kubeconfig, kubeconfig_field and sync_host_kubeconfig (host/lib/admin-kubeconfig.sh).
# capi-mgmt:include admin-kubeconfig.sh

check_parameters() {
    if [[ ! "$CLUSTER_NAME" =~ ^[a-z0-9][a-z0-9.-]{0,49}$ ]]; then
        die "CLUSTER_NAME must be a kind cluster name, got '$CLUSTER_NAME'"
    fi
    if [[ "$STATE_DIR" != /* || "$KUBECONFIG_PATH" != /* ]]; then
        die "STATE_DIR and KUBECONFIG_PATH must be absolute paths, got '$STATE_DIR' and '$KUBECONFIG_PATH'"
    fi
    if [[ ! "$RENEW_BEFORE_DAYS" =~ ^[1-9][0-9]{0,2}$ || ! "$RESTART_TIMEOUT_SECONDS" =~ ^[1-9][0-9]{0,4}$ ]]; then
        die "RENEW_BEFORE_DAYS and RESTART_TIMEOUT_SECONDS must be positive whole numbers, got '$RENEW_BEFORE_DAYS' and '$RESTART_TIMEOUT_SECONDS'"
    fi
    local tool
    for tool in docker kind openssl flock; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed on this server"
    done
}

# Serialises with the kind step (which may be recreating the cluster); the wait is bounded.
take_lock() {
    mkdir -p -- "$STATE_DIR"
    exec 9>>"$LOCK_FILE"
    if ! flock --wait "$LOCK_WAIT_SECONDS" 9; then
        die "another capi-mgmt step still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s; the next run retries"
    fi
}

cluster_exists() {
    local clusters
    clusters=$(query kind get clusters) || die "'kind get clusters' failed; is Docker running? see 'systemctl status docker'"
    grep -Fxq -- "$CLUSTER_NAME" <<<"$clusters"
}

# notAfter, in epoch seconds, of the PEM certificate on stdin.
not_after() {
    local enddate
    enddate=$(openssl x509 -noout -enddate) || return 1
    [[ "$enddate" == notAfter=* ]] || return 1
    date -u -d "${enddate#notAfter=}" +%s
}

# "<epoch> <what>" of the certificate that expires first: the admin client certificate in
# admin.conf (as kind reads it) or the API server certificate.
first_expiry() {
    local kubeconfig client api
    kubeconfig=$(kind_kubeconfig)
    client=$(kubeconfig_field client-certificate-data <<<"$kubeconfig" | base64 -d | not_after) ||
        die "cannot read the client certificate of the admin kubeconfig ($NODE_ADMIN_CONF in $NODE)"
    api=$(in_node cat "$API_CERT" | not_after) ||
        die "cannot read $API_CERT in the kind node $NODE; see 'docker ps -a' on the server"
    if ((api < client)); then
        echo "$api the API server certificate"
    else
        echo "$client the admin client certificate"
    fi
}

# Whole days from now to epoch $1 (for the log).
days_left() {
    echo $((($1 - $(date +%s)) / 86400))
}

# True when epoch $1 is within RENEW_BEFORE_DAYS days from now (the program's own re-read of
# the kubeconfig comes a day later, lib/certRenewal.ts REFRESH_BEFORE_DAYS).
due() {
    (($1 - $(date +%s) <= RENEW_BEFORE_DAYS * 86400))
}

restart_control_plane() {
    local name ids id
    for name in $CONTROL_PLANE_CONTAINERS; do
        ids=$(in_node crictl ps --quiet --state running --name "^$name\$") ||
            die "cannot list the $name container in $NODE (crictl ps failed)"
        if [[ -z "$ids" ]]; then
            die "no running $name container in $NODE; see 'docker exec $NODE crictl ps -a'"
        fi
        for id in $ids; do
            log "restarting $name (container $id) to load the renewed certificates"
            in_node crictl stop "$id" >/dev/null || die "cannot stop the $name container $id in $NODE"
        done
    done
}

wait_for_api() {
    local deadline=$(($(date +%s) + RESTART_TIMEOUT_SECONDS))
    until in_node kubectl --kubeconfig "$NODE_ADMIN_CONF" --request-timeout=10s get --raw=/readyz >/dev/null 2>&1; do
        if (($(date +%s) >= deadline)); then
            die "the API server of $CLUSTER_NAME did not answer within ${RESTART_TIMEOUT_SECONDS}s of the restart; see 'docker exec $NODE crictl ps -a' and 'docker exec $NODE journalctl -u kubelet'"
        fi
        sleep "$POLL_SECONDS"
    done
    log "the API server of $CLUSTER_NAME answers again"
}

renew() {
    log "renewing the certificates of $CLUSTER_NAME (kubeadm certs renew all in $NODE)"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$RENEW_TIMEOUT_SECONDS" \
        docker exec "$NODE" kubeadm certs renew all </dev/null >&2 ||
        die "'kubeadm certs renew all' failed in $NODE (see above); nothing else was changed"
    restart_control_plane
    wait_for_api
}

main() {
    local force=0 first expiry what left kubeconfig
    case "${1:-}" in
        "") ;;
        --force) force=1 ;;
        *) die "unknown argument '$1'; usage: capi-mgmt-cert-renew [--force]" ;;
    esac
    umask 077
    check_parameters
    take_lock
    if ! cluster_exists; then
        log "there is no kind cluster named $CLUSTER_NAME on this server; nothing to renew"
        return 0
    fi
    first=$(first_expiry)
    read -r expiry what <<<"$first"
    left=$(days_left "$expiry")
    if ((force)) || due "$expiry"; then
        log "$what expires in $left day(s) ($(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ)); renewing$( ((force)) && echo " (--force)")"
        renew
        first=$(first_expiry)
        read -r expiry what <<<"$first"
        left=$(days_left "$expiry")
        if due "$expiry"; then
            die "after the renewal $what still expires in $left day(s); check the cluster CA (docker exec $NODE kubeadm certs check-expiration)"
        fi
        log "renewed: the first certificate to expire now is $what, in $left days"
    else
        log "$what expires first, in $left days; renewal from $RENEW_BEFORE_DAYS days before"
    fi
    kubeconfig=$(kind_kubeconfig)
    sync_host_kubeconfig "$kubeconfig"
}

main "$@"
