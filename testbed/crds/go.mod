// Pins the modules whose CRDs the test bed installs without running their controllers.
// Nothing is built from this module; build.sh reads the modules' config/crd kustomizations.
module capi-mgmt/testbed/crds

go 1.26.0

require (
	// Flux v2.9.4 ships source-controller and kustomize-controller v1.9.4.
	github.com/fluxcd/kustomize-controller v1.9.4
	github.com/fluxcd/source-controller v1.9.4
	github.com/k-orc/openstack-resource-controller/v2 v2.6.0
)
