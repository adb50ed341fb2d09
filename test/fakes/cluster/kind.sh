#!/usr/bin/env bash
# Fake kind. State: `$S/kind/<name>/{image,config,kubeconfig}`. `$S/kind-create.fail` makes
# `create cluster` fail (leaving the half-created cluster behind, as kind --retain would).
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
name=kind
kubeconfig=""
image=""
config=""
args=("$@")
while (($#)); do
    case "$1" in
        --name | -n) name=$2; shift 2 ;;
        --kubeconfig) kubeconfig=$2; shift 2 ;;
        --image) image=$2; shift 2 ;;
        --config) config=$2; shift 2 ;;
        --wait) shift 2 ;;
        *) shift ;;
    esac
done
dir="$S/kind/$name"
mkdir -p "$S/kind"
missing() {
    echo "ERROR: could not locate any control plane nodes for cluster named '$name'. Use the --name option to select a different cluster" >&2
    exit 1
}
case "${args[0]} ${args[1]:-}" in
    "get clusters")
        found=$(ls "$S/kind")
        if [[ -z "$found" ]]; then
            echo "No kind clusters found." >&2
        else
            echo "$found"
        fi
        ;;
    "create cluster")
        if [[ -d "$dir" ]]; then
            echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"$name\"" >&2
            exit 1
        fi
        [[ -n "$kubeconfig" && -n "$image" && -f "$config" ]] || { echo "fake kind: create needs --kubeconfig, --image and --config" >&2; exit 64; }
        mkdir -p "$dir" "$S/node/$name/etc/containerd"
        # A stand-in for kind v0.32's node config: version 2, no registry table.
        printf 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n' >"$S/node/$name/etc/containerd/config.toml"
        echo "$image" >"$dir/image"
        cp "$config" "$dir/config"
        ca=$(head -c 48 /dev/urandom | base64 -w0)
        cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $ca
    server: https://0.0.0.0:6443
  name: kind-$name
contexts:
- context:
    cluster: kind-$name
    user: kind-$name
  name: kind-$name
current-context: kind-$name
kind: Config
preferences: {}
users:
- name: kind-$name
  user:
    client-certificate-data: Y2xpZW50LWNlcnQ=
    client-key-data: Y2xpZW50LWtleQ==
EOF
        echo "Creating cluster \"$name\" ..." >&2
        if [[ -f "$S/kind-create.fail" ]]; then
            echo "ERROR: failed to create cluster: $(cat "$S/kind-create.fail")" >&2
            exit 1
        fi
        cp "$dir/kubeconfig" "$kubeconfig"
        echo "Set kubectl context to \"kind-$name\"" >&2
        ;;
    "delete cluster")
        echo "Deleting cluster \"$name\" ..." >&2
        rm -rf "$dir" "$S/node/$name"
        if [[ -n "$kubeconfig" ]]; then
            rm -f "$kubeconfig"
        fi
        ;;
    "get kubeconfig")
        [[ -d "$dir" ]] || missing
        cat "$dir/kubeconfig"
        ;;
    "export kubeconfig")
        [[ -d "$dir" ]] || missing
        cp "$dir/kubeconfig" "$kubeconfig"
        echo "Set kubectl context to \"kind-$name\"" >&2
        ;;
    *)
        echo "fake kind: unexpected arguments: ${args[*]}" >&2
        exit 64
        ;;
esac
