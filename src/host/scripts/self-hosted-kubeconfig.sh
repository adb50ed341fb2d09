#!/usr/bin/env bash
# self-hosted-kubeconfig.sh: keeps the server's copy of the self-hosted cluster's kubeconfig
# current (runs as root, daily from capi-mgmt-self-hosted-kubeconfig.timer, installed by the
# self-hosted-kubeconfig step; by hand: sudo /usr/local/lib/capi-mgmt/self-hosted-kubeconfig.sh).
#
# capi-mgmt:managementCluster.mode selfHosted (docs/self-hosted.md, "The self-hosted cluster's
# kubeconfig"). The self-hosted-cluster step copies the kubeconfig once from the Secret
# NAMESPACE/CLUSTER-kubeconfig, whose client certificate Cluster API renews itself (at half its
# life); the copy's does not renew. Each run reads that Secret from the active management
# cluster (lib/mgmt-kubeconfig.sh: after the pivot the self-hosted cluster itself, read with
# the current copy, so this must happen before that expires; before the pivot the kind
# cluster) and replaces STATE_DIR/kubeconfig with it when its certificate differs, only once
# the new one has been shown to work (an authenticated read on the self-hosted cluster) and does
# not expire earlier.
# active.kubeconfig is a link to it: every host tool, the teardown included, follows.
#
# Loud when it matters: when the copy that stays expires within WARN_DAYS days (or has expired)
# and could not be refreshed, it writes STATE_DIR/kubeconfig-expiring with the reason and exits
# 1, so the unit is failed (systemctl --failed); the file goes once a refresh succeeds. Nothing
# to do (exit 0): no self-hosted cluster on this server yet, or a move under way (phase
# pivoting, unpivoting, unpivoted; the check of the copy's expiry still runs).
#
# Parameters (rendered above this header by src/cluster/selfHostedKubeconfig.ts, or taken from the environment):
#   CLUSTER            name of the self-hosted cluster's Cluster
#   NAMESPACE          its namespace (the workload namespace)
#   KIND_KUBECONFIG    admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG  the active management cluster's kubeconfig (lib/mgmt-kubeconfig.sh)
#   STATE_DIR          the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   WARN_DAYS          report (exit 1) when the copy expires within this many days unrefreshed
# Exit status: 0 current or refreshed (or nothing to do); 1 expiring and not refreshed.
set -euo pipefail

: "${CLUSTER:?self-hosted-kubeconfig: CLUSTER (name of the self-hosted cluster) must be set}"
: "${NAMESPACE:?self-hosted-kubeconfig: NAMESPACE (its namespace) must be set}"
: "${KIND_KUBECONFIG:?self-hosted-kubeconfig: KIND_KUBECONFIG (kubeconfig of the kind cluster) must be set}"
: "${ACTIVE_KUBECONFIG:?self-hosted-kubeconfig: ACTIVE_KUBECONFIG (kubeconfig of the active management cluster) must be set}"
: "${STATE_DIR:?self-hosted-kubeconfig: STATE_DIR (the self-hosted state directory) must be set}"
: "${WARN_DAYS:?self-hosted-kubeconfig: WARN_DAYS (days before expiry that fail the run) must be set}"

readonly DAY_SECONDS=86400

log() { echo "self-hosted-kubeconfig: $*" >&2; }
die() { log "ERROR: $*" && exit 1; }

# capi-mgmt:include self-hosted-state.sh
# capi-mgmt:include mgmt-kubeconfig.sh

# kube KUBECONFIG ARGS...: kubectl with that kubeconfig, each call bounded (a minute).
kube() { timeout --kill-after=10 60 kubectl --kubeconfig "$1" --request-timeout=30s "${@:2}" </dev/null; }

# capi-mgmt:include client-cert-expiry.sh

# Replaces the copy with the Secret's kubeconfig when that is newer; sets `why` and returns 1
# when it cannot.
refresh() {
    local holder text current new
    holder=$(mgmt_kubeconfig "$KIND_KUBECONFIG" "$ACTIVE_KUBECONFIG")
    holder_kube() { kube "$holder" "$@"; }
    if ! text=$(secret_kubeconfig holder_kube "$NAMESPACE" "$CLUSTER"); then
        why="cannot read the Secret $NAMESPACE/$CLUSTER-kubeconfig from the active management cluster ($holder)"
        return 1
    fi
    current=$(client_cert_expiry <"$STATE_DIR/kubeconfig") || current=0
    if ! new=$(client_cert_expiry <<<"$text"); then
        why="the kubeconfig in the Secret $NAMESPACE/$CLUSTER-kubeconfig has no readable client certificate"
        return 1
    fi
    if [[ "$text" == "$(<"$STATE_DIR/kubeconfig")" ]]; then
        log "the copy is the Secret's (its certificate expires $(date -u -d "@$new" +%Y-%m-%dT%H:%M:%SZ))"
        return 0
    fi
    if ((new < current)); then
        why="the Secret's client certificate expires before the copy's ($(date -u -d "@$new" +%Y-%m-%dT%H:%M:%SZ)); the copy is kept"
        return 1
    fi
    write_state .kubeconfig.new "$text"
    if ! kube "$STATE_DIR/.kubeconfig.new" get namespace kube-system -o name >/dev/null 2>&1; then
        rm -f -- "$STATE_DIR/.kubeconfig.new"
        why="the Secret's kubeconfig does not work against the self-hosted cluster's API (reading the namespace kube-system with it failed); the copy is kept"
        return 1
    fi
    mv -f -T -- "$STATE_DIR/.kubeconfig.new" "$STATE_DIR/kubeconfig"
    log "refreshed $STATE_DIR/kubeconfig from the Secret $NAMESPACE/$CLUSTER-kubeconfig (its certificate expires $(date -u -d "@$new" +%Y-%m-%dT%H:%M:%SZ))"
}

# Fails loudly when the copy expires within WARN_DAYS days; $1: why it was not refreshed ("" when it was).
check_expiry() {
    local why=$1 expiry now left message
    expiry=$(client_cert_expiry <"$STATE_DIR/kubeconfig") || expiry=0
    now=$(date +%s)
    left=$(((expiry - now) / DAY_SECONDS))
    if [[ -z "$why" ]]; then
        rm -f -- "$STATE_DIR/kubeconfig-expiring"
        ((expiry - now > WARN_DAYS * DAY_SECONDS)) && return 0
        why="Cluster API has not renewed the certificate in the Secret $NAMESPACE/$CLUSTER-kubeconfig"
    elif ((expiry - now > WARN_DAYS * DAY_SECONDS)); then
        log "WARNING: not refreshed: $why; the copy is good for $left more days, the next run tries again"
        return 0
    fi
    if ((expiry == 0)); then
        message="the client certificate of $STATE_DIR/kubeconfig cannot be read"
    elif ((expiry <= now)); then
        message="the client certificate of $STATE_DIR/kubeconfig EXPIRED at $(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ)"
    else
        message="the client certificate of $STATE_DIR/kubeconfig expires at $(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ), in $left days"
    fi
    message="$message and it was not refreshed: $why. Every host tool and the teardown read the self-hosted cluster with it. See docs/self-hosted.md, \"The self-hosted cluster's kubeconfig\""
    write_state kubeconfig-expiring "$message"
    die "$message"
}

main() {
    umask 077
    if [[ ! "$CLUSTER" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || ! "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]; then
        die "CLUSTER and NAMESPACE must be DNS labels, got '$CLUSTER' and '$NAMESPACE'"
    fi
    [[ "$WARN_DAYS" =~ ^[1-9][0-9]{0,2}$ ]] || die "WARN_DAYS must be a whole number of days from 1 to 999, got '$WARN_DAYS'"
    if [[ ! -f "$STATE_DIR/kubeconfig" ]]; then
        log "no self-hosted cluster on this server ($STATE_DIR/kubeconfig does not exist): nothing to refresh"
        return 0
    fi
    local phase why=""
    if ! lock_state 300; then
        why="a self-hosted step held $STATE_DIR/lock for 5 minutes"
    else
        phase=$(read_phase)
        case "$phase" in
            kind | pivoted) refresh || true ;;
            *) why="a move is under way (phase $phase)" ;;
        esac
    fi
    check_expiry "$why"
}

main "$@"
