#!/usr/bin/env bash
# Rebuilds Cluster API's release components files from the Go module at a release tag with the
# release recipe of that tag, and prints their SHA-256 (docs/verified-downloads.md, "Reproducing
# the components files"). Not part of `npm test` or CI: it needs the Go module proxy and builds
# kustomize (a few minutes on 2 cores).
#
#   testbed/release-repro/reproduce.sh capi v1.14.2 v1.14.0
#
# Per version it:
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
# Environment: RELEASE_REPRO_DIR (work directory, default ~/.cache/capi-mgmt-release-repro);
# GOMODCACHE, GOPROXY, GOSUMDB as for any Go command (GONOSUMDB/GOFLAGS=-insecure must be unset).
set -euo pipefail

main() {
    local project="${1:-}"
    shift || true
    [[ "$project" == "capi" && $# -gt 0 ]] || {
        echo "usage: $0 capi <version>..." >&2
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
        capi "$work" "$v"
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

main "$@"
