#!/usr/bin/env bash
# self-hosted-provider-kubeconfig.sh: self-hosted-provider-kubeconfig step of the capi-mgmt
# management server (runs as root).
#
# capi-mgmt:managementCluster.mode selfHosted (docs/self-hosted.md, "The self-hosted cluster's
# kubeconfig"). Prints the server's copy of the self-hosted cluster's kubeconfig
# (STATE_DIR/kubeconfig, written by the self-hosted-cluster step and kept current by the daily
# refresh) for the program's Kubernetes provider of the self-hosted cluster. The program runs it
# when the self-hosted cluster's steps first run (and for a new kind cluster), and again once
# per renewal: from REFRESH_BEFORE_DAYS days before the client certificate it last printed
# expires (src/cluster/selfHostedKubeconfig.ts selfHostedRefreshKey). Changes nothing but
# what the refresh changes:
#   1. runs the refresh (REFRESH_COMMAND, installed by the self-hosted-kubeconfig step; not yet
#      there on a stack's first `up`), so the copy is the Secret's current one; its failure
#      (the copy expiring and not refreshed) is this step's;
#   2. refuses a copy whose client certificate expires within REFRESH_BEFORE_DAYS days (or
#      cannot be read): the provider would get a certificate already due, and no later `up`
#      would read again until it expired.
#
# Stdout is ONLY that kubeconfig (a secret output); every log line goes to stderr.
#
# Parameters (rendered above this header by src/cluster/selfHostedKubeconfig.ts, or taken from the environment):
#   STATE_DIR             the self-hosted mode's state (host/lib/self-hosted-state.sh)
#   REFRESH_COMMAND       the installed refresh (self-hosted-kubeconfig.sh)
#   REFRESH_BEFORE_DAYS   the program reads again from this many days before expiry
# Exit status: 0 with the kubeconfig on stdout; 1 with the reason on stderr.
set -euo pipefail

: "${STATE_DIR:?self-hosted-provider-kubeconfig: STATE_DIR (the self-hosted state directory) must be set}"
: "${REFRESH_COMMAND:?self-hosted-provider-kubeconfig: REFRESH_COMMAND (the installed refresh) must be set}"
: "${REFRESH_BEFORE_DAYS:?self-hosted-provider-kubeconfig: REFRESH_BEFORE_DAYS (days before expiry of a re-read) must be set}"

readonly DAY_SECONDS=86400

# Stdout carries only the kubeconfig: keep it on fd 3 and send everything else to stderr.
exec 3>&1 1>&2

log() { echo "self-hosted-provider-kubeconfig: $*" >&2; }
die() { log "ERROR: $*" && exit 1; }

# capi-mgmt:include client-cert-expiry.sh

main() {
    [[ "$REFRESH_BEFORE_DAYS" =~ ^[1-9][0-9]{0,2}$ ]] || die "REFRESH_BEFORE_DAYS must be a whole number of days from 1 to 999, got '$REFRESH_BEFORE_DAYS'"
    [[ "$STATE_DIR" == /* ]] || die "STATE_DIR must be an absolute path, got '$STATE_DIR'"
    local copy=$STATE_DIR/kubeconfig expiry now
    [[ -f "$copy" ]] || die "$copy does not exist; the self-hosted-cluster step writes it (see docs/self-hosted.md, \"State on the server\")"
    if [[ -x "$REFRESH_COMMAND" ]]; then
        "$REFRESH_COMMAND" </dev/null || die "the refresh of $copy ($REFRESH_COMMAND) failed, its reason is above; see docs/self-hosted.md, \"The self-hosted cluster's kubeconfig\""
    else
        log "$REFRESH_COMMAND is not installed yet (the self-hosted-kubeconfig step installs it after the pivot): the copy is read as the self-hosted-cluster step wrote it"
    fi
    expiry=$(client_cert_expiry <"$copy") || die "the client certificate of $copy cannot be read"
    now=$(date +%s)
    if ((expiry - now <= REFRESH_BEFORE_DAYS * DAY_SECONDS)); then
        die "the client certificate of $copy expires at $(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ), within $REFRESH_BEFORE_DAYS days, and was not renewed: Cluster API renews the Secret's, the refresh copies it (sudo $REFRESH_COMMAND; journalctl -u capi-mgmt-self-hosted-kubeconfig). Repair that and run 'pulumi up' again (docs/self-hosted.md, \"The self-hosted cluster's kubeconfig\")"
    fi
    log "printed $copy (its client certificate expires $(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ))"
    cat -- "$copy" >&3
}

main "$@"
