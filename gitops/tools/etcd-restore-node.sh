#!/usr/bin/env bash
# Runs on a workload cluster's control plane node, as root, in a privileged Pod chrooted
# into the host (gitops/tools/etcd-restore.sh creates it; gitops/README.md, "Restore a
# snapshot"). No SSH.
#
#   etcd-restore-node.sh stop                 stop this node's etcd and API server
#   etcd-restore-node.sh restore <snapshot>   stop them, wait until no other etcd member
#                                             answers, restore /var/backups/etcd/<snapshot>
#                                             as a single-member etcd, start them again
#
# kubelet stops a static pod whose manifest leaves /etc/kubernetes/manifests and starts it
# when it comes back. The old data directory stays as /var/lib/etcd.before-restore.
# ROOT (tests only) stands in for /.
set -euo pipefail

MODE="${1:?usage: etcd-restore-node.sh stop | restore <snapshot>}"
SNAPSHOT="${2:-}"
ROOT="${ROOT:-}"
MANIFESTS="$ROOT/etc/kubernetes/manifests"
PARKED="$ROOT/root/etcd-restore-manifests"
DATA="$ROOT/var/lib/etcd"
BACKUPS="$ROOT/var/backups/etcd"
PKI="/etc/kubernetes/pki/etcd"
# Polls of 2 seconds: containers stopping, other members going away.
WAIT_POLLS="${WAIT_POLLS:-150}"

log() { echo "etcd-restore-node: $*"; }
fail() {
    echo "etcd-restore-node: $*" >&2
    exit 1
}

case "$MODE" in
    stop) ;;
    restore)
        [[ "$SNAPSHOT" =~ ^etcd-[0-9A-Za-z]+\.db\.gz$ ]] || fail "not a snapshot name of etcd care: '$SNAPSHOT' (etcd-<UTC time>.db.gz)"
        [[ -f "$BACKUPS/$SNAPSHOT" ]] || fail "no $BACKUPS/$SNAPSHOT on this node (it has: $(cd "$BACKUPS" 2>/dev/null && printf '%s ' etcd-*.db.gz))"
        ;;
    *) fail "unknown mode '$MODE' (stop or restore)" ;;
esac

# The member's name, peer URL and image, as kubeadm configured them; the other members'
# client URLs, read while this member still runs.
manifest="$MANIFESTS/etcd.yaml"
[[ -f "$manifest" ]] || manifest="$PARKED/etcd.yaml"
[[ -f "$manifest" ]] || fail "no etcd manifest in $MANIFESTS or $PARKED: not a control plane node"
name="$(sed -n 's/.*--name=//p' "$manifest")"
peer="$(sed -n 's/.*--initial-advertise-peer-urls=//p' "$manifest")"
image="$(sed -n 's/^ *image: //p' "$manifest")"
others=()
if [[ "$MODE" == restore ]]; then
    container="$(crictl ps --quiet --state running --name '^etcd$' | head -n 1)"
    if [[ -n "$container" ]]; then
        # member list -w simple: id, status, name, peer URLs, client URLs, learner.
        while IFS=', ' read -r _ _ member _ clients _; do
            [[ "$member" != "$name" && -n "$clients" ]] && others+=("$clients")
        done < <(crictl exec "$container" etcdctl --cacert "$PKI/ca.crt" --cert "$PKI/server.crt" --key "$PKI/server.key" \
            --endpoints https://127.0.0.1:2379 member list -w simple || true)
    fi
fi

log "stopping etcd and kube-apiserver on $name"
mkdir -p "$PARKED"
for m in etcd kube-apiserver; do
    if [[ -f "$MANIFESTS/$m.yaml" ]]; then mv "$MANIFESTS/$m.yaml" "$PARKED/"; fi
done
polls=0
while crictl ps --quiet --name '^(etcd|kube-apiserver)$' | grep -q .; do
    ((++polls <= WAIT_POLLS)) || fail "etcd or kube-apiserver still runs; manifests are in $PARKED"
    sleep 2
done
if [[ "$MODE" == stop ]]; then
    log "stopped; the manifests are in $PARKED (this node's Machine is to be replaced)"
    exit 0
fi

# Never restore while another member of the old cluster still serves: the API load
# balancer would send requests to API servers on the old data.
for url in "${others[@]}"; do
    hostport="${url#https://}"
    polls=0
    while timeout 2 bash -c ": </dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null; do
        if ((++polls > WAIT_POLLS)); then
            mv "$PARKED/etcd.yaml" "$PARKED/kube-apiserver.yaml" "$MANIFESTS/"
            fail "etcd at $url still answers: stop it first (etcd-restore.sh does); restored nothing, restarted this member"
        fi
        sleep 2
    done
    log "member at $url is stopped"
done

log "restoring $SNAPSHOT as the single member $name ($peer)"
gunzip -c "$BACKUPS/$SNAPSHOT" >"$BACKUPS/${SNAPSHOT%.gz}"
rm -rf "$DATA.before-restore"
if [[ -d "$DATA" ]]; then mv "$DATA" "$DATA.before-restore"; fi
# etcdutl from the node's own etcd image, run by containerd.
ctr -n k8s.io run --rm --net-host \
    --mount "type=bind,src=$ROOT/var/lib,dst=/var/lib,options=rbind:rw" \
    --mount "type=bind,src=$BACKUPS,dst=/backup,options=rbind:ro" \
    "$image" etcd-restore etcdutl snapshot restore "/backup/${SNAPSHOT%.gz}" \
    --data-dir /var/lib/etcd --name "$name" --initial-cluster "$name=$peer" \
    --initial-advertise-peer-urls "$peer"
rm -f "$BACKUPS/${SNAPSHOT%.gz}"
mv "$PARKED/etcd.yaml" "$PARKED/kube-apiserver.yaml" "$MANIFESTS/"
log "restored; etcd and kube-apiserver start again"
