"""Octavia network driver: real Neutron for the VIP, no-op for the amphorae.

The VIP is allocated as a real Neutron port on the requested subnet (the same request Octavia's
allowed-address-pairs driver makes), with the load balancer's security group holding the listeners'
ports and allowed_cidrs; so a load balancer occupies its subnet and its allow-list can be read from
Neutron, as on a cloud. What concerns amphora VMs (plugging ports into servers, their network
configuration) is answered by Octavia's no-op manager, since no amphora VM exists here.
"""
from oslo_utils import uuidutils

from octavia.common import data_models
from octavia.network.drivers.neutron import allowed_address_pairs
from octavia.network.drivers.noop_driver import driver as noop


class PortVipNetworkDriver(allowed_address_pairs.AllowedAddressPairsDriver):
    """allocate_vip, deallocate_vip, update_vip(_sg) and the look-ups are Neutron's for real."""

    def __init__(self):
        super().__init__()
        self._noop = noop.NoopManager()

    def plug_aap_port(self, load_balancer, vip, amphora, subnet):
        # No amphora port exists: the amphora "holds" the VIP address itself.
        return data_models.Amphora(
            id=amphora.id, compute_id=amphora.compute_id,
            vrrp_ip=vip.ip_address, ha_ip=vip.ip_address,
            vrrp_port_id=uuidutils.generate_uuid(), ha_port_id=vip.port_id)

    def plug_vip(self, load_balancer, vip):
        self.update_vip_sg(load_balancer, vip)
        subnet = self.get_subnet(vip.subnet_id)
        return [self.plug_aap_port(load_balancer, vip, amphora, subnet)
                for amphora in load_balancer.amphorae]

    def unplug_aap_port(self, vip, amphora, subnet):
        return self._noop.unplug_aap_port(vip, amphora, subnet)

    def unplug_vip(self, load_balancer, vip):
        return self._noop.unplug_vip(load_balancer, vip)

    def plug_network(self, compute_id, network_id):
        return self._noop.plug_network(compute_id, network_id)

    def unplug_network(self, compute_id, network_id):
        return self._noop.unplug_network(compute_id, network_id)

    def get_plugged_networks(self, compute_id):
        return self._noop.get_plugged_networks(compute_id)

    def failover_preparation(self, amphora):
        return self._noop.failover_preparation(amphora)

    def plug_port(self, amphora, port):
        return self._noop.plug_port(amphora, port)

    def get_network_configs(self, loadbalancer, amphora=None):
        return self._noop.get_network_configs(loadbalancer, amphora)

    def wait_for_port_detach(self, amphora):
        return self._noop.wait_for_port_detach(amphora)
