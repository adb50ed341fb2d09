#!/usr/bin/env bash
# A fake Pulumi CLI for render's secrets (render/secrets.ts), on PATH as `pulumi`: answers
# `pulumi config --show-secrets --json --stack <stack>` as the real CLI does, from a file.
# Inputs (environment):
#   FAKE_PULUMI_CONFIG  the JSON to print (what the real CLI prints: per key, value and secret)
#   FAKE_PULUMI_FAIL    when set, printed on stderr as `error: <it>` with exit 255 instead
#   FAKE_PULUMI_LOG     log: the arguments, the working directory and whether
#                       PULUMI_CONFIG_PASSPHRASE was set, one line each per call
set -euo pipefail
{
    echo "args: $*"
    echo "cwd: $PWD"
    echo "passphrase: ${PULUMI_CONFIG_PASSPHRASE:+set}"
} >>"${FAKE_PULUMI_LOG:-/dev/null}"
if [[ "$*" != "config --show-secrets --json --stack "* || $# -ne 5 ]]; then
    echo "error: the fake pulumi knows only 'config --show-secrets --json --stack <stack>', not: $*" >&2
    exit 2
fi
if [[ -n "${FAKE_PULUMI_FAIL:-}" ]]; then
    echo "error: $FAKE_PULUMI_FAIL" >&2
    exit 255
fi
cat -- "${FAKE_PULUMI_CONFIG:?the fake pulumi needs FAKE_PULUMI_CONFIG}"
