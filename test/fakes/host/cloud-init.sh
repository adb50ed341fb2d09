#!/usr/bin/env bash
# A fake `cloud-init` for src/host/scripts/wait-ready.sh (test/hostScriptsWaitReady.spec.ts): `status --wait` and
# `status --long` print a status and exit FAKE_CLOUD_INIT_EXIT; other arguments are refused.
# Inputs (environment):
#   FAKE_CLOUD_INIT_LOG    log of every call's arguments, one line each
#   FAKE_CLOUD_INIT_EXIT   exit status of `status` (default 0)
#   FAKE_CLOUD_INIT_SLEEP  when set, `status --wait` sleeps this many seconds instead (a hang)
echo "$*" >>"$FAKE_CLOUD_INIT_LOG"
case "$*" in
    "status --wait")
        if [[ -n "${FAKE_CLOUD_INIT_SLEEP:-}" ]]; then
            exec sleep "$FAKE_CLOUD_INIT_SLEEP"
        fi
        echo "status: done"
        exit "${FAKE_CLOUD_INIT_EXIT:-0}"
        ;;
    "status --long")
        echo "status: done"
        echo "recoverable_errors: fake-module: something went sideways"
        exit "${FAKE_CLOUD_INIT_EXIT:-0}"
        ;;
    *)
        echo "fake cloud-init: unexpected arguments: $*" >&2
        exit 64
        ;;
esac
