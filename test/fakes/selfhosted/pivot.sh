#!/usr/bin/env bash
# Fake pivot script (the contract of src/host/scripts/pivot.sh): FROM_KUBECONFIG, TO_KUBECONFIG,
# NAMESPACE and CLUSTERCTL in the environment. Logged to $FAKE_DIR/calls as
# "pivot <from> <to> <namespace> <clusterctl>" (kind or self). Exits with the first line of
# $FAKE_DIR/pivot-exits (removed; none left: 0). On 0 the objects move: the self-hosted
# Cluster's files (<cluster>.self-cluster, .kubeconfig-secret, .available, and the workload
# Clusters' and its own ORC objects', .workloads, .own-orc) go from the
# source to the target. "refuse" as the line: exit 1 moving nothing; "half": exit 1 with
# the objects on both clusters.
set -euo pipefail
name() { if [[ "$1" == "$FAKE_KIND_KUBECONFIG" ]]; then echo kind; else echo self; fi; }
from=$(name "${FROM_KUBECONFIG:?}")
to=$(name "${TO_KUBECONFIG:?}")
echo "pivot $from $to ${NAMESPACE:?} ${CLUSTERCTL:?}" >>"$FAKE_DIR/calls"
outcome=0
if [[ -s "$FAKE_DIR/pivot-exits" ]]; then
    outcome=$(head -n1 "$FAKE_DIR/pivot-exits")
    sed -i 1d "$FAKE_DIR/pivot-exits"
fi
copy() {
    local fact
    for fact in self-cluster kubeconfig-secret available workloads own-orc; do
        if [[ -e "$FAKE_DIR/$from.$fact" ]]; then cp "$FAKE_DIR/$from.$fact" "$FAKE_DIR/$to.$fact"; fi
    done
}
case "$outcome" in
    0)
        copy
        rm -f "$FAKE_DIR/$from.self-cluster" "$FAKE_DIR/$from.kubeconfig-secret" "$FAKE_DIR/$from.available" "$FAKE_DIR/$from.workloads" "$FAKE_DIR/$from.own-orc"
        ;;
    refuse)
        echo "pivot: refused: Cluster clusters/workload-1 is paused" >&2
        exit 1
        ;;
    half)
        copy
        echo "pivot: clusterctl move failed half-way" >&2
        exit 1
        ;;
    *) exit "$outcome" ;;
esac
