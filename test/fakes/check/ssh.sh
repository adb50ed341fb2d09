#!/usr/bin/env bash
# Fake ssh: records its arguments, the modes and contents of the key and known_hosts files
# it was given, and the script on stdin; prints a line and exits $FAKE_SSH_EXIT. With
# FAKE_SSH_HANG it waits (for SIGTERM, which it records) after writing $FAKE_DIR/started.
# Inputs (environment): FAKE_LOG (the log), FAKE_DIR (where the script on stdin goes, as script.sh, and the file started), FAKE_EXPECTED_KEY (the stack's login key), FAKE_SSH_EXIT (its exit status, default 0), FAKE_SSH_HANG (when set: wait for SIGTERM).
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=ssh-args.sh
source "${0%/*}/ssh-args.sh"
{
    echo "args $*"
    echo "key mode $(stat -c %a "$key") dir mode $(stat -c %a "$(dirname "$key")")"
    echo "known_hosts mode $(stat -c %a "$known_hosts") content $(cat "$known_hosts")"
    cmp -s "$key" "$FAKE_EXPECTED_KEY" && echo "key is the stack's login key"
    echo "dir $(dirname "$key")"
} >>"$FAKE_LOG"
cat >"$FAKE_DIR/script.sh"
echo "remote: conformance output"
if [[ -n "${FAKE_SSH_HANG:-}" ]]; then
    trap 'echo "ssh got TERM" >>"$FAKE_LOG"; exit 143' TERM
    touch "$FAKE_DIR/started"
    while :; do sleep 0.1; done
fi
exit "${FAKE_SSH_EXIT:-0}"
