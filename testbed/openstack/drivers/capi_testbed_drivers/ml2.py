"""Neutron ML2 mechanism driver that binds every port, with no agent behind it.

A cloud binds a port when the agent of the host named in binding:host_id reports it can serve the
port's network segment; here no agent runs, so this driver binds the first segment offered, whatever
its type, and declares the port ACTIVE. Ports of servers, load balancer VIPs and router gateways
therefore reach the state they reach on a cloud (routers' own ports stay as Neutron leaves them
without an L3 agent).
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):
    """Binds every port to the first segment it is offered."""

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OTHER,
                                {portbindings.CAP_PORT_FILTER: False},
                                status=constants.PORT_STATUS_ACTIVE)
            return
