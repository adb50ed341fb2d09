#!/usr/bin/env bash
# kind-cluster.sh: kind step of the capi-mgmt management server (runs as root).
#
# Creates the single-node kind management cluster from the rendered kind config and node
# image, and keeps it: a run with the node image and config the cluster was created from
# changes nothing. A different node image or config can only be applied by recreating the
# cluster, which would orphan every workload cluster it manages. So the cluster is
# recreated only when it holds no Cluster API Cluster; otherwise the step refuses, says
# which Clusters are in the way, and changes nothing.
#
# Stdout is exactly one line, "kind-cluster-id: <sha256 of the cluster's CA data>", which
# changes only when the cluster is (re)created. Every log line goes to stderr. The admin
# kubeconfig in KUBECONFIG_PATH is exported again whenever it is missing or its CA or client
# certificate differs from the node's admin.conf (after a certificate renewal).
#
# Parameters (rendered above this header by lib/clusterScripts.ts, or taken from the environment):
#   CLUSTER_NAME     kind cluster name
#   NODE_IMAGE       kind node image (pinned by digest), passed to kind as --image
#   KIND_CONFIG      the kind config (YAML, several lines)
#   STATE_DIR        root-only directory for the config file, the applied spec and the lock
#   KUBECONFIG_PATH  where the cluster's admin kubeconfig is kept (mode 0600)
#   PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY
#                    optional: the proxy (capi-mgmt:proxy). Exported for `kind create`, which
#                    hands it to the node container (kind's entrypoint makes it the default
#                    environment of the node's services); unset, inherited proxy variables
#                    are dropped
#   CONTAINERD_PROXY_DROP_IN       the node's containerd drop-in carrying the proxy (or
#                                  clearing it), kept in place at CONTAINERD_PROXY_DROP_IN_PATH
#   REGISTRY_HOSTS                 optional: "registry base64(hosts.toml)" lines, the node's
#                                  registry mirrors, kept in place under REGISTRY_HOSTS_DIR
#   NODE_REGISTRY_CONFIG           optional (with REGISTRY_HOSTS): appended once to the node's
#                                  containerd config so that containerd reads REGISTRY_HOSTS_DIR
#   RESTART_PENDING_FILE           name (in STATE_DIR) of the host-proxy step's marker of a
#                                  deferred Docker restart, done here before a create
#
# The proxy and the mirrors are applied to the running node in place (docker exec): files
# written only when they differ, containerd restarted only when its drop-in or config
# changed (running containers survive a containerd restart; hosts.toml files need none). They
# are not part of the spec, so changing them never recreates the cluster.
set -euo pipefail

: "${CLUSTER_NAME:?kind-cluster: CLUSTER_NAME (kind cluster name) must be set}"
: "${NODE_IMAGE:?kind-cluster: NODE_IMAGE (kind node image) must be set}"
: "${KIND_CONFIG:?kind-cluster: KIND_CONFIG (kind config YAML) must be set}"
: "${STATE_DIR:?kind-cluster: STATE_DIR (where the config and applied spec are kept) must be set}"
: "${KUBECONFIG_PATH:?kind-cluster: KUBECONFIG_PATH (where the admin kubeconfig is written) must be set}"

readonly CONFIG_FILE="$STATE_DIR/kind-config.yaml"
readonly SPEC_FILE="$STATE_DIR/kind-cluster.spec"
readonly LOCK_FILE="$STATE_DIR/kind-cluster.lock"
readonly LOCK_WAIT_SECONDS=600
# kind create waits up to 5m for the control plane; pulling the node image comes on top.
readonly CREATE_WAIT="5m"
readonly CREATE_TIMEOUT_SECONDS=900
readonly DELETE_TIMEOUT_SECONDS=300
readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=10
readonly CAPI_CLUSTERS_CRD="clusters.cluster.x-k8s.io"
: "${CONTAINERD_PROXY_DROP_IN:?kind-cluster: CONTAINERD_PROXY_DROP_IN (containerd proxy drop-in of the node) must be set}"
: "${CONTAINERD_PROXY_DROP_IN_PATH:?kind-cluster: CONTAINERD_PROXY_DROP_IN_PATH must be set}"
: "${REGISTRY_HOSTS_DIR:?kind-cluster: REGISTRY_HOSTS_DIR must be set}"
: "${RESTART_PENDING_FILE:?kind-cluster: RESTART_PENDING_FILE must be set}"
# capi-mgmt:include kind-node-constants.sh
readonly ID_PREFIX="kind-cluster-id: "
readonly WHERE_TO_LOOK="see 'docker ps -a', 'systemctl status docker' and 'kind get clusters' on the server"

# Stdout carries only the id line: keep it on fd 3 and send everything else to stderr.
exec 3>&1 1>&2

log() {
    echo "kind-cluster: $*" >&2
}

die() {
    echo "kind-cluster: ERROR: $*" >&2
    exit 1
}

# Proxy helpers use_proxy and proxy_env_args (host/lib/proxy.sh, put here by rendering).
# capi-mgmt:include proxy.sh

# kind_kubeconfig, kubeconfig_field and sync_host_kubeconfig (host/lib/admin-kubeconfig.sh).
# capi-mgmt:include admin-kubeconfig.sh

# Runs a short query command, bounded.
query() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" "$@" </dev/null
}

# SHA-256 (hex) of stdin.
sha256() {
    local sum
    sum=$(sha256sum)
    echo "${sum%% *}"
}

check_parameters() {
    if [[ ! "$CLUSTER_NAME" =~ ^[a-z0-9][a-z0-9.-]{0,49}$ ]]; then
        die "CLUSTER_NAME must be a kind cluster name (lowercase letters, digits, '.' and '-', at most 50), got '$CLUSTER_NAME'"
    fi
    if [[ ! "$NODE_IMAGE" =~ ^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$ ]]; then
        die "NODE_IMAGE must be an image reference like kindest/node:v1.36.1@sha256:<digest>, got '$NODE_IMAGE'"
    fi
    if [[ -z "${KIND_CONFIG//[[:space:]]/}" ]]; then
        die "KIND_CONFIG is empty"
    fi
    if [[ "$STATE_DIR" != /* || "$KUBECONFIG_PATH" != /* ]]; then
        die "STATE_DIR and KUBECONFIG_PATH must be absolute paths, got '$STATE_DIR' and '$KUBECONFIG_PATH'"
    fi
    local tool
    for tool in kind kubectl; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed; the tools step (install-tools) must run first"
    done
}

# Serialises runs on one server; the wait is bounded.
take_lock() {
    exec 9>>"$LOCK_FILE"
    if ! flock --wait "$LOCK_WAIT_SECONDS" 9; then
        die "another kind-cluster run still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s"
    fi
}

config_sha256() {
    printf '%s\n' "$KIND_CONFIG" | sha256
}

# The spec the cluster must have been created from: node image and config.
desired_spec() {
    printf 'node-image=%s\nconfig-sha256=%s\n' "$NODE_IMAGE" "$(config_sha256)" | sha256
}

# A value recorded in the spec file, empty when there is none.
recorded() {
    if [[ -f "$SPEC_FILE" ]]; then
        awk -v key="$1" 'index($0, key "=") == 1 { print substr($0, length(key) + 2); exit }' "$SPEC_FILE"
    fi
}

# Writes `content` (newline-terminated) to `file` atomically with mode 0600, unless the file
# already holds exactly that.
write_private_file() {
    local file=$1 content=$2 tmp
    if [[ "$content" != *$'\n' ]]; then
        content+=$'\n'
    fi
    if [[ -f "$file" ]] && printf '%s' "$content" | cmp -s - "$file"; then
        return 0
    fi
    tmp="$file.tmp.$$"
    printf '%s' "$content" >"$tmp"
    chmod 0600 -- "$tmp"
    mv -f -T -- "$tmp" "$file"
}

write_config() {
    write_private_file "$CONFIG_FILE" "$KIND_CONFIG"
}

record_spec() {
    write_private_file "$SPEC_FILE" "$(
        echo "# kind cluster spec applied by capi-mgmt (host/kind-cluster.sh); do not edit"
        echo "spec-sha256=$(desired_spec)"
        echo "node-image=$NODE_IMAGE"
        echo "config-sha256=$(config_sha256)"
    )"
}

# True when a kind cluster named CLUSTER_NAME exists.
cluster_exists() {
    local clusters
    clusters=$(query kind get clusters) || die "'kind get clusters' failed; is Docker running? $WHERE_TO_LOOK"
    grep -Fxq -- "$CLUSTER_NAME" <<<"$clusters"
}

# The id of the running cluster: SHA-256 of its CA data, which only a new cluster changes.
cluster_id() {
    local kubeconfig ca
    kubeconfig=$(kind_kubeconfig)
    ca=$(kubeconfig_field certificate-authority-data <<<"$kubeconfig")
    if [[ -z "$ca" ]]; then
        die "the kubeconfig of kind cluster $CLUSTER_NAME has no certificate-authority-data"
    fi
    printf '%s' "$ca" | sha256
}

# Exports the kubeconfig again when KUBECONFIG_PATH is missing, belongs to another cluster, or
# holds another client certificate than the node's admin.conf (renewed: kubeadm certs renew).
ensure_kubeconfig() {
    local kubeconfig
    kubeconfig=$(kind_kubeconfig)
    sync_host_kubeconfig "$kubeconfig"
}

# Prints the Cluster API Clusters (namespace/name, one a line) in the kind cluster; none
# when Cluster API's Cluster CRD is not installed. Any other failure is fatal.
capi_clusters() {
    local crd clusters
    crd=$(query kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=30s \
        get crd "$CAPI_CLUSTERS_CRD" --ignore-not-found -o name) ||
        die "cannot ask kind cluster $CLUSTER_NAME whether Cluster API is installed (kubectl get crd $CAPI_CLUSTERS_CRD failed, see above); nothing was changed. Check the cluster with 'kubectl --kubeconfig $KUBECONFIG_PATH get nodes'"
    if [[ -z "$crd" ]]; then
        return 0
    fi
    clusters=$(query kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=30s \
        get "$CAPI_CLUSTERS_CRD" -A --no-headers \
        -o custom-columns=NAMESPACE:.metadata.namespace,NAME:.metadata.name) ||
        die "cannot list the Cluster API Clusters in kind cluster $CLUSTER_NAME (kubectl get $CAPI_CLUSTERS_CRD -A failed, see above); nothing was changed. Check the cluster with 'kubectl --kubeconfig $KUBECONFIG_PATH get nodes'"
    awk 'NF >= 2 { print $1 "/" $2 }' <<<"$clusters"
}

# Why the existing cluster does not match the desired spec, for the log.
describe_change() {
    local image config
    if [[ -z "$(recorded spec-sha256)" ]]; then
        echo "no spec is recorded for it in $SPEC_FILE"
        return 0
    fi
    image=$(recorded node-image)
    config=$(recorded config-sha256)
    if [[ "$image" != "$NODE_IMAGE" ]]; then
        echo "its node image changes from $image to $NODE_IMAGE"
    fi
    if [[ "$config" != "$(config_sha256)" ]]; then
        echo "its kind config changed (sha256 $config -> $(config_sha256))"
    fi
}

refuse_recreate() {
    local clusters=$1 change=$2 cluster
    {
        echo "kind-cluster: ERROR: kind cluster $CLUSTER_NAME would have to be recreated ($change),"
        echo "kind-cluster: ERROR: but it manages these Cluster API Clusters (namespace/name):"
        while read -r cluster; do
            echo "kind-cluster: ERROR:   $cluster"
        done <<<"$clusters"
        echo "kind-cluster: ERROR: Recreating the management cluster would orphan them: their machines and"
        echo "kind-cluster: ERROR: load balancers would keep running in OpenStack with nothing managing them."
        echo "kind-cluster: ERROR: Nothing was changed. Either revert capi-mgmt:versions.nodeImage (and any other"
        echo "kind-cluster: ERROR: change to the kind config) to what the cluster runs, or first delete the workload"
        echo "kind-cluster: ERROR: clusters or move them to another management cluster with 'clusterctl move';"
        echo "kind-cluster: ERROR: see 'Version bumps' (nodeImage) in docs/operations.md."
    } >&2
    exit 1
}

# Restarts Docker when the host-proxy step deferred it (its proxy changed while the cluster
# ran): Docker pulls kind's node image with its own proxy. Only called when no cluster runs.
restart_docker_if_pending() {
    if [[ -f "$STATE_DIR/$RESTART_PENDING_FILE" ]]; then
        log "restarting Docker first: its daemon.json (proxy) changed while the cluster ran"
        timeout --kill-after="$KILL_AFTER_SECONDS" "$DELETE_TIMEOUT_SECONDS" systemctl restart docker.service </dev/null ||
            die "restarting Docker failed; see 'systemctl status docker' and 'journalctl -u docker'"
        rm -f -- "$STATE_DIR/$RESTART_PENDING_FILE"
    fi
}

create_cluster() {
    restart_docker_if_pending
    write_config
    log "creating kind cluster $CLUSTER_NAME from $NODE_IMAGE (bounded to ${CREATE_TIMEOUT_SECONDS}s)"
    if ! timeout --kill-after="$KILL_AFTER_SECONDS" "$CREATE_TIMEOUT_SECONDS" \
        kind create cluster --name "$CLUSTER_NAME" --image "$NODE_IMAGE" --config "$CONFIG_FILE" \
        --kubeconfig "$KUBECONFIG_PATH" --wait "$CREATE_WAIT" </dev/null; then
        log "removing what the failed create left behind"
        timeout --kill-after="$KILL_AFTER_SECONDS" "$DELETE_TIMEOUT_SECONDS" \
            kind delete cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_PATH" </dev/null ||
            log "deleting the half-created cluster failed too"
        die "creating kind cluster $CLUSTER_NAME failed or took longer than ${CREATE_TIMEOUT_SECONDS}s (see the kind output above); $WHERE_TO_LOOK"
    fi
    record_spec
    log "created kind cluster $CLUSTER_NAME"
}

recreate_cluster() {
    log "deleting kind cluster $CLUSTER_NAME to recreate it"
    rm -f -- "$SPEC_FILE"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$DELETE_TIMEOUT_SECONDS" \
        kind delete cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_PATH" </dev/null ||
        die "deleting kind cluster $CLUSTER_NAME failed; $WHERE_TO_LOOK"
    create_cluster
}

# Applies the desired spec to an existing cluster: nothing, a recreate, or a refusal.
reconcile_existing() {
    local change clusters
    if [[ "$(recorded spec-sha256)" == "$(desired_spec)" ]]; then
        log "kind cluster $CLUSTER_NAME already runs $NODE_IMAGE with this config; nothing to change"
        write_config
        return 0
    fi
    change=$(describe_change | paste -s -d ';' - | sed 's/;/; /g')
    log "kind cluster $CLUSTER_NAME must be recreated: $change"
    ensure_kubeconfig
    clusters=$(capi_clusters)
    if [[ -n "$clusters" ]]; then
        refuse_recreate "$clusters" "$change"
    fi
    log "kind cluster $CLUSTER_NAME manages no Cluster API Cluster, so it can be recreated"
    recreate_cluster
}

# capi-mgmt:include kind-node.sh

main() {
    local id
    umask 077
    check_parameters
    use_proxy
    mkdir -p -- "$STATE_DIR" "$(dirname -- "$KUBECONFIG_PATH")"
    chmod 0700 -- "$STATE_DIR"
    take_lock
    if cluster_exists; then
        reconcile_existing
    else
        log "there is no kind cluster named $CLUSTER_NAME; creating it"
        create_cluster
    fi
    configure_node
    id=$(cluster_id)
    ensure_kubeconfig
    printf '%s%s\n' "$ID_PREFIX" "$id" >&3
}

main "$@"
