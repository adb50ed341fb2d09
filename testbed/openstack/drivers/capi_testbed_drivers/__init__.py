"""Test drivers of the capi-mgmt OpenStack test bed (testbed/openstack/).

They stand in for the hardware a cloud has (switches and agents, amphora VMs, storage arrays) and
nothing else: every API call still goes through the real services. They are the project's own code,
loaded by the services through entry points that testbed/openstack/openstack.sh declares.
"""
