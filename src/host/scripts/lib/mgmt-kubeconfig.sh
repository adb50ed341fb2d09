# shellcheck shell=bash
# The active management cluster's kubeconfig on the server (docs/self-hosted.md, "The active
# management cluster"): the one place every host tool that works on the Cluster API objects
# learns which cluster holds them (lb-cleanup.sh, cloud-provider-restart.sh, backup.sh,
# backup-before.sh, restore.sh, conformance.sh, self-hosted-kubeconfig.sh; teardown.sh reads
# the same file directly). ACTIVE (src/host/hostScripts.ts ACTIVE_KUBECONFIG) is a link to
# the self-hosted cluster's kubeconfig exactly while that cluster holds the objects: the
# self-hosted-pivot step makes it once the move is verified, self-hosted-unpivot removes it
# before it moves them back. Absent (kind mode, before the pivot, after the reverse pivot):
# the kind cluster's. kind's own maintenance (its certificate renewal, the kubeconfig step)
# never reads this.
#
# Not run on its own: src/host/hostScripts.ts (renderHostScript) puts this text in place of a
# script's `# capi-mgmt:include mgmt-kubeconfig.sh` line.

# mgmt_kubeconfig KIND ACTIVE: prints the kubeconfig of the cluster holding the Cluster API
# objects: ACTIVE when it is there (a dangling link too: the tool then fails naming it, rather
# than reading the kind cluster, which holds nothing after the pivot), KIND otherwise.
mgmt_kubeconfig() {
    if [[ -e "$2" || -L "$2" ]]; then
        printf '%s\n' "$2"
    else
        printf '%s\n' "$1"
    fi
}
