#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller (the versions Flux
# v2.9.4 ships) and sops into the test-bed cache, from the Go modules pinned in
# testbed/flux/<name>/go.mod. A binary already in the cache is not rebuilt: the
# cache path carries the version, so a version change builds a new binary.
#
# Usage: testbed/flux/build.sh [name...]   (default: all three)
# Env:   CAPI_MGMT_TESTBED_CACHE  cache root (default ~/.cache/capi-mgmt-testbed)
#        GOFLAGS, GOPROXY         passed to go as usual
# Prints one line per binary: "<name> <version> <path> (built in Ns|cached)".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CAPI_MGMT_TESTBED_CACHE:-${HOME}/.cache/capi-mgmt-testbed}"

# name|module directory|package path of the command|module whose version keys the cache
components=(
  "source-controller|source-controller|github.com/fluxcd/source-controller|github.com/fluxcd/source-controller"
  "kustomize-controller|kustomize-controller|github.com/fluxcd/kustomize-controller|github.com/fluxcd/kustomize-controller"
  "sops|sops|github.com/getsops/sops/v3/cmd/sops|github.com/getsops/sops/v3"
)

wanted=("$@")

module_version() {
  # Reads the required version from go.mod without asking the network.
  local dir="$1" module="$2"
  awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$dir/go.mod"
}

want() {
  local name="$1" w
  [[ ${#wanted[@]} -eq 0 ]] && return 0
  for w in "${wanted[@]}"; do [[ "$w" == "$name" ]] && return 0; done
  return 1
}

for entry in "${components[@]}"; do
  IFS='|' read -r name dir pkg module <<<"$entry"
  want "$name" || continue
  version="$(module_version "$here/$dir" "$module")"
  if [[ -z "$version" ]]; then
    echo "build.sh: no version of $module in $here/$dir/go.mod" >&2
    exit 1
  fi
  out="$cache/flux/$name/$version/$name"
  if [[ -x "$out" ]]; then
    echo "$name $version $out (cached)"
    continue
  fi
  mkdir -p "$(dirname "$out")"
  start=$SECONDS
  # Build to a temporary name and rename, so an interrupted build never leaves
  # a binary that looks complete.
  (cd "$here/$dir" && go build -trimpath -ldflags='-s -w' -o "$out.partial" "$pkg")
  mv "$out.partial" "$out"
  echo "$name $version $out (built in $((SECONDS - start))s)"
done
