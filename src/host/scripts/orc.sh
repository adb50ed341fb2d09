#!/usr/bin/env bash
# orc.sh: ORC step of the capi-mgmt management server (runs as root).
#
# Installs the OpenStack Resource Controller (required by CAPO, not installed by clusterctl)
# at ORC_VERSION with a server-side apply of its release manifest, labels ORC's CRDs for
# clusterctl move, then waits until its controller has rolled out. Applying the same release
# again changes nothing, so the step is idempotent; a new ORC_VERSION upgrades ORC in place.
#
# The manifest is downloaded to a file first and only that file is applied. With
# ORC_MANIFEST_SHA256 set, a download of any other SHA-256 is refused before anything is
# applied. ORC's releases publish no checksum; the program pins the versions whose SHA-256 it
# knows from a checked source (src/versions/versions.ts). Without a pin the file
# is trusted on this server's first download (its SHA-256 recorded in STATE_DIR and printed
# on stdout, to pin it after checking it yourself), and a later download of the same release
# with another SHA-256 is refused.
#
# clusterctl move (v1.14) only looks at the kinds whose CRD carries the label
# clusterctl.cluster.x-k8s.io (any value; clusterctl's own components have it empty), and
# ORC's release manifest does not set it. Without it, ORC objects labelled
# clusterctl.cluster.x-k8s.io/move (the GitOps tree's node images and server groups) would
# stay behind. So every CRD of ORC's API group gets clusterctl.cluster.x-k8s.io="" after
# each apply (--overwrite: a re-run or another value is fine). The apply does not remove
# the label: it is owned by kubectl label's field manager, not by the apply's.
#
# Logs and kubectl output go to stderr; stdout gets one summary line.
#
# Parameters (rendered above this header by lib/clusterScripts.ts, or taken from the environment):
#   ORC_VERSION           ORC release, e.g. v2.6.0
#   ORC_MANIFEST_SHA256   SHA-256 (64 lowercase hex digits) the release's install.yaml must have,
#                         or empty: trust this server's first download (recorded in STATE_DIR)
#   STATE_DIR             root-only directory of the server's state (the first-use record of unpinned files)
#   KUBECONFIG_PATH       admin kubeconfig of the management cluster
#   WAIT_TIMEOUT_SECONDS  bound of each download and apply attempt, of their retries, and of the wait for
#                         the controller to roll out, in seconds
#   PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY
#                         optional: the proxy (capi-mgmt:proxy) for curl (it downloads the release manifest) and for the
#                         controller's Deployment (set env); unset, inherited proxy variables
#                         are dropped and the Deployment's proxy variables removed
set -euo pipefail

: "${ORC_VERSION:?orc: ORC_VERSION (ORC release, e.g. v2.6.0) must be set}"
: "${STATE_DIR:?orc: STATE_DIR (the state directory of the server) must be set}"
: "${KUBECONFIG_PATH:?orc: KUBECONFIG_PATH (admin kubeconfig of the management cluster) must be set}"
: "${WAIT_TIMEOUT_SECONDS:?orc: WAIT_TIMEOUT_SECONDS (seconds to wait for ORC) must be set}"
: "${ORC_MANIFEST_SHA256=}"

readonly MANIFEST_URL="https://github.com/k-orc/openstack-resource-controller/releases/download/$ORC_VERSION/install.yaml"
# sha256sum-style lines "<sha256>  <label>/<version>/<file>" of unpinned downloads, first use
# (shared with host/lib/release-repository.sh); ORC's entry is orc/<version>/install.yaml.
readonly FIRST_USE_FILE="$STATE_DIR/release-sha256-first-use"
readonly FIRST_USE_KEY="orc/$ORC_VERSION/install.yaml"
# What stdout says about the manifest's SHA-256 when it is not pinned.
unpinned_note=""
# What the release's install.yaml creates (config/default: namespace orc-system, prefix orc-).
readonly ORC_NAMESPACE="orc-system"
readonly ORC_DEPLOYMENT="orc-controller-manager"
# ORC's API group; a CRD's name is <plural>.<group>, so its CRDs are the names ending in it.
readonly ORC_API_GROUP="openstack.k-orc.cloud"
# The label clusterctl move lists CRDs by (clusterctl's ClusterctlLabel).
readonly CLUSTERCTL_LABEL="clusterctl.cluster.x-k8s.io"
# Attempts of the download and of the apply, each; `retry` counts them in $attempt.
readonly ATTEMPTS=6
attempt=0
readonly KILL_AFTER_SECONDS=10
# Bound of each short kubectl call (get, label), in seconds.
readonly REQUEST_TIMEOUT_SECONDS=30

log() {
    echo "orc: $*" >&2
}

die() {
    echo "orc: ERROR: $*" >&2
    exit 1
}

check_parameters() {
    if [[ ! "$ORC_VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
        die "ORC_VERSION must be a release like v2.6.0, got '$ORC_VERSION'"
    fi
    if [[ -n "$ORC_MANIFEST_SHA256" && ! "$ORC_MANIFEST_SHA256" =~ ^[0-9a-f]{64}$ ]]; then
        die "ORC_MANIFEST_SHA256 must be a SHA-256 (64 lowercase hex digits) or empty, got '$ORC_MANIFEST_SHA256'"
    fi
    if [[ ! "$WAIT_TIMEOUT_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
        die "WAIT_TIMEOUT_SECONDS must be a positive whole number of seconds, got '$WAIT_TIMEOUT_SECONDS'"
    fi
    if [[ ! -f "$KUBECONFIG_PATH" ]]; then
        die "the kubeconfig $KUBECONFIG_PATH does not exist; the kind step (kind-cluster.sh) must run first"
    fi
    command -v kubectl >/dev/null 2>&1 || die "kubectl is not installed; the tools step (install-tools) must run first"
    command -v curl >/dev/null 2>&1 || die "curl is not installed (Ubuntu's cloud images have it; the tools step needs it too)"
    command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed (coreutils)"
}

# Proxy helpers use_proxy and proxy_env_args (host/lib/proxy.sh, put here by rendering).
# capi-mgmt:include proxy.sh

now() {
    date +%s
}

# retry NAME DOING COMMAND...: runs COMMAND (bounded by WAIT_TIMEOUT_SECONDS) up to ATTEMPTS
# times, pausing 3 s, 6 s, ... between attempts, all within WAIT_TIMEOUT_SECONDS; logs DOING
# before and "NAME attempt n/ATTEMPTS failed" after each failure. Sets $attempt to the number made.
retry() {
    local name=$1 doing=$2 status delay deadline
    shift 2
    deadline=$(($(now) + WAIT_TIMEOUT_SECONDS))
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
        log "$doing (attempt $attempt/$ATTEMPTS)"
        status=0
        timeout --kill-after="$KILL_AFTER_SECONDS" "$WAIT_TIMEOUT_SECONDS" "$@" </dev/null >&2 || status=$?
        if ((status == 0)); then
            return 0
        fi
        log "$name attempt $attempt/$ATTEMPTS failed (exit code $status)"
        delay=$((attempt * 3))
        if ((attempt == ATTEMPTS || $(now) + delay >= deadline)); then
            return 1
        fi
        sleep "$delay"
    done
}

# Downloads the release manifest to $manifest.
download_manifest() {
    retry download "downloading $MANIFEST_URL" \
        curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
        --connect-timeout 20 --max-time "$WAIT_TIMEOUT_SECONDS" --output "$manifest" "$MANIFEST_URL" ||
        die "could not download ORC $ORC_VERSION's manifest from $MANIFEST_URL after $attempt attempt(s) within ${WAIT_TIMEOUT_SECONDS}s (see the curl output above); nothing was applied. Check that the release exists and that the server reaches github.com"
}

# Refuses a manifest whose SHA-256 is not the pinned one; without a pin, refuses one that
# differs from this server's first download of the release, or records it (first use).
verify_manifest() {
    local actual first
    actual=$(sha256sum "$manifest") || die "cannot compute the SHA-256 of the downloaded manifest $manifest"
    actual=${actual%% *}
    if [[ -z "$ORC_MANIFEST_SHA256" ]]; then
        first=""
        if [[ -f "$FIRST_USE_FILE" ]]; then
            first=$(awk -v f="$FIRST_USE_KEY" '$2 == f { print $1; exit }' "$FIRST_USE_FILE")
        fi
        if [[ -z "$first" ]]; then
            log "WARNING: no SHA-256 is pinned for ORC $ORC_VERSION's manifest (versions.orc: {version, sha256}); trusting this first download, unverified. Its SHA-256 is $actual"
            mkdir -p -- "$STATE_DIR"
            echo "$actual  $FIRST_USE_KEY" >>"$FIRST_USE_FILE"
        elif [[ "$actual" != "$first" ]]; then
            die "the manifest downloaded from $MANIFEST_URL has SHA-256 $actual, but this server's first download of it had $first (not pinned); nothing was applied. If ORC re-published the release, check the new file and pin its SHA-256 in versions.orc"
        else
            log "ORC $ORC_VERSION's manifest has the SHA-256 of this server's first download, $actual (not pinned)"
        fi
        unpinned_note=$'\n'"orc: unpinned (trusted on first use): $FIRST_USE_KEY sha256 $actual"
        return 0
    fi
    if [[ "$actual" != "$ORC_MANIFEST_SHA256" ]]; then
        die "the manifest downloaded from $MANIFEST_URL has SHA-256 $actual, not the pinned $ORC_MANIFEST_SHA256; nothing was applied. If ORC re-published the release, check the new file and pin its SHA-256 in versions.orc"
    fi
    log "ORC $ORC_VERSION's manifest has the pinned SHA-256 $actual"
}

# Server-side applies the downloaded manifest.
apply_manifest() {
    retry apply "applying ORC $ORC_VERSION's manifest (server-side)" \
        kubectl --kubeconfig "$KUBECONFIG_PATH" apply --server-side --force-conflicts -f "$manifest" ||
        die "could not apply ORC $ORC_VERSION (downloaded from $MANIFEST_URL) after $attempt attempt(s) within ${WAIT_TIMEOUT_SECONDS}s (see the kubectl output above); check the cluster with 'kubectl --kubeconfig $KUBECONFIG_PATH get nodes'"
}

# A short kubectl call: bounded by kubectl's request timeout and, should kubectl hang anyway, by timeout.
kubectl_short() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$((REQUEST_TIMEOUT_SECONDS + 10))" \
        kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout="${REQUEST_TIMEOUT_SECONDS}s" "$@" </dev/null
}

# Labels every CRD of ORC's API group with CLUSTERCTL_LABEL="", so that clusterctl move finds ORC objects.
label_crds() {
    local listed line status=0
    local -a crds=()
    listed=$(kubectl_short get crd -o name) || status=$?
    if ((status != 0)); then
        die "cannot list the CRDs to label ORC's for clusterctl move (exit code $status, see the kubectl output above); check the cluster with 'kubectl --kubeconfig $KUBECONFIG_PATH get crd'"
    fi
    # Lines are customresourcedefinition.apiextensions.k8s.io/<name>; keep the names in ORC's group.
    while IFS= read -r line; do
        if [[ "${line#*/}" == *".$ORC_API_GROUP" ]]; then
            crds+=("${line#*/}")
        fi
    done <<<"$listed"
    if ((${#crds[@]} == 0)); then
        die "no CRD of ORC's API group $ORC_API_GROUP exists after applying ORC $ORC_VERSION; check 'kubectl --kubeconfig $KUBECONFIG_PATH get crd' and the release manifest $MANIFEST_URL"
    fi
    log "labelling ${#crds[@]} CRDs of $ORC_API_GROUP with $CLUSTERCTL_LABEL for clusterctl move"
    kubectl_short label --overwrite crd "${crds[@]}" "$CLUSTERCTL_LABEL=" >&2 || status=$?
    if ((status != 0)); then
        die "cannot label ORC's CRDs with $CLUSTERCTL_LABEL (exit code $status, see the kubectl output above); without it clusterctl move leaves ORC objects behind. Check the cluster with 'kubectl --kubeconfig $KUBECONFIG_PATH get crd'"
    fi
}

# Gives ORC's controller the proxy (it reaches the OpenStack APIs), or removes it.
set_proxy_env() {
    local status=0
    local -a args=()
    mapfile -t args < <(proxy_env_args)
    log "setting the proxy variables of deployment $ORC_NAMESPACE/$ORC_DEPLOYMENT"
    kubectl_short --namespace "$ORC_NAMESPACE" set env "deployment/$ORC_DEPLOYMENT" "${args[@]}" >&2 || status=$?
    if ((status != 0)); then
        die "cannot set the proxy variables of deployment $ORC_NAMESPACE/$ORC_DEPLOYMENT (exit code $status, see the kubectl output above)"
    fi
}

wait_rolled_out() {
    local status=0
    log "waiting up to ${WAIT_TIMEOUT_SECONDS}s for deployment $ORC_NAMESPACE/$ORC_DEPLOYMENT to roll out"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$((WAIT_TIMEOUT_SECONDS + 30))" \
        kubectl --kubeconfig "$KUBECONFIG_PATH" --namespace "$ORC_NAMESPACE" \
        rollout status "deployment/$ORC_DEPLOYMENT" --timeout="${WAIT_TIMEOUT_SECONDS}s" </dev/null >&2 || status=$?
    if ((status != 0)); then
        kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=20s --namespace "$ORC_NAMESPACE" \
            get pods -o wide </dev/null >&2 || true
        die "ORC's controller (deployment $ORC_NAMESPACE/$ORC_DEPLOYMENT) did not become available within ${WAIT_TIMEOUT_SECONDS}s (exit code $status); see 'kubectl -n $ORC_NAMESPACE describe deployment $ORC_DEPLOYMENT' and 'kubectl -n $ORC_NAMESPACE logs deployment/$ORC_DEPLOYMENT'"
    fi
}

main() {
    check_parameters
    use_proxy
    manifest=$(mktemp --suffix=.yaml) || die "cannot create a temporary file for the manifest"
    trap 'rm -f "$manifest"' EXIT
    download_manifest
    verify_manifest
    apply_manifest
    label_crds
    set_proxy_env
    wait_rolled_out
    echo "orc: ORC $ORC_VERSION is applied, its CRDs are labelled for clusterctl move, and its controller $ORC_NAMESPACE/$ORC_DEPLOYMENT is available$unpinned_note"
}

main "$@"
