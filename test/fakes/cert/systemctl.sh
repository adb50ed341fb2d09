#!/usr/bin/env bash
# The recording systemctl of the certificate tests (test/fakes/certFakes.ts).
# Inputs (environment): FAKE_CALL_LOG, the call log (`systemctl <args>` a line).
printf 'systemctl %s\n' "$*" >>"$FAKE_CALL_LOG"
