#!/usr/bin/env bash
# backup-status.sh: reads where and when the management server's last good backup is, for the
# stack output `lastBackup` (src/backup/backupStatus.ts). Like rebuild-check.sh it runs on the
# machine running Pulumi (an invoke of pulumi-command's local.run, on every preview and up),
# and reaches the server over SSH at HOST with the login key and the pinned host key.
#
# Prints key=value lines, nothing secret: `latest=<backup directory name>`, the last good
# backup's backup.env (time, epoch, reason, namespace, objects, clusters), and the failure
# marker's lines prefixed `failed_` (time, reason, message). When the server cannot be asked:
# one line `unreachable=<why>`. Always exits 0: a status must never fail the `up`. Bounded:
# one TCP attempt of CONNECT_TIMEOUT_SECONDS, keepalives, no retry. Bash 3.2 compatible.
#
# Parameters (rendered above this header by src/backup/backupStatus.ts):
#   HOST, HOST_PUBLIC_KEY, LOGIN_USER  the server, its pinned host key, the login user
#   BACKUP_DIR                         the server's backup directory
#   CONNECT_TIMEOUT_SECONDS            the bound above
# Environment:
#   CAPI_MGMT_LOGIN_KEY                the login private key (only written to a private temp file)
set -uo pipefail

if [[ -z "${CAPI_MGMT_LOGIN_KEY:-}" || -z "$HOST" ]]; then
    echo "unreachable=no server address or login key yet"
    exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-backup-status.XXXXXX") || {
    echo "unreachable=cannot make a temporary directory on this machine"
    exit 0
}
trap 'rm -rf "$dir"' EXIT
(
    umask 077
    printf '%s\n' "$CAPI_MGMT_LOGIN_KEY" >"$dir/id"
    printf '%s %s\n' "$HOST" "$HOST_PUBLIC_KEY" >"$dir/known_hosts"
)

# Expanded on the server, not here.
# shellcheck disable=SC2016
remote="d=$(printf '%q' "$BACKUP_DIR")"'
if [[ -L "$d/latest" ]]; then echo "latest=$(basename "$(readlink "$d/latest")")"; fi
if [[ -f "$d/last-success" ]]; then cat "$d/last-success"; fi
if [[ -f "$d/FAILED" ]]; then sed "s/^/failed_/" "$d/FAILED"; fi
exit 0'

out=$(ssh -i "$dir/id" \
    -o IdentitiesOnly=yes -o IdentityAgent=none \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$dir/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o UpdateHostKeys=no -o CheckHostIP=no -o BatchMode=yes \
    -o "ConnectTimeout=$CONNECT_TIMEOUT_SECONDS" -o ConnectionAttempts=1 \
    -o ServerAliveInterval=10 -o ServerAliveCountMax=3 \
    -T "$LOGIN_USER@$HOST" "sudo -n bash -s" <<<"$remote" 2>"$dir/stderr")
status=$?
if [[ "$status" -ne 0 ]]; then
    echo "unreachable=ssh to $LOGIN_USER@$HOST failed (exit $status: $(head -c 300 "$dir/stderr" | tr '\n' ' ' | sed 's/ *$//'))"
    exit 0
fi
printf '%s\n' "$out"
exit 0
