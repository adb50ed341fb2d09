# shellcheck shell=bash disable=SC2154
# The clouds.yaml of the bed (env).
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

write_clouds_yaml() {
    local f="$state/clouds.yaml"
    umask 077
    {
        echo "clouds:"
        cloud capi-mgmt capi-mgmt "$USER_PASS" capi-mgmt
        cloud capi-mgmt-workload capi-mgmt "$USER_PASS" capi-mgmt-workload
        cloud capi-mgmt-peer capi-mgmt-peer "$PEER_PASS" capi-mgmt
        cloud admin admin "$ADMIN_PASS" admin
    } >"$f.tmp"
    mv "$f.tmp" "$f"
    umask 022
}

cloud() { # name user password project
    cat <<EOF
  $1:
    auth:
      auth_url: $ks/v3
      username: $2
      password: "$3"
      project_name: $4
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
}

print_env() {
    [ -f "$state/clouds.yaml" ] || fail "no $state/clouds.yaml: run up first"
    cat "$state/clouds.yaml"
}
