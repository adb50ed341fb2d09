# shellcheck shell=bash
# host/teardown.sh when the management cluster is gone (no kind, no kind cluster, or no way
# to reach it): the workload clusters it managed, if any, cannot be torn down from here,
# and deleting the server would orphan them in OpenStack without a word. So the teardown
# fails, keeping the server, and lists what to clean up by hand and how to find it; unless
# the user has said that the workload clusters are gone by creating CLUSTERS_GONE_FILE.
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of the script's `# capi-mgmt:include teardown-gone.sh`
# line. Reads the parameter CLUSTERS_GONE_FILE; uses teardown-kube.sh (included before it).

# What a workload cluster <namespace>/<name> leaves in OpenStack when nothing tears it down,
# and how to find each kind: Cluster API's provider (CAPO), the cloud controller manager
# and Cinder CSI of the GitOps tree name or tag everything after the Cluster.
orphan_list() {
    cat <<'EOF'
  For each workload Cluster <namespace>/<name> it managed (the Clusters your GitOps path declares),
  in the OpenStack project of the workload clusters:
  - servers of its Machines, named <name>-...:            openstack server list --name '^<name>-'
  - its API load balancer (CAPO):                         openstack loadbalancer list --name k8s-clusterapi-cluster-<namespace>-<name>-kubeapi
  - load balancers of its LoadBalancer Services (OCCM):   openstack loadbalancer list | grep kube_service_<name>_
  - Cinder volumes of its PersistentVolumeClaims:         openstack volume list --long | grep -e pvc- ; their property cinder.csi.openstack.org/cluster=<name>
  - its network, subnet and router (CAPO):                openstack network list --name k8s-clusterapi-cluster-<namespace>-<name> (router and subnet: same name)
  - its security groups (CAPO):                           openstack security group list | grep k8s-cluster-<namespace>-<name>-secgroup-
  - floating IPs of those load balancers:                 openstack floating ip list --long (unassociated ones)
  - Glance images ORC uploaded for the node images:       openstack image list (the images the GitOps tree's node-images path names)
  Delete servers and load balancers first (openstack loadbalancer delete --cascade), then volumes,
  floating IPs, router (its interfaces first), subnet, network and security groups.
EOF
}

# Ends the teardown because the management cluster is gone ($* says why): exits 0 when
# CLUSTERS_GONE_FILE exists (the user says the workload clusters are gone), 1 otherwise,
# listing what to clean up.
management_gone() {
    local line
    if [[ -e "$CLUSTERS_GONE_FILE" ]]; then
        warn "$*. $CLUSTERS_GONE_FILE exists, so you said the workload clusters are already gone:" \
            "nothing is torn down. Whatever they left in OpenStack stays there."
        echo "teardown: nothing to tear down: the management cluster is gone and $CLUSTERS_GONE_FILE says its workload clusters are too"
        exit 0
    fi
    {
        echo "teardown: ERROR: $*."
        echo "teardown: ERROR: So the workload clusters it managed, if any, cannot be torn down, and deleting the server"
        echo "teardown: ERROR: would leave them running in OpenStack, orphaned. The server (VM) was KEPT; 'pulumi destroy' stops here."
        echo "teardown: ERROR: If it managed workload clusters, delete what they left in OpenStack yourself:"
        while IFS= read -r line; do
            echo "teardown: $line"
        done < <(orphan_list)
        echo "teardown: ERROR: When that is done (or if there never were workload clusters), say so on the server and"
        echo "teardown: ERROR: re-run 'pulumi destroy': sudo touch $CLUSTERS_GONE_FILE"
    } >&2
    exit 1
}
