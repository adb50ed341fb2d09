#!/usr/bin/env bash
# Fake kubectl of the self-hosted mode's script tests (test/selfHostedScripts.spec.ts).
# Which cluster a call goes to comes from --kubeconfig: $FAKE_KIND_KUBECONFIG is "kind",
# anything in $FAKE_STATE_DIR is "self". Each call is logged to $FAKE_DIR/calls as
# "<cluster> <args without --kubeconfig and --request-timeout>". The clusters' state is files
# in $FAKE_DIR named <cluster>.<fact>:
#   capi, orc           Cluster API's / ORC's CRDs are installed
#   unreachable         every call fails
#   flux                the namespace flux-system exists with the Kustomization flux-system/flux-system
#                       (scale: <cluster>.flux-stopped; suspending it: <cluster>.flux-suspended)
#   self-cluster        the self-hosted Cluster exists; its Available status is <cluster>.available
#   kubeconfig-secret   its <name>-kubeconfig Secret exists (its kubeconfig: the text of
#                       <cluster>.kubeconfig-value when that file exists)
#   rejects-new         (self) a call with a kubeconfig named *.kubeconfig.new is refused (the
#                       refresh's check of a new kubeconfig)
#   api-up              (self) the API answers /readyz
#   stuck               (kind) a deleted self-hosted Cluster never goes away
#   workloads           workload Clusters are there (listed with the self-hosted one)
#   own-orc             the self-hosted cluster's own ORC Image and ServerGroup exist (deleting
#                       one by name records <cluster>.deleted-<name>; `get` then lists nothing)
#   apply-fails         apply fails
# apply appends its stdin to <cluster>.applied.
set -euo pipefail
args=()
cluster=""
while (($#)); do
    case "$1" in
        --kubeconfig)
            if [[ "$2" == "$FAKE_KIND_KUBECONFIG" ]]; then cluster=kind; elif [[ "$2" == "$FAKE_STATE_DIR"/* ]]; then cluster=self; else cluster="unknown:$2"; fi
            config=$2
            shift 2
            ;;
        --request-timeout=*) shift ;;
        *)
            args+=("$1")
            shift
            ;;
    esac
done
echo "$cluster ${args[*]}" >>"$FAKE_DIR/calls"
f() { [[ -e "$FAKE_DIR/$cluster.$1" ]]; }
if f unreachable || { f rejects-new && [[ "${config:-}" == *.kubeconfig.new ]]; }; then
    echo "fake kubectl: the $cluster cluster does not answer" >&2
    exit 1
fi
case "${args[*]}" in
    apply*)
        if f apply-fails; then
            echo "fake kubectl: apply refused" >&2
            exit 1
        fi
        cat >>"$FAKE_DIR/$cluster.applied"
        echo "---" >>"$FAKE_DIR/$cluster.applied"
        ;;
    "get clusters.cluster.x-k8s.io "*"-o jsonpath="*Available*)
        f self-cluster || exit 1
        cat "$FAKE_DIR/$cluster.available" 2>/dev/null || true
        ;;
    "get secret "*"-kubeconfig "*)
        f kubeconfig-secret || exit 1
        if f kubeconfig-value; then
            base64 -w0 <"$FAKE_DIR/$cluster.kubeconfig-value"
            exit 0
        fi
        printf 'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://203.0.113.7:6443\n  name: self\n' | base64 -w0
        ;;
    "get namespace kube-system -o name")
        echo namespace/kube-system
        ;;
    "get --raw /readyz")
        f api-up || exit 1
        echo ok
        ;;
    "get namespace flux-system --ignore-not-found -o name")
        if f flux; then echo "namespace/flux-system"; fi
        ;;
    "get kustomizations.kustomize.toolkit.fluxcd.io -A -o jsonpath="*)
        if f flux; then echo "flux-system flux-system"; fi
        ;;
    "patch kustomizations.kustomize.toolkit.fluxcd.io flux-system -n flux-system --type merge -p "*'"suspend":true'*)
        f flux || exit 1
        touch "$FAKE_DIR/$cluster.flux-suspended"
        ;;
    "scale deployment --all -n flux-system --replicas=0")
        f flux || exit 1
        touch "$FAKE_DIR/$cluster.flux-stopped"
        ;;
    "get customresourcedefinitions clusters.cluster.x-k8s.io -o name")
        f capi || exit 1
        echo customresourcedefinition.apiextensions.k8s.io/clusters.cluster.x-k8s.io
        ;;
    "get customresourcedefinitions images.openstack.k-orc.cloud -o name")
        f orc || exit 1
        echo customresourcedefinition.apiextensions.k8s.io/images.openstack.k-orc.cloud
        ;;
    "delete clusters.cluster.x-k8s.io "*)
        touch "$FAKE_DIR/$cluster.self-deleting"
        ;;
    "get clusters.cluster.x-k8s.io -n "*"--field-selector"*)
        if f self-cluster && f self-deleting && ! f stuck; then
            rm -f "$FAKE_DIR/$cluster.self-cluster"
        fi
        if f self-cluster; then echo "cluster.cluster.x-k8s.io/self"; fi
        ;;
    "get clusters.cluster.x-k8s.io "*" --ignore-not-found -o name")
        if f self-cluster; then echo "cluster.cluster.x-k8s.io/${args[2]}"; fi
        ;;
    "get clusters.cluster.x-k8s.io -n "*" -o name")
        if f workloads; then echo "cluster.cluster.x-k8s.io/workload-1"; fi
        if f self-cluster; then echo "cluster.cluster.x-k8s.io/self"; fi
        ;;
    "delete "*".openstack.k-orc.cloud/"*" --ignore-not-found --wait=false")
        touch "$FAKE_DIR/$cluster.deleted-${args[1]#*/}"
        ;;
    "get "*".openstack.k-orc.cloud "*" --ignore-not-found -o name")
        if f own-orc && ! f "deleted-${args[2]}"; then echo "${args[1]%%.*}/${args[2]}"; fi
        ;;
    "delete images.openstack.k-orc.cloud,servergroups.openstack.k-orc.cloud --all "*)
        touch "$FAKE_DIR/$cluster.orc-deleted"
        ;;
    "get images.openstack.k-orc.cloud,servergroups.openstack.k-orc.cloud "*)
        if ! f orc-deleted; then echo "image.openstack.k-orc.cloud/node-image"; fi
        ;;
    *)
        echo "fake kubectl: unexpected call: ${args[*]}" >&2
        exit 64
        ;;
esac
