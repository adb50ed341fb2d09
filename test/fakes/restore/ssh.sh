#!/usr/bin/env bash
# Fake ssh for `npm run restore` and `npm run backup` (test/restore.spec.ts, test/backup.spec.ts): records its arguments and the modes of
# the key and known_hosts files, then runs the script from stdin with bash as the server would,
# its BACKUP_DIR, MGMT_KUBECONFIG, SCRIPT_PATH and UNIT_DIR moved under $FAKE_ROOT (the fakes of the server are on PATH).
# Inputs (environment): FAKE_LOG, FAKE_ROOT, FAKE_SSH_EXIT (when set: exit with it, running nothing).
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=ssh-args.sh
source "${0%/*}/ssh-args.sh"
{
    echo "ssh $*"
    echo "key mode $(stat -c %a "$key") known_hosts mode $(stat -c %a "$known_hosts")"
} >>"$FAKE_LOG"
if [[ -n "${FAKE_SSH_EXIT:-}" ]]; then
    cat >/dev/null
    exit "$FAKE_SSH_EXIT"
fi
sed -e "s#^readonly BACKUP_DIR=.*#readonly BACKUP_DIR='$FAKE_ROOT/backups'#" \
    -e "s#^readonly MGMT_KUBECONFIG=.*#readonly MGMT_KUBECONFIG='$FAKE_ROOT/kubeconfig'#" \
    -e "s#^readonly SCRIPT_PATH=.*#readonly SCRIPT_PATH='$FAKE_ROOT/lib/backup.sh'#" \
    -e "s#^readonly UNIT_DIR=.*#readonly UNIT_DIR='$FAKE_ROOT/units'#" | tee "$FAKE_ROOT/script.sh" | bash -s
