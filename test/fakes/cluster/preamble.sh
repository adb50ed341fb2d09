# shellcheck shell=bash
# Sourced first by every fake of the fake management server (test/fakes/clusterFakes.ts, which
# installs it beside them): logs the call, then `$S` is the state directory.
# Inputs (environment): FAKE_STATE, the state directory; FAKE_CALL_LOG, the shared call log.
set -euo pipefail
# shellcheck disable=SC2034 # used by the fakes that source this
S="$FAKE_STATE"
printf '%s %s\n' "${0##*/}" "$*" >>"$FAKE_CALL_LOG"
# The proxy variables each call saw (unset ones as "-"), one line per call, same order as the call log.
printf '%s HTTP_PROXY=%s HTTPS_PROXY=%s NO_PROXY=%s http_proxy=%s https_proxy=%s no_proxy=%s\n' "${0##*/}" \
    "${HTTP_PROXY--}" "${HTTPS_PROXY--}" "${NO_PROXY--}" "${http_proxy--}" "${https_proxy--}" "${no_proxy--}" >>"$FAKE_CALL_LOG.env"
