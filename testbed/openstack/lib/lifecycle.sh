# shellcheck shell=bash disable=SC2034,SC2154
# up, down and status.
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

up() {
    local name port
    begin_s=$SECONDS
    install_packages
    load_secrets
    write_config
    start_mariadb
    start_rabbitmq
    keystone_setup
    start_service keystone
    wait_for keystone "answer on $ks/v3" http_answers "$ks/v3"
    bootstrap identity
    sync_databases
    swift_rings
    for entry in "${services[@]}"; do
        IFS='|' read -r name port <<<"$entry"
        case "$name" in keystone | nova-compute-*) continue ;; esac
        start_service "$name"
    done
    for entry in "${services[@]}"; do
        IFS='|' read -r name port <<<"$entry"
        if ((port > 0)); then
            wait_for "$name" "answer on 127.0.0.1:$port" http_answers "http://127.0.0.1:$port/"
        fi
    done
    # The fake hypervisors one after the other: two starting together race for the cell's
    # host mappings.
    for name in nova-compute-1 nova-compute-2; do
        start_service "$name"
        wait_for "$name" "registered compute node" compute_registered "capi-testbed-compute-${name##*-}"
    done
    nova_manage cell_v2 discover_hosts >>"$log/nova-discover.log" 2>&1 || {
        log_tail nova-discover
        fail "nova-manage cell_v2 discover_hosts failed"
    }
    bootstrap resources
    write_clouds_yaml
    say "up; clouds.yaml: $state/clouds.yaml"
}

down() {
    local entry name pid i
    local -a pids=()
    load_secrets
    # The OpenStack services all at once (TERM to each process group, KILL after 30 s), then
    # RabbitMQ, epmd (if started here) and MariaDB.
    for entry in "${services[@]}"; do
        name=${entry%%|*}
        if pid=$(pid_of "$name"); then
            kill -TERM -- "-$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for ((i = 0; i < 60; i++)); do
        local alive=0
        for pid in "${pids[@]}"; do
            if group_alive "$pid"; then alive=1; fi
        done
        ((alive)) || break
        sleep 0.5
    done
    for entry in "${services[@]}"; do
        stop "${entry%%|*}"
    done
    say "stopped ${#pids[@]} OpenStack services"
    if pid_of rabbitmq >/dev/null; then
        rabbitmqctl stop >/dev/null 2>&1 || true
        stop rabbitmq
    fi
    if [ -f "$run/epmd.ours" ]; then
        ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true
        rm -f "$run/epmd.ours"
    fi
    stop mariadb
}

status() {
    local entry name rc=0
    for entry in mariadb rabbitmq "${services[@]}"; do
        name=${entry%%|*}
        if pid_of "$name" >/dev/null; then echo "$name running"; else
            echo "$name stopped"
            rc=1
        fi
    done
    return $rc
}
