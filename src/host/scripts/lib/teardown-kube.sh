# shellcheck shell=bash
# Shared helpers of host/teardown.sh: logging, time and deadlines, and the bounded kubectl
# wrappers (kube, mgmt, workload) every other teardown include uses.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-kube.sh`
# line. Reads the script's parameters (KUBECONFIG_PATH, TIMEOUT_SECONDS); defines the
# globals the other teardown includes share. Include it first.
# shellcheck disable=SC2034 # constants and globals read by the other teardown includes

readonly POLL_SECONDS="${TEARDOWN_POLL_SECONDS:-5}"
# Bound of one kubectl call (less when a deadline is closer).
readonly KUBECTL_TIMEOUT_SECONDS=60
# Seconds between the polite TERM and a KILL when a command overruns its bound.
readonly KILL_AFTER_SECONDS=10
# Most seconds between two lines of output while the teardown waits.
readonly HEARTBEAT_SECONDS=30

readonly CLUSTER_RESOURCE="clusters.cluster.x-k8s.io"
readonly KUSTOMIZATION_RESOURCE="kustomizations.kustomize.toolkit.fluxcd.io"
readonly HELMRELEASE_RESOURCE="helmreleases.helm.toolkit.fluxcd.io"
readonly SNAPSHOT_RESOURCE="volumesnapshots.snapshot.storage.k8s.io"

# kubectl jsonpath templates printing one row per object, fields separated by "|" (so an
# empty field keeps its place when read with IFS='|').
readonly OBJECT_ROWS='{range .items[*]}{.metadata.namespace}|{.metadata.name}|{.metadata.deletionTimestamp}{"\n"}{end}'

# The management cluster's kubeconfig: KUBECONFIG_PATH, or a copy kind exported when that is missing.
mgmt_kubeconfig="$KUBECONFIG_PATH"
# Private directory (0700) of job logs, kubectl errors and workload kubeconfigs, removed on exit.
workdir=""
# Epoch second after which the current work must stop (overall, or a job's own bound).
deadline=0
# Epoch seconds: start of the teardown, and when the next "still waiting" line is due.
started=0
next_heartbeat=0

# Set in each cluster's job: "namespace/name", the workload kubeconfig and the reason file.
job=""
workload_kubeconfig=""
reason_file=""

log() {
    echo "teardown: $*" >&2
}

warn() {
    echo "teardown: WARNING: $*" >&2
}

die() {
    echo "teardown: ERROR: $*" >&2
    exit 1
}

now() {
    date +%s
}

# Logs "still waiting: $2..." unless one was logged less than HEARTBEAT_SECONDS ago; $1 is now().
heartbeat() {
    local t=$1
    shift
    if ((t >= next_heartbeat)); then
        log "still waiting ($((t - started))s since the start, bound ${TIMEOUT_SECONDS}s): $*"
        next_heartbeat=$((t + HEARTBEAT_SECONDS))
    fi
}

past_deadline() {
    (($(now) >= deadline))
}

# Seconds one kubectl call may take: KUBECTL_TIMEOUT_SECONDS, less near the deadline.
call_seconds() {
    local left=$((deadline - $(now)))
    if ((left > KUBECTL_TIMEOUT_SECONDS)); then
        left=$KUBECTL_TIMEOUT_SECONDS
    fi
    if ((left < 1)); then
        left=1
    fi
    echo "$left"
}

# Prints the lines of file $1 (a command's errors) on stderr with our prefix, then removes it.
relay_errors() {
    local line
    while IFS= read -r line || [[ -n "$line" ]]; do
        echo "teardown: ${job:+$job: }$line" >&2
    done <"$1"
    rm -f -- "$1"
}

# kubectl with kubeconfig $1, bounded, never reading stdin; its errors are relayed with our
# prefix. --foreground keeps kubectl in the caller's process group, so killing a cluster's
# job kills its kubectl too.
kube() {
    local kubeconfig=$1 seconds status=0 errors="$workdir/errors.$BASHPID"
    shift
    if [[ "$1" == delete ]]; then
        # From here on the teardown has changed something: Flux stays suspended if it fails.
        : >>"$workdir/deleted"
    fi
    seconds=$(call_seconds)
    timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$seconds" \
        kubectl --kubeconfig "$kubeconfig" --request-timeout="${seconds}s" "$@" </dev/null 2>"$errors" ||
        status=$?
    if ((status == 124 || status == 137)); then
        echo "kubectl $1 ${2:-}: no answer within ${seconds}s" >>"$errors"
    fi
    relay_errors "$errors"
    return "$status"
}

# kubectl against the management cluster.
mgmt() {
    kube "$mgmt_kubeconfig" "$@"
}

# kubectl against the current job's workload cluster.
workload() {
    kube "$workload_kubeconfig" "$@"
}
