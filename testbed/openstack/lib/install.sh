# shellcheck shell=bash disable=SC2154
# Installing the Debian packages of packages.txt.
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.

package_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.txt"; }

missing_packages() {
    local p
    while read -r p; do
        if [ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
            echo "$p"
        fi
    done < <(package_list)
}

# Installs the packages with a policy-rc.d that forbids every service start (the services run
# as this script's processes, on loopback, with its configuration); the previous policy-rc.d, if
# any, is put back.
install_packages() {
    local -a missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || fail "installing ${missing[*]} needs root (apt-get)"
    local policy=/usr/sbin/policy-rc.d saved="" rc=0 start
    if [ -e "$policy" ]; then
        saved=$(mktemp)
        cp -p "$policy" "$saved"
    fi
    printf '#!/bin/sh\n# testbed/openstack: no service starts while its packages install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    start=$(date +%s)
    say "installing ${#missing[@]} packages (and their dependencies)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" || rc=$?
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
    ((rc == 0)) || fail "apt-get install failed ($rc); run 'apt-get update' first if the lists are old"
    say "packages installed in $(($(date +%s) - start)) s"
}
