#!/usr/bin/env bash
# Fake sonobuoy (v0.57's CLI as far as the script uses it). `status --json` prints what
# the aggregator's annotation would hold; the run completes after FAKE_POLLS_TO_COMPLETE
# status calls (never when 0), with the e2e plugin passed or failed (FAKE_E2E_RESULT), or
# the aggregator fails (FAKE_AGGREGATOR_FAILS). FAKE_SIGNAL_AT_POLL=n sends FAKE_SIGNAL to
# the script at the n-th status call.
# Inputs (environment): FAKE_LOG, FAKE_STATE (polls, sonobuoy-namespace), FAKE_WORKLOAD_KUBECONFIG, FAKE_E2E_RESULT, FAKE_POLLS_TO_COMPLETE (default 3), FAKE_AGGREGATOR_FAILS,
# FAKE_SIGNAL_AT_POLL and FAKE_SIGNAL, FAKE_CLOCK_DIR (its file root holds the script's PID), FAKE_STATUS_ERROR_AT_POLL, FAKE_DELETE_EXIT (default 0).
set -euo pipefail
sub=$1; shift
kc="" filename="" rest=()
while (($#)); do
    case "$1" in
        --kubeconfig) kc=$2; shift 2 ;;
        --filename) filename=$2; shift 2 ;;
        *) rest+=("$1"); shift ;;
    esac
done
echo "sonobuoy $sub ${rest[*]}" >>"$FAKE_LOG"
if [[ "$sub" != version && "$sub" != results ]]; then
    cmp -s "$kc" "$FAKE_WORKLOAD_KUBECONFIG" || { echo "fake sonobuoy: not the workload kubeconfig: $kc" >&2; exit 9; }
    echo "kubeconfig mode $(stat -c %a "$kc") dir mode $(stat -c %a "$(dirname "$kc")")" >>"$FAKE_LOG"
fi
polls_file="$FAKE_STATE/polls"
case "$sub" in
    version) echo "v0.57.5" ;;
    run)
        [[ ! -e "$FAKE_STATE/sonobuoy-namespace" ]] || { echo "namespace sonobuoy already exists" >&2; exit 1; }
        touch "$FAKE_STATE/sonobuoy-namespace"
        echo 0 >"$polls_file"
        echo "created object: namespace/sonobuoy" ;;
    status)
        n=$(($(cat "$polls_file") + 1))
        echo "$n" >"$polls_file"
        if [[ "${FAKE_SIGNAL_AT_POLL:-0}" == "$n" ]]; then
            kill -"$FAKE_SIGNAL" "$(cat "$FAKE_CLOCK_DIR/root")"
        fi
        if ((n == 1)); then
            echo "The Sonobuoy aggregator is in the 'Pending' state. This is normal as the pod is created and begins to run."
            exit 0
        fi
        if [[ "${FAKE_STATUS_ERROR_AT_POLL:-0}" == "$n" ]]; then
            echo 'time="2026-06-01T00:00:00Z" level=error msg="error checking sonobuoy status: the server was unable to return a response"' >&2
            exit 1
        fi
        echo 'time="2026-06-01T00:00:00Z" level=warning msg="a warning on stderr"' >&2
        if [[ -n "${FAKE_AGGREGATOR_FAILS:-}" ]]; then
            echo '{"plugins":[{"plugin":"e2e","node":"global","status":"running","result-status":"","result-counts":null}],"status":"failed","tar-info":{"name":"","created":"0001-01-01T00:00:00Z","sha256":"","size":0}}'
            exit 1
        fi
        done_at=${FAKE_POLLS_TO_COMPLETE:-3}
        if ((done_at > 0 && n >= done_at)); then
            echo '{"plugins":[{"plugin":"e2e","node":"global","status":"complete","result-status":"'"$FAKE_E2E_RESULT"'","result-counts":{"passed":1}},{"plugin":"systemd-logs","node":"n1","status":"complete","result-status":"passed","result-counts":{"passed":1}},{"plugin":"systemd-logs","node":"n2","status":"complete","result-status":"passed","result-counts":{"passed":1}}],"status":"complete","tar-info":{"name":"201801_sonobuoy.tar.gz","created":"2026-06-01T00:01:00Z","sha256":"ab","size":10}}'
        else
            echo '{"plugins":[{"plugin":"e2e","node":"global","status":"running","result-status":"","result-counts":null,"progress":{"name":"e2e","node":"global","timestamp":"2026-06-01T00:00:30Z","msg":"PASSED test","total":'"$((n * 10))"',"completed":'"$n"',"failures":["[sig-x] a test"]}},{"plugin":"systemd-logs","node":"n1","status":"complete","result-status":"passed","result-counts":{"passed":1}},{"plugin":"systemd-logs","node":"n2","status":"running","result-status":"","result-counts":null}],"status":"running","tar-info":{"name":"","created":"0001-01-01T00:00:00Z","sha256":"","size":0}}'
        fi ;;
    retrieve)
        dir=${rest[0]}
        echo "tarball of the run" >"$dir/$filename"
        echo "$dir/$filename" ;;
    results)
        [[ "$(cat "${rest[0]}")" == "tarball of the run" ]] || { echo "not the retrieved tarball: ${rest[0]}" >&2; exit 1; }
        printf 'Plugin: e2e\nStatus: %s\nTotal: 1\nPassed: %s\nFailed: %s\nSkipped: 0\n' "$FAKE_E2E_RESULT" \
            "$([[ $FAKE_E2E_RESULT == passed ]] && echo 1 || echo 0)" "$([[ $FAKE_E2E_RESULT == passed ]] && echo 0 || echo 1)"
        if [[ "$FAKE_E2E_RESULT" != passed ]]; then
            printf '\nFailed tests:\n[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]\n'
        fi
        printf '\nPlugin: systemd-logs\nStatus: passed\nTotal: 2\nPassed: 2\nFailed: 0\nSkipped: 0\n\n'
        printf 'Run Details:\nAPI Server version: v1.36.1\nNode health: 2/2 (100%%)\n' ;;
    delete)
        rm -f "$FAKE_STATE/sonobuoy-namespace"
        exit "${FAKE_DELETE_EXIT:-0}" ;;
    *) echo "fake sonobuoy: unexpected: $sub" >&2; exit 9 ;;
esac
