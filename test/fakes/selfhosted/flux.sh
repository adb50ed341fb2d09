#!/usr/bin/env bash
# Fake flux of the self-hosted mode's script tests: `flux uninstall --kubeconfig <kind> ...`
# removes $FAKE_DIR/kind.flux; $FAKE_DIR/flux-fails makes it fail. Logged to $FAKE_DIR/calls.
set -euo pipefail
echo "flux $*" >>"$FAKE_DIR/calls"
if [[ -e "$FAKE_DIR/flux-fails" ]]; then
    echo "fake flux: uninstall failed" >&2
    exit 1
fi
[[ "$1" == uninstall && "$3" == "$FAKE_KIND_KUBECONFIG" ]] || exit 64
rm -f "$FAKE_DIR/kind.flux" "$FAKE_DIR/kind.flux-stopped"
