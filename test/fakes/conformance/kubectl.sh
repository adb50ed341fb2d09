#!/usr/bin/env bash
# Fake kubectl: the management cluster (kubeconfig $FAKE_MGMT_KUBECONFIG) has the Cluster
# and its `<name>-kubeconfig` Secret unless the state says otherwise; any other kubeconfig
# must be the workload cluster's (byte for byte), whose namespace `sonobuoy` exists while
# a run does.
# Inputs (environment): FAKE_LOG (the call log), FAKE_STATE (state files: no-cluster, no-secret, unreachable, sonobuoy-namespace), FAKE_MGMT_KUBECONFIG, FAKE_WORKLOAD_KUBECONFIG, FAKE_CLUSTER, FAKE_NAMESPACE (the Cluster that exists).
set -euo pipefail
kc="" ns="" args=()
while (($#)); do
    case "$1" in
        --kubeconfig) kc=$2; shift 2 ;;
        --namespace) ns=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
echo "kubectl [$ns] ${args[*]}" >>"$FAKE_LOG"
if [[ "$kc" == "$FAKE_MGMT_KUBECONFIG" ]]; then
    case "${args[0]} ${args[1]}" in
        "get clusters.cluster.x-k8s.io")
            if [[ -e "$FAKE_STATE/no-cluster" || "${args[2]}" != "$FAKE_CLUSTER" || "$ns" != "$FAKE_NAMESPACE" ]]; then
                echo "Error from server (NotFound): clusters.cluster.x-k8s.io \"${args[2]}\" not found" >&2
                exit 1
            fi
            echo "cluster.cluster.x-k8s.io/${args[2]}" ;;
        "get secret")
            if [[ -e "$FAKE_STATE/no-secret" || "${args[2]}" != "$FAKE_CLUSTER-kubeconfig" ]]; then
                echo "Error from server (NotFound): secrets \"${args[2]}\" not found" >&2
                exit 1
            fi
            [[ "${args[*]}" == *"jsonpath={.data.value}"* ]] || { echo "unexpected: ${args[*]}" >&2; exit 9; }
            base64 -w0 "$FAKE_WORKLOAD_KUBECONFIG" ;;
        *) echo "fake kubectl: unexpected management call: ${args[*]}" >&2; exit 9 ;;
    esac
    exit 0
fi
cmp -s "$kc" "$FAKE_WORKLOAD_KUBECONFIG" || { echo "fake kubectl: not the workload kubeconfig: $kc" >&2; exit 9; }
if [[ -e "$FAKE_STATE/unreachable" ]]; then
    echo "Unable to connect to the server: dial tcp 203.0.113.7:6443: i/o timeout" >&2
    exit 1
fi
if [[ "${args[*]}" == "get namespace sonobuoy -o name" ]]; then
    if [[ -e "$FAKE_STATE/sonobuoy-namespace" ]]; then
        echo "namespace/sonobuoy"
        exit 0
    fi
    echo 'Error from server (NotFound): namespaces "sonobuoy" not found' >&2
    exit 1
fi
echo "fake kubectl: unexpected workload call: ${args[*]}" >&2
exit 9
