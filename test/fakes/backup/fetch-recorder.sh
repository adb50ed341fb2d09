#!/usr/bin/env bash
# A stand-in for backup-upload.sh as restore.sh calls it (`fetch [OBJECT] DEST`;
# test/backupUpload.spec.ts): records its arguments and unpacks a backup of namespace clusters
# with one Cluster, taken "now", into DEST; FAKE_FETCH_FAIL=1 fails as a refused download does.
# Inputs (environment): FAKE_STATE (now; upload-calls: the argument lines), FAKE_FETCH_FAIL.
echo "$@" >>"$FAKE_STATE/upload-calls"
if [[ -n "${FAKE_FETCH_FAIL:-}" ]]; then
    echo "backup-upload: FAILED: downloading dev-backups/x failed (HTTP 404: Not Found)" >&2
    exit 1
fi
dest=${*: -1}
mkdir -p "$dest/objects"
echo "kind: Cluster" >"$dest/objects/Cluster_clusters_alpha.yaml"
printf 'time=2026-05-28T20:26:40Z\nepoch=%s\nreason=scheduled\nnamespace=clusters\n' "$(cat "$FAKE_STATE/now")" >"$dest/backup.env"
