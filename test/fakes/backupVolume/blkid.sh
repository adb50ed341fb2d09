#!/usr/bin/env bash
# Fake blkid for test/backupVolume.spec.ts: `blkid -p -o value -s TAG -- DEVICE` answers from
# $FAKE_STATE: fstype (TYPE), pttype (PTTYPE), uuid (UUID); exit 2 (nothing found) when the file is absent.
set -euo pipefail
echo "blkid $*" >>"$FAKE_LOG"
tag=""
while (($#)); do
    case "$1" in
        -s) tag=$2; shift ;;
    esac
    shift
done
case "$tag" in
    TYPE) file=fstype ;;
    PTTYPE) file=pttype ;;
    UUID) file=uuid ;;
    *) exit 4 ;;
esac
[[ -f "$FAKE_STATE/$file" ]] || exit 2
cat "$FAKE_STATE/$file"
