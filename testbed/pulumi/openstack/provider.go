package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	tks "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/openstack"
)

// Tokens of @pulumi/openstack 3.15.2, keyed by Terraform name: every resource and function the
// program uses (components/, program.ts), and the few the test bed creates besides (marked "bed").
// Each token is the class's `__pulumiType` or the function's `invoke` token in the SDK's JS;
// test/integration/openstackProvider.integration.ts checks them against the built schema.
var resourceTokens = map[string]string{
	"openstack_networking_network_v2":              "openstack:networking/network:Network",
	"openstack_networking_subnet_v2":               "openstack:networking/subnet:Subnet",
	"openstack_networking_router_v2":               "openstack:networking/router:Router",
	"openstack_networking_router_interface_v2":     "openstack:networking/routerInterface:RouterInterface",
	"openstack_networking_secgroup_v2":             "openstack:networking/secGroup:SecGroup",
	"openstack_networking_secgroup_rule_v2":        "openstack:networking/secGroupRule:SecGroupRule",
	"openstack_networking_port_v2":                 "openstack:networking/port:Port",
	"openstack_networking_floatingip_v2":           "openstack:networking/floatingIp:FloatingIp",
	"openstack_networking_floatingip_associate_v2": "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
	"openstack_compute_instance_v2":                "openstack:compute/instance:Instance",
	"openstack_compute_keypair_v2":                 "openstack:compute/keypair:Keypair",
	"openstack_identity_application_credential_v3": "openstack:identity/applicationCredential:ApplicationCredential",
	"openstack_objectstorage_container_v1":         "openstack:objectstorage/container:Container",
	// bed: what CAPO/ORC and the cloud controller manager leave behind in the workload tests.
	"openstack_compute_servergroup_v2": "openstack:compute/serverGroup:ServerGroup",
	"openstack_lb_loadbalancer_v2":     "openstack:loadbalancer/loadBalancer:LoadBalancer",
	"openstack_blockstorage_volume_v3": "openstack:blockstorage/volume:Volume",
}

var functionTokens = map[string]string{
	"openstack_networking_network_v2":  "openstack:networking/getNetwork:getNetwork",
	"openstack_networking_subnet_v2":   "openstack:networking/getSubnet:getSubnet",
	"openstack_networking_quota_v2":    "openstack:networking/getQuotaV2:getQuotaV2",
	"openstack_identity_auth_scope_v3": "openstack:identity/getAuthScope:getAuthScope",
	"openstack_compute_limits_v2":      "openstack:compute/getLimitsV2:getLimitsV2",
	"openstack_compute_flavor_v2":      "openstack:compute/getFlavor:getFlavor",
	"openstack_images_image_ids_v2":    "openstack:images/getImageIds:getImageIds",
	"openstack_networking_port_v2":     "openstack:networking/getPort:getPort",
	// bed
	"openstack_images_image_v2": "openstack:images/getImage:getImage",
}

// Fields whose 3.15.2 shape differs from what the bridge derives from the Terraform schema.
var resourceFields = map[string]map[string]*tfbridge.SchemaInfo{
	// Terraform has both `allocation_pool` (the current block) and the deprecated `allocation_pools`;
	// both would become `allocationPools`. 3.15.2 names them so.
	"openstack_networking_subnet_v2": {
		"allocation_pool":  {Name: "allocationPools"},
		"allocation_pools": {Name: "allocationPoolsCollection"},
	},
	// `policies` is a list of at most one item in Terraform; 3.15.2 keeps it a list (`policies:
	// string[]`), where the bridge would flatten it to a string `policy`.
	"openstack_compute_servergroup_v2": {
		"policies": {MaxItemsOne: tfbridge.False()},
	},
}

// Terraform's first name segment after `openstack_`: the automatic rule's modules for everything
// not in the tables above (their tokens may differ from 3.15.2's; see docs/testbed-openstack-provider.md).
var modules = []string{
	"blockstorage_", "compute_", "containerinfra_", "db_", "dns_", "fw_", "identity_", "images_",
	"keymanager_", "lb_", "networking_", "objectstorage_", "orchestration_", "sharedfilesystem_", "vpnaas_",
}

func providerInfo(version string, metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(openstack.Provider()),
		Name:         "openstack",
		Version:      version,
		Description:  "A Pulumi package for creating and managing OpenStack cloud resources.",
		Keywords:     []string{"pulumi", "openstack"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-openstack",
		GitHubOrg:    "terraform-provider-openstack",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
		DataSources:  map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, tok := range resourceTokens {
		prov.Resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(tok), Fields: resourceFields[tf]}
	}
	for tf, tok := range functionTokens {
		prov.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember(tok)}
	}
	prov.MustComputeTokens(tks.KnownModules("openstack_", "", modules, tks.MakeStandard("openstack")))
	return prov
}
