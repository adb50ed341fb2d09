#!/usr/bin/env bash
# Builds the Pulumi engine pieces of the integration test bed from Go modules into the test-bed
# cache, keyed by version, and records what it built (or why it could not) in $CACHE/pulumi.json.
#
#   testbed/pulumi/build.sh     build what is missing, then write $CACHE/pulumi.json
#
# Environment (as testbed/build.sh):
#   CAPI_MGMT_TESTBED_CACHE   cache directory (default ~/.cache/capi-mgmt-testbed)
#   TESTBED_GO_P              parallel compile jobs handed to `go build -p` (default 2)
#   TESTBED_PULUMI_ONLY       space-separated names (pulumi, pulumi-resource-kubernetes,
#                             pulumi-resource-openstack): build only these; the others are still
#                             listed in pulumi.json when already cached
#
# What it builds (pinned by the go.mod of each tools module under testbed/pulumi/):
#   pulumi                      the CLI (github.com/pulumi/pulumi/pkg/v3), as $CACHE/pulumi-VERSION/bin/pulumi,
#                               the layout the Automation API's PulumiCommand.get({ root }) expects;
#   pulumi-resource-kubernetes  the Kubernetes provider (github.com/pulumi/pulumi-kubernetes/provider/v4).
#                               The proxy serves this module only as a pseudo-version; its commit is the
#                               v4.25.0 release tag (PROVIDER_RELEASE below). Upstream's main package embeds a
#                               schema its release build generates, so testbed/pulumi/kubernetes has a
#                               wrapper main and this script writes the schema next to it first.
#   pulumi-resource-openstack   the OpenStack provider @pulumi/openstack OPENSTACK_RELEASE talks to, rebuilt from
#                               github.com/terraform-provider-openstack/terraform-provider-openstack (the
#                               version that release wraps) under github.com/pulumi/pulumi-terraform-bridge/v3
#                               (pulumi-openstack's own module is refused). Two passes of one binary:
#                               tfgen writes the schema, then the provider is built with it embedded. Its cache
#                               key also hashes testbed/pulumi/openstack/ (the token table is ours).
#                               See docs/testbed-openstack-provider.md.
# What the proxy refuses is only recorded (module, version, error): the Node.js language host,
# pulumi-command and pulumi-tls. The integration suite skips what needs them and prints why.
# Exits non-zero only when it cannot run at all (no Go, no node).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${CAPI_MGMT_TESTBED_CACHE:-${HOME}/.cache/capi-mgmt-testbed}"
jobs="${TESTBED_GO_P:-2}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# The release whose tag is the provider module's pseudo-version commit (f47bc2d6f199 = v4.25.0).
PROVIDER_RELEASE="4.25.0"
# The @pulumi/openstack release the rebuilt OpenStack provider stands in for (the plugin version the
# SDK asks the engine for); testbed/pulumi/openstack/go.mod pins the Terraform provider it wraps.
OPENSTACK_RELEASE="3.15.2"
only="${TESTBED_PULUMI_ONLY:-}"

# Modules the engine would need that the proxy does not serve: module@version the SDKs ask for,
# then the neighbouring versions tried.
refused=(
    "pulumi-language-nodejs|github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3|v3.274.0 v3.270.0 v3.275.0"
    "pulumi-resource-command|github.com/pulumi/pulumi-command/provider|v1.2.1 v1.2.0 v1.1.3"
    "pulumi-resource-tls|github.com/pulumi/pulumi-tls/provider/v5|v5.6.1 v5.6.0 v5.2.0"
)

command -v go >/dev/null || { echo "testbed/pulumi: Go is required (>= 1.26)" >&2; exit 2; }
command -v node >/dev/null || { echo "testbed/pulumi: node is required" >&2; exit 2; }
mkdir -p "$cache"
err="$(mktemp)"
scratch="$(mktemp -d)" # outside any module, so checking a refused module touches no go.mod
trap 'rm -rf "$err" "$scratch"' EXIT

json_escape() { node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").trim()))'; }

# module_field, wanted.
# shellcheck source=testbed/modules.sh
source "$here/../modules.sh"

entries=()
total_start=$(date +%s)

# build NAME DIR PKG OUT LDFLAGS [GOFLAG...]: go build into OUT (via OUT.tmp) unless OUT exists.
build() {
    local name="$1" dir="$2" pkg="$3" out="$4" ldflags="$5"
    shift 5
    [ -x "$out" ] && return 0
    if ! wanted "$name"; then
        echo "not built (TESTBED_PULUMI_ONLY)" >"$err"
        return 1
    fi
    echo "testbed/pulumi: building $name ..." >&2
    local start
    start=$(date +%s)
    mkdir -p "$(dirname "$out")"
    if (cd "$here/$dir" && go build -p "$jobs" -trimpath "$@" -ldflags="-s -w $ldflags" -o "$out.tmp" "$pkg") 2>"$err"; then
        mv "$out.tmp" "$out"
        echo "testbed/pulumi: built $name in $(($(date +%s) - start))s" >&2
        return 0
    fi
    rm -f "$out.tmp"
    echo "testbed/pulumi: $name failed to build: $(tail -c 600 "$err")" >&2
    return 1
}

# The CLI.
mod=github.com/pulumi/pulumi/pkg/v3
if ! version="$(module_field cli "$mod" Version 2>"$err")"; then
    entries+=("\"pulumi\": {\"module\": \"$mod\", \"error\": $(json_escape <"$err")}")
else
    out="$cache/pulumi-$version/bin/pulumi"
    if build pulumi cli "$mod/cmd/pulumi" "$out" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"; then
        entries+=("\"pulumi\": {\"module\": \"$mod\", \"version\": \"$version\", \"root\": \"$cache/pulumi-$version\", \"path\": \"$out\"}")
    else
        entries+=("\"pulumi\": {\"module\": \"$mod\", \"version\": \"$version\", \"error\": $(json_escape <"$err")}")
    fi
fi

# The Kubernetes provider.
mod=github.com/pulumi/pulumi-kubernetes/provider/v4
if ! version="$(module_field kubernetes "$mod" Version 2>"$err")" || ! moddir="$(module_field kubernetes "$mod" Dir 2>"$err")"; then
    entries+=("\"pulumi-resource-kubernetes\": {\"module\": \"$mod\", \"error\": $(json_escape <"$err")}")
else
    out="$cache/pulumi-resource-kubernetes-$version/pulumi-resource-kubernetes"
    ok=1
    if [ ! -x "$out" ] && ! wanted pulumi-resource-kubernetes; then
        echo "not built (TESTBED_PULUMI_ONLY)" >"$err"
        ok=0
    elif [ ! -x "$out" ]; then
        # The schema with the release version set, and the Terraform mapping, both compacted, as
        # upstream's release build embeds them.
        node -e '
            const fs = require("fs");
            const [src, dst, version] = process.argv.slice(1);
            const schema = JSON.parse(fs.readFileSync(src + "/schema.json", "utf8"));
            schema.version = version;
            fs.writeFileSync(dst + "/schema-embed.json", JSON.stringify(schema));
            const mapping = JSON.parse(fs.readFileSync(src + "/terraform-mapping.json", "utf8"));
            fs.writeFileSync(dst + "/terraform-mapping-embed.json", JSON.stringify(mapping));
        ' "$moddir/cmd/pulumi-resource-kubernetes" "$here/kubernetes" "$PROVIDER_RELEASE" 2>"$err" || ok=0
        [ "$ok" = 1 ] && { build pulumi-resource-kubernetes kubernetes . "$out" \
            "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PROVIDER_RELEASE" || ok=0; }
    fi
    if [ "$ok" = 1 ]; then
        entries+=("\"pulumi-resource-kubernetes\": {\"module\": \"$mod\", \"version\": \"$version\", \"release\": \"$PROVIDER_RELEASE\", \"path\": \"$out\"}")
    else
        entries+=("\"pulumi-resource-kubernetes\": {\"module\": \"$mod\", \"version\": \"$version\", \"error\": $(json_escape <"$err")}")
    fi
fi

# The OpenStack provider: pass 1 builds the binary with empty schema and metadata and runs its tfgen
# to write them, pass 2 builds it again with them embedded (via -overlay: nothing is written into the
# source tree). The cache key is the release, the Terraform provider's version and a hash of the
# tools module (go.mod, go.sum, the token table), so editing the table rebuilds.
mod=github.com/terraform-provider-openstack/terraform-provider-openstack
if ! version="$(module_field openstack "$mod" Version 2>"$err")" ||
    ! bridge="$(module_field openstack github.com/pulumi/pulumi-terraform-bridge/v3 Version 2>"$err")"; then
    entries+=("\"pulumi-resource-openstack\": {\"module\": \"$mod\", \"error\": $(json_escape <"$err")}")
else
    key="$(cd "$here/openstack" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-12)"
    outdir="$cache/pulumi-resource-openstack-$OPENSTACK_RELEASE-$version-$key"
    out="$outdir/pulumi-resource-openstack"
    ok=1
    if [ ! -x "$out" ]; then
        gen="$scratch/openstack"
        mkdir -p "$gen/out"
        echo '{}' >"$gen/empty.json"
        overlay() { # overlay FILE SCHEMA METADATA: the -overlay file that supplies the embedded files
            printf '{"Replace": {"%s": "%s", "%s": "%s"}}\n' "$here/openstack/schema-embed.json" "$2" \
                "$here/openstack/bridge-metadata-embed.json" "$3" >"$1"
        }
        overlay "$gen/overlay-1.json" "$gen/empty.json" "$gen/empty.json"
        build pulumi-resource-openstack openstack . "$gen/tfgen" "-X main.version=$OPENSTACK_RELEASE" \
            -overlay "$gen/overlay-1.json" || ok=0
        if [ "$ok" = 1 ]; then
            echo "testbed/pulumi: pulumi-resource-openstack: generating the schema ..." >&2
            (cd "$gen" && PULUMI_CONVERT=0 PULUMI_HOME="$gen/home" "$gen/tfgen" tfgen schema \
                --skip-docs --skip-examples --out "$gen/out") >"$gen/tfgen.log" 2>&1 || {
                tail -c 2000 "$gen/tfgen.log" >"$err"
                ok=0
            }
        fi
        if [ "$ok" = 1 ]; then
            # The schema with the release version set (tfgen omits it), both files compacted.
            node -e '
                const fs = require("fs");
                const [dir, version] = process.argv.slice(1);
                const schema = JSON.parse(fs.readFileSync(dir + "/out/schema.json", "utf8"));
                schema.version = version;
                fs.writeFileSync(dir + "/schema-embed.json", JSON.stringify(schema));
                const meta = JSON.parse(fs.readFileSync(dir + "/out/bridge-metadata.json", "utf8"));
                fs.writeFileSync(dir + "/bridge-metadata-embed.json", JSON.stringify(meta));
            ' "$gen" "$OPENSTACK_RELEASE" 2>"$err" || ok=0
        fi
        if [ "$ok" = 1 ]; then
            overlay "$gen/overlay-2.json" "$gen/schema-embed.json" "$gen/bridge-metadata-embed.json"
            build pulumi-resource-openstack openstack . "$out" "-X main.version=$OPENSTACK_RELEASE" \
                -overlay "$gen/overlay-2.json" || ok=0
        fi
        [ "$ok" = 1 ] && cp "$gen/out/schema.json" "$outdir/schema.json"
    fi
    if [ "$ok" = 1 ]; then
        entries+=("\"pulumi-resource-openstack\": {\"module\": \"$mod\", \"version\": \"$version\", \"bridge\": \"$bridge\", \"release\": \"$OPENSTACK_RELEASE\", \"path\": \"$out\"}")
    else
        entries+=("\"pulumi-resource-openstack\": {\"module\": \"$mod\", \"version\": \"$version\", \"release\": \"$OPENSTACK_RELEASE\", \"error\": $(json_escape <"$err")}")
    fi
fi

# What the proxy refuses: record the first version's error and the neighbours tried.
proxy_only="$(go env GOPROXY | sed -e 's/[,|]direct$//')"
for spec in "${refused[@]}"; do
    IFS='|' read -r name mod versions <<<"$spec"
    first=""
    tried=()
    found=""
    for v in $versions; do
        # The proxy's own answer: no fall-back to a direct VCS fetch (no internet here anyway).
        out_json="$(cd "$scratch" && GOPROXY="$proxy_only" go mod download -json "$mod@$v" 2>/dev/null)"
        msg="$(node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8") || "{}"); process.stdout.write(m.Error || "")' <<<"$out_json")"
        if [ -z "$msg" ]; then
            found="$v"
            break
        fi
        [ -z "$first" ] && first="$msg"
        tried+=("$v")
    done
    if [ -n "$found" ]; then
        # Served after all: say so, so that someone adds a build for it.
        echo "testbed/pulumi: $mod@$found is served now; add a build for $name" >&2
        entries+=("\"$name\": {\"module\": \"$mod\", \"version\": \"$found\", \"error\": \"served, but no build is set up for it in testbed/pulumi/build.sh\"}")
    else
        echo "testbed/pulumi: $name: $mod refused (tried ${tried[*]})" >&2
        entries+=("\"$name\": {\"module\": \"$mod\", \"version\": \"${versions%% *}\", \"tried\": \"${tried[*]}\", \"error\": $(printf '%s' "$first" | json_escape)}")
    fi
done

{
    echo "{"
    echo "  \"go\": \"$(go env GOVERSION)\","
    n=${#entries[@]}
    for i in "${!entries[@]}"; do
        sep=","
        [ "$i" -eq $((n - 1)) ] && sep=""
        echo "  ${entries[$i]}$sep"
    done
    echo "}"
} >"$cache/pulumi.json.tmp"
mv "$cache/pulumi.json.tmp" "$cache/pulumi.json"
echo "testbed/pulumi: ready in $(($(date +%s) - total_start))s: $cache/pulumi.json" >&2
