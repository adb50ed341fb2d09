#!/usr/bin/env bash
# A fake `curl` speaking Keystone's token API and Swift's object API as
# src/host/scripts/backup-upload.sh calls them (test/backupUpload.spec.ts), on PATH as `curl`.
# Keystone: POST …/v3/auth/tokens with the application credential in the body on stdin: 201 and
# `X-Subject-Token: fake-token` when it carries $FAKE_SWIFT/secret, else 401. Swift: …/v1/AUTH_x/
# <container>[/<object>] with `X-Auth-Token: fake-token` from a header file (-H @file), else 401;
# only the container named in $FAKE_SWIFT/container is allowed (403 for another, as Keystone's
# access rules refuse it); its objects are the files of $FAKE_SWIFT/objects.
# Inputs (environment):
#   FAKE_SWIFT       the fake cloud's directory (secret, container, objects/)
#   FAKE_SWIFT_FAIL  METHOD:STATUS: every Swift call with that method answers STATUS
#   FAKE_LOG         each call's method, URL and full argument list, one line
set -euo pipefail
args=("$@")
method=GET out=/dev/null headers="" upload="" auth="" body="" url="" etag=""
while (($#)); do
    case "$1" in
        -X) method=$2; shift 2 ;;
        -H)
            case "$2" in
                @*) auth=$(cat "${2#@}") ;;
                ETag:*) etag=${2#ETag: } ;;
            esac
            shift 2
            ;;
        -D) headers=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        -T) upload=$2; shift 2 ;;
        --data-binary) body=$(cat); shift 2 ;;
        -w | --connect-timeout | --max-time) shift 2 ;;
        http://* | https://*) url=$1; shift ;;
        *) shift ;;
    esac
done
echo "$method $url ARGS ${args[*]}" >>"$FAKE_LOG"
answer() { # status [body]
    printf '%s' "${2:-}" >"$out"
    printf '%s' "$1"
}
if [[ "$url" == */v3/auth/tokens ]]; then
    if [[ "$method" == POST && "$body" == *"\"secret\":\"$(cat "$FAKE_SWIFT/secret")\""* ]]; then
        printf 'HTTP/1.1 201 Created\r\nX-Subject-Token: fake-token\r\n\r\n' >"$headers"
        answer 201 '{"token":{}}'
    else
        answer 401 '{"error":{"code":401,"title":"Unauthorized"}}'
    fi
    exit 0
fi
[[ "$auth" == "X-Auth-Token: fake-token" ]] || { answer 401 "Unauthorized"; exit 0; }
if [[ -n "${FAKE_SWIFT_FAIL:-}" && "$method" == "${FAKE_SWIFT_FAIL%%:*}" ]]; then
    answer "${FAKE_SWIFT_FAIL#*:}" "fake failure"
    exit 0
fi
path=${url#*/v1/AUTH_*/}
path=${path%%\?*}
container=${path%%/*}
object=""
[[ "$path" == */* ]] && object=${path#*/}
[[ "$container" == "$(cat "$FAKE_SWIFT/container")" ]] || { answer 403 "Forbidden"; exit 0; }
store="$FAKE_SWIFT/objects"
mkdir -p "$store"
case "$method:${object:+object}" in
    GET:)
        list=$(find "$store" -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort)
        if [[ -z "$list" ]]; then answer 204; else answer 200 "$list"$'\n'; fi
        ;;
    PUT:object)
        if [[ -n "$etag" && "$etag" != "$(md5sum <"$upload" | cut -d' ' -f1)" ]]; then
            answer 422 "Unprocessable Entity"
        else
            cp "$upload" "$store/$object"
            answer 201
        fi
        ;;
    GET:object)
        if [[ -f "$store/$object" ]]; then
            cp "$store/$object" "$out"
            printf 200
        else
            answer 404 "Not Found"
        fi
        ;;
    DELETE:object)
        if [[ -f "$store/$object" ]]; then
            rm -f "$store/$object"
            answer 204
        else
            answer 404 "Not Found"
        fi
        ;;
    *) answer 405 "Method Not Allowed" ;;
esac
