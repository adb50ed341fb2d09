#!/usr/bin/env bash
# A fake ctr for gitops/tools/etcd-restore-node.sh: logs its arguments, one a line, and
# "restores" by writing the data directory under $ROOT with the snapshot's content.
set -euo pipefail
printf '%s\n' "$@" >"$FAKE_STATE/ctr-args"
mkdir -p "$ROOT/var/lib/etcd/member"
for a in "$@"; do
    if [[ "$a" == /backup/* ]]; then cp "$ROOT/var/backups/etcd/${a#/backup/}" "$ROOT/var/lib/etcd/member/snap"; fi
done
