#!/usr/bin/env bash
# Fake clusterctl: `init` adds providers to `$S/providers` (failing, as the real one does,
# on a provider that is already installed), `upgrade apply` changes their versions (failing
# on one that is not installed). Both require `--config` with `CLUSTER_TOPOLOGY: "true"`,
# `--wait-providers` and `--wait-provider-timeout`, and set cert-manager's version from the
# config file. `$S/clusterctl.fail` makes it fail with that message; `$S/clusterctl.sleep`
# makes it hang that many real seconds first (the virtual clock stands still meanwhile, so
# only the script's `timeout` can end it).
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
command="$1"
if [[ "$1" == upgrade ]]; then command="upgrade $2"; shift; fi
shift
config=""
waits=0
wanted=()
while (($#)); do
    case "$1" in
        --config | --kubeconfig)
            if [[ "$1" == --config ]]; then config=$2; fi
            shift 2
            ;;
        --core) wanted+=("CoreProvider $2 capi-system"); shift 2 ;;
        --bootstrap) wanted+=("BootstrapProvider $2 capi-kubeadm-bootstrap-system"); shift 2 ;;
        --control-plane) wanted+=("ControlPlaneProvider $2 capi-kubeadm-control-plane-system"); shift 2 ;;
        --infrastructure) wanted+=("InfrastructureProvider $2 capo-system"); shift 2 ;;
        --addon) wanted+=("AddonProvider $2 caaph-system"); shift 2 ;;
        --wait-providers) waits=$((waits + 1)); shift ;;
        --wait-provider-timeout) waits=$((waits + 1)); shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
    esac
done
if [[ -f "$S/clusterctl.sleep" ]]; then
    command -p sleep "$(cat "$S/clusterctl.sleep")"
fi
if [[ -f "$S/clusterctl.fail" ]]; then
    echo "Error: $(cat "$S/clusterctl.fail")" >&2
    exit 1
fi
{ [[ -f "$config" ]] && grep -qx 'CLUSTER_TOPOLOGY: "true"' "$config"; } || { echo "fake clusterctl: --config without CLUSTER_TOPOLOGY" >&2; exit 64; }
((waits == 2)) || { echo "fake clusterctl: --wait-providers and --wait-provider-timeout are required" >&2; exit 64; }
((${#wanted[@]} > 0)) || { echo "fake clusterctl: no provider given" >&2; exit 64; }
cm_version=$(sed -n 's/^  version: "\(.*\)"$/\1/p' "$config")
# Like clusterctl with a local repository: each provider's url (the line after its type) must be
# file://<base>/<label>/<version>/<components file> with metadata.yaml beside it; so must cert-manager's.
local_file() {
    local url=$1 want=$2
    [[ "$url" == "file:///"*"/$want" && -f "${url#file://}" ]] || { echo "fake clusterctl: $url is not a local file ending in $want" >&2; exit 65; }
}
for w in "${wanted[@]}"; do
    read -r type ref ns <<<"$w"
    url=$(awk -v t="type: \"$type\"" 'index($0, t) { getline; sub(/^ *url: "/, ""); sub(/"$/, ""); print; exit }' "$config")
    local_file "$url" "${ref#*:}/${url##*/}"
    local_file "${url%/*}/metadata.yaml" "${ref#*:}/metadata.yaml"
done
cm_url=$(sed -n 's/^  url: "\(.*\)"$/\1/p' "$config")
local_file "$cm_url" "$cm_version/cert-manager.yaml"
touch "$S/providers"
installed() {
    awk -v t="$1" -v n="$2" '$1 == t && $2 == n' "$S/providers"
}
for w in "${wanted[@]}"; do
    read -r type ref ns <<<"$w"
    name=${ref%%:*}
    case "$command" in
        init)
            if [[ -n "$(installed "$type" "$name")" ]]; then
                echo "Error: installing provider \"$name\": there is already an instance of the \"$name\" provider installed in the \"$ns\" namespace" >&2
                exit 1
            fi
            ;;
        "upgrade apply")
            if [[ -z "$(installed "$type" "$name")" ]]; then
                echo "Error: unable to perform upgrade: the provider $ns/$name in not part of the management cluster" >&2
                exit 1
            fi
            ;;
        *) echo "fake clusterctl: unexpected command $command" >&2; exit 64 ;;
    esac
done
for w in "${wanted[@]}"; do
    read -r type ref ns <<<"$w"
    name=${ref%%:*}
    version=${ref#*:}
    awk -v t="$type" -v n="$name" '!($1 == t && $2 == n)' "$S/providers" >"$S/providers.new"
    echo "$type $name $version $ns" >>"$S/providers.new"
    mv "$S/providers.new" "$S/providers"
    echo "Installing Provider=\"$name\" Version=\"$version\" TargetNamespace=\"$ns\"" >&2
done
mkdir -p "$S/crds"
touch "$S/crds/providers.clusterctl.cluster.x-k8s.io" "$S/crds/clusters.cluster.x-k8s.io"
if [[ ! -s "$S/cert-manager-version" || "$command" == "upgrade apply" ]]; then
    echo "$cm_version" >"$S/cert-manager-version"
fi
echo "Your management cluster has been $([[ "$command" == init ]] && echo initialized || echo upgraded) successfully!"
