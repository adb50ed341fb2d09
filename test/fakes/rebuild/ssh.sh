#!/usr/bin/env bash
# Fake ssh for src/host/scripts/rebuild-check.sh's tests (test/rebuildCheck.spec.ts): records its
# arguments, the mode of the key file and whether it is the login key, and the known_hosts
# file's content to $FAKE_LOG. FAKE_SSH=unreachable or hostkey fails as ssh does (exit 255);
# otherwise the remote command (the last argument) runs here, the script on stdin.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=ssh-args.sh
source "${0%/*}/ssh-args.sh"
{
    echo "ssh args $*"
    echo "ssh key mode $(stat -c %a "$key") dir mode $(stat -c %a "$(dirname "$key")")"
    if cmp -s "$key" "$FAKE_EXPECTED_KEY"; then
        echo "ssh key is the login key"
    fi
    echo "ssh known_hosts $(cat "$known_hosts")"
    echo "ssh dir $(dirname "$key")"
} >>"$FAKE_LOG"
last=$((${#args[@]} - 1))
case "${FAKE_SSH:-ok}" in
    unreachable)
        echo "ssh: connect to host ${args[last - 1]#*@} port 22: Connection timed out" >&2
        exit 255
        ;;
    hostkey)
        echo "Host key verification failed." >&2
        exit 255
        ;;
esac
exec bash -c "${args[last]}"
