#!/usr/bin/env bash
# A stand-in for backup-upload.sh as backup.sh calls it (test/backupUpload.spec.ts): records its
# arguments and exits with the status the test chose.
# Inputs (environment): FAKE_STATE (upload-calls: the argument lines; upload-exit: the status).
echo "$@" >>"$FAKE_STATE/upload-calls"
exit "$(cat "$FAKE_STATE/upload-exit")"
