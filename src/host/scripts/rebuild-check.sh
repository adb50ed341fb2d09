#!/usr/bin/env bash
# rebuild-check.sh: the serverGeneration bump guard of capi-mgmt. Unlike the other scripts
# in host/, it runs on the machine running Pulumi (a command.local.Command,
# components/rebuildCheck.ts), before the new generation's port and server are created, and
# reaches the RUNNING (old) server over SSH at the floating IP, with the login key and the
# pinned host key (both the same for every generation).
#
# It fails, refusing the bump, when the running management cluster holds Cluster objects
# (clusters.cluster.x-k8s.io, any namespace), or when it cannot tell (server unreachable,
# cluster not answering): the new management cluster's Flux would apply the same Clusters at
# once while the old server's CAPO still reconciles them, until the old server is deleted at
# the end of the `up`. It passes when there are none, and does nothing when the user
# acknowledged this very generation (MODE acknowledged) or when the run is no bump (MODE none).
#
# Bounded, with no `timeout` binary (macOS has none): ssh gives up after CONNECTION_ATTEMPTS
# TCP attempts of CONNECT_TIMEOUT_SECONDS (the timeout also covers the SSH banner), keepalives
# end a session whose server stops answering, and every kubectl request on the server has
# REQUEST_TIMEOUT_SECONDS. Bash 3.2 compatible (macOS's /bin/bash).
#
# Parameters (rendered above this header by lib/rebuild.ts):
#   MODE                      none, acknowledged or check
#   PREVIOUS_GENERATION       the running server's generation ("" with MODE none)
#   TARGET_GENERATION         the generation this run creates ("" with MODE none)
#   HOST                      the floating IP the running server answers at (MODE check)
#   HOST_PUBLIC_KEY           the server's pinned host key, `ssh-ed25519 AAAA…`
#   LOGIN_USER                the login user
#   SERVER_KUBECONFIG_PATH    the admin kubeconfig of the kind cluster on the server
#   CONNECT_TIMEOUT_SECONDS, CONNECTION_ATTEMPTS, REQUEST_TIMEOUT_SECONDS  the bounds above
#   BACKUP_BEFORE_SCRIPT      the backup script run on the old server (as root, on stdin)
#   PROCEED_FILE              the server's one-time override of a failed backup (for the message)
# Environment:
#   CAPI_MGMT_LOGIN_KEY       the login private key (secret: only written to a private temp file)
set -euo pipefail

readonly GENERATION_KEY=capi-mgmt:serverGeneration
readonly ACK_KEY=capi-mgmt:rebuildWithClusters
readonly MAX_LISTED=10

refuse() {
    printf 'rebuild check: REFUSED: %s\n' "$*" >&2
    exit 1
}

# Runs ON THE SERVER, as root (sent over ssh with `declare -f`). Prints one line per Cluster,
# `namespace/name`, and notes on stderr. Exit 0 without output: no Cluster (no Docker, no kind
# node, or no Cluster API CRD: no management cluster could hold one). Exit 3: the management
# cluster exists but did not answer.
list_clusters() {
    local nodes crd
    if ! command -v docker >/dev/null 2>&1; then
        echo "no Docker on the server: there is no management cluster on it" >&2
        return 0
    fi
    if ! nodes=$(docker ps -aq --filter label=io.x-k8s.kind.cluster); then
        echo "Docker on the server does not answer" >&2
        return 3
    fi
    if [[ -z "$nodes" ]]; then
        echo "no kind node container on the server: there is no management cluster on it" >&2
        return 0
    fi
    if [[ ! -r "$SERVER_KUBECONFIG_PATH" ]]; then
        echo "the kind node exists but its kubeconfig $SERVER_KUBECONFIG_PATH does not" >&2
        return 3
    fi
    if ! crd=$(kubectl --kubeconfig "$SERVER_KUBECONFIG_PATH" --request-timeout "${REQUEST_TIMEOUT_SECONDS}s" \
        get customresourcedefinition clusters.cluster.x-k8s.io --ignore-not-found -o name); then
        echo "the management cluster's API does not answer" >&2
        return 3
    fi
    if [[ -z "$crd" ]]; then
        echo "Cluster API is not installed in the management cluster" >&2
        return 0
    fi
    if ! kubectl --kubeconfig "$SERVER_KUBECONFIG_PATH" --request-timeout "${REQUEST_TIMEOUT_SECONDS}s" \
        get clusters.cluster.x-k8s.io --all-namespaces \
        -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'; then
        echo "the management cluster's API does not answer" >&2
        return 3
    fi
}

case "$MODE" in
    none)
        exit 0
        ;;
    acknowledged)
        echo "rebuild check: generation $TARGET_GENERATION is acknowledged by $ACK_KEY: $TARGET_GENERATION;" \
            "the management cluster of generation $PREVIOUS_GENERATION is not checked for Cluster objects"
        if [[ -z "$HOST" ]]; then
            echo "rebuild check: WARNING: no floating IP recorded to reach the old server at: no backup before the rebuild" >&2
            exit 0
        fi
        ;;
    check) ;;
    *)
        refuse "unknown MODE '$MODE'"
        ;;
esac

readonly ACKNOWLEDGE="set $ACK_KEY: $TARGET_GENERATION (in the same change as the bump) to rebuild anyway"
readonly DELETE_OR_MOVE="delete the workload clusters or move them with clusterctl move first (docs/operations.md, \"The server is never replaced by accident\")"

if [[ -z "$HOST" ]]; then
    refuse "$GENERATION_KEY: bumping it from $PREVIOUS_GENERATION to $TARGET_GENERATION, but the last up recorded no floating IP to" \
        "reach the running server at, so its management cluster cannot be checked for Cluster objects. If that server is" \
        "really gone, $ACKNOWLEDGE"
fi
if [[ -z "${CAPI_MGMT_LOGIN_KEY:-}" ]]; then
    refuse "CAPI_MGMT_LOGIN_KEY (the login private key) is not set"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-rebuild-check.XXXXXX")
trap 'rm -rf "$dir"' EXIT
(
    umask 077
    printf '%s\n' "$CAPI_MGMT_LOGIN_KEY" >"$dir/id"
    printf '%s %s\n' "$HOST" "$HOST_PUBLIC_KEY" >"$dir/known_hosts"
)

# on_server SCRIPT: runs SCRIPT as root on the old server (its stdout on ours, its stderr in
# $dir/stderr); returns ssh's status (255: ssh itself failed).
on_server() {
    ssh -i "$dir/id" \
        -o IdentitiesOnly=yes -o IdentityAgent=none \
        -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o UpdateHostKeys=no -o CheckHostIP=no -o BatchMode=yes \
        -o "ConnectTimeout=$CONNECT_TIMEOUT_SECONDS" -o "ConnectionAttempts=$CONNECTION_ATTEMPTS" \
        -o ServerAliveInterval=10 -o ServerAliveCountMax=3 \
        -T "$LOGIN_USER@$HOST" "sudo -n bash -s" <<<"$1" 2>"$dir/stderr"
}

# back_up: the backup on the old server, before the new one is created; refuses the bump when
# it fails (ssh's own failure too, except for an acknowledged bump: the server is gone).
back_up() {
    local status=0 out notes
    out=$(on_server "$BACKUP_BEFORE_SCRIPT") || status=$?
    notes=$(tr '\n' ' ' <"$dir/stderr" | sed 's/ *$//')
    if [[ "$status" -eq 255 && "$MODE" == acknowledged ]]; then
        echo "rebuild check: WARNING: the old server (generation $PREVIOUS_GENERATION) does not answer SSH at $HOST" \
            "(ssh: ${notes:-no message}): no backup before the rebuild; going on as $ACK_KEY allows" >&2
        return 0
    fi
    if [[ "$status" -ne 0 ]]; then
        refuse "$GENERATION_KEY: bumping it from $PREVIOUS_GENERATION to $TARGET_GENERATION, but the backup of the" \
            "management cluster on the running server failed (exit $status: ${notes:-no message}). Fix the cause and run" \
            "up again; or, to rebuild without a backup this once, run 'sudo touch $PROCEED_FILE' on that server" \
            "($LOGIN_USER@$HOST) and run up again"
    fi
    if [[ -n "$out" ]]; then
        echo "rebuild check: $out"
    fi
    if [[ -n "$notes" ]]; then
        echo "rebuild check: on the old server: $notes" >&2
    fi
}

if [[ "$MODE" == acknowledged ]]; then
    back_up
    exit 0
fi

remote="set -uo pipefail
$(declare -p SERVER_KUBECONFIG_PATH REQUEST_TIMEOUT_SECONDS)
$(declare -f list_clusters)
list_clusters"

status=0
clusters=$(on_server "$remote") || status=$?
notes=$(tr '\n' ' ' <"$dir/stderr" | sed 's/ *$//')

if [[ "$status" -eq 255 ]]; then
    refuse "$GENERATION_KEY: bumping it from $PREVIOUS_GENERATION to $TARGET_GENERATION, but the running server (generation" \
        "$PREVIOUS_GENERATION) does not answer SSH at $HOST with its pinned host key ($CONNECTION_ATTEMPTS attempts of" \
        "${CONNECT_TIMEOUT_SECONDS}s; ssh: ${notes:-no message}), so its management cluster cannot be checked for Cluster" \
        "objects. If it is only unreachable from here (sshAllowedCidrs, stopped), fix that and run up again; if that server" \
        "is really gone, its management cluster is gone with it: $ACKNOWLEDGE"
fi
if [[ "$status" -ne 0 ]]; then
    refuse "$GENERATION_KEY: bumping it from $PREVIOUS_GENERATION to $TARGET_GENERATION, but the management cluster on the" \
        "running server could not be asked for Cluster objects (exit $status: ${notes:-no message}). Repair it and run up" \
        "again, or $DELETE_OR_MOVE, or if it is beyond repair $ACKNOWLEDGE"
fi

found=$(printf '%s\n' "$clusters" | grep -c . || true)
if [[ "$found" -gt 0 ]]; then
    listed=$(printf '%s\n' "$clusters" | grep . | head -n "$MAX_LISTED" | tr '\n' ' ' | sed 's/ *$//')
    more=""
    if [[ "$found" -gt "$MAX_LISTED" ]]; then
        more=" and $((found - MAX_LISTED)) more"
    fi
    refuse "$GENERATION_KEY: bumping it from $PREVIOUS_GENERATION to $TARGET_GENERATION would build a second management" \
        "cluster while the running one (generation $PREVIOUS_GENERATION) holds $found Cluster object(s): $listed$more." \
        "Flux on the new one would apply the same Clusters at once while the old CAPO still reconciles them until the old" \
        "server is deleted at the end of the up: two CAPOs on the same servers, networks and load balancers. Set" \
        "$GENERATION_KEY back to $PREVIOUS_GENERATION, or $DELETE_OR_MOVE, or $ACKNOWLEDGE"
fi
back_up
echo "rebuild check: the management cluster of generation $PREVIOUS_GENERATION at $HOST holds no Cluster objects${notes:+ ($notes)};" \
    "building generation $TARGET_GENERATION"
