# shellcheck shell=bash
# The backup before a risky operation (docs/backup-restore.md, "Before risky operations"):
# backup-before.sh (before a version upgrade of the cluster components, and before a
# serverGeneration bump, on the old server) and teardown.sh (before `pulumi destroy`).
#
# Not run on its own: src/host/hostScripts.ts (renderHostScript) puts this text in place of a
# script's `# capi-mgmt:include backup-before.sh` line.

# backup_before REASON ON_FAILURE WHAT COMMAND KUBECONFIG PROCEED_FILE
#   REASON        the backup's reason (its directory's suffix), e.g. before-upgrade
#   ON_FAILURE    refuse: a failed backup returns 1, unless PROCEED_FILE exists (it is then
#                 removed: it lets one operation go on); warn: it is reported and returns 0
#   WHAT          the operation, for the messages ("the upgrade of ...")
#   COMMAND       the installed backup script (src/host/scripts/backup.sh, rendered)
#   KUBECONFIG    the management cluster's kubeconfig: without it there is nothing to back up
#   PROCEED_FILE  the one-time override a user creates on the server (`sudo touch`)
# Logs on stderr, each line "backup-before: ..."; the backup's summary line on stdout.
backup_before() {
    local reason=$1 on_failure=$2 what=$3 cmd=$4 kubeconfig=$5 proceed=$6 status=0 why
    if [[ ! -e "$kubeconfig" ]]; then
        echo "backup-before: no management cluster on this server ($kubeconfig does not exist): nothing to back up before $what" >&2
        return 0
    fi
    if [[ ! -x "$cmd" ]]; then
        why="the backup script $cmd is not installed (the backup step of 'pulumi up' installs it)"
    else
        echo "backup-before: backing up the Cluster API state before $what" >&2
        HOME=/root timeout --kill-after=10 2400 "$cmd" "$reason" || status=$?
        if ((status == 0)); then
            return 0
        fi
        why="the backup failed (exit $status; its message is above)"
    fi
    if [[ "$on_failure" == warn ]]; then
        echo "backup-before: WARNING: no backup before $what: $why; going on" >&2
        return 0
    fi
    if [[ -e "$proceed" ]]; then
        rm -f -- "$proceed"
        echo "backup-before: WARNING: no backup before $what: $why; going on because $proceed existed (now removed: it lets one operation go on)" >&2
        return 0
    fi
    echo "backup-before: REFUSED: no backup before $what: $why. Fix the cause and run again; or, to go on without a backup this once, run 'sudo touch $proceed' on the management server and run again" >&2
    return 1
}
