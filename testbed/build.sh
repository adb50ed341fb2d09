#!/usr/bin/env bash
# Builds the integration test bed from Go modules into a cache keyed by version, and collects the
# upstream CRDs and webhook configurations from the same modules (see docs/testing.md, "Test bed").
#
#   testbed/build.sh            build what is missing, then write $CACHE/testbed.json
#
# Environment:
#   CAPI_MGMT_TESTBED_CACHE   cache directory (default ~/.cache/capi-mgmt-testbed)
#   TESTBED_GO_P              parallel compile jobs handed to `go build -p` (default 2)
#   TESTBED_ONLY              space-separated component names: build only these (others are still
#                             listed in testbed.json when already cached)
#
# Every component is pinned by the go.mod of its tools module under testbed/ (one module per
# component family: their dependency graphs conflict). A component that fails to download or build is
# recorded in testbed.json with the error; the integration suite skips what depends on it and prints
# why. The script exits non-zero only when it cannot run at all (no Go, no kubectl).
set -uo pipefail

# Everything runs inside main, which bash reads whole before running: editing this file while a
# build is under way cannot change the running build.
main() {

here="$(cd "$(dirname "$0")" && pwd)"
cache="${CAPI_MGMT_TESTBED_CACHE:-${HOME}/.cache/capi-mgmt-testbed}"
jobs="${TESTBED_GO_P:-2}"
only="${TESTBED_ONLY:-}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

command -v go >/dev/null || { echo "testbed: Go is required (>= 1.26)" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "testbed: kubectl is required (kustomize)" >&2; exit 2; }
mkdir -p "$cache"

# Binaries: name | tools module dir | main package | module whose version keys the cache entry |
# extra -X linker flags ({v} = the version), so that the binaries report their real version.
binaries=(
    "etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
    "kube-apiserver|kube|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes|k8s.io/component-base/version.gitVersion={v} k8s.io/component-base/version.gitTreeState=clean"
    "capi-core|capi|sigs.k8s.io/cluster-api/core|sigs.k8s.io/cluster-api"
    "capi-kubeadm-bootstrap|capi|sigs.k8s.io/cluster-api/bootstrap/kubeadm|sigs.k8s.io/cluster-api"
    "capi-kubeadm-control-plane|capi|sigs.k8s.io/cluster-api/controlplane/kubeadm|sigs.k8s.io/cluster-api"
    # clusterctl from the same module: the backup/restore suite runs its real `move --to-directory`
    # and `--from-directory` (docs/operations.md, "Backup and restore").
    "clusterctl|capi|sigs.k8s.io/cluster-api/cmd/clusterctl|sigs.k8s.io/cluster-api|sigs.k8s.io/cluster-api/version.gitVersion={v} sigs.k8s.io/cluster-api/version.gitTreeState=clean"
    "capo|capo|sigs.k8s.io/cluster-api-provider-openstack|sigs.k8s.io/cluster-api-provider-openstack"
    "caaph|caaph|sigs.k8s.io/cluster-api-addon-provider-helm|sigs.k8s.io/cluster-api-addon-provider-helm"
    # ORC's manager (openstack-resource-controller); its CRDs come from testbed/crds ("orc-manifests").
    "orc|orc|github.com/k-orc/openstack-resource-controller/v2/cmd/manager|github.com/k-orc/openstack-resource-controller/v2|github.com/k-orc/openstack-resource-controller/v2/internal/version.gitVersion={v} github.com/k-orc/openstack-resource-controller/v2/internal/version.gitTreeState=clean"
    # Flux's controllers (the versions Flux v2.9.4 ships), one tools module each (testbed/flux/).
    "flux-source-controller|flux/source-controller|github.com/fluxcd/source-controller|github.com/fluxcd/source-controller"
    "flux-kustomize-controller|flux/kustomize-controller|github.com/fluxcd/kustomize-controller|github.com/fluxcd/kustomize-controller"
    # Flux's postBuild substitution (fluxcd/pkg/kustomize, the version kustomize-controller uses):
    # render's offline substitution, and the table test/integration/fluxEnvsubst.integration.ts judges.
    "flux-envsubst|flux/kustomize-controller|capi-mgmt/testbed/flux/kustomize-controller/envsubst|github.com/fluxcd/pkg/kustomize"
    # Masterminds/semver, as source-controller parses ref.semver with it: judges src/gitops/semverRange.ts.
    "semver-check|semver|capi-mgmt.test/semver|github.com/Masterminds/semver/v3"
)

# Manifests: name | tools module dir | module | kustomization dir inside the module.
# config/default also yields the webhook configurations (and Deployments etc., which the harness
# ignores); the Flux and ORC defaults pull remote bases, so only their CRD kustomizations are used.
manifests=(
    "capi-core|capi|sigs.k8s.io/cluster-api|core/config/default"
    "capi-kubeadm-bootstrap|capi|sigs.k8s.io/cluster-api|bootstrap/kubeadm/config/default"
    "capi-kubeadm-control-plane|capi|sigs.k8s.io/cluster-api|controlplane/kubeadm/config/default"
    "capo|capo|sigs.k8s.io/cluster-api-provider-openstack|config/default"
    "orc|crds|github.com/k-orc/openstack-resource-controller/v2|config/crd"
    "caaph|caaph|sigs.k8s.io/cluster-api-addon-provider-helm|config/default"
    "flux-source-controller|crds|github.com/fluxcd/source-controller|config/crd"
    "flux-kustomize-controller|crds|github.com/fluxcd/kustomize-controller|config/crd"
)

json_escape() { node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8")))'; }

# module_field, wanted.
# shellcheck source=testbed/modules.sh
source "$here/modules.sh"

entries=()
total_start=$(date +%s)
for spec in "${binaries[@]}"; do
    IFS='|' read -r name dir pkg mod xflags <<<"$spec"
    if ! version="$(module_field "$dir" "$mod" Version 2>"$cache/.err")"; then
        entries+=("\"$name\": {\"kind\": \"binary\", \"module\": \"$mod\", \"error\": $(json_escape <"$cache/.err")}")
        echo "testbed: $name: module $mod refused: $(head -c 300 "$cache/.err")" >&2
        continue
    fi
    out="$cache/$name-$version/$name"
    if [ ! -x "$out" ] && wanted "$name"; then
        echo "testbed: building $name ($mod $version) ..." >&2
        start=$(date +%s)
        mkdir -p "$cache/$name-$version"
        ldflags="-s -w"
        for x in $xflags; do ldflags+=" -X ${x//\{v\}/$version}"; done
        if (cd "$here/$dir" && go build -p "$jobs" -trimpath -ldflags="$ldflags" -o "$out.tmp" "$pkg") 2>"$cache/.err"; then
            mv "$out.tmp" "$out"
            echo "testbed: built $name in $(( $(date +%s) - start ))s" >&2
        else
            rm -f "$out.tmp"
            echo "testbed: $name failed to build: $(tail -c 600 "$cache/.err")" >&2
            entries+=("\"$name\": {\"kind\": \"binary\", \"module\": \"$mod\", \"version\": \"$version\", \"error\": $(json_escape <"$cache/.err")}")
            continue
        fi
    fi
    if [ -x "$out" ]; then
        entries+=("\"$name\": {\"kind\": \"binary\", \"module\": \"$mod\", \"version\": \"$version\", \"path\": \"$out\"}")
    else
        entries+=("\"$name\": {\"kind\": \"binary\", \"module\": \"$mod\", \"version\": \"$version\", \"error\": \"not built (TESTBED_ONLY)\"}")
    fi
done

for spec in "${manifests[@]}"; do
    IFS='|' read -r name dir mod kdir <<<"$spec"
    if ! version="$(module_field "$dir" "$mod" Version 2>"$cache/.err")" ||
        ! moddir="$(module_field "$dir" "$mod" Dir 2>"$cache/.err")"; then
        entries+=("\"$name-manifests\": {\"kind\": \"manifests\", \"module\": \"$mod\", \"error\": $(json_escape <"$cache/.err")}")
        echo "testbed: $name manifests: module $mod refused: $(head -c 300 "$cache/.err")" >&2
        continue
    fi
    out="$cache/manifests/$name-$version.yaml"
    if [ ! -s "$out" ]; then
        mkdir -p "$cache/manifests"
        # kustomize takes a path that looks like github.com/... for a remote URL: run it relative.
        if (cd "$moddir" && kubectl kustomize "$kdir") >"$out.tmp" 2>"$cache/.err"; then
            mv "$out.tmp" "$out"
        else
            rm -f "$out.tmp"
            entries+=("\"$name-manifests\": {\"kind\": \"manifests\", \"module\": \"$mod\", \"version\": \"$version\", \"error\": $(json_escape <"$cache/.err")}")
            continue
        fi
    fi
    entries+=("\"$name-manifests\": {\"kind\": \"manifests\", \"module\": \"$mod\", \"version\": \"$version\", \"path\": \"$out\"}")
done
rm -f "$cache/.err"

{
    echo "{"
    echo "  \"go\": \"$(go env GOVERSION)\","
    n=${#entries[@]}
    for i in "${!entries[@]}"; do
        sep=","; [ "$i" -eq $((n - 1)) ] && sep=""
        echo "  ${entries[$i]}$sep"
    done
    echo "}"
} >"$cache/testbed.json.tmp"
# Keep the entries of the existing index that this script does not list and whose file is still
# there: a cache shared by checkouts of different branches then does not lose another's component.
if [ -s "$cache/testbed.json" ]; then
    node -e '
        const fs = require("fs");
        const [old, tmp] = process.argv.slice(1);
        const next = JSON.parse(fs.readFileSync(tmp, "utf8"));
        let prev = {};
        try { prev = JSON.parse(fs.readFileSync(old, "utf8")); } catch { /* unreadable: rewrite */ }
        for (const [k, v] of Object.entries(prev)) {
            if (!(k in next) && v && v.path && fs.existsSync(v.path)) next[k] = v;
        }
        fs.writeFileSync(tmp, JSON.stringify(next, null, 2) + "\n");' "$cache/testbed.json" "$cache/testbed.json.tmp"
fi
mv "$cache/testbed.json.tmp" "$cache/testbed.json"
echo "testbed: ready in $(( $(date +%s) - total_start ))s: $cache/testbed.json" >&2
}

main "$@"
exit $?
