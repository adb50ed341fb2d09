# shellcheck shell=bash
# Runs the workload clusters' teardowns of host/teardown.sh in parallel, one background job
# per Cluster (teardown-cluster.sh), each bounded, and reports what is left.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-jobs.sh`
# line. Uses teardown-kube.sh and teardown-cluster.sh (included before it).
# shellcheck disable=SC2154 # globals of teardown-kube.sh and teardown.sh

# Seconds a cluster's job may overrun its own bound before it is killed.
readonly JOB_KILL_GRACE_SECONDS=30
# Bound of the final report's kubectl calls, after the overall deadline if need be.
readonly REPORT_SECONDS=60

# Per cluster job: process id (also its process group), kill deadline, and "ok"/"failed".
pids=()
kill_deadlines=()
results=()


# Starts one background job per Cluster, each in its own process group (job control on),
# so a straggler can be killed together with its kubectl.
start_jobs() {
    local i
    set -m
    for i in "${!cluster_names[@]}"; do
        log "tearing down ${cluster_namespaces[i]}/${cluster_names[i]}"
        teardown_cluster "$i" >"$workdir/job-$i.log" 2>&1 &
        pids[i]=$!
        kill_deadlines[i]=$(($(now) + PER_CLUSTER_TIMEOUT_SECONDS + JOB_KILL_GRACE_SECONDS))
    done
    set +m
}

# Prints job $1's log on stderr, prefixing lines that kubectl wrote with the cluster.
print_job_log() {
    local i=$1 line prefix="teardown: ${cluster_namespaces[$1]}/${cluster_names[$1]}:"
    while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" == teardown:* ]]; then
            printf '%s\n' "$line" >&2
        else
            printf '%s %s\n' "$prefix" "$line" >&2
        fi
    done <"$workdir/job-$i.log"
}

# Records job $1's outcome from its exit status $2 and prints its log.
finish_job() {
    local i=$1 status=$2
    if ((status == 0)); then
        results[i]="ok"
    else
        results[i]="failed"
        if [[ ! -s "$workdir/job-$i.reason" ]]; then
            echo "its teardown ended with exit status $status" >"$workdir/job-$i.reason"
        fi
    fi
    print_job_log "$i"
}

# Kills job $1's process group: TERM, then KILL if it lingers.
kill_job() {
    local pid=${pids[$1]} tries
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((tries = 0; tries < 5; tries++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Waits for every job; kills a job past its own bound, and every job past the overall one.
# Looks every poll interval, or sooner when a heartbeat or a deadline is due (at least 1 s apart).
wait_for_jobs() {
    local i running status waiting t due pause
    while true; do
        running=0
        waiting=()
        t=$(now)
        due=$deadline
        for i in "${!pids[@]}"; do
            if [[ -n "${results[i]:-}" ]]; then
                continue
            fi
            if ! kill -0 "${pids[i]}" 2>/dev/null; then
                status=0
                wait "${pids[i]}" || status=$?
                finish_job "$i" "$status"
            elif ((t >= deadline || t >= kill_deadlines[i])); then
                kill_job "$i"
                echo "killed: its teardown did not finish in time (TIMEOUT_SECONDS=$TIMEOUT_SECONDS," \
                    "PER_CLUSTER_TIMEOUT_SECONDS=$PER_CLUSTER_TIMEOUT_SECONDS)" >"$workdir/job-$i.reason"
                finish_job "$i" 124
            else
                running=$((running + 1))
                waiting+=("${cluster_namespaces[i]}/${cluster_names[i]}")
                due=$((kill_deadlines[i] < due ? kill_deadlines[i] : due))
            fi
        done
        if ((running == 0)); then
            return 0
        fi
        heartbeat "$t" "$running workload cluster(s) being torn down: ${waiting[*]}"
        due=$((next_heartbeat < due ? next_heartbeat : due))
        pause=$((due - t < ${POLL_SECONDS%.*} ? due - t : ${POLL_SECONDS%.*}))
        sleep "$((pause < 1 ? 1 : pause))"
    done
}

# Prints the summary; exits 1, naming what is left, unless every cluster is gone.
report() {
    local i id reason failed=() left table line
    log "summary:"
    for i in "${!cluster_names[@]}"; do
        id="${cluster_namespaces[i]}/${cluster_names[i]}"
        if [[ "${results[i]}" == ok ]]; then
            log "  $id: torn down"
        else
            reason=$(<"$workdir/job-$i.reason")
            log "  $id: FAILED: $reason"
            failed+=("$id ($reason)")
        fi
    done
    deadline=$(($(now) + REPORT_SECONDS))
    left=$(mgmt get "$CLUSTER_RESOURCE" -A -o "jsonpath=$OBJECT_ROWS") || left="(the Clusters cannot be listed)"
    if [[ -n "${KEEP_CLUSTER:-}" ]]; then
        left=$(grep -v -e "^${KEEP_CLUSTER%%/*}|${KEEP_CLUSTER#*/}|" <<<"$left" || true)
    fi
    if ((${#failed[@]} == 0)) && [[ -z "$left" ]]; then
        echo "teardown: tore down ${#cluster_names[@]} workload cluster(s) with their load balancers and volumes"
        return 0
    fi
    table=$(mgmt get "$CLUSTER_RESOURCE" -A 2>&1) || true
    {
        echo "teardown: ERROR: not every workload cluster was torn down."
        for reason in "${failed[@]}"; do
            echo "teardown: ERROR: failed: $reason"
        done
        echo "teardown: ERROR: Clusters left on the management cluster (kubectl get clusters -A):"
        while IFS= read -r line; do
            echo "teardown:   $line"
        done <<<"${table:-(none)}"
        echo "teardown: ERROR: The management server (VM) and its credentials were KEPT, so you can act:" \
            "'pulumi destroy' stops here. Each cluster's log above says what may be left (OpenStack load" \
            "balancers, Cinder volumes) and what to do; then re-run 'pulumi destroy'. On the server:" \
            "sudo kubectl --kubeconfig $KUBECONFIG_PATH get clusters -A"
    } >&2
    exit 1
}
