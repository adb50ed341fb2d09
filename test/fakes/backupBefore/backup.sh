#!/usr/bin/env bash
# Fake installed backup script (src/host/scripts/backup.sh) for test/backupBefore.spec.ts: logs
# its reason to $FAKE_LOG, prints a summary line, exits $FAKE_BACKUP_EXIT (default 0) with a
# failure message on stderr when it is not 0.
set -euo pipefail
echo "backup $*" >>"$FAKE_LOG"
if [[ "${FAKE_BACKUP_EXIT:-0}" != 0 ]]; then
    echo "backup: FAILED: Cluster(s) paused: clusters/alpha" >&2
    exit "$FAKE_BACKUP_EXIT"
fi
echo "backup: /var/lib/capi-mgmt/backups/20260528T202640Z-$1: 4 objects, 1 Cluster(s) of namespace clusters"
