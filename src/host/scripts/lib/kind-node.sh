# shellcheck shell=bash
# The kind node configured in place (docker exec): the proxy drop-in of its containerd and
# the registry mirrors (hosts.toml), files written only when they differ and containerd
# restarted only when its drop-in or config changed. configure_node is the entry point.
#
# Not run on its own: src/host/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of kind-cluster.sh's `# capi-mgmt:include kind-node.sh` line.
# Uses kind-node-constants.sh, and log, die, query, KILL_AFTER_SECONDS and WHERE_TO_LOOK of
# kind-cluster.sh.

# A command in the node container, bounded.
in_node() {
    query docker exec "$NODE" "$@"
}

# The content of a file in the node (command substitution drops the final newline), empty
# when it does not exist.
node_file() {
    if in_node test -e "$1"; then
        in_node cat "$1"
    fi
}

# Writes `content` to `file` in the node (creating its directory) unless it already holds
# exactly that; returns 1 when nothing was written.
node_write() {
    local file=$1 content=$2
    if in_node test -e "$file" && [[ "$(node_file "$file")" == "${content%$'\n'}" ]]; then
        return 1
    fi
    in_node mkdir -p "$(dirname -- "$file")" ||
        die "cannot create $(dirname -- "$file") in the kind node $NODE; $WHERE_TO_LOOK"
    if [[ "$content" != *$'\n' ]]; then
        content+=$'\n'
    fi
    printf '%s' "$content" | timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" \
        docker exec -i "$NODE" cp /dev/stdin "$file" ||
        die "cannot write $file in the kind node $NODE; $WHERE_TO_LOOK"
    return 0
}

# True when containerd in the node must be restarted for the proxy drop-in.
configure_node_proxy() {
    if [[ -z "${PROXY_HTTP:-}${PROXY_HTTPS:-}" ]] && ! in_node test -e "$CONTAINERD_PROXY_DROP_IN_PATH"; then
        # No proxy now, and none was ever set in place: the node was created without one.
        return 1
    fi
    if node_write "$CONTAINERD_PROXY_DROP_IN_PATH" "$CONTAINERD_PROXY_DROP_IN"; then
        log "the node's containerd proxy changed ($CONTAINERD_PROXY_DROP_IN_PATH)"
        return 0
    fi
    return 1
}

# True when containerd in the node must be restarted for its registry config. Writes each
# registry's hosts.toml and removes those this step wrote before that are no longer configured.
configure_node_registries() {
    local restart=1 registry data config wanted=() old
    if [[ -n "${REGISTRY_HOSTS:-}" ]]; then
        : "${NODE_REGISTRY_CONFIG:?kind-cluster: NODE_REGISTRY_CONFIG must be set with REGISTRY_HOSTS}"
        if ! in_node grep -qxF -- "${NODE_REGISTRY_CONFIG%%$'\n'*}" "$NODE_CONTAINERD_CONFIG"; then
            config=$(node_file "$NODE_CONTAINERD_CONFIG")
            if grep -qF -- '[plugins."io.containerd.grpc.v1.cri".registry]' <<<"$config"; then
                die "the node's $NODE_CONTAINERD_CONFIG already has a registry table; capi-mgmt cannot point containerd at $REGISTRY_HOSTS_DIR for the mirrors. Check the node image (capi-mgmt:versions.nodeImage)"
            fi
            node_write "$NODE_CONTAINERD_CONFIG" "$config"$'\n\n'"$NODE_REGISTRY_CONFIG" || true
            log "containerd in the node now reads registry mirrors from $REGISTRY_HOSTS_DIR"
            restart=0
        fi
        while read -r registry data; do
            if node_write "$REGISTRY_HOSTS_DIR/$registry/hosts.toml" "$(base64 -d <<<"$data")"; then
                log "registry mirrors of $registry written to $REGISTRY_HOSTS_DIR/$registry/hosts.toml"
            fi
            wanted+=("$registry")
        done <<<"$REGISTRY_HOSTS"
    fi
    old=$(node_file "$NODE_REGISTRY_LIST")
    while read -r registry; do
        if [[ -n "$registry" && " ${wanted[*]} " != *" $registry "* ]]; then
            in_node rm -f "$REGISTRY_HOSTS_DIR/$registry/hosts.toml" ||
                die "cannot remove $REGISTRY_HOSTS_DIR/$registry/hosts.toml in the kind node $NODE"
            log "registry mirrors of $registry removed"
        fi
    done <<<"$old"
    if ((${#wanted[@]} > 0)); then
        node_write "$NODE_REGISTRY_LIST" "$(printf '%s\n' "${wanted[@]}")" || true
    elif [[ -n "$old" ]]; then
        in_node rm -f "$NODE_REGISTRY_LIST" || die "cannot remove $NODE_REGISTRY_LIST in the kind node $NODE"
    fi
    return "$restart"
}

# Applies the proxy and the registry mirrors to the running node, in place.
configure_node() {
    local restart=0
    if configure_node_proxy; then
        restart=1
    fi
    if configure_node_registries; then
        restart=1
    fi
    if ((restart)); then
        log "restarting containerd in the node $NODE (running containers keep running)"
        timeout --kill-after="$KILL_AFTER_SECONDS" "$CONTAINERD_RESTART_TIMEOUT_SECONDS" \
            docker exec "$NODE" systemctl daemon-reload </dev/null ||
            die "systemctl daemon-reload in the kind node $NODE failed; $WHERE_TO_LOOK"
        timeout --kill-after="$KILL_AFTER_SECONDS" "$CONTAINERD_RESTART_TIMEOUT_SECONDS" \
            docker exec "$NODE" systemctl restart containerd.service </dev/null ||
            die "restarting containerd in the kind node $NODE failed; see 'docker exec $NODE journalctl -u containerd'"
    fi
}
