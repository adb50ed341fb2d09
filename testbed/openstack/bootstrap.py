"""Creates the test bed cloud's contents through its APIs, idempotently (find, else create).

    bootstrap.py identity STATE    service users, catalog, roles, the user projects and users
    bootstrap.py resources STATE   external network, SCS flavors, images

Passwords come from the environment (ADMIN_PASS, SERVICE_PASS, USER_PASS, PEER_PASS); run by
testbed/openstack/openstack.sh with Debian's /usr/bin/python3 and its openstacksdk.
"""
import os
import subprocess
import sys

import openstack

KEYSTONE = "http://127.0.0.1:5000/v3"
REGION = "RegionOne"

# name, service type, URL (all three interfaces)
CATALOG = [
    ("glance", "image", "http://127.0.0.1:9292"),
    ("placement", "placement", "http://127.0.0.1:8778"),
    ("nova", "compute", "http://127.0.0.1:8774/v2.1"),
    ("neutron", "network", "http://127.0.0.1:9696"),
    ("cinderv3", "volumev3", "http://127.0.0.1:8776/v3/%(project_id)s"),
    ("octavia", "load-balancer", "http://127.0.0.1:9876"),
    ("swift", "object-store", "http://127.0.0.1:8080/v1/AUTH_%(project_id)s"),
]
SERVICE_USERS = ["glance", "placement", "nova", "neutron", "cinder", "octavia", "swift"]
ROLES = ["admin", "member", "reader", "service", "load-balancer_member",
         "load-balancer_observer", "load-balancer_admin",
         "load-balancer_global_observer", "load-balancer_quota_admin"]
# The roles a cloud user has: member and Octavia's load-balancer_member.
USER_ROLES = ["member", "load-balancer_member"]

# The external network: flat, its subnet carved from the loopback range, so floating IPs and
# router gateways get 127.100.x.y addresses (never a routable or documentation range).
PUBLIC_CIDR = "127.100.0.0/16"
PUBLIC_GATEWAY = "127.100.0.1"
PUBLIC_POOL = {"start": "127.100.1.1", "end": "127.100.255.254"}

# SCS flavor names (name, vCPUs, RAM MiB, root disk GiB); disk 0 = diskless (needs a root volume).
FLAVORS = [
    ("SCS-1L-1", 1, 1024, 0),
    ("SCS-2V-4", 2, 4096, 0),
    ("SCS-2V-8", 2, 8192, 0),
    ("SCS-4V-8", 4, 8192, 0),
    ("SCS-4V-16", 4, 16384, 0),
    ("SCS-8V-32", 8, 32768, 0),
    ("SCS-2V-4-20s", 2, 4096, 20),
    ("SCS-4V-16-50", 4, 16384, 50),
    ("SCS-4V-16-100s", 4, 16384, 100),
]
IMAGES = [
    ("ubuntu-capi-image-v1.35.8", {"os_distro": "ubuntu", "os_version": "24.04",
                                   "kube_version": "v1.35.8"}),
    ("Ubuntu 24.04", {"os_distro": "ubuntu", "os_version": "24.04"}),
]


def connect(username, password, project):
    return openstack.connect(
        auth_url=KEYSTONE, username=username, password=password, project_name=project,
        user_domain_name="Default", project_domain_name="Default", region_name=REGION,
        interface="public", identity_api_version="3")


def log(msg):
    print("bootstrap: " + msg, flush=True)


def ensure_user(idc, name, password, default_project=None):
    user = idc.find_user(name, domain_id="default")
    if user is None:
        log("user " + name)
        return idc.create_user(name=name, password=password, domain_id="default",
                               default_project_id=default_project)
    idc.update_user(user, password=password)
    return user


def ensure_project(idc, name, description):
    project = idc.find_project(name, domain_id="default")
    if project is None:
        log("project " + name)
        project = idc.create_project(name=name, domain_id="default", description=description)
    return project


def grant(idc, project, user, role):
    if not idc.validate_user_has_project_role(project, user, role):
        idc.assign_project_role_to_user(project, user, role)


def identity():
    conn = connect("admin", os.environ["ADMIN_PASS"], "admin")
    idc = conn.identity
    roles = {}
    for name in ROLES:
        role = idc.find_role(name)
        if role is None:
            log("role " + name)
            role = idc.create_role(name=name)
        roles[name] = role
    service = ensure_project(idc, "service", "OpenStack services")
    for name in SERVICE_USERS:
        user = ensure_user(idc, name, os.environ["SERVICE_PASS"])
        grant(idc, service, user, roles["admin"])
        grant(idc, service, user, roles["service"])
    for name, stype, url in CATALOG:
        svc = next((s for s in idc.services() if s.type == stype), None)
        if svc is None:
            log("service " + stype)
            svc = idc.create_service(name=name, type=stype, is_enabled=True)
        existing = {e.interface: e for e in idc.endpoints(service_id=svc.id)}
        for interface in ("public", "internal", "admin"):
            ep = existing.get(interface)
            if ep is None:
                idc.create_endpoint(service_id=svc.id, interface=interface, url=url,
                                    region_id=REGION)
            elif ep.url != url:
                idc.update_endpoint(ep, url=url)
    projects = [ensure_project(idc, "capi-mgmt", "capi-mgmt test project"),
                ensure_project(idc, "capi-mgmt-workload", "capi-mgmt test workload project")]
    user = ensure_user(idc, "capi-mgmt", os.environ["USER_PASS"], projects[0].id)
    peer = ensure_user(idc, "capi-mgmt-peer", os.environ["PEER_PASS"], projects[0].id)
    for project in projects:
        for role in USER_ROLES:
            grant(idc, project, user, roles[role])
    for role in USER_ROLES:
        grant(idc, projects[0], peer, roles[role])


def image_file(state):
    """A tiny qcow2 (1 GiB virtual, a few hundred KiB on disk), made once."""
    path = os.path.join(state, "image.qcow2")
    if not os.path.exists(path):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path + ".tmp", "1G"],
                       check=True)
        os.rename(path + ".tmp", path)
    return path


def resources(state):
    conn = connect("admin", os.environ["ADMIN_PASS"], "admin")
    net = conn.network.find_network("public")
    if net is None:
        log("network public")
        net = conn.network.create_network(
            name="public", is_router_external=True, provider_network_type="flat",
            provider_physical_network="public")
    if conn.network.find_subnet("public-subnet") is None:
        log("subnet public-subnet " + PUBLIC_CIDR)
        conn.network.create_subnet(
            name="public-subnet", network_id=net.id, ip_version=4, cidr=PUBLIC_CIDR,
            gateway_ip=PUBLIC_GATEWAY, allocation_pools=[PUBLIC_POOL], is_dhcp_enabled=False)
    for name, vcpus, ram, disk in FLAVORS:
        if conn.compute.find_flavor(name) is None:
            log("flavor " + name)
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk,
                                       is_public=True)
    for name, props in IMAGES:
        image = conn.image.find_image(name)
        if image is not None and image.status != "active":
            conn.image.delete_image(image)
            image = None
        if image is None:
            log("image " + name)
            with open(image_file(state), "rb") as data:
                conn.image.create_image(
                    name=name, disk_format="qcow2", container_format="bare",
                    visibility="public", data=data, validate_checksum=False,
                    allow_duplicates=True, **props)


def main():
    phase, state = sys.argv[1], sys.argv[2]
    if phase == "identity":
        identity()
    elif phase == "resources":
        resources(state)
    else:
        raise SystemExit("unknown phase " + phase)


if __name__ == "__main__":
    main()
