# shellcheck shell=bash disable=SC2154
# Secrets and the services' configuration files (Keystone, Glance, Placement, Nova; the rest in lib/config-network.sh).
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

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

    write_network_config
    write_swift_config
}
