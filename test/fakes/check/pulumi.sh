#!/usr/bin/env bash
# Fake pulumi: prints $FAKE_OUTPUTS for `stack output --json --show-secrets --stack <s>`, or fails.
# Inputs (environment): FAKE_LOG (the call log), FAKE_STACK (the stack it knows), FAKE_OUTPUTS (the outputs' JSON file), FAKE_PULUMI_FAIL (when set: no such stack).
echo "pulumi $*" >>"$FAKE_LOG"
if [[ -n "${FAKE_PULUMI_FAIL:-}" ]]; then
    echo "error: no stack named '$6' found" >&2
    exit 255
fi
[[ "$*" == "stack output --json --show-secrets --stack $FAKE_STACK" ]] || { echo "unexpected: $*" >&2; exit 9; }
cat "$FAKE_OUTPUTS"
