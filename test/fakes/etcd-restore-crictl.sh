#!/usr/bin/env bash
# A fake crictl for gitops/tools/etcd-restore-node.sh (test/etcdRestore.spec.ts): etcd runs
# as container "etcd-1" until its manifest leaves $ROOT/etc/kubernetes/manifests; member
# list answers with $FAKE_MEMBERS.
set -euo pipefail
echo "crictl $*" >>"$FAKE_STATE/calls"
case "$1" in
    ps) if [[ -f "$ROOT/etc/kubernetes/manifests/etcd.yaml" ]]; then echo etcd-1; fi ;;
    exec) printf '%s\n' "$FAKE_MEMBERS" ;;
    *) exit 1 ;;
esac
