#!/usr/bin/env bash
# A fake kubectl for gitops/tools/etcd-restore.sh (test/etcdRestore.spec.ts): logs every
# call to $FAKE_STATE/calls, answers from FAKE_* variables. etcd's member list answers with
# FAKE_OLD_MEMBERS first, then fails FAKE_DOWN times (the API is down), then answers with
# the single FAKE_NEW_MEMBER (or the old members again with FAKE_NEW_MEMBER unset).
set -euo pipefail
echo "$*" >>"$FAKE_STATE/calls"
args=" $* "
if [[ "$1" == --kubeconfig ]]; then cat "$2" >"$FAKE_STATE/kubeconfig-seen"; fi
case "$args" in
    *" get secret "*) printf 'kubeconfig of the workload cluster' | base64 ;;
    *" get nodes "*) printf '%s\n' "$FAKE_NODES" ;;
    *" exec etcd-"*)
        n=$(($(cat "$FAKE_STATE/exec" 2>/dev/null || echo 0) + 1))
        echo "$n" >"$FAKE_STATE/exec"
        if ((n == 1)); then
            printf '%s\n' "$FAKE_OLD_MEMBERS"
        elif ((n <= 1 + FAKE_DOWN)); then
            echo "error: the server is unavailable" >&2
            exit 1
        elif [[ -n "${FAKE_NEW_MEMBER:-}" ]]; then
            echo "$FAKE_NEW_MEMBER, started, restored, https://10.6.0.11:2380, https://10.6.0.11:2379, false"
        else
            printf '%s\n' "$FAKE_OLD_MEMBERS"
        fi
        ;;
    *" create configmap "*)
        file="${args#* --from-file=etcd-restore-node.sh=}"
        file="${file%% *}"
        printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: etcd-restore\ndata:\n  etcd-restore-node.sh: %s\n' "$(wc -c <"$file")"
        ;;
    *" apply -f - "*) cat >"$FAKE_STATE/applied.yaml" ;;
    *" get machines "*) printf '%s\n' "$FAKE_MACHINES" ;;
    *) ;;
esac
