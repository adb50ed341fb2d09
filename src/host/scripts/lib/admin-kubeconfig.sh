# shellcheck shell=bash
# admin-kubeconfig.sh: the server's copy of the kind cluster's admin kubeconfig, kept current
# (included by host/kind-cluster.sh and host/cert-renew.sh at render time).
#
# kind reads the admin kubeconfig out of the node's /etc/kubernetes/admin.conf, which
# `kubeadm certs renew all` rewrites with a new client certificate (same CA). The copy in
# KUBECONFIG_PATH, used by the teardown, ORC's and Cluster API's steps, must follow it.
#
# Needs CLUSTER_NAME and KUBECONFIG_PATH, and the including script's log, die and query.

# The first value of kubeconfig field $1 (e.g. client-certificate-data) in the kubeconfig on stdin.
kubeconfig_field() {
    awk -v key="$1:" '$1 == key { print $2; exit }'
}

# Prints the admin kubeconfig of the kind cluster as kind reads it from the node's admin.conf.
kind_kubeconfig() {
    query kind get kubeconfig --name "$CLUSTER_NAME" ||
        die "cannot read the kubeconfig of kind cluster $CLUSTER_NAME (kind get kubeconfig failed, see above); see 'docker ps -a' and 'kind get clusters' on the server"
}

# True when KUBECONFIG_PATH is missing or holds another CA or another client certificate than
# the kubeconfig $1 (kind's, i.e. the node's admin.conf).
host_kubeconfig_stale() {
    local current=$1 field
    if [[ ! -s "$KUBECONFIG_PATH" ]]; then
        return 0
    fi
    for field in certificate-authority-data client-certificate-data; do
        if [[ "$(kubeconfig_field "$field" <"$KUBECONFIG_PATH")" != "$(kubeconfig_field "$field" <<<"$current")" ]]; then
            return 0
        fi
    done
    return 1
}

# Exports the admin kubeconfig to KUBECONFIG_PATH (mode 0600) when the copy there is stale
# against kind's current kubeconfig $1.
sync_host_kubeconfig() {
    if host_kubeconfig_stale "$1"; then
        log "exporting the admin kubeconfig of $CLUSTER_NAME to $KUBECONFIG_PATH (missing, or another CA or client certificate than the node's admin.conf)"
        query kind export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_PATH" ||
            die "cannot export the kubeconfig of kind cluster $CLUSTER_NAME to $KUBECONFIG_PATH; see 'docker ps -a' and 'kind get clusters' on the server"
    fi
    chmod 0600 -- "$KUBECONFIG_PATH"
}
