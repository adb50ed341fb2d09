# shellcheck shell=bash disable=SC2154
# The OpenStack services: database syncs, start commands, Keystone, the cloud's contents.
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

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
        swift-*) start_swift_server "$name" ;;
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
