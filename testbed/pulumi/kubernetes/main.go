// Command pulumi-resource-kubernetes serves the Kubernetes provider of the module pinned in go.mod.
//
// Upstream's own main package embeds a schema file that its release build generates (it is not in
// the module), so this wrapper embeds the schema and the Terraform mapping that testbed/pulumi/build.sh
// writes next to it from the module's schema.json (with the release version set), and calls the
// provider's Serve entry point.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
