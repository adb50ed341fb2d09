#!/usr/bin/env bash
# The teardown's call of backup_before (src/host/scripts/teardown.sh), alone, for
# test/backupBefore.spec.ts: rendered with the include; warn mode, then the teardown goes on.
set -euo pipefail
: "${BACKUP_COMMAND:?}" "${KUBECONFIG_PATH:?}"
# capi-mgmt:include backup-before.sh
backup_before before-destroy warn "the teardown" "$BACKUP_COMMAND" "$KUBECONFIG_PATH" "" >&2
echo teardown-goes-on
