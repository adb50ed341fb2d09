#!/usr/bin/env bash
# capi-providers.sh: Cluster API step of the capi-mgmt management server (runs as root).
#
# Brings the Cluster API providers of the management cluster to the pinned versions:
#   core cluster-api, bootstrap kubeadm, control-plane kubeadm (CLUSTER_API_VERSION),
#   infrastructure openstack (CAPO_VERSION) and addon helm (CAAPH_VERSION).
# It reads what is installed (providers.clusterctl.cluster.x-k8s.io) and then:
#   - installs the missing providers with `clusterctl init` (which fails on a provider that
#     is already installed, so only the missing ones are named);
#   - moves providers installed at other versions with `clusterctl upgrade apply`;
#   - changes nothing when every provider is at its pinned version (and cert-manager too).
# clusterctl's configuration file (STATE_DIR/clusterctl.yaml) turns ClusterTopology
# (ClusterClass) on and pins cert-manager, at init and at every upgrade. No credentials
# are needed: they belong to each workload cluster.
# clusterctl downloads nothing itself: every release file it reads (components, metadata,
# cert-manager.yaml) is first downloaded into a local repository and checked against its
# SHA-256 (host/lib/release-repository.sh), and the configuration's `providers:` and
# cert-manager `url` point at those files (file://). A mismatch stops the run before
# clusterctl runs.
#
# Logs and clusterctl output go to stderr; stdout says what was done.
#
# Parameters (rendered above this header by lib/clusterScripts.ts, or taken from the environment):
#   CLUSTER_API_VERSION   Cluster API release of the core, kubeadm bootstrap and control-plane providers
#   CAPO_VERSION          Cluster API Provider OpenStack release
#   CAAPH_VERSION         Cluster API Add-on Provider Helm release
#   CERT_MANAGER_VERSION  cert-manager release clusterctl installs or upgrades to
#   STATE_DIR             root-only directory for clusterctl's configuration file, its local repository and the lock
#   RELEASE_FILES         the release files of the local repository, one a line: "label version file url sha256"
#                         (sha256 `-`: unpinned, trusted on this server's first download)
#   KUBECONFIG_PATH       admin kubeconfig of the management cluster
#   WAIT_TIMEOUT_SECONDS  how long clusterctl waits for cert-manager and for each provider, in
#                         seconds; a whole clusterctl run is bounded by (providers + 2) times this
#   PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY
#                         optional: the proxy (capi-mgmt:proxy) for clusterctl (it downloads the providers' components) and kubectl and for the
#                         providers' Deployments (set env); unset, inherited proxy variables
#                         are dropped and the Deployment's proxy variables removed
set -euo pipefail

: "${CLUSTER_API_VERSION:?capi-providers: CLUSTER_API_VERSION must be set}"
: "${CAPO_VERSION:?capi-providers: CAPO_VERSION must be set}"
: "${CAAPH_VERSION:?capi-providers: CAAPH_VERSION must be set}"
: "${CERT_MANAGER_VERSION:?capi-providers: CERT_MANAGER_VERSION must be set}"
: "${STATE_DIR:?capi-providers: STATE_DIR (where the clusterctl configuration is kept) must be set}"
: "${RELEASE_FILES:?capi-providers: RELEASE_FILES (the release files clusterctl reads) must be set}"
: "${KUBECONFIG_PATH:?capi-providers: KUBECONFIG_PATH (admin kubeconfig of the management cluster) must be set}"
: "${WAIT_TIMEOUT_SECONDS:?capi-providers: WAIT_TIMEOUT_SECONDS (seconds to wait per provider) must be set}"

readonly CONFIG_FILE="$STATE_DIR/clusterctl.yaml"
readonly LOCK_FILE="$STATE_DIR/capi-providers.lock"
readonly LOCK_WAIT_SECONDS=600
readonly PROVIDERS_CRD="providers.clusterctl.cluster.x-k8s.io"
# clusterctl labels the cert-manager it installs and annotates it with the version.
readonly CERT_MANAGER_NAMESPACE="cert-manager"
readonly CERT_MANAGER_SELECTOR="clusterctl.cluster.x-k8s.io/core=cert-manager"
readonly QUERY_TIMEOUT_SECONDS=60
readonly KILL_AFTER_SECONDS=30
readonly VERSION_RE='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

# The pinned providers, one entry per provider at the same index in every array.
readonly types=(CoreProvider BootstrapProvider ControlPlaneProvider InfrastructureProvider AddonProvider)
readonly names=(cluster-api kubeadm kubeadm openstack helm)
readonly flags=(--core --bootstrap --control-plane --infrastructure --addon)
readonly versions=("$CLUSTER_API_VERSION" "$CLUSTER_API_VERSION" "$CLUSTER_API_VERSION" "$CAPO_VERSION" "$CAAPH_VERSION")
# clusterctl's ManifestLabel of each (its directory in the local repository) and its components file.
readonly labels=(cluster-api bootstrap-kubeadm control-plane-kubeadm infrastructure-openstack addon-helm)
readonly components=(core-components.yaml bootstrap-components.yaml control-plane-components.yaml infrastructure-components.yaml addon-components.yaml)

# Installed version of each pinned provider ("" when missing), and the classification.
installed_versions=()
missing=()
outdated=()
# Installed providers as "type name version namespace" lines.
installed=""

log() {
    echo "capi-providers: $*" >&2
}

die() {
    echo "capi-providers: ERROR: $*" >&2
    exit 1
}

# kubectl against the management cluster, bounded.
kube() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$QUERY_TIMEOUT_SECONDS" \
        kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=30s "$@" </dev/null
}

# Proxy helpers use_proxy and proxy_env_args (host/lib/proxy.sh, put here by rendering).
# capi-mgmt:include proxy.sh

# prepare_repository and repository_url (host/lib/release-repository.sh, put here by rendering).
# capi-mgmt:include release-repository.sh

check_parameters() {
    local name
    for name in CLUSTER_API_VERSION CAPO_VERSION CAAPH_VERSION CERT_MANAGER_VERSION; do
        if [[ ! "${!name}" =~ $VERSION_RE ]]; then
            die "$name must be a release like v1.2.3, got '${!name}'"
        fi
    done
    if [[ ! "$WAIT_TIMEOUT_SECONDS" =~ ^[1-9][0-9]*$ ]]; then
        die "WAIT_TIMEOUT_SECONDS must be a positive whole number of seconds, got '$WAIT_TIMEOUT_SECONDS'"
    fi
    if [[ "$STATE_DIR" != /* ]]; then
        die "STATE_DIR must be an absolute path, got '$STATE_DIR'"
    fi
    if [[ ! -f "$KUBECONFIG_PATH" ]]; then
        die "the kubeconfig $KUBECONFIG_PATH does not exist; the kind step (kind-cluster.sh) must run first"
    fi
    local tool
    for tool in kubectl clusterctl; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed; the tools step (install-tools) must run first"
    done
}

# Serialises runs on one server; the wait is bounded.
take_lock() {
    exec 9>>"$LOCK_FILE"
    if ! flock --wait "$LOCK_WAIT_SECONDS" 9; then
        die "another capi-providers run still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s"
    fi
}

# Writes clusterctl's configuration file (mode 0600), unless it already has this content.
write_config() {
    local tmp="$CONFIG_FILE.tmp.$$"
    {
        echo "# clusterctl configuration written by capi-mgmt (host/capi-providers.sh); do not edit."
        echo "# ClusterClass needs the ClusterTopology feature at init and at every upgrade apply."
        echo 'CLUSTER_TOPOLOGY: "true"'
        echo "# Every provider and cert-manager from the verified local repository (no download by clusterctl)."
        echo "providers:"
        for i in "${!types[@]}"; do
            echo "  - name: \"${names[i]}\""
            echo "    type: \"${types[i]}\""
            echo "    url: \"$(repository_url "${labels[i]}" "${versions[i]}" "${components[i]}")\""
        done
        echo "cert-manager:"
        echo "  url: \"$(repository_url cert-manager "$CERT_MANAGER_VERSION" cert-manager.yaml)\""
        echo "  version: \"$CERT_MANAGER_VERSION\""
        echo "  timeout: \"${WAIT_TIMEOUT_SECONDS}s\""
    } >"$tmp"
    chmod 0600 -- "$tmp"
    if cmp -s -- "$tmp" "$CONFIG_FILE"; then
        rm -f -- "$tmp"
    else
        mv -f -T -- "$tmp" "$CONFIG_FILE"
        log "wrote clusterctl's configuration $CONFIG_FILE"
    fi
}

# Reads the installed providers into `installed`; none when clusterctl's Provider CRD is absent.
read_installed() {
    local crd
    crd=$(kube get crd "$PROVIDERS_CRD" --ignore-not-found -o name) ||
        die "cannot ask the management cluster whether Cluster API is installed (kubectl get crd $PROVIDERS_CRD failed, see above); check it with 'kubectl --kubeconfig $KUBECONFIG_PATH get nodes'"
    if [[ -z "$crd" ]]; then
        log "no Cluster API provider is installed yet ($PROVIDERS_CRD is not defined)"
        return 0
    fi
    installed=$(kube get "$PROVIDERS_CRD" -A \
        -o jsonpath='{range .items[*]}{.type}{" "}{.providerName}{" "}{.version}{" "}{.metadata.namespace}{"\n"}{end}') ||
        die "cannot list the installed Cluster API providers (kubectl get $PROVIDERS_CRD -A failed, see above)"
}

# Sorts every pinned provider into missing, outdated or current.
classify() {
    local i found count
    for i in "${!types[@]}"; do
        found=$(awk -v t="${types[i]}" -v n="${names[i]}" '$1 == t && $2 == n' <<<"$installed")
        count=$(grep -c . <<<"$found" || true)
        if ((count > 1)); then
            die "${types[i]} ${names[i]} is installed more than once (type name version namespace): $(paste -s -d ';' - <<<"$found"); capi-mgmt manages a single instance of each provider"
        fi
        installed_versions[i]=$(awk '{ print $3 }' <<<"$found")
        if [[ -z "$found" ]]; then
            log "${types[i]} ${names[i]}: not installed; will install ${versions[i]}"
            missing+=("$i")
        elif [[ "${installed_versions[i]}" != "${versions[i]}" ]]; then
            log "${types[i]} ${names[i]}: installed at ${installed_versions[i]}; will move to ${versions[i]}"
            outdated+=("$i")
        else
            log "${types[i]} ${names[i]}: already at ${versions[i]}"
        fi
    done
    awk '{ print $1 " " $2 }' <<<"$installed" | while read -r type name; do
        if [[ -n "$type" ]] && ! is_pinned "$type" "$name"; then
            log "note: $type $name is installed but not managed by capi-mgmt; leaving it alone"
        fi
    done
}

is_pinned() {
    local i
    for i in "${!types[@]}"; do
        if [[ "${types[i]}" == "$1" && "${names[i]}" == "$2" ]]; then
            return 0
        fi
    done
    return 1
}

is_missing() {
    local i
    for i in "${missing[@]}"; do
        if [[ "$i" == "$1" ]]; then
            return 0
        fi
    done
    return 1
}

# True when clusterctl's cert-manager is older than CERT_MANAGER_VERSION (upgrade apply
# moves it up; clusterctl never downgrades cert-manager).
cert_manager_behind() {
    local found v behind=1
    found=$(kube get deployments --namespace "$CERT_MANAGER_NAMESPACE" --selector "$CERT_MANAGER_SELECTOR" \
        -o jsonpath='{range .items[*]}{.metadata.annotations.cert-manager\.clusterctl\.cluster\.x-k8s\.io/version}{"\n"}{end}') ||
        die "cannot read cert-manager's version (kubectl get deployments -n $CERT_MANAGER_NAMESPACE failed, see above)"
    while read -r v; do
        if [[ -z "$v" || "$v" == "$CERT_MANAGER_VERSION" ]]; then
            continue
        fi
        if [[ "$(printf '%s\n%s\n' "$v" "$CERT_MANAGER_VERSION" | sort -V | head -n 1)" == "$v" ]]; then
            log "cert-manager is at $v; will move to $CERT_MANAGER_VERSION"
            behind=0
        else
            log "WARNING: cert-manager is at $v, newer than the pinned $CERT_MANAGER_VERSION; clusterctl does not downgrade it"
        fi
    done <<<"$found"
    return "$behind"
}

# Its arguments joined with ", ".
join() {
    local text
    printf -v text '%s, ' "$@"
    echo "${text%, }"
}

# "name:version" arguments of the given provider indexes, with their flags.
provider_args() {
    local i
    for i in "$@"; do
        printf '%s\n%s\n' "${flags[i]}" "${names[i]}:${versions[i]}"
    done
}

# Runs clusterctl for `count` providers, bounded by (count + 2) * WAIT_TIMEOUT_SECONDS.
run_clusterctl() {
    local what=$1 count=$2 status=0 bound
    shift 2
    bound=$(((count + 2) * WAIT_TIMEOUT_SECONDS))
    log "running: clusterctl $* (bounded to ${bound}s)"
    timeout --kill-after="$KILL_AFTER_SECONDS" "$bound" clusterctl "$@" </dev/null >&2 || status=$?
    if ((status == 124 || status == 137)); then
        die "clusterctl $what did not finish within ${bound}s; see its output above and 'kubectl --kubeconfig $KUBECONFIG_PATH get pods -A'"
    elif ((status != 0)); then
        die "clusterctl $what failed (exit code $status); see its output above and 'kubectl --kubeconfig $KUBECONFIG_PATH get providers.clusterctl.cluster.x-k8s.io,pods -A'"
    fi
}

init_providers() {
    local i args=() summary=()
    mapfile -t args < <(provider_args "$@")
    for i in "$@"; do
        summary+=("${types[i]} ${names[i]}:${versions[i]}")
    done
    run_clusterctl init "$#" init --config "$CONFIG_FILE" --kubeconfig "$KUBECONFIG_PATH" "${args[@]}" \
        --wait-providers --wait-provider-timeout "$WAIT_TIMEOUT_SECONDS"
    echo "capi-providers: installed with clusterctl init: $(join "${summary[@]}")"
}

upgrade_providers() {
    local i args=() summary=()
    mapfile -t args < <(provider_args "$@")
    for i in "$@"; do
        if [[ -n "${installed_versions[i]}" && "${installed_versions[i]}" != "${versions[i]}" ]]; then
            summary+=("${types[i]} ${names[i]}:${installed_versions[i]}->${versions[i]}")
        fi
    done
    if ((${#summary[@]} == 0)); then
        summary+=("cert-manager ->$CERT_MANAGER_VERSION")
    fi
    run_clusterctl "upgrade apply" "$#" upgrade apply --config "$CONFIG_FILE" --kubeconfig "$KUBECONFIG_PATH" "${args[@]}" \
        --wait-providers --wait-provider-timeout "$WAIT_TIMEOUT_SECONDS"
    echo "capi-providers: upgraded with clusterctl upgrade apply: $(join "${summary[@]}")"
}

# Indexes of the pinned providers that are installed now.
installed_indexes() {
    local i
    for i in "${!types[@]}"; do
        if ! is_missing "$i"; then
            echo "$i"
        fi
    done
}

# Gives every Deployment of the pinned providers' namespaces the proxy (CAPO reaches the
# OpenStack APIs, CAAPH Helm repositories, the managers workload clusters), or removes it.
# Runs after every run: clusterctl upgrade apply replaces the Deployments.
set_proxy_env() {
    local i ns status
    local -a args=() namespaces=()
    installed=""
    read_installed
    for i in "${!types[@]}"; do
        ns=$(awk -v t="${types[i]}" -v n="${names[i]}" '$1 == t && $2 == n { print $4; exit }' <<<"$installed")
        if [[ -n "$ns" && " ${namespaces[*]} " != *" $ns "* ]]; then
            namespaces+=("$ns")
        fi
    done
    mapfile -t args < <(proxy_env_args)
    for ns in "${namespaces[@]}"; do
        status=0
        log "setting the proxy variables of the deployments in $ns"
        kube --namespace "$ns" set env deployment --all "${args[@]}" >&2 || status=$?
        if ((status != 0)); then
            die "cannot set the proxy variables of the deployments in namespace $ns (exit code $status, see the kubectl output above)"
        fi
    done
}

# Installs, upgrades or keeps the providers (see the header).
reconcile_providers() {
    local upgraded=0 present=()
    read_installed
    classify
    if ((${#missing[@]} == 0 && ${#outdated[@]} == 0)); then
        if cert_manager_behind; then
            upgrade_providers "${!types[@]}"
            return 0
        fi
        echo "capi-providers: nothing changed: all ${#types[@]} providers are at the pinned versions (Cluster API $CLUSTER_API_VERSION, CAPO $CAPO_VERSION, CAAPH $CAAPH_VERSION)"
        return 0
    fi
    # Upgrade before installing what is missing, so new providers join an up-to-date core;
    # without a core provider clusterctl cannot upgrade, so then install first.
    if ((${#outdated[@]} > 0)) && ! is_missing 0; then
        mapfile -t present < <(installed_indexes)
        upgrade_providers "${present[@]}"
        upgraded=1
    fi
    if ((${#missing[@]} > 0)); then
        init_providers "${missing[@]}"
    fi
    if ((${#outdated[@]} > 0 && upgraded == 0)); then
        upgrade_providers "${!types[@]}"
    fi
}

main() {
    umask 077
    check_parameters
    use_proxy
    mkdir -p -- "$STATE_DIR"
    chmod 0700 -- "$STATE_DIR"
    take_lock
    prepare_repository
    write_config
    reconcile_providers
    set_proxy_env
}

main "$@"
