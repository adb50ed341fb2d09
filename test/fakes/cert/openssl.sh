#!/usr/bin/env bash
# The fake openssl of the certificate tests (test/fakes/certFakes.ts): only
# `openssl x509 -noout -enddate`, reading a fake certificate (`FAKE CERTIFICATE notAfter=...`)
# from stdin. No other inputs.
set -euo pipefail
[[ "$*" == "x509 -noout -enddate" ]] || { echo "fake openssl: unexpected arguments: $*" >&2; exit 64; }
pem=$(cat)
if [[ "$pem" =~ notAfter=(.*)$ ]]; then
    echo "notAfter=${BASH_REMATCH[1]}"
else
    echo "unable to load certificate" >&2
    exit 1
fi
