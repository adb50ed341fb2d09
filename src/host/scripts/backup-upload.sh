#!/usr/bin/env bash
# backup-upload.sh: copies the management cluster's backups (src/host/scripts/backup.sh) to object
# storage in the same cloud (Swift's API), keeps a retention there, and fetches one back for
# the restore (docs/backup-restore.md, "Object storage"). Runs as root.
#
# Usage:
#   backup-upload.sh [upload] [DIR]        upload DIR (default: BACKUP_DIR/latest) as one object
#                                          <DIR's name>.tar.gz (objects/ and backup.env), then
#                                          delete the objects beyond the retention
#   backup-upload.sh fetch [OBJECT] DEST   download OBJECT (default: the newest) and unpack it
#                                          into the new directory DEST
#   backup-upload.sh list                  the backups in the container, oldest first
#
# It authenticates with its own application credential (restricted by Keystone access rules to
# the container's object paths; the program creates it, backup.objectStorage) at Keystone
# (POST /v3/auth/tokens), and calls Swift with the token. Neither the credential's secret nor
# the token ever reaches a command line: the secret goes to curl on stdin, the token in a
# header file (-H @file) of a root-only temporary directory removed on exit. Needs only curl,
# tar and md5sum.
#
# CONFIG_FILE (root-only, written by the host step backup-object-storage; key=value lines, read,
# never sourced):
#   AUTH_URL           Keystone's public endpoint (with or without /v3)
#   CREDENTIAL_ID      the backup application credential's ID
#   CREDENTIAL_SECRET  its secret
#   STORAGE_URL        the project's Swift account URL (…/v1/AUTH_<project id>)
#   CONTAINER          the container of this stack's backups
#   KEEP               objects kept (the newest; >= 1)
#   MAX_AGE_DAYS       objects older than this many days are deleted too, 0: no age limit;
#                      the newest object is never deleted by age
#
# Retention: only objects named like a backup (<UTC time>Z-<reason>[-n].tar.gz) are counted or
# deleted; anything else in the container is left alone. Names sort by time.
#
# Exit: 0 done (or nothing configured: no CONFIG_FILE), 1 failed (the message says what the
# cloud answered; backup.sh then records FAILED), 2 bad arguments. Logs go to stderr; stdout
# gets one summary line (list: the names).
#
# Parameters (rendered above this header by src/backup/objectStorage.ts, or taken from the environment):
#   BACKUP_DIR   root-only directory of the local backups
#   CONFIG_FILE  the root-only configuration above
set -euo pipefail
umask 077

: "${BACKUP_DIR:?}" "${CONFIG_FILE:?}"

log() { echo "backup-upload: $*" >&2; }
die() {
    log "FAILED: $1"
    exit "${2:-1}"
}

mode=upload
case "${1:-}" in
    upload | fetch | list)
        mode=$1
        shift
        ;;
esac

if [[ ! -f "$CONFIG_FILE" ]]; then
    [[ "$mode" == upload ]] || die "no $CONFIG_FILE: object storage is not configured on this server (capi-mgmt:backupObjectStorage.enabled, then pulumi up)"
    log "no $CONFIG_FILE: object storage not configured, nothing uploaded"
    exit 0
fi

# conf KEY: the value of KEY= in CONFIG_FILE (the first one).
conf() { sed -n "s/^$1=//p" "$CONFIG_FILE" | head -n 1; }
AUTH_URL=$(conf AUTH_URL)
CREDENTIAL_ID=$(conf CREDENTIAL_ID)
CREDENTIAL_SECRET=$(conf CREDENTIAL_SECRET)
STORAGE_URL=$(conf STORAGE_URL)
CONTAINER=$(conf CONTAINER)
KEEP=$(conf KEEP)
MAX_AGE_DAYS=$(conf MAX_AGE_DAYS)
[[ "$AUTH_URL" =~ ^https?://[^[:space:]]+$ ]] || die "$CONFIG_FILE: AUTH_URL is not an http(s) URL" 2
[[ "$STORAGE_URL" =~ ^https?://[^[:space:]]+$ ]] || die "$CONFIG_FILE: STORAGE_URL is not an http(s) URL" 2
[[ "$CREDENTIAL_ID" =~ ^[A-Za-z0-9_-]+$ ]] || die "$CONFIG_FILE: CREDENTIAL_ID is missing or not an ID" 2
# Keystone's generated secrets are URL-safe base64; anything else could break the JSON below.
[[ "$CREDENTIAL_SECRET" =~ ^[A-Za-z0-9_=+/.-]+$ ]] || die "$CONFIG_FILE: CREDENTIAL_SECRET is missing or has unexpected characters" 2
[[ "$CONTAINER" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$ ]] || die "$CONFIG_FILE: CONTAINER is not a container name" 2
[[ "$KEEP" =~ ^[1-9][0-9]*$ ]] || die "$CONFIG_FILE: KEEP must be a positive number, got '$KEEP'" 2
[[ "$MAX_AGE_DAYS" =~ ^[0-9]+$ ]] || die "$CONFIG_FILE: MAX_AGE_DAYS must be a number of days (0: none), got '$MAX_AGE_DAYS'" 2
AUTH_URL=${AUTH_URL%/}
[[ "$AUTH_URL" == */v3 ]] || AUTH_URL="$AUTH_URL/v3"
STORAGE_URL=${STORAGE_URL%/}
container_url="$STORAGE_URL/$CONTAINER"

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# http METHOD URL [curl args...]: the call with the token; the body goes to $work/body, the
# HTTP status to stdout ("000" when there was no answer).
http() {
    local method=$1 url=$2
    shift 2
    curl -sS -X "$method" -H @"$work/auth" -o "$work/body" -w '%{http_code}' --connect-timeout 20 --max-time 900 "$@" "$url" || true
}

# The answer's first lines, for a message (Swift's and Keystone's error bodies are short text or JSON).
answer() { head -c 300 "$work/body" 2>/dev/null | tr '\n' ' ' || true; }

token() {
    local status
    # The secret reaches curl on stdin (printf is a shell builtin: no process sees it in its arguments).
    status=$(printf '{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"%s","secret":"%s"}}}}' \
        "$CREDENTIAL_ID" "$CREDENTIAL_SECRET" |
        curl -sS -X POST -H 'Content-Type: application/json' --data-binary @- -D "$work/headers" -o "$work/body" \
            -w '%{http_code}' --connect-timeout 20 --max-time 120 "$AUTH_URL/auth/tokens" || true)
    [[ "$status" == 201 ]] || die "Keystone refused the backup credential $CREDENTIAL_ID at $AUTH_URL (HTTP $status: $(answer)); expired or deleted? pulumi up re-creates it"
    local t
    t=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *//p' | head -n 1)
    [[ -n "$t" ]] || die "Keystone's answer at $AUTH_URL has no X-Subject-Token header"
    printf 'X-Auth-Token: %s\n' "$t" >"$work/auth"
}

BACKUP_NAME='^[0-9]{8}T[0-9]{6}Z-[a-z][a-z-]*(-[0-9]+)?\.tar\.gz$'

# The container's backups into $work/list, oldest first (backup names sort by time).
list_backups() {
    local status
    status=$(http GET "$container_url?format=plain&limit=10000")
    [[ "$status" == 200 || "$status" == 204 ]] || die "listing container $CONTAINER failed (HTTP $status: $(answer)) at $container_url"
    { grep -E "$BACKUP_NAME" "$work/body" || true; } | LC_ALL=C sort >"$work/list"
}

delete_object() { # name why
    local status
    status=$(http DELETE "$container_url/$1")
    case "$status" in
        204 | 200 | 404) log "deleted $CONTAINER/$1 ($2)" ;;
        *) die "deleting $CONTAINER/$1 failed (HTTP $status: $(answer))" ;;
    esac
}

retention() {
    local -a names
    list_backups
    mapfile -t names <"$work/list"
    local n=${#names[@]} i cutoff=""
    if ((MAX_AGE_DAYS > 0)); then
        cutoff=$(date -u -d "@$(($(date +%s) - MAX_AGE_DAYS * 86400))" +%Y%m%dT%H%M%SZ)
    fi
    for ((i = 0; i < n - 1; i++)); do
        if ((i < n - KEEP)); then
            delete_object "${names[$i]}" "keeping the newest $KEEP"
        elif [[ -n "$cutoff" && "${names[$i]:0:16}" < "$cutoff" ]]; then
            delete_object "${names[$i]}" "older than $MAX_AGE_DAYS days"
        fi
    done
}

upload() {
    local dir=${1:-$BACKUP_DIR/latest} status name sum
    dir=$(readlink -f -- "$dir") || die "no backup at ${1:-$BACKUP_DIR/latest}" 2
    [[ -f "$dir/backup.env" && -d "$dir/objects" ]] || die "$dir has no backup.env and objects/: not a backup of backup.sh" 2
    name="${dir##*/}.tar.gz"
    [[ "$name" =~ $BACKUP_NAME ]] || die "$dir is not named like a backup (<UTC time>Z-<reason>)" 2
    tar -C "$dir" -czf "$work/backup.tar.gz" objects backup.env
    sum=$(md5sum "$work/backup.tar.gz")
    sum=${sum%% *}
    token
    # Swift checks the ETag against what it stored (422 when they differ).
    status=$(http PUT "$container_url/$name" -T "$work/backup.tar.gz" -H "ETag: $sum" -H 'Content-Type: application/gzip')
    [[ "$status" == 201 ]] || die "uploading $name to container $CONTAINER failed (HTTP $status: $(answer)) at $container_url"
    log "uploaded $CONTAINER/$name ($(stat -c %s "$work/backup.tar.gz") bytes, md5 $sum)"
    retention
    echo "backup-upload: $container_url/$name"
}

fetch() {
    local object="" dest status
    if (($# == 2)); then
        object=$1
        dest=$2
    elif (($# == 1)); then
        dest=$1
    else
        die "usage: backup-upload.sh fetch [OBJECT] DEST" 2
    fi
    [[ ! -e "$dest" ]] || die "$dest exists already" 2
    token
    if [[ -z "$object" ]]; then
        list_backups
        object=$(tail -n 1 "$work/list")
        [[ -n "$object" ]] || die "container $CONTAINER holds no backup"
    fi
    [[ "$object" =~ $BACKUP_NAME ]] || die "$object is not the name of a backup (<UTC time>Z-<reason>.tar.gz)" 2
    status=$(http GET "$container_url/$object")
    [[ "$status" == 200 ]] || die "downloading $CONTAINER/$object failed (HTTP $status: $(answer))"
    mkdir -p -- "$dest"
    tar -xzf "$work/body" -C "$dest" objects backup.env || die "$CONTAINER/$object is not a tar.gz of a backup"
    echo "backup-upload: fetched $CONTAINER/$object into $dest"
}

case "$mode" in
    upload)
        (($# <= 1)) || die "usage: backup-upload.sh [upload] [DIR]" 2
        upload "$@"
        ;;
    fetch) fetch "$@" ;;
    list)
        token
        list_backups
        cat "$work/list"
        ;;
esac
