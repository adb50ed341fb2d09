#!/usr/bin/env bash
# Restores a workload cluster's etcd from a snapshot that etcd care took on one of its
# control plane nodes (gitops/README.md, "Restore a snapshot"), without SSH: run against
# the management cluster (KUBECONFIG), it reads the cluster's kubeconfig Secret, pauses
# the Cluster, and runs etcd-restore-node.sh (next to this file) on the nodes in
# privileged Pods (a ConfigMap carries it): "restore" on <node>, "stop" on every other
# control plane node, all created at once while the API still answers. It waits until the
# API answers from a new single-member etcd, unpauses the Cluster, and deletes the other
# control plane Machines, which KubeadmControlPlane replaces with members that join.
#
#   etcd-restore.sh <cluster> <node> <snapshot>
#   e.g. etcd-restore.sh workload-1 workload-1-x7k2p-abcde etcd-20261130T023000Z.db.gz
#
# NAMESPACE (clusters), KUBECTL (kubectl), RESTORE_IMAGE (a busybox with sh, cp and
# chroot), POLLS and POLL_SECONDS (how long to wait for the API: 120 x 10 s) can be set.
set -euo pipefail

usage="usage: etcd-restore.sh <cluster> <control plane node> <snapshot file, e.g. etcd-20261130T023000Z.db.gz>"
CLUSTER="${1:?$usage}"
NODE="${2:?$usage}"
SNAPSHOT="${3:?$usage}"
NAMESPACE="${NAMESPACE:-clusters}"
KUBECTL="${KUBECTL:-kubectl}"
IMAGE="${RESTORE_IMAGE:-docker.io/library/busybox:1.37.0}"
POLLS="${POLLS:-120}"
POLL_SECONDS="${POLL_SECONDS:-10}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKI=/etc/kubernetes/pki/etcd

[[ "$SNAPSHOT" =~ ^etcd-[0-9A-Za-z]+\.db\.gz$ ]] || { echo "$usage" >&2; exit 2; }
for n in "$CLUSTER" "$NODE"; do
    [[ "$n" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || { echo "not a Kubernetes name: $n" >&2; exit 2; }
done

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
kubeconfig="$workdir/kubeconfig"
(umask 077 && "$KUBECTL" -n "$NAMESPACE" get secret "$CLUSTER-kubeconfig" -o jsonpath='{.data.value}' | base64 -d >"$kubeconfig")
wl() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }
members() {
    wl -n kube-system exec "etcd-$NODE" -- etcdctl --cacert "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" \
        --endpoints https://127.0.0.1:2379 member list -w simple
}

mapfile -t nodes < <(wl get nodes -l node-role.kubernetes.io/control-plane -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
printf '%s\n' "${nodes[@]}" | grep -qx "$NODE" || { echo "$NODE is not a control plane node of $CLUSTER (${nodes[*]})" >&2; exit 1; }
before="$(members | cut -d, -f1)"
echo "etcd members now: $(echo "$before" | tr '\n' ' ')"

"$KUBECTL" -n "$NAMESPACE" patch cluster "$CLUSTER" --type merge -p '{"spec":{"paused":true}}'

pod() { # node mode [snapshot]
    cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: etcd-restore-$2-$1
  namespace: kube-system
spec:
  nodeName: $1
  hostNetwork: true
  hostPID: true
  restartPolicy: Never
  tolerations: [{operator: Exists}]
  containers:
    - name: restore
      image: $IMAGE
      securityContext: {privileged: true}
      command: [sh, -c, 'cp /scripts/etcd-restore-node.sh /host/root/ && exec chroot /host bash /root/etcd-restore-node.sh "\$@"', --, $2${3:+, $3}]
      volumeMounts: [{name: host, mountPath: /host}, {name: scripts, mountPath: /scripts}]
  volumes:
    - {name: host, hostPath: {path: /}}
    - {name: scripts, configMap: {name: etcd-restore}}
EOF
}
{
    wl -n kube-system create configmap etcd-restore --from-file=etcd-restore-node.sh="$HERE/etcd-restore-node.sh" --dry-run=client -o yaml
    for n in "${nodes[@]}"; do
        if [[ "$n" != "$NODE" ]]; then pod "$n" stop; fi
    done
    pod "$NODE" restore "$SNAPSHOT"
} | wl apply -f -

# Done when the API answers from one member that was not there before (a new cluster).
polls=0
until after="$(members 2>/dev/null | cut -d, -f1)" && [[ -n "$after" && "$(echo "$after" | wc -l)" -eq 1 ]] && ! grep -qx "$after" <<<"$before"; do
    if ((++polls > POLLS)); then
        echo "the API does not answer from a restored etcd after $((POLLS * POLL_SECONDS)) s; the Cluster stays paused." >&2
        echo "Look at the node: kubectl debug node/$NODE ... ; journalctl of kubelet; /root/etcd-restore-manifests" >&2
        exit 1
    fi
    sleep "$POLL_SECONDS"
done
echo "etcd restored on $NODE: single member $after"
# The Pods and ConfigMap were created after the snapshot: the restored API has none of them.
wl -n kube-system delete configmap etcd-restore --ignore-not-found

"$KUBECTL" -n "$NAMESPACE" patch cluster "$CLUSTER" --type merge -p '{"spec":{"paused":false}}'
while read -r machine node; do
    if [[ -n "$machine" && "$node" != "$NODE" ]]; then
        echo "deleting control plane Machine $machine (node $node, stopped): KubeadmControlPlane replaces it"
        "$KUBECTL" -n "$NAMESPACE" delete machine "$machine" --wait=false
    fi
done < <("$KUBECTL" -n "$NAMESPACE" get machines -l "cluster.x-k8s.io/cluster-name=$CLUSTER,cluster.x-k8s.io/control-plane" \
    -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeRef.name}{"\n"}{end}')
echo "done: objects created after the snapshot are gone; controllers recreate what they own"
