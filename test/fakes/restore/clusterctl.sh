#!/usr/bin/env bash
# A `clusterctl` for src/host/scripts/restore.sh (test/restore.spec.ts): `move --from-directory DIR` records
# the files it got and creates a Cluster in the fake management cluster ($FAKE_ROOT/clusters) for
# each Cluster_<namespace>_<name>.yaml; with FAKE_CLUSTERCTL_FAIL it fails as clusterctl does.
# Inputs (environment): FAKE_LOG, FAKE_ROOT, FAKE_CLUSTERCTL_FAIL.
echo "clusterctl $*" >>"$FAKE_LOG"
[[ "${CLUSTERCTL_DISABLE_VERSIONCHECK:-}" == true ]] || { echo "fake clusterctl: the version check would reach GitHub" >&2; exit 99; }
dir=""
if [[ " $* " == *" --kubeconfig "* ]]; then
    # As clusterctl v1.14 does: the target of --from-directory is --to-kubeconfig.
    echo 'Error: if any flags in the group [from-directory kubeconfig] are set none of the others can be; [from-directory kubeconfig] were all set'
    exit 1
fi
while (($#)); do
    [[ "$1" != --from-directory ]] || dir=$2
    shift
done
[[ -d "$dir" ]] || { echo "fake clusterctl: no --from-directory DIR" >&2; exit 64; }
if [[ -n "${FAKE_CLUSTERCTL_FAIL:-}" ]]; then
    echo 'Error: error creating "cluster.x-k8s.io/v1beta2, Kind=MachineDeployment" clusters/alpha-md-0: connection refused'
    exit 1
fi
mkdir -p "$FAKE_ROOT/clusters"
for f in "$dir"/*; do
    echo "restores ${f##*/}: $(cat "$f")" >>"$FAKE_LOG"
    if [[ "${f##*/}" == Cluster_* ]]; then
        n=${f##*/Cluster_*_}
        touch "$FAKE_ROOT/clusters/${n%.yaml}"
    fi
done
echo "Moving from directory..."
