#!/usr/bin/env bash
# Fake systemctl of the server: only recorded (the call log).
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
