# shellcheck shell=bash disable=SC2034,SC2154
# The test bed's globals, logging and process handling. Sourced by testbed/openstack/openstack.sh,
# which sets `here` (its directory) first.

state="${CAPI_MGMT_OPENSTACK_STATE:-${HOME}/.cache/capi-mgmt-openstack}"
wait_limit="${CAPI_MGMT_OPENSTACK_WAIT:-180}"
py=/usr/bin/python3 # the Debian services' Python, whatever python3 is first on PATH
etc="$state/etc"
log="$state/log"
run="$state/run"
ks=http://127.0.0.1:5000

# Services in start order: name | port (0: no API). The start commands are in start_service
# (lib/services.sh); Swift's servers are started by start_swift (lib/swift.sh).
services=(
    "keystone|5000"
    "glance-api|9292"
    "placement|8778"
    "neutron-server|9696"
    "nova-api|8774"
    "nova-conductor|0"
    "nova-scheduler|0"
    "cinder-api|8776"
    "cinder-scheduler|0"
    "cinder-volume|0"
    "octavia-api|9876"
    "octavia-worker|0"
    "nova-compute-1|0"
    "nova-compute-2|0"
    "swift-account|6202"
    "swift-container|6201"
    "swift-object|6200"
    "swift-proxy|8080"
)

say() { echo "testbed-openstack: [+$((SECONDS - ${begin_s:-0}))s] $*" >&2; }
fail() {
    say "$*"
    exit 1
}

# --- processes ---------------------------------------------------------------------------------

# True while a process of the group runs (zombies waiting for their parent do not count).
group_alive() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }

pid_of() { # name: prints the pid if its process group runs
    local f="$run/$1.pid" pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [[ "$pid" =~ ^[0-9]+$ ]] && group_alive "$pid" && echo "$pid"
}

# start name cmd...: runs cmd in its own session (so its process group is its pid), output to
# log/name.log, unless it already runs.
start() {
    local name=$1
    shift
    if pid_of "$name" >/dev/null; then
        return 0
    fi
    echo "=== $(date -u +%FT%TZ) start: $*" >>"$log/$name.log"
    PYTHONPATH="$here/drivers:$state/py" setsid "$@" </dev/null >>"$log/$name.log" 2>&1 &
    echo $! >"$run/$name.pid"
}

log_tail() {
    say "last 40 lines of $log/$1.log:"
    tail -n 40 "$log/$1.log" >&2 || true
}

# wait_for name description command...: polls command once a second, at most $wait_limit s; on
# failure prints the service's log tail and exits.
wait_for() {
    local name=$1 what=$2 deadline
    shift 2
    deadline=$(($(date +%s) + wait_limit))
    until "$@" >/dev/null 2>&1; do
        if ! pid_of "$name" >/dev/null; then
            log_tail "$name"
            fail "$name exited while waiting for $what"
        fi
        if (($(date +%s) >= deadline)); then
            log_tail "$name"
            fail "$name: no $what within $wait_limit s"
        fi
        sleep 1
    done
}

http_answers() { curl -s -o /dev/null --max-time 5 "$1"; }

# Stops a process group: TERM, then KILL after 30 s.
stop() {
    local name=$1 pid i
    if ! pid=$(pid_of "$name"); then
        rm -f "$run/$name.pid"
        return 0
    fi
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        group_alive "$pid" || break
        sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$run/$name.pid"
    say "stopped $name"
}
