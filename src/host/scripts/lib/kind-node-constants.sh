# shellcheck shell=bash
# The kind node's names and bounds, for kind-node.sh: the node container, its containerd
# config, the list of registries whose hosts.toml the kind step wrote, and how long a
# containerd restart may take.
#
# Not run on its own: src/host/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of kind-cluster.sh's `# capi-mgmt:include kind-node-constants.sh`
# line (where these constants always stood: the rendered script is unchanged by the split).
# Uses CLUSTER_NAME and REGISTRY_HOSTS_DIR, parameters of kind-cluster.sh.
# shellcheck disable=SC2034 # read by kind-node.sh

# kind's name of the single node's container.
readonly NODE="$CLUSTER_NAME-control-plane"
readonly NODE_CONTAINERD_CONFIG="/etc/containerd/config.toml"
# The registries whose hosts.toml this step wrote, one a line (so only those are ever removed).
readonly NODE_REGISTRY_LIST="$REGISTRY_HOSTS_DIR/.capi-mgmt-registries"
readonly CONTAINERD_RESTART_TIMEOUT_SECONDS=120
