# shellcheck shell=bash disable=SC2154
# Swift (object storage): the proxy and the account, container and object servers of Debian's
# Zed packages (swift 2.30), on 127.0.0.1, storing into a directory of the state directory.
# Sourced by testbed/openstack/openstack.sh (docs/testbed-openstack.md); globals are set in lib/common.sh.
#
# One device (state/swift/node/d1, a plain directory: mount_check off), one replica, rings built
# once with swift-ring-builder under state/swift/rings (swift_dir). The hash prefix and suffix
# come from the package's /etc/swift/swift.conf (Swift reads that path only; a test bed's data
# need not be protected from guessed paths). The proxy authenticates with Keystone's authtoken
# middleware (service_type object-store, so Keystone's access rules of application credentials
# are enforced) and authorizes with keystoneauth: admin and member operate on their project's
# account AUTH_<project id>. No memcached: authtoken caches in the process, the proxy runs without
# a cache. The servers log to their log file (-v: console) and to syslog, which has no listener here.

swift_dir() { echo "$state/swift"; }

# [DEFAULT] of a Swift server on PORT.
swift_server_default() { # port
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 1
user = root
swift_dir = $(swift_dir)/rings
devices = $(swift_dir)/node
mount_check = false
log_level = INFO
EOF
}

write_swift_config() {
    local d
    d=$(swift_dir)
    mkdir -p "$etc/swift" "$d"/{rings,node/d1,recon}
    local kind port
    for kind in account:6202 container:6201 object:6200; do
        port=${kind#*:}
        kind=${kind%%:*}
        {
            swift_server_default "$port"
            cat <<EOF
recon_cache_path = $d/recon
[pipeline:main]
pipeline = $kind-server
[app:$kind-server]
use = egg:swift#$kind
EOF
        } >"$etc/swift/$kind-server.conf"
    done
    {
        cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = 8080
workers = 1
user = root
swift_dir = $d/rings
log_level = INFO
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats authtoken keystoneauth proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
recon_cache_path = $d/recon
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_prefix = AUTH_
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
EOF
        authtoken swift object-store | sed 1d
    } >"$etc/swift/proxy-server.conf"
}

# The account, container and object rings: one device, one replica, built once.
swift_rings() {
    local d kind port
    d="$(swift_dir)/rings"
    for kind in account:6202 container:6201 object:6200; do
        port=${kind#*:}
        kind=${kind%%:*}
        [ -f "$d/$kind.ring.gz" ] && continue
        say "swift: building the $kind ring"
        rm -f "$d/$kind.builder"
        {
            swift-ring-builder "$d/$kind.builder" create 8 1 1 &&
                swift-ring-builder "$d/$kind.builder" add "r1z1-127.0.0.1:$port/d1" 100 &&
                swift-ring-builder "$d/$kind.builder" rebalance
        } >>"$log/swift-rings.log" 2>&1 || {
            log_tail swift-rings
            fail "swift-ring-builder ($kind) failed"
        }
    done
}

start_swift_server() { # name
    case "$1" in
        swift-proxy) start swift-proxy swift-proxy-server "$etc/swift/proxy-server.conf" -v ;;
        swift-account | swift-container | swift-object) start "$1" "$1-server" "$etc/swift/${1#swift-}-server.conf" -v ;;
        *) fail "unknown Swift server $1" ;;
    esac
}
