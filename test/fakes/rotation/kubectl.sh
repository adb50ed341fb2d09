#!/usr/bin/env bash
# The fake kubectl of the credential rotation tests (test/fakes/rotationFakes.ts), for
# src/host/scripts/cloud-provider-restart.sh: the management cluster (its kubeconfig is $FAKE_MGMT_KUBECONFIG)
# lists labelled Clusters and serves their kubeconfig Secrets; each workload cluster (its
# kubeconfig is the text `workload <name>`) serves Secret kube-system/cloud-config and records
# `rollout restart`.
# Inputs (environment): FAKE_STATE (`$S`), FAKE_CALL_LOG (the call log: `kubectl <kubeconfig
# file name> <namespace> <args>` a line), FAKE_MGMT_KUBECONFIG (the management kubeconfig file).
# Inputs (files under $S): clusters, secrets/<ns>/<name>, mgmt-down, and per workload cluster
# <name>/: cloud.conf, cloud.conf.next and polls, objects, down; outputs <name>/restarts.
set -euo pipefail
S="$FAKE_STATE"
kubeconfig=""
namespace=default
args=()
while (($#)); do
    case "$1" in
        --kubeconfig) kubeconfig=$2; shift 2 ;;
        -n) namespace=$2; shift 2 ;;
        --request-timeout=*) shift ;;
        *) args+=("$1"); shift ;;
    esac
done
set -- "${args[@]}"
echo "kubectl $(basename "$kubeconfig") $namespace $*" >>"$FAKE_CALL_LOG"
if [[ "$kubeconfig" == "$FAKE_MGMT_KUBECONFIG" ]]; then
    [[ ! -f "$S/mgmt-down" ]] || { echo "The connection to the server was refused" >&2; exit 1; }
    case "$1 $2" in
        "get clusters.cluster.x-k8s.io")
            [[ " $* " == *" -l capi-mgmt.io/cloud-config=openstack "* ]] || { echo "fake kubectl: no label selector" >&2; exit 64; }
            cat "$S/clusters" 2>/dev/null || true
            ;;
        "get secret")
            name=$3
            [[ -f "$S/secrets/$namespace/$name" ]] && cat "$S/secrets/$namespace/$name"
            exit 0
            ;;
        *) echo "fake kubectl: unexpected management call: $*" >&2; exit 64 ;;
    esac
    exit 0
fi
read -r kind cluster <"$kubeconfig"
[[ "$kind" == workload ]] || { echo "fake kubectl: not a kubeconfig of the fakes" >&2; exit 64; }
dir="$S/$cluster"
[[ ! -f "$dir/down" ]] || { echo "Unable to connect to the server: dial tcp 203.0.113.5:6443: i/o timeout" >&2; exit 1; }
case "$1 $2" in
    "get secret")
        [[ "$namespace/$3" == kube-system/cloud-config ]] || { echo "fake kubectl: unexpected secret $namespace/$3" >&2; exit 64; }
        polls=$(cat "$dir/polls" 2>/dev/null || echo 0)
        if ((polls > 0)); then
            echo $((polls - 1)) >"$dir/polls"
        elif [[ -f "$dir/cloud.conf.next" ]]; then
            mv "$dir/cloud.conf.next" "$dir/cloud.conf"
        fi
        base64 -w0 "$dir/cloud.conf"
        ;;
    "rollout restart")
        echo "$namespace $3" >>"$dir/restarts"
        echo "$3 restarted"
        ;;
    get\ *)
        if grep -qxF -- "$2" "$dir/objects" 2>/dev/null; then echo "$2"; fi
        ;;
    *) echo "fake kubectl: unexpected workload call: $*" >&2; exit 64 ;;
esac
