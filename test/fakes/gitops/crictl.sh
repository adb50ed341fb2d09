#!/bin/bash
# A crictl that runs an etcdctl of the test's (test/gitopsTreeEtcd.spec.ts, the control plane's etcd
# maintenance script): statuses from files, every call logged.
# Inputs (environment): FAKE_LOG (the log: `crictl <args>` and `etcdctl <endpoint> <args>` lines),
# FAKE_CONTAINER (the etcd container's id; empty: none), FAKE_DIR (local.json and cluster.json,
# what `endpoint status -w json` and `endpoint status --cluster -w json` print),
# FAKE_HEALTH_EXIT (exit status of `endpoint health --cluster`, default 0).
# Leadership: a successful `move-leader <hex id>` makes that member the leader in both files;
# a file $FAKE_DIR/local.json.at-<n> replaces local.json right before the n-th etcdctl call
# (an election between two of the script's steps); FAKE_MOVE_LEADER_EXIT fails move-leader.
echo "crictl $*" >>"$FAKE_LOG"
case "$1" in
    ps) [ -z "$FAKE_CONTAINER" ] || echo "$FAKE_CONTAINER"; exit 0 ;;
    exec) [ "$2" = "$FAKE_CONTAINER" ] && [ "$3" = etcdctl ] || exit 9; shift 3 ;;
    *) exit 9 ;;
esac
ep=""; args=()
while [ $# -gt 0 ]; do case "$1" in --cacert | --cert | --key) shift 2 ;; --endpoints) ep="$2"; shift 2 ;; *) args+=("$1"); shift ;; esac; done
echo "etcdctl $ep ${args[*]}" >>"$FAKE_LOG"
n="$(grep -c '^etcdctl ' "$FAKE_LOG")"
if [ -f "$FAKE_DIR/local.json.at-$n" ]; then mv -f "$FAKE_DIR/local.json.at-$n" "$FAKE_DIR/local.json"; fi
case "${args[*]}" in
    "snapshot save "*) echo "snapshot of $ep" >"${args[2]}" ;;
    "endpoint status -w json") cat "$FAKE_DIR/local.json" ;;
    "endpoint status --cluster -w json") cat "$FAKE_DIR/cluster.json" ;;
    "endpoint health --cluster") exit "${FAKE_HEALTH_EXIT:-0}" ;;
    defrag) ;;
    "move-leader "*)
        [ "${FAKE_MOVE_LEADER_EXIT:-0}" = 0 ] || exit "$FAKE_MOVE_LEADER_EXIT"
        leader="$(python3 -c 'import sys; print(int(sys.argv[1], 16))' "${args[1]}")"
        sed -i "s/\"leader\":[0-9]*/\"leader\":$leader/g" "$FAKE_DIR/local.json" "$FAKE_DIR/cluster.json"
        ;;
    *) echo "fake etcdctl: unexpected ${args[*]}" >&2; exit 9 ;;
esac
