#!/usr/bin/env bash
# The root side of the fake sudo (test/fakes/sudo.ts, sudo.sh): run as root, it serves the fake
# sudo's requests in the background (each a NUL-separated command read from the FIFO
# `$FAKE_SUDO_DIR/request`, run as root, its status written to `$FAKE_SUDO_DIR/reply`), then
# runs the script on stdin as the login user, exactly `bash -s` as the remote command does, and
# exits with its status.
# Arguments: the login user's uid and gid. Inputs (environment): FAKE_SUDO_DIR.
set -u
login_uid=$1
login_gid=$2
while mapfile -d '' -t cmd <"$FAKE_SUDO_DIR/request"; do
    status=0
    "${cmd[@]}" </dev/null >/dev/null 2>&1 || status=$?
    echo "$status" >"$FAKE_SUDO_DIR/reply"
done &
helper=$!
status=0
setpriv --reuid="$login_uid" --regid="$login_gid" --clear-groups bash -s || status=$?
kill "$helper" 2>/dev/null
wait "$helper" 2>/dev/null
exit "$status"
