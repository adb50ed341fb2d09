#!/usr/bin/env bash
# A `clusterctl` for src/host/scripts/pivot.sh (test/pivot.spec.ts), on the fake clusters of
# test/fakes/pivot/kubectl.sh: `move --kubeconfig FROM --to-kubeconfig TO --namespace NS`.
# Inputs (environment): FAKE_LOG (`clusterctl <args>` a line, and the source's Secrets that
# still carry the move label when it runs), FAKE_CLUSTERCTL_MODE:
#   ok (default)   moves: the Clusters (resumed), ClusterClasses, ORC objects (but those with
#                  "nomove" in their annotations: no move label) and objects to the target,
#                  as they are on the source, and removes them from the source
#   paused         refuses as clusterctl does for a paused Cluster (before pausing anything)
#   early          pauses the source's Clusters (as clusterctl does first), then fails
#   midway         pauses the source's Clusters, creates them (paused) on the target, then fails
echo "clusterctl $*" >>"$FAKE_LOG"
[[ "${CLUSTERCTL_DISABLE_VERSIONCHECK:-}" == true ]] || { echo "fake clusterctl: the version check would reach GitHub" >&2; exit 99; }
from="" to=""
while (($#)); do
    case "$1" in
        --kubeconfig) from=$(dirname -- "$2"); shift ;;
        --to-kubeconfig) to=$(dirname -- "$2"); shift ;;
    esac
    shift
done
[[ -n "$from" && -n "$to" ]] || { echo "fake clusterctl: needs --kubeconfig and --to-kubeconfig" >&2; exit 64; }
touch "$from/secrets" "$from/clusters" "$from/classes" "$from/orc" "$from/objects"
echo "clusterctl sees labelled Secrets: $(grep '"clusterctl.cluster.x-k8s.io/move"' "$from/secrets" | cut -d'|' -f1 | paste -sd ' ')" >>"$FAKE_LOG"
echo "clusterctl sees ORC objects: $(cut -d'|' -f1,2,4 "$from/orc" | paste -sd ' ')" >>"$FAKE_LOG"
pause() { awk -F'|' -v OFS='|' '{ $2 = "true"; print }' "$1" >"$1.tmp" && mv "$1.tmp" "$1"; }
case "${FAKE_CLUSTERCTL_MODE:-ok}" in
    ok)
        awk -F'|' -v OFS='|' '{ $2 = "false"; print }' "$from/clusters" >>"$to/clusters"
        for k in classes objects; do cat "$from/$k" >>"$to/$k"; done
        # ORC objects move when labelled for it (a "nomove" in their annotations: not).
        grep -v nomove "$from/orc" >>"$to/orc"
        grep nomove "$from/orc" >"$from/orc.left"
        mv "$from/orc.left" "$from/orc"
        : >"$from/clusters"; : >"$from/classes"; : >"$from/objects"; : >"$from/machines"
        echo "Performing move..."
        ;;
    paused)
        echo 'Error: cannot start operation while the following Clusters are paused: clusters/alpha'
        exit 1
        ;;
    early)
        pause "$from/clusters"
        echo 'Error: error reading "cluster.x-k8s.io/v1beta2, Kind=Cluster" clusters/alpha: connection refused'
        exit 1
        ;;
    midway)
        pause "$from/clusters"
        cat "$from/clusters" >>"$to/clusters"
        echo 'Error: error creating "cluster.x-k8s.io/v1beta2, Kind=MachineDeployment" clusters/alpha-md-0: connection refused'
        exit 1
        ;;
esac
