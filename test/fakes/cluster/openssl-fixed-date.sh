#!/usr/bin/env bash
# A fake `openssl` (test/clusterScriptsApiCertExpiry.spec.ts, src/host/scripts/api-cert-expiry.sh): reads and drops the
# certificate on stdin and prints a fixed end date in openssl's format.
# Inputs (environment): FAKE_CALL_LOG, the call log (`openssl <args>` a line).
echo "openssl $*" >>"$FAKE_CALL_LOG"
cat >/dev/null
echo "notAfter=Nov 22 13:00:00 2027 GMT"
