# shellcheck shell=bash disable=SC2154
# Configuration of Neutron, Cinder and Octavia (write_config calls it).
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

write_network_config() {
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
