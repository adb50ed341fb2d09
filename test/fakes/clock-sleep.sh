#!/usr/bin/env bash
# Fake sleep on the virtual clock in $FAKE_CLOCK_DIR: see test/fakes/clock.ts.
set -euo pipefail
shopt -s nullglob
readonly clock=$FAKE_CLOCK_DIR
if [[ $# -ne 1 || ! "$1" =~ ^([0-9]+)(\.([0-9]{1,3}))?$ ]]; then
    echo "fake sleep: unsupported arguments: $*" >&2
    exit 64
fi
frac="${BASH_REMATCH[3]}000"
ms=$((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
read -r root <"$clock/root"

now=0
read_now() {
    local t=("$clock"/t/*)
    now=$((10#${t[-1]##*/}))
}

# Sets "earliest", "sleeping" (pid:wake of each sleep) and "snapshot" and succeeds when
# every process of the run waits for the clock: every leaf a registered sleep (wake-up
# still ahead), every other process blocked.
earliest=0
sleeping=()
snapshot=""
scan() {
    local queue=("$root") i=0 pid line fields kids more f wake start
    earliest=0
    sleeping=()
    snapshot=""
    while ((i < ${#queue[@]})); do
        pid=${queue[i]}
        i=$((i + 1))
        if ! read -r line 2>/dev/null <"/proc/$pid/stat"; then
            continue
        fi
        read -r -a fields <<<"${line##*) }"
        kids=()
        for f in "/proc/$pid/task/"*/children; do
            more=()
            read -r -a more 2>/dev/null <"$f" || true
            kids+=("${more[@]}")
        done
        if ((${#kids[@]} == 0)); then
            snapshot+="$pid "
            if [[ "${fields[0]}" == Z ]]; then
                return 1
            fi
            wake=""
            start=""
            read -r wake start 2>/dev/null <"$clock/sleepers/$pid" || return 1
            if [[ "$start" != "${fields[19]}" ]] || ((wake <= now)); then
                return 1
            fi
            if ((earliest == 0 || wake < earliest)); then
                earliest=$wake
            fi
            sleeping+=("$pid:$wake")
        else
            snapshot+="$pid:${fields[0]}:${kids[*]} "
            if [[ "${fields[0]}" != S ]]; then
                return 1
            fi
            queue+=("${kids[@]}")
        fi
    done
    ((earliest > 0))
}

# Moves the clock to "earliest" and wakes the sleeps due then (each blocks on its own FIFO).
advance() {
    local name entry
    printf -v name '%016d' "$earliest"
    : >"$clock/t/$name"
    for entry in "${sleeping[@]}"; do
        if ((${entry#*:} <= earliest)) && [[ "${entry%%:*}" != "$$" ]]; then
            { printf x >&8; } 8<>"$clock/sleepers/${entry%%:*}.wake" 2>/dev/null || true
        fi
    done
}

read -r line </proc/self/stat
read -r -a fields <<<"${line##*) }"
mkfifo -m 600 "$clock/sleepers/$$.wake"
exec 9<>"$clock/sleepers/$$.wake"
read_now
wake=$((now + ms))
printf '%d %s\n' "$wake" "${fields[19]}" >"$clock/sleepers/$$"
while true; do
    read_now
    if ((now >= wake)); then
        exit 0
    fi
    if [[ ! -d "/proc/$root" ]]; then
        echo "fake sleep: the script that ran it has ended" >&2
        exit 1
    fi
    if scan; then
        first=$snapshot
        if scan && [[ "$snapshot" == "$first" ]]; then
            advance
            continue
        fi
    fi
    # Woken by the sleep that moves the clock; polls too, for a process that ended working.
    read -r -n 1 -t 0.05 -u 9 _ || true
done
