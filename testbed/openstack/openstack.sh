#!/usr/bin/env bash
# An OpenStack (Debian 12's Zed packages) on loopback, for the integration tests of the OpenStack
# side (docs/testbed-openstack.md).
#
#   npm run testbed:openstack -- install   install the Debian packages (no-op when installed)
#   npm run testbed:openstack -- up        install if needed, configure, start, create the cloud's
#                                          contents; reuses the databases of an earlier up
#   npm run testbed:openstack -- down      stop exactly the processes up started
#   npm run testbed:openstack -- env       print the clouds.yaml (clouds: capi-mgmt,
#                                          capi-mgmt-workload, capi-mgmt-peer, admin)
#   npm run testbed:openstack -- status    list the services and whether they run
#
# Environment:
#   CAPI_MGMT_OPENSTACK_STATE   state directory: configuration, databases, logs, pid files
#                               (default ~/.cache/capi-mgmt-openstack)
#   CAPI_MGMT_OPENSTACK_WAIT    seconds each readiness wait may take at most (default 180)
#
# Everything listens on 127.0.0.1 only. No systemd: MariaDB, RabbitMQ and the OpenStack services
# run as processes of this script (each in its own process group, pid files under run/), Keystone,
# Placement and the Octavia API under uwsgi. The hardware stand-ins are the Python files under
# drivers/ (ours) and the services' own fake/no-op drivers:
#   Nova     fake.FakeDriver, two compute hosts (servers go ACTIVE, nothing boots)
#   Neutron  ML2 with drivers/…/ml2.py binding every port (no agents)
#   Octavia  no-op amphora and compute drivers; drivers/…/octavia_network.py makes the VIP a real
#            Neutron port with the load balancer's security group (listener ports, allowed_cidrs)
#   Cinder   drivers/…/cinder_volume.py: Cinder's fake driver with image copies made no-ops
set -euo pipefail

# Everything runs inside main, which bash reads whole before running.
main() {

here="$(cd "$(dirname "$0")" && pwd)"
state="${CAPI_MGMT_OPENSTACK_STATE:-${HOME}/.cache/capi-mgmt-openstack}"
wait_limit="${CAPI_MGMT_OPENSTACK_WAIT:-180}"
py=/usr/bin/python3 # the Debian services' Python, whatever python3 is first on PATH
etc="$state/etc"
log="$state/log"
run="$state/run"
ks=http://127.0.0.1:5000

# Services in start order: name | port (0: no API) | log line. The start commands are in
# start_service.
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
)

case "${1:-}" in
    install) install_packages ;;
    up) up ;;
    down) down ;;
    env) print_env ;;
    status) status ;;
    *)
        echo "usage: $0 install|up|down|env|status" >&2
        exit 2
        ;;
esac
}

say() { echo "testbed-openstack: [+$((SECONDS - ${begin_s:-0}))s] $*" >&2; }
fail() {
    say "$*"
    exit 1
}

# --- install -----------------------------------------------------------------------------------

package_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.txt"; }

missing_packages() {
    local p
    while read -r p; do
        if [ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
            echo "$p"
        fi
    done < <(package_list)
}

# Installs the packages with a policy-rc.d that forbids every service start (the services run
# as this script's processes, on loopback, with its configuration); the previous policy-rc.d, if
# any, is put back.
install_packages() {
    local -a missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || fail "installing ${missing[*]} needs root (apt-get)"
    local policy=/usr/sbin/policy-rc.d saved="" rc=0 start
    if [ -e "$policy" ]; then
        saved=$(mktemp)
        cp -p "$policy" "$saved"
    fi
    printf '#!/bin/sh\n# testbed/openstack: no service starts while its packages install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    start=$(date +%s)
    say "installing ${#missing[@]} packages (and their dependencies)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
    ((rc == 0)) || fail "apt-get install failed ($rc); run 'apt-get update' first if the lists are old"
    say "packages installed in $(($(date +%s) - start)) s"
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

# --- secrets and configuration -----------------------------------------------------------------

load_secrets() {
    local f="$state/secrets.env" k
    mkdir -p "$state"
    if [ ! -f "$f" ]; then
        umask 077
        {
            for k in DB RABBIT ADMIN SERVICE USER PEER CA METADATA; do
                echo "${k}_PASS=$(openssl rand -hex 16)"
            done
        } >"$f.tmp"
        mv "$f.tmp" "$f"
        umask 022
    fi
    # shellcheck source=/dev/null
    . "$f"
    db="mysql+pymysql://openstack:${DB_PASS}@127.0.0.1:3306"
    transport="rabbit://openstack:${RABBIT_PASS}@127.0.0.1:5672/"
}

# [keystone_authtoken] of a service; service_type makes Keystone enforce access rules.
authtoken() { # user service_type
    cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $ks
auth_url = $ks
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PASS
region_name = RegionOne
service_type = $2
service_token_roles_required = true
EOF
}

# A section of service credentials (keystoneauth options) for calls to another service.
service_auth() { # section user
    cat <<EOF
[$1]
auth_url = $ks
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PASS
region_name = RegionOne
EOF
}

write_config() {
    mkdir -p "$etc"/{keystone,placement} "$log" "$run" "$state"/{keystone,glance/images,glance/staging,glance/tasks} \
        "$state"/{nova/instances,neutron,cinder,octavia,lock,py}
    # Entry points for the drivers Neutron and Octavia load through stevedore.
    local dist="$state/py/capi_mgmt_testbed_drivers-0.dist-info"
    mkdir -p "$dist"
    printf 'Metadata-Version: 2.1\nName: capi-mgmt-testbed-drivers\nVersion: 0\n' >"$dist/METADATA"
    cat >"$dist/entry_points.txt" <<'EOF'
[neutron.ml2.mechanism_drivers]
capi_testbed = capi_testbed_drivers.ml2:BindAllMechanismDriver

[octavia.network.drivers]
capi_testbed_network = capi_testbed_drivers.octavia_network:PortVipNetworkDriver
EOF

    cat >"$etc/keystone/keystone.conf" <<EOF
[DEFAULT]
debug = false
[database]
connection = $db/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $state/keystone/fernet-keys
[fernet_receipts]
key_repository = $state/keystone/fernet-keys
[credential]
key_repository = $state/keystone/credential-keys
EOF

    {
        cat <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
enabled_backends = file:file
[glance_store]
default_backend = file
[file]
filesystem_store_datadir = $state/glance/images/
[os_glance_staging_store]
filesystem_store_datadir = $state/glance/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $state/glance/tasks/
[database]
connection = $db/glance
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $state/lock
EOF
        authtoken glance image
    } >"$etc/glance-api.conf"

    {
        cat <<EOF
[placement_database]
connection = $db/placement
[api]
auth_strategy = keystone
EOF
        authtoken placement placement
    } >"$etc/placement/placement.conf"

    {
        cat <<EOF
[DEFAULT]
transport_url = $transport
my_ip = 127.0.0.1
state_path = $state/nova
instances_path = $state/nova/instances
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
compute_driver = fake.FakeDriver
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
allow_resize_to_same_host = true
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[oslo_concurrency]
lock_path = $state/lock
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
catalog_info = volumev3::publicURL
auth_url = $ks
auth_type = password
user_domain_name = Default
project_domain_name = Default
project_name = service
username = nova
password = $SERVICE_PASS
EOF
        authtoken nova compute
        # Without the service token (and the service role) Cinder refuses the detach Nova makes
        # when it deletes a server booted from a volume.
        service_auth service_user nova
        echo "send_service_user_token = true"
        service_auth placement nova
        service_auth neutron nova
    } >"$etc/nova-compute.conf"
    # The compute hosts reach the databases through the conductor only (with a connection
    # configured they try, and log "No DB access allowed in nova-compute").
    {
        cat "$etc/nova-compute.conf"
        printf '[api_database]\nconnection = %s\n[database]\nconnection = %s\n' "$db/nova_api" "$db/nova"
    } >"$etc/nova.conf"
    local i
    for i in 1 2; do
        printf '[DEFAULT]\nhost = capi-testbed-compute-%s\n' "$i" >"$etc/nova-compute-$i.conf"
    done

    {
        cat <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $transport
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
state_path = $state/neutron
api_paste_config = /etc/neutron/api-paste.ini
notify_nova_on_port_status_changes = true
notify_nova_on_port_data_changes = true
[database]
connection = $db/neutron
[oslo_concurrency]
lock_path = $state/lock
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = capi_testbed
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
EOF
        authtoken neutron network
        service_auth nova neutron
    } >"$etc/neutron.conf"

    {
        cat <<EOF
[DEFAULT]
transport_url = $transport
my_ip = 127.0.0.1
state_path = $state/cinder
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
auth_strategy = keystone
api_paste_config = /etc/cinder/api-paste.ini
enabled_backends = fake
[fake]
volume_driver = capi_testbed_drivers.cinder_volume.FakeVolumeDriver
volume_backend_name = fake
[database]
connection = $db/cinder
[oslo_concurrency]
lock_path = $state/lock
EOF
        authtoken cinder volumev3
        service_auth nova cinder
        service_auth service_user cinder
        echo "send_service_user_token = true"
    } >"$etc/cinder.conf"

    write_octavia_certificates
    {
        cat <<EOF
[DEFAULT]
transport_url = $transport
[api_settings]
bind_host = 127.0.0.1
bind_port = 9876
auth_strategy = keystone
enabled_provider_drivers = amphora:The Octavia Amphora driver.,octavia:Deprecated alias of the Octavia Amphora driver.
default_provider_driver = amphora
[database]
connection = $db/octavia
[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = capi_testbed_network
volume_driver = volume_noop_driver
loadbalancer_topology = SINGLE
client_ca = $state/octavia/ca.pem
[certificates]
cert_generator = local_cert_generator
ca_certificate = $state/octavia/ca.pem
ca_private_key = $state/octavia/ca.key
ca_private_key_passphrase = $CA_PASS
server_certs_key_passphrase = $CA_PASS
[haproxy_amphora]
client_cert = $state/octavia/client.pem
server_ca = $state/octavia/ca.pem
[oslo_messaging]
topic = octavia_prov
[oslo_concurrency]
lock_path = $state/lock
EOF
        authtoken octavia load-balancer
        service_auth service_auth octavia
    } >"$etc/octavia.conf"
}

# Octavia refuses to start without its amphora CA and certificates, even with no-op drivers.
write_octavia_certificates() {
    local d="$state/octavia"
    [ -f "$d/client.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -days 3650 -subj "/CN=capi-testbed-octavia-ca" \
        -passout "pass:$CA_PASS" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=capi-testbed-octavia-client" \
        -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
    openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -passin "pass:$CA_PASS" \
        -CAcreateserial -days 3650 -out "$d/client.crt" 2>/dev/null
    cat "$d/client.crt" "$d/client.key" >"$d/client.pem"
}

# --- MariaDB and RabbitMQ ------------------------------------------------------------------------

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

# --- OpenStack services ------------------------------------------------------------------------

# Runs a service's database migration once per package version (a second up reuses the
# database as it is).
sync_once() { # name package command...
    local name=$1 pkg=$2 version marker
    shift 2
    version=$(dpkg-query -W -f '${Version}' "$pkg")
    marker="$state/synced/$name"
    mkdir -p "$state/synced"
    if [ "$(cat "$marker" 2>/dev/null)" = "$version" ]; then
        return 0
    fi
    say "database sync: $name"
    if ! "$@" >>"$log/sync-$name.log" 2>&1; then
        log_tail "sync-$name"
        fail "database sync of $name failed"
    fi
    echo "$version" >"$marker"
}

uwsgi_app() { # name port wsgi-file [extra uwsgi args...]
    local name=$1 port=$2 file=$3
    shift 3
    start "$name" uwsgi --plugins python3 --http-socket "127.0.0.1:$port" --wsgi-file "$file" \
        --master --processes 1 --threads 8 --enable-threads --lazy-apps --die-on-term \
        --buffer-size 65535 --add-header 'Connection: close' --pythonpath "$here/drivers" \
        --pythonpath "$state/py" "$@"
}

start_service() {
    local name=$1
    case "$name" in
        keystone) uwsgi_app keystone 5000 /usr/bin/keystone-wsgi-public --env "OS_KEYSTONE_CONFIG_DIR=$etc/keystone" ;;
        placement) uwsgi_app placement 8778 /usr/bin/placement-api --env "OS_PLACEMENT_CONFIG_DIR=$etc/placement" ;;
        octavia-api) uwsgi_app octavia-api 9876 /usr/bin/octavia-wsgi --pyargv "--config-file $etc/octavia.conf" ;;
        glance-api) start glance-api glance-api --config-file "$etc/glance-api.conf" ;;
        neutron-server) start neutron-server neutron-server --config-file "$etc/neutron.conf" ;;
        nova-api | nova-conductor | nova-scheduler) start "$name" "$name" --config-file "$etc/nova.conf" ;;
        nova-compute-[12]) start "$name" nova-compute --config-file "$etc/nova-compute.conf" --config-file "$etc/$name.conf" ;;
        cinder-*) start "$name" "$name" --config-file "$etc/cinder.conf" ;;
        octavia-worker) start octavia-worker octavia-worker --config-file "$etc/octavia.conf" ;;
        *) fail "unknown service $name" ;;
    esac
}

keystone_manage() { keystone-manage --config-file "$etc/keystone/keystone.conf" "$@"; }
nova_manage() { nova-manage --config-file "$etc/nova.conf" "$@"; }

sync_databases() {
    sync_once glance glance-api glance-manage --config-file "$etc/glance-api.conf" db_sync
    sync_once placement placement-api placement-manage --config-file "$etc/placement/placement.conf" db sync
    sync_once neutron neutron-server neutron-db-manage --config-file "$etc/neutron.conf" upgrade heads
    sync_once nova nova-api sync_nova
    sync_once cinder cinder-api cinder-manage --config-file "$etc/cinder.conf" db sync
    sync_once octavia octavia-api octavia-db-manage --config-file "$etc/octavia.conf" upgrade head
}

sync_nova() {
    nova_manage api_db sync
    nova_manage cell_v2 map_cell0 --database_connection "$db/nova_cell0"
    if ! nova_manage cell_v2 list_cells | grep -q ' cell1 '; then
        nova_manage cell_v2 create_cell --name cell1
    fi
    nova_manage db sync
}

keystone_setup() {
    mkdir -p "$state/keystone"/{fernet-keys,credential-keys}
    sync_once keystone keystone keystone_manage db_sync
    if [ ! -f "$state/keystone/fernet-keys/0" ]; then
        {
            keystone_manage fernet_setup --keystone-user root --keystone-group root &&
                keystone_manage credential_setup --keystone-user root --keystone-group root
        } >>"$log/sync-keystone.log" 2>&1 || {
            log_tail sync-keystone
            fail "keystone-manage fernet_setup/credential_setup failed"
        }
    fi
    sync_once keystone-bootstrap keystone keystone_manage bootstrap --bootstrap-password "$ADMIN_PASS" \
        --bootstrap-admin-url "$ks/v3/" --bootstrap-internal-url "$ks/v3/" \
        --bootstrap-public-url "$ks/v3/" --bootstrap-region-id RegionOne
}

bootstrap() { # phase
    ADMIN_PASS=$ADMIN_PASS SERVICE_PASS=$SERVICE_PASS USER_PASS=$USER_PASS PEER_PASS=$PEER_PASS \
        "$py" "$here/bootstrap.py" "$1" "$state" >>"$log/bootstrap.log" 2>&1 || {
        log_tail bootstrap
        fail "bootstrap ($1) failed"
    }
}

# True when the compute host has registered its service with the conductor.
compute_registered() { # host
    mysql_root -N -e "select count(*) from nova.services where host='$1' and topic='compute' and deleted=0" | grep -qx 1 &&
        mysql_root -N -e "select count(*) from nova.compute_nodes where host='$1' and deleted=0" | grep -qx 1
}

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

write_clouds_yaml() {
    local f="$state/clouds.yaml"
    umask 077
    {
        echo "clouds:"
        cloud capi-mgmt capi-mgmt "$USER_PASS" capi-mgmt
        cloud capi-mgmt-workload capi-mgmt "$USER_PASS" capi-mgmt-workload
        cloud capi-mgmt-peer capi-mgmt-peer "$PEER_PASS" capi-mgmt
        cloud admin admin "$ADMIN_PASS" admin
    } >"$f.tmp"
    mv "$f.tmp" "$f"
    umask 022
}

cloud() { # name user password project
    cat <<EOF
  $1:
    auth:
      auth_url: $ks/v3
      username: $2
      password: "$3"
      project_name: $4
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
}

print_env() {
    [ -f "$state/clouds.yaml" ] || fail "no $state/clouds.yaml: run up first"
    cat "$state/clouds.yaml"
}

main "$@"
