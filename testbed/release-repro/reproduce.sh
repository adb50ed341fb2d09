#!/usr/bin/env bash
# Rebuilds Cluster API's and CAPO's release components files from the sources at a release tag
# with the release recipe of that tag, and prints their SHA-256 (docs/verified-downloads.md,
# "Reproducing the components files"). Not part of `npm test` or CI: it needs the Go module proxy
# and builds kustomize (a few minutes on 2 cores).
#
#   testbed/release-repro/reproduce.sh capi v1.14.2 v1.14.0
#   testbed/release-repro/reproduce.sh capo v0.7.3=<checkout> v0.14.7=<checkout>
#
# Cluster API, per version:
#   1. downloads module sigs.k8s.io/cluster-api@<version> with `go mod download -json`: the Go
#      command checks it against the Go checksum database (sum.golang.org), so the files are the
#      tag's files; the module's h1: sum is printed;
#   2. checks that the tag's Makefile still holds the recipe this script runs (the
#      manifest-modification sed commands, the production registry, the three `kustomize build`
#      lines, `cp metadata.yaml`) and refuses to go on otherwise;
#   3. builds kustomize at the version the tag's Makefile pins (KUSTOMIZE_VER), as the Makefile
#      does (`go install sigs.k8s.io/kustomize/kustomize/v5@<version>`);
#   4. applies the release-time edits (image `<registry>/<name>:<version>`, imagePullPolicy
#      IfNotPresent) to a copy and runs `kustomize build` for core, bootstrap and control plane.
#
# CAPO, per `<version>=<checkout>` (a checkout of kubernetes-sigs/cluster-api-provider-openstack
# at the tag: CAPO builds kustomize and gojq in hack/tools, a nested Go module that is not in the
# module's zip and has no tag of its own):
#   1. when the module proxy serves sigs.k8s.io/cluster-api-provider-openstack@<version>, its
#      checksum-database-verified files are built and only hack/tools is taken from the checkout;
#      otherwise the checkout is built as it is, and the output says so (an unauthenticated source
#      is good for a control against a recorded asset, never for a pin);
#   2. checks that the Makefile still holds the recipe this script runs (`make release`:
#      manifest-modification with the production registry, then release-manifests: `kustomize
#      build config/default`, gojq's two patch files, a second `kustomize build` over them);
#   3. builds kustomize and gojq in hack/tools (`go build -tags=tools`), as the Makefile does;
#   4. runs those steps on a copy and prints the SHA-256 of infrastructure-components.yaml and
#      metadata.yaml.
#
# Environment: RELEASE_REPRO_DIR (work directory, default ~/.cache/capi-mgmt-release-repro);
# GOMODCACHE, GOPROXY, GOSUMDB as for any Go command (GONOSUMDB/GOFLAGS=-insecure must be unset).
set -euo pipefail

main() {
    local project="${1:-}"
    shift || true
    [[ ("$project" == "capi" || "$project" == "capo") && $# -gt 0 ]] || {
        echo "usage: $0 capi <version>... | $0 capo <version>=<checkout>..." >&2
        exit 2
    }
    command -v go >/dev/null || {
        echo "release-repro: Go is required" >&2
        exit 2
    }
    [[ -z "${GONOSUMDB:-}${GONOSUMCHECK:-}" && "${GOSUMDB:-}" != "off" ]] || {
        echo "release-repro: the Go checksum database must be on (GOSUMDB not off, GONOSUMDB unset)" >&2
        exit 2
    }
    local work="${RELEASE_REPRO_DIR:-${HOME}/.cache/capi-mgmt-release-repro}"
    mkdir -p "$work"
    local v
    for v in "$@"; do
        "$project" "$work" "$v"
    done
}

# module_dir <module@version>: prints "<dir> <h1 sum>" of the checksum-database-verified module.
module_dir() {
    local json
    json="$(cd "$1" && GOFLAGS=-mod=mod go mod download -json "$2")"
    node -e 'const j=JSON.parse(process.argv[1]); if (j.Error) { console.error(j.Error); process.exit(1) } console.log(j.Dir, j.Sum)' "$json"
}

# require <file> <fixed string>: the tag's recipe must contain this line.
require() {
    grep -qF -- "$2" "$1" || {
        echo "release-repro: $1 no longer contains: $2 (the recipe changed; update this script)" >&2
        exit 1
    }
}

capi() {
    local work="$1" v="$2"
    local scratch="$work/scratch"
    mkdir -p "$scratch"
    [[ -f "$scratch/go.mod" ]] || printf 'module releaserepro\n\ngo 1.24\n' >"$scratch/go.mod"
    local dir sum
    read -r dir sum < <(module_dir "$scratch" "sigs.k8s.io/cluster-api@$v")
    local mk="$dir/Makefile"
    require "$mk" "PROD_REGISTRY ?= registry.k8s.io/cluster-api"
    require "$mk" "IMAGE_NAME ?= cluster-api-controller"
    require "$mk" "KUBEADM_BOOTSTRAP_IMAGE_NAME ?= kubeadm-bootstrap-controller"
    require "$mk" "KUBEADM_CONTROL_PLANE_IMAGE_NAME ?= kubeadm-control-plane-controller"
    require "$mk" "KUSTOMIZE_PKG := sigs.k8s.io/kustomize/kustomize/v5"
    require "$mk" "	\$(MAKE) manifest-modification REGISTRY=\$(PROD_REGISTRY)"
    require "$mk" "	sed -i'' -e 's@image: .*@image: '\"\${MANIFEST_IMG}:\$(MANIFEST_TAG)\"'@' \$(TARGET_RESOURCE)"
    require "$mk" "	sed -i'' -e 's@imagePullPolicy: .*@imagePullPolicy: '\"\$(PULL_POLICY)\"'@' \$(TARGET_RESOURCE)"
    require "$mk" "\$(MAKE) set-manifest-pull-policy PULL_POLICY=IfNotPresent TARGET_RESOURCE=\"./core/config/default/manager_pull_policy.yaml\""
    require "$mk" "	\$(KUSTOMIZE) build core/config/default > \$(RELEASE_DIR)/core-components.yaml"
    require "$mk" "	\$(KUSTOMIZE) build bootstrap/kubeadm/config/default > \$(RELEASE_DIR)/bootstrap-components.yaml"
    require "$mk" "	\$(KUSTOMIZE) build controlplane/kubeadm/config/default > \$(RELEASE_DIR)/control-plane-components.yaml"
    require "$mk" "	cp metadata.yaml \$(RELEASE_DIR)/metadata.yaml"
    require "$dir/.github/workflows/release.yaml" "files: out/*"
    local kver
    kver="$(sed -n 's/^KUSTOMIZE_VER := \(v[0-9.]*\)$/\1/p' "$mk")"
    [[ -n "$kver" ]] || {
        echo "release-repro: no KUSTOMIZE_VER in $mk" >&2
        exit 1
    }
    local kbin="$work/bin/kustomize-$kver"
    if [[ ! -x "$kbin/kustomize" ]]; then
        mkdir -p "$kbin"
        (cd "$scratch" && CGO_ENABLED=0 GOBIN="$kbin" go install "sigs.k8s.io/kustomize/kustomize/v5@$kver")
    fi
    local src="$work/capi-$v" out="$work/out/capi-$v"
    rm -rf "$src" "$out"
    mkdir -p "$src" "$out"
    cp -r "$dir"/. "$src"
    chmod -R u+w "$src"
    local r=registry.k8s.io/cluster-api name path
    for name in core:cluster-api-controller bootstrap/kubeadm:kubeadm-bootstrap-controller controlplane/kubeadm:kubeadm-control-plane-controller; do
        path="${name%%:*}"
        sed -i'' -e 's@image: .*@image: '"$r/${name#*:}:$v"'@' "$src/$path/config/default/manager_image_patch.yaml"
        sed -i'' -e 's@imagePullPolicy: .*@imagePullPolicy: IfNotPresent@' "$src/$path/config/default/manager_pull_policy.yaml"
    done
    (
        cd "$src"
        "$kbin/kustomize" build core/config/default >"$out/core-components.yaml"
        "$kbin/kustomize" build bootstrap/kubeadm/config/default >"$out/bootstrap-components.yaml"
        "$kbin/kustomize" build controlplane/kubeadm/config/default >"$out/control-plane-components.yaml"
        cp metadata.yaml "$out/metadata.yaml"
    )
    echo "# sigs.k8s.io/cluster-api@$v module $sum, kustomize $kver ($out)"
    (cd "$out" && for f in core-components.yaml bootstrap-components.yaml control-plane-components.yaml metadata.yaml; do
        printf '%s  %s  %s bytes\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$f" "$(wc -c <"$f")"
    done)
}

# capo_tool <hack/tools dir> <package> <binary>: builds a tool of CAPO's hack/tools module as its
# Makefile does (`go build -tags=tools`), once per go.sum.
capo_tool() {
    local tools="$1" pkg="$2" bin="$3" key
    key="$(sha256sum "$tools/go.sum" | cut -c1-16)"
    local out="$WORK/bin/capo-tools-$key/$bin"
    if [[ ! -x "$out" ]]; then
        (cd "$tools" && CGO_ENABLED=0 go build -tags=tools -o "$out" "$pkg")
    fi
    echo "$out"
}

# make_var <Makefile> <name> <operator>: the value of a `NAME := value` / `NAME ?= value` line.
make_var() {
    sed -n "s/^$2 $3 \(.*\)\$/\1/p" "$1" | head -n1
}

capo() {
    local work="$1" v="${2%%=*}" tree="${2#*=}"
    [[ "$2" == *=* && -f "$tree/Makefile" && -f "$tree/hack/tools/go.mod" ]] || {
        echo "release-repro: capo needs <version>=<checkout of kubernetes-sigs/cluster-api-provider-openstack at the tag>, got $2" >&2
        exit 2
    }
    WORK="$work"
    local scratch="$work/scratch" src="$work/capo-$v" out="$work/out/capo-$v" dir sum origin
    mkdir -p "$scratch"
    [[ -f "$scratch/go.mod" ]] || printf 'module releaserepro\n\ngo 1.24\n' >"$scratch/go.mod"
    rm -rf "$src" "$out"
    mkdir -p "$src" "$out"
    if read -r dir sum < <(module_dir "$scratch" "sigs.k8s.io/cluster-api-provider-openstack@$v" 2>/dev/null); then
        cp -r "$dir"/. "$src"
        chmod -R u+w "$src"
        rm -rf "$src/hack/tools"
        cp -r "$tree/hack/tools" "$src/hack/tools"
        origin="module $sum (checksum database); hack/tools from $tree"
    else
        cp -r "$tree"/. "$src"
        rm -rf "$src/.git"
        chmod -R u+w "$src"
        origin="checkout $tree, NOT authenticated (the module proxy did not serve the module): a control, not a pin"
    fi
    local mk="$src/Makefile"
    require "$mk" "MANIFEST_FILE := infrastructure-components"
    require "$mk" "CONFIG_DIR := config"
    require "$mk" "REGISTRY ?= \$(STAGING_REGISTRY)"
    require "$mk" "CONTROLLER_IMG ?= \$(REGISTRY)/\$(IMAGE_NAME)"
    require "$mk" "	\$(MAKE) manifest-modification REGISTRY=\$(PROD_REGISTRY)"
    require "$mk" "	\$(MAKE) release-manifests"
    require "$mk" "		TARGET_RESOURCE=\"./config/default/manager_image_patch.yaml\""
    require "$mk" "	\$(MAKE) set-manifest-pull-policy PULL_POLICY=IfNotPresent TARGET_RESOURCE=\"./config/default/manager_pull_policy.yaml\""
    require "$mk" "	sed -i'' -e 's@image: .*@image: '\"\${MANIFEST_IMG}:\$(MANIFEST_TAG)\"'@' \$(TARGET_RESOURCE)"
    require "$mk" "	sed -i'' -e 's@imagePullPolicy: .*@imagePullPolicy: '\"\$(PULL_POLICY)\"'@' \$(TARGET_RESOURCE)"
    require "$mk" "	\$(MAKE) \$(RELEASE_DIR)/\$(MANIFEST_FILE).yaml TAG=\$(RELEASE_TAG) PULL_POLICY=IfNotPresent"
    require "$mk" "		MANIFEST_IMG=\$(CONTROLLER_IMG) \\"
    require "$mk" "	\$(KUSTOMIZE) build \$(PROVIDER_CONFIG_DIR)/default > \$(IMAGE_PATCH_DIR)/\$(PROVIDER)/source-manifest.yaml"
    require "$mk" "	\$(GOJQ) --yaml-input --yaml-output '.[0].value=\"\$(PULL_POLICY)\"' \"hack/image-patch/pull-policy-patch.yaml\" > \$(IMAGE_PATCH_DIR)/\$(PROVIDER)/pull-policy-patch.yaml"
    require "$mk" "	\$(GOJQ) --yaml-input --yaml-output '.images[0]={\"name\":\"\$(OLD_IMG)\",\"newName\":\"\$(MANIFEST_IMG)\",\"newTag\":\"\$(TAG)\"}|del(.patchesJson6902[1])|.patchesJson6902[0].target.name=\"\$(CONTROLLER_NAME)\"|.patchesJson6902[0].target.namespace=\"\$(NAMESPACE)\"' \\"
    require "$mk" "	\$(KUSTOMIZE) build \$(IMAGE_PATCH_DIR)/\$(PROVIDER) > \$(RELEASE_DIR)/\$(PROVIDER).yaml"
    require "$mk" "	cp metadata.yaml \$(RELEASE_DIR)/metadata.yaml"
    local prod name orig staging ctl ns kpkg
    prod="$(make_var "$mk" PROD_REGISTRY '?=')"
    name="$(make_var "$mk" IMAGE_NAME '?=')"
    orig="$(make_var "$mk" CONTROLLER_ORIGINAL_IMG ':=')"
    staging="$(make_var "$mk" STAGING_REGISTRY ':=')"
    ctl="$(make_var "$mk" CONTROLLER_NAME ':=')"
    ns="$(make_var "$mk" NAMESPACE ':=')"
    kpkg="$(sed -n 's/^	CGO_ENABLED=0 go build -tags=tools -o \$@ \(sigs\.k8s\.io\/kustomize\/kustomize\/v[0-9]*\)$/\1/p' "$src/hack/tools/Makefile")"
    [[ -n "$prod" && -n "$name" && -n "$orig" && -n "$staging" && -n "$ctl" && -n "$ns" && -n "$kpkg" ]] || {
        echo "release-repro: $mk or hack/tools/Makefile lacks a variable of the recipe (the recipe changed; update this script)" >&2
        exit 1
    }
    local kbin jbin
    kbin="$(capo_tool "$src/hack/tools" "$kpkg" kustomize)"
    jbin="$(capo_tool "$src/hack/tools" github.com/itchyny/gojq/cmd/gojq gojq)"
    local p="_artifacts/image-patch/infrastructure-components"
    (
        cd "$src"
        sed -i'' -e 's@image: .*@image: '"$prod/$name:$v"'@' ./config/default/manager_image_patch.yaml
        sed -i'' -e 's@imagePullPolicy: .*@imagePullPolicy: IfNotPresent@' ./config/default/manager_pull_policy.yaml
        mkdir -p "$p"
        "$kbin" build config/default >"$p/source-manifest.yaml"
        "$jbin" --yaml-input --yaml-output '.[0].value="IfNotPresent"' hack/image-patch/pull-policy-patch.yaml >"$p/pull-policy-patch.yaml"
        "$jbin" --yaml-input --yaml-output '.images[0]={"name":"'"$orig"'","newName":"'"$staging/$name"'","newTag":"'"$v"'"}|del(.patchesJson6902[1])|.patchesJson6902[0].target.name="'"$ctl"'"|.patchesJson6902[0].target.namespace="'"$ns"'"' \
            hack/image-patch/kustomization.yaml >"$p/kustomization.yaml"
        "$kbin" build "$p" >"$out/infrastructure-components.yaml"
        cp metadata.yaml "$out/metadata.yaml"
    )
    local recipe="maintainer's make release (RELEASE.md)"
    [[ -f "$src/.github/workflows/release.yaml" ]] && grep -qF "files: out/*" "$src/.github/workflows/release.yaml" && recipe=".github/workflows/release.yaml: make release, upload out/*"
    local kver
    kver="$(sed -n 's|^	'"$kpkg"' \(v[0-9.]*\).*$|\1|p' "$src/hack/tools/go.mod")"
    echo "# sigs.k8s.io/cluster-api-provider-openstack@$v: $origin; kustomize $kpkg $kver (hack/tools); release by $recipe ($out)"
    (cd "$out" && for f in infrastructure-components.yaml metadata.yaml; do
        printf '%s  %s  %s bytes\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$f" "$(wc -c <"$f")"
    done)
}

main "$@"
