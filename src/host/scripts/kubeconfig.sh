#!/usr/bin/env bash
# kubeconfig.sh: kubeconfig step of the capi-mgmt management server (runs as root).
#
# Prints the admin kubeconfig of the kind management cluster with every "server:" pointing
# at https://API_ENDPOINT, so it can be used from outside the server. Changes nothing.
#
# Stdout is ONLY the kubeconfig (it is a secret output of the program); every log line and
# error goes to stderr.
#
# Parameters (rendered above this header by lib/clusterScripts.ts, or taken from the environment):
#   CLUSTER_NAME  kind cluster name
#   API_ENDPOINT  host:port the API is reached at from outside, e.g. 192.0.2.10:6443
set -euo pipefail

: "${CLUSTER_NAME:?kubeconfig: CLUSTER_NAME (kind cluster name) must be set}"
: "${API_ENDPOINT:?kubeconfig: API_ENDPOINT (host:port of the API from outside) must be set}"

readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10

# Stdout carries only the kubeconfig: keep it on fd 3 and send everything else to stderr.
exec 3>&1 1>&2

die() {
    echo "kubeconfig: ERROR: $*" >&2
    exit 1
}

query() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" "$@" </dev/null
}

check_parameters() {
    if [[ ! "$CLUSTER_NAME" =~ ^[a-z0-9][a-z0-9.-]{0,49}$ ]]; then
        die "CLUSTER_NAME must be a kind cluster name (lowercase letters, digits, '.' and '-', at most 50), got '$CLUSTER_NAME'"
    fi
    # A host name, an IPv4 address or a bracketed IPv6 address, then a port.
    if [[ ! "$API_ENDPOINT" =~ ^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$ ]]; then
        die "API_ENDPOINT must be host:port (IPv6 in brackets), got '$API_ENDPOINT'"
    fi
    command -v kind >/dev/null 2>&1 || die "kind is not installed; the tools step (install-tools) must run first"
}

require_cluster() {
    local clusters
    clusters=$(query kind get clusters) ||
        die "'kind get clusters' failed; is Docker running? see 'docker ps -a' and 'systemctl status docker' on the server"
    if ! grep -Fxq -- "$CLUSTER_NAME" <<<"$clusters"; then
        die "there is no kind cluster named $CLUSTER_NAME on this server; the kind step (kind-cluster.sh) must create it first (see 'kind get clusters')"
    fi
}

main() {
    local kubeconfig rewritten servers
    check_parameters
    require_cluster
    kubeconfig=$(query kind get kubeconfig --name "$CLUSTER_NAME") ||
        die "cannot read the kubeconfig of kind cluster $CLUSTER_NAME (kind get kubeconfig failed, see above)"
    servers=$(grep -cE '^[[:space:]]*server:' <<<"$kubeconfig" || true)
    if ((servers == 0)); then
        die "the kubeconfig of kind cluster $CLUSTER_NAME has no 'server:' line to rewrite"
    fi
    rewritten=$(sed -E "s#^([[:space:]]*server:).*\$#\\1 https://$API_ENDPOINT#" <<<"$kubeconfig")
    printf '%s\n' "$rewritten" >&3
    echo "kubeconfig: printed the kubeconfig of $CLUSTER_NAME with $servers server address(es) set to https://$API_ENDPOINT" >&2
}

main "$@"
