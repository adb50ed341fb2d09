#!/usr/bin/env bash
# api-cert-expiry.sh: certificate step of the capi-mgmt management server (runs as root).
#
# Prints when the API server certificate of the kind management cluster expires, as RFC 3339
# UTC (e.g. 2027-11-22T13:00:00Z). kubeadm's certificates last a year. Changes nothing.
#
# The certificate is read out of the control-plane node container and parsed with the
# server's openssl: kind node images do not ship the openssl command.
#
# Stdout is ONLY the timestamp line; every log line and error goes to stderr.
#
# Parameters (rendered above this header by lib/clusterScripts.ts, or taken from the environment):
#   CLUSTER_NAME  kind cluster name (its node container is CLUSTER_NAME-control-plane)
set -euo pipefail

: "${CLUSTER_NAME:?api-cert-expiry: CLUSTER_NAME (kind cluster name) must be set}"

readonly CERT_PATH="/etc/kubernetes/pki/apiserver.crt"
readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10

# Stdout carries only the timestamp: keep it on fd 3 and send everything else to stderr.
exec 3>&1 1>&2

die() {
    echo "api-cert-expiry: ERROR: $*" >&2
    exit 1
}

check_parameters() {
    if [[ ! "$CLUSTER_NAME" =~ ^[a-z0-9][a-z0-9.-]{0,49}$ ]]; then
        die "CLUSTER_NAME must be a kind cluster name (lowercase letters, digits, '.' and '-', at most 50), got '$CLUSTER_NAME'"
    fi
    local tool
    for tool in docker openssl; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed on this server"
    done
}

main() {
    local node pem enddate expiry
    check_parameters
    node="$CLUSTER_NAME-control-plane"
    pem=$(timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" \
        docker exec "$node" cat "$CERT_PATH" </dev/null) ||
        die "cannot read $CERT_PATH from container $node; is kind cluster $CLUSTER_NAME running? see 'docker ps -a' and 'kind get clusters' on the server"
    enddate=$(openssl x509 -noout -enddate <<<"$pem") ||
        die "$CERT_PATH in container $node is not a PEM certificate openssl can read"
    if [[ "$enddate" != notAfter=* ]]; then
        die "unexpected output of 'openssl x509 -enddate': '$enddate'"
    fi
    expiry=$(date -u -d "${enddate#notAfter=}" +%Y-%m-%dT%H:%M:%SZ) ||
        die "cannot convert the certificate's notAfter '${enddate#notAfter=}' to a date"
    printf '%s\n' "$expiry" >&3
}

main "$@"
