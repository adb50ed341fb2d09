# shellcheck shell=bash disable=SC2154
# MariaDB and RabbitMQ, run as processes of the script on loopback.
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

mysql_root() { mariadb --no-defaults -S "$run/mysqld.sock" -uroot "$@"; }

start_mariadb() {
    if [ ! -d "$state/mariadb/mysql" ]; then
        rm -rf "$state/mariadb"
        mariadb-install-db --no-defaults --datadir="$state/mariadb" --user=root \
            --auth-root-authentication-method=normal --skip-test-db >"$log/mariadb-install.log" 2>&1 ||
            {
                log_tail mariadb-install
                fail "mariadb-install-db failed"
            }
    fi
    start mariadb mariadbd --no-defaults --datadir="$state/mariadb" --user=root \
        --bind-address=127.0.0.1 --port=3306 --socket="$run/mysqld.sock" \
        --pid-file="$run/mariadbd.pidfile" --max-connections=1000 --skip-name-resolve \
        --innodb-buffer-pool-size=128M --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
    wait_for mariadb "answer on $run/mysqld.sock" mysql_root -e "select 1"
    local d sql="CREATE USER IF NOT EXISTS 'openstack'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';"
    for d in keystone glance placement nova_api nova nova_cell0 neutron cinder octavia; do
        sql+="CREATE DATABASE IF NOT EXISTS $d; GRANT ALL PRIVILEGES ON $d.* TO 'openstack'@'127.0.0.1';"
    done
    mysql_root -e "$sql"
}

rabbit_env() {
    cat <<EOF
export HOME=$state/rabbitmq
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=5672
export RABBITMQ_DIST_PORT=25672
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=4369
export RABBITMQ_MNESIA_BASE=$state/rabbitmq/mnesia
export RABBITMQ_LOG_BASE=$log/rabbitmq
export RABBITMQ_PID_FILE=$run/rabbitmq-beam.pidfile
export RABBITMQ_ENABLED_PLUGINS_FILE=$state/rabbitmq/enabled_plugins
export RABBITMQ_CONFIG_FILE=$state/rabbitmq/rabbitmq
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
}

rabbitmqctl() { (
    # shellcheck source=/dev/null
    . "$state/rabbitmq/env"
    /usr/lib/rabbitmq/bin/rabbitmqctl "$@"
); }

epmd_listens() { ss -Htln 'sport = :4369' | grep -q .; }

start_rabbitmq() {
    mkdir -p "$state/rabbitmq" "$log/rabbitmq"
    rabbit_env >"$state/rabbitmq/env"
    echo "[]." >"$state/rabbitmq/enabled_plugins"
    printf 'listeners.tcp.default = 127.0.0.1:5672\n' >"$state/rabbitmq/rabbitmq.conf"
    if ! pid_of rabbitmq >/dev/null; then
        # Erlang starts epmd when none runs; down stops it only if it was started here.
        if epmd_listens; then rm -f "$run/epmd.ours"; else touch "$run/epmd.ours"; fi
        (
            # shellcheck source=/dev/null
            . "$state/rabbitmq/env"
            start rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
        )
    fi
    wait_for rabbitmq "broker" rabbitmqctl await_startup --timeout 5
    if ! rabbitmqctl list_users -q 2>/dev/null | grep -q '^openstack[[:space:]]'; then
        rabbitmqctl add_user openstack "$RABBIT_PASS" >/dev/null
    fi
    rabbitmqctl change_password openstack "$RABBIT_PASS" >/dev/null
    rabbitmqctl set_permissions openstack '.*' '.*' '.*' >/dev/null
}
