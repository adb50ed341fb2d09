#!/usr/bin/env bash
# `curl` on the fake server: logs the call, then serves `$S/downloads` (test/fakes/curl.sh, installed beside it as `curl-serve`).
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
exec "${0%/*}/curl-serve" "$@"
