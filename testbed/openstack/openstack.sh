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
#   Swift    real proxy, account, container and object servers over a directory of the state
#            directory (rings of one device, mount_check off; lib/swift.sh)
#
# The functions live in lib/*.sh by concern: common (globals, processes), install, config and
# config-network (configuration files), infra (MariaDB, RabbitMQ), services, swift, lifecycle
# (up, down, status), clouds (clouds.yaml).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# Every library is read whole before anything runs (an edit while the bed runs changes nothing
# under a running up).
for lib in common install config config-network infra services swift lifecycle clouds; do
    # shellcheck source=/dev/null
    . "$here/lib/$lib.sh"
done

main() {
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

main "$@"
