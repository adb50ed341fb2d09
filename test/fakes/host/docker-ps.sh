#!/usr/bin/env bash
# A fake `docker` for the host-proxy step (test/proxyScriptsHostProxy.spec.ts): only `docker ps --quiet`,
# which prints FAKE_RUNNING (the running containers' ids).
# Inputs (environment): FAKE_LOG, the log (`docker <args>` a line); FAKE_RUNNING (default none).
echo "docker $*" >>"$FAKE_LOG"
[[ "$*" == "ps --quiet" ]] || { echo "fake docker: unexpected $*" >&2; exit 64; }
printf '%s' "${FAKE_RUNNING:-}"
