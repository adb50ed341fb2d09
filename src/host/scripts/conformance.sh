#!/usr/bin/env bash
# conformance.sh: the conformance check of one workload cluster, run on the capi-mgmt
# management server as root (`npm run check`, driven by render/check.ts).
#
# Reads the workload cluster's kubeconfig from the Secret <CLUSTER>-kubeconfig (key
# `value`) that Cluster API keeps next to the Cluster in the management cluster, into a
# private temporary directory (never printed), runs sonobuoy against it, prints a progress
# line every POLL_SECONDS until the run is complete or TIMEOUT_SECONDS have passed, then
# retrieves the results, keeps the tarball in RESULTS_DIR and prints sonobuoy's summary.
# Whatever happens (failure, timeout, a signal, the SSH session going away), sonobuoy's
# objects are deleted from the workload cluster and the temporary directory is removed.
#
# Stdout: sonobuoy's results report. Stderr: progress and log lines.
# Exit status: 0 every plugin passed; 1 a plugin did not pass, or sonobuoy's aggregator
# failed; 2 the run did not finish within TIMEOUT_SECONDS; 3 the check could not run
# (cluster or Secret missing, workload API unreachable, another check running, cleanup failed).
#
# Parameters (rendered above this header by lib/check.ts, or taken from the environment):
#   MGMT_KUBECONFIG      admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG    the active management cluster's kubeconfig when it exists
#                        (lib/mgmt-kubeconfig.sh): the cluster the check reads
#   NAMESPACE            namespace of the workload Cluster in the management cluster
#   CLUSTER              name of the workload Cluster
#   MODE                 sonobuoy's mode: quick or certified-conformance
#   TIMEOUT_SECONDS      bound of the run, from `sonobuoy run` to a complete status
#   POLL_SECONDS         interval between status checks (one progress line each)
#   DELETE_WAIT_MINUTES  bound of `sonobuoy delete --wait` in the cleanup
#   RESULTS_DIR          directory (root-only) the results tarball is kept in
set -euo pipefail

: "${MGMT_KUBECONFIG:?conformance: MGMT_KUBECONFIG (management cluster kubeconfig) must be set}"
: "${NAMESPACE:?conformance: NAMESPACE (namespace of the Cluster) must be set}"
: "${CLUSTER:?conformance: CLUSTER (name of the Cluster) must be set}"
: "${MODE:?conformance: MODE (quick or certified-conformance) must be set}"
: "${TIMEOUT_SECONDS:?conformance: TIMEOUT_SECONDS (bound of the run) must be set}"
: "${POLL_SECONDS:?conformance: POLL_SECONDS (status interval) must be set}"
: "${DELETE_WAIT_MINUTES:?conformance: DELETE_WAIT_MINUTES (bound of the cleanup) must be set}"
: "${RESULTS_DIR:?conformance: RESULTS_DIR (where results are kept) must be set}"
: "${ACTIVE_KUBECONFIG:?conformance: ACTIVE_KUBECONFIG (kubeconfig of the active management cluster) must be set}"

# capi-mgmt:include mgmt-kubeconfig.sh

mgmt=$(mgmt_kubeconfig "$MGMT_KUBECONFIG" "$ACTIVE_KUBECONFIG")

# Bound of each single kubectl or sonobuoy call (not of the run), and the grace after it.
readonly CALL_TIMEOUT_SECONDS=300
readonly KILL_AFTER_SECONDS=10
# Namespace sonobuoy creates in the workload cluster (its default).
readonly SONOBUOY_NAMESPACE=sonobuoy
readonly RETRIEVE_ATTEMPTS=3

# Reads `sonobuoy status --json` (argument 1: its stdout, 2: its stderr) and prints "<state> <summary>": the run's
# state (running, post-processing, complete, failed; "starting" while the aggregator pod
# is not running yet, when sonobuoy prints the pod's state instead of JSON) and one
# clause per plugin.
read -r -d '' SUMMARY_PY <<'PYTHON' || true
import json, sys

text = sys.argv[1]
try:
    status = json.loads(text)
except ValueError:
    # Not JSON: the pod's state (stdout), or the error (argument 2, stderr).
    lines = [l.strip() for l in (text + "\n" + sys.argv[2]).splitlines() if l.strip()]
    print("starting", lines[0] if lines else "no status yet")
    sys.exit(0)
if not isinstance(status, dict):
    print("starting", "no status yet")
    sys.exit(0)
plugins = {}
for p in status.get("plugins") or []:
    plugins.setdefault(p.get("plugin") or "?", []).append(p)
clauses = []
for name in sorted(plugins):
    entries = plugins[name]
    counts = {}
    for p in entries:
        key = p.get("status") or "?"
        if p.get("result-status"):
            key += "/" + p["result-status"]
        counts[key] = counts.get(key, 0) + 1
    if len(entries) == 1:
        text = next(iter(counts))
        progress = entries[0].get("progress") or {}
        if progress.get("total"):
            text += ", %d/%d tests" % (progress.get("completed") or 0, progress["total"])
        if progress.get("failures"):
            text += ", %d failed" % len(progress["failures"])
    else:
        text = ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))
    clauses.append("%s: %s" % (name, text))
print(status.get("status") or "unknown", "; ".join(clauses) or "no plugin reported yet")
PYTHON
readonly SUMMARY_PY

# State of the run, for the cleanup: the private directory, the workload kubeconfig in it,
# and whether sonobuoy may have objects in the cluster.
work=""
kubeconfig=""
started=0

log() {
    echo "conformance: $*" >&2 || true
}

die() {
    log "ERROR: $*"
    exit 3
}

# Runs a command with the per-call bound, reading nothing from stdin (the script itself
# arrives on stdin).
call() {
    timeout --kill-after="$KILL_AFTER_SECONDS" "$CALL_TIMEOUT_SECONDS" "$@" </dev/null
}

check_parameters() {
    [[ "$NAMESPACE" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "NAMESPACE must be a namespace name, got '$NAMESPACE'"
    [[ "$CLUSTER" =~ ^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$ ]] || die "CLUSTER must be a Cluster name, got '$CLUSTER'"
    [[ "$MODE" == quick || "$MODE" == certified-conformance ]] || die "MODE must be quick or certified-conformance, got '$MODE'"
    local n
    for n in TIMEOUT_SECONDS POLL_SECONDS DELETE_WAIT_MINUTES; do
        [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive whole number, got '${!n}'"
    done
    [[ "$RESULTS_DIR" == /* && "$MGMT_KUBECONFIG" == /* ]] || die "RESULTS_DIR and MGMT_KUBECONFIG must be absolute paths"
    local tool
    for tool in kubectl sonobuoy python3 base64 flock timeout; do
        command -v "$tool" >/dev/null 2>&1 ||
            die "$tool is not installed on this server (sonobuoy comes with the tools step: run 'pulumi up' with this version of capi-mgmt)"
    done
    [[ -r "$mgmt" ]] || die "$mgmt (the management cluster's kubeconfig) is missing: has 'pulumi up' finished on this server?"
}

# Deletes what sonobuoy left in the workload cluster (also the e2e namespaces of an
# interrupted run), its output kept in a file: the session may be gone.
delete_run() {
    if call sonobuoy delete --kubeconfig "$kubeconfig" --all --wait="$DELETE_WAIT_MINUTES" >"$work/delete.log" 2>&1; then
        return 0
    fi
    cat "$work/delete.log" >&2 2>/dev/null || true
    return 1
}

# Runs on every exit: deletes sonobuoy's objects if it may have created some, then the
# private directory with the kubeconfig.
cleanup() {
    local status=$?
    set +e
    trap '' PIPE
    trap - EXIT HUP INT TERM
    if ((started)); then
        log "cleaning up: sonobuoy delete --all --wait=$DELETE_WAIT_MINUTES in $NAMESPACE/$CLUSTER"
        if delete_run; then
            log "cleaned up: sonobuoy's objects are gone from $NAMESPACE/$CLUSTER"
        else
            log "ERROR: sonobuoy delete failed; on the server, run it again with the Cluster's kubeconfig (Secret $NAMESPACE/$CLUSTER-kubeconfig)"
            if ((status == 0)); then
                status=3
            fi
        fi
    fi
    if [[ -n "$work" ]]; then
        rm -rf -- "$work"
    fi
    exit "$status"
}

take_lock() {
    mkdir -p -- "$RESULTS_DIR"
    chmod 0700 -- "$RESULTS_DIR"
    exec 9>>"$RESULTS_DIR/$NAMESPACE.$CLUSTER.lock"
    flock --nonblock 9 || die "another check of $NAMESPACE/$CLUSTER is running on this server"
}

# Writes the workload cluster's kubeconfig from its Secret into the private directory.
fetch_kubeconfig() {
    local err="$work/kubectl.err" mgmt=(kubectl --kubeconfig "$mgmt" --namespace "$NAMESPACE")
    if ! call "${mgmt[@]}" get clusters.cluster.x-k8s.io "$CLUSTER" -o name >/dev/null 2>"$err"; then
        if grep -q NotFound "$err"; then
            die "there is no Cluster $NAMESPACE/$CLUSTER in the management cluster (kubectl get clusters -A lists them)"
        fi
        die "cannot read Cluster $NAMESPACE/$CLUSTER from the management cluster: $(cat "$err")"
    fi
    if ! call "${mgmt[@]}" get secret "$CLUSTER-kubeconfig" -o 'jsonpath={.data.value}' >"$work/kubeconfig.b64" 2>"$err"; then
        if grep -q NotFound "$err"; then
            die "Cluster $NAMESPACE/$CLUSTER has no kubeconfig Secret $CLUSTER-kubeconfig yet: its control plane is not initialized (kubectl describe cluster -n $NAMESPACE $CLUSTER)"
        fi
        die "cannot read Secret $NAMESPACE/$CLUSTER-kubeconfig: $(cat "$err")"
    fi
    if [[ ! -s "$work/kubeconfig.b64" ]] || ! base64 --decode <"$work/kubeconfig.b64" >"$work/kubeconfig" 2>/dev/null || [[ ! -s "$work/kubeconfig" ]]; then
        die "Secret $NAMESPACE/$CLUSTER-kubeconfig has no kubeconfig under the key 'value'"
    fi
    rm -f -- "$work/kubeconfig.b64"
    kubeconfig="$work/kubeconfig"
}

# Fails unless the workload API answers; deletes a sonobuoy run left from before.
prepare_cluster() {
    local err="$work/kubectl.err"
    if call kubectl --kubeconfig "$kubeconfig" get namespace "$SONOBUOY_NAMESPACE" -o name >/dev/null 2>"$err"; then
        log "a sonobuoy run from before is still in $NAMESPACE/$CLUSTER (namespace $SONOBUOY_NAMESPACE); deleting it first"
        started=1
        delete_run || die "could not delete the earlier sonobuoy run from $NAMESPACE/$CLUSTER"
    elif ! grep -q NotFound "$err"; then
        die "cannot reach the API server of $NAMESPACE/$CLUSTER from the management server: $(cat "$err")"
    fi
}

start_run() {
    log "starting sonobuoy ($(call sonobuoy version --short 2>/dev/null || echo 'version unknown')) in mode $MODE against $NAMESPACE/$CLUSTER"
    started=1
    call sonobuoy run --kubeconfig "$kubeconfig" --mode "$MODE" --timeout "$TIMEOUT_SECONDS" >&2 ||
        die "sonobuoy run failed against $NAMESPACE/$CLUSTER"
}

# Polls `sonobuoy status` every POLL_SECONDS with a progress line. Returns 0 when the
# run is complete; exits 1 when the aggregator failed and 2 when TIMEOUT_SECONDS passed.
wait_for_run() {
    local start elapsed out summary state
    start=$(date +%s)
    while :; do
        elapsed=$(($(date +%s) - start))
        # Exits 1 (after printing the JSON) when the aggregator failed: the state says so.
        out=$(call sonobuoy status --kubeconfig "$kubeconfig" --json 2>"$work/status.err") || true
        summary=$(python3 -c "$SUMMARY_PY" "$out" "$(cat "$work/status.err")") || summary="starting unreadable status"
        state=${summary%% *}
        log "${elapsed}s of ${TIMEOUT_SECONDS}s: $summary"
        case "$state" in
            complete)
                return 0
                ;;
            failed)
                log "ERROR: sonobuoy's aggregator failed in $NAMESPACE/$CLUSTER; its logs: sonobuoy logs --kubeconfig <the Cluster's kubeconfig> (before the cleanup deletes them)"
                exit 1
                ;;
        esac
        if ((elapsed >= TIMEOUT_SECONDS)); then
            log "ERROR: the run did not complete within ${TIMEOUT_SECONDS}s (last status: $summary)"
            exit 2
        fi
        sleep "$POLL_SECONDS"
    done
}

# Retrieves the results tarball into RESULTS_DIR/<namespace>.<cluster>.tar.gz (root only).
retrieve_results() {
    local attempt target="$RESULTS_DIR/$NAMESPACE.$CLUSTER.tar.gz"
    for ((attempt = 1; attempt <= RETRIEVE_ATTEMPTS; attempt++)); do
        if call sonobuoy retrieve --kubeconfig "$kubeconfig" --filename results.tar.gz "$work" >/dev/null 2>"$work/retrieve.err" &&
            [[ -s "$work/results.tar.gz" ]]; then
            install -m 0600 -- "$work/results.tar.gz" "$target"
            log "results kept on the server in $target"
            return 0
        fi
        log "retrieving the results failed (attempt $attempt of $RETRIEVE_ATTEMPTS): $(cat "$work/retrieve.err")"
        if ((attempt < RETRIEVE_ATTEMPTS)); then
            sleep "$POLL_SECONDS"
        fi
    done
    log "ERROR: could not retrieve the results of the run"
    exit 1
}

# Prints sonobuoy's report of every plugin; fails unless each one's status is `passed`.
summarize_results() {
    local report not_passed
    report=$(call sonobuoy results "$work/results.tar.gz" 2>&1) || {
        printf '%s\n' "$report"
        log "ERROR: sonobuoy could not read the results tarball"
        exit 1
    }
    printf '%s\n' "$report"
    # Each plugin's block starts "Plugin: <name>" and is followed by "Status: <status>".
    not_passed=$(awk '
        /^Plugin: / { plugin = $2; next }
        /^Status: / && plugin != "" { seen++; if ($2 != "passed") bad = bad " " plugin "=" $2; plugin = "" }
        END { if (seen == 0) print " (no plugin result in the report)"; else print bad }
    ' <<<"$report")
    if [[ -n "${not_passed// /}" ]]; then
        log "FAILED: $NAMESPACE/$CLUSTER (mode $MODE): plugins that did not pass:$not_passed"
        exit 1
    fi
    log "PASSED: $NAMESPACE/$CLUSTER (mode $MODE): every plugin passed"
}

main() {
    exec </dev/null
    umask 077
    check_parameters
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 141' PIPE
    work=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-check.XXXXXXXX")
    take_lock
    fetch_kubeconfig
    prepare_cluster
    start_run
    wait_for_run
    retrieve_results
    summarize_results
}

main "$@"
