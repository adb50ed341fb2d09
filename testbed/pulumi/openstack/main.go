// Command pulumi-resource-openstack serves the OpenStack provider that @pulumi/openstack 3.15.2 talks
// to, rebuilt from the modules the proxy serves: terraform-provider-openstack (the version 3.15.2
// wraps) under pulumi-terraform-bridge. The module of pulumi-openstack itself is refused by the proxy.
//
// One binary, two passes (testbed/pulumi/build.sh runs them):
//
//	pulumi-resource-openstack tfgen schema --skip-docs --skip-examples --out DIR
//	    writes DIR/schema.json and DIR/bridge-metadata.json from the mapping in provider.go;
//	pulumi-resource-openstack [engine address]
//	    serves the provider with the schema and metadata embedded at build time.
//
// schema-embed.json and bridge-metadata-embed.json are not files of this directory: build.sh hands
// them to `go build -overlay` (empty objects in the first pass, the generated files in the second),
// so a plain `go build` here fails for want of them.
package main

import (
	_ "embed"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
)

//go:embed schema-embed.json
var schema []byte

//go:embed bridge-metadata-embed.json
var bridgeMetadata []byte

// version is the release of @pulumi/openstack this build stands in for (-X main.version=...).
var version = "3.15.2"

func main() {
	info := providerInfo(version, bridgeMetadata)
	if len(os.Args) > 1 && os.Args[1] == "tfgen" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		tfgen.Main("openstack", version, info)
		return
	}
	tfbridge.Main("openstack", version, info, schema)
}
