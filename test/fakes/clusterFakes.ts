/**
 * Fake `kind`, `kubectl`, `clusterctl` and `docker` for running the cluster scripts in `host/`
 * under bash without a server: {@link ClusterFakes} puts them first on PATH, records every
 * call (one line, `<tool> <args>`, in one shared log) and simulates the state the real
 * tools would see in a temp directory: kind clusters, CRDs and their labels, Cluster API
 * Clusters, installed providers, cert-manager's version, ORC's deployment.
 */
import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HOST_STATE_DIR, SERVER_KUBECONFIG } from "../../lib/hostScripts";
import { FakeClock } from "./clock";
import { FAKE_CURL } from "./curl";
import { fakeReleaseContent, fakeReleaseFiles } from "./releaseFakes";
import { RunResult } from "./shell";

/** An installed Cluster API provider, as clusterctl's inventory records it. */
export interface FakeProvider {
    /** `CoreProvider`, `BootstrapProvider`, `ControlPlaneProvider`, `InfrastructureProvider`, `AddonProvider`. */
    type: string;
    /** `providerName`, e.g. `cluster-api`, `kubeadm`, `openstack`, `helm`. */
    name: string;
    /** Installed version, e.g. `v1.14.0`. */
    version: string;
    /** Namespace of the provider object. */
    namespace: string;
}


/**
 * The CRDs the fake ORC manifest defines: a few of ORC v2.6.0's (config/crd/bases), all in
 * its API group `openstack.k-orc.cloud`, none labelled (the release manifest sets no label).
 */
export const FAKE_ORC_CRDS = ["images", "networks", "ports", "servergroups", "servers", "subnets"].map((p) => `${p}.openstack.k-orc.cloud`);

/** Where ORC's release manifest is downloaded from (host/orc.sh), per version. */
export function orcManifestUrl(version: string): string {
    return `https://github.com/k-orc/openstack-resource-controller/releases/download/${version}/install.yaml`;
}

/** The fake ORC v2.6.0 release manifest the fake server's curl serves (its CRDs: {@link FAKE_ORC_CRDS}). */
export const FAKE_ORC_MANIFEST =
    FAKE_ORC_CRDS.map((n) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${n}\n`).join("---\n") +
    "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: orc-system\n";

/** Bash source with `@{` standing for `${` (so it can sit in a raw template literal). */
function bash(source: string): string {
    return source.replace(/@\{/g, "${");
}

/** Shared preamble: log the call, then `$S` is the state directory. */
const PREAMBLE = bash(String.raw`#!/usr/bin/env bash
set -euo pipefail
S="$FAKE_STATE"
printf '%s %s\n' "@{0##*/}" "$*" >>"$FAKE_CALL_LOG"
# The proxy variables each call saw (unset ones as "-"), one line per call, same order as the call log.
printf '%s HTTP_PROXY=%s HTTPS_PROXY=%s NO_PROXY=%s http_proxy=%s https_proxy=%s no_proxy=%s\n' "@{0##*/}" \
    "@{HTTP_PROXY--}" "@{HTTPS_PROXY--}" "@{NO_PROXY--}" "@{http_proxy--}" "@{https_proxy--}" "@{no_proxy--}" >>"$FAKE_CALL_LOG.env"
`);

/**
 * Fake kind. State: `$S/kind/<name>/{image,config,kubeconfig}`. `$S/kind-create.fail` makes
 * `create cluster` fail (leaving the half-created cluster behind, as kind --retain would).
 */
const FAKE_KIND = PREAMBLE + bash(String.raw`
name=kind
kubeconfig=""
image=""
config=""
args=("$@")
while (($#)); do
    case "$1" in
        --name | -n) name=$2; shift 2 ;;
        --kubeconfig) kubeconfig=$2; shift 2 ;;
        --image) image=$2; shift 2 ;;
        --config) config=$2; shift 2 ;;
        --wait) shift 2 ;;
        *) shift ;;
    esac
done
dir="$S/kind/$name"
mkdir -p "$S/kind"
missing() {
    echo "ERROR: could not locate any control plane nodes for cluster named '$name'. Use the --name option to select a different cluster" >&2
    exit 1
}
case "@{args[0]} @{args[1]:-}" in
    "get clusters")
        found=$(ls "$S/kind")
        if [[ -z "$found" ]]; then
            echo "No kind clusters found." >&2
        else
            echo "$found"
        fi
        ;;
    "create cluster")
        if [[ -d "$dir" ]]; then
            echo "ERROR: failed to create cluster: node(s) already exist for a cluster with the name \"$name\"" >&2
            exit 1
        fi
        [[ -n "$kubeconfig" && -n "$image" && -f "$config" ]] || { echo "fake kind: create needs --kubeconfig, --image and --config" >&2; exit 64; }
        mkdir -p "$dir" "$S/node/$name/etc/containerd"
        # A stand-in for kind v0.32's node config: version 2, no registry table.
        printf 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n' >"$S/node/$name/etc/containerd/config.toml"
        echo "$image" >"$dir/image"
        cp "$config" "$dir/config"
        ca=$(head -c 48 /dev/urandom | base64 -w0)
        cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $ca
    server: https://0.0.0.0:6443
  name: kind-$name
contexts:
- context:
    cluster: kind-$name
    user: kind-$name
  name: kind-$name
current-context: kind-$name
kind: Config
preferences: {}
users:
- name: kind-$name
  user:
    client-certificate-data: Y2xpZW50LWNlcnQ=
    client-key-data: Y2xpZW50LWtleQ==
EOF
        echo "Creating cluster \"$name\" ..." >&2
        if [[ -f "$S/kind-create.fail" ]]; then
            echo "ERROR: failed to create cluster: $(cat "$S/kind-create.fail")" >&2
            exit 1
        fi
        cp "$dir/kubeconfig" "$kubeconfig"
        echo "Set kubectl context to \"kind-$name\"" >&2
        ;;
    "delete cluster")
        echo "Deleting cluster \"$name\" ..." >&2
        rm -rf "$dir" "$S/node/$name"
        if [[ -n "$kubeconfig" ]]; then
            rm -f "$kubeconfig"
        fi
        ;;
    "get kubeconfig")
        [[ -d "$dir" ]] || missing
        cat "$dir/kubeconfig"
        ;;
    "export kubeconfig")
        [[ -d "$dir" ]] || missing
        cp "$dir/kubeconfig" "$kubeconfig"
        echo "Set kubectl context to \"kind-$name\"" >&2
        ;;
    *)
        echo "fake kind: unexpected arguments: @{args[*]}" >&2
        exit 64
        ;;
esac
`);

/** `curl` on the fake server: logs the call, then serves `$S/downloads` (see test/fakes/curl.ts). */
const FAKE_CURL_LOGGED = PREAMBLE + bash(String.raw`
exec "@{0%/*}/curl-serve" "$@"
`);

/**
 * Fake kubectl. State: `$S/crds/<name>` (defined CRDs, each file their labels, one `key=value`
 * a line), `$S/capi-clusters` ("ns name" lines),
 * `$S/providers` ("type name version namespace" lines), `$S/cert-manager-version`,
 * `$S/orc-applied` (the content of the file last applied: `apply -f` takes files only),
 * `$S/orc-unready` (rollout never completes).
 * Failures: `$S/kubectl.fail` holds a substring of the arguments that make kubectl fail as
 * if the API server were down; `$S/kubectl-apply.fail` holds how many applies fail next.
 */
const FAKE_KUBECTL = PREAMBLE + bash(String.raw`
ORC_CRDS=(${FAKE_ORC_CRDS.join(" ")})
namespace=default
rest=()
while (($#)); do
    case "$1" in
        --kubeconfig | --namespace | -n)
            if [[ "$1" != --kubeconfig ]]; then namespace=$2; fi
            [[ "$1" != --kubeconfig || -f "$2" ]] || { echo "error: stat $2: no such file or directory" >&2; exit 1; }
            shift 2
            ;;
        --request-timeout=*) shift ;;
        *) rest+=("$1"); shift ;;
    esac
done
set -- "@{rest[@]}"
if [[ -f "$S/kubectl.fail" ]] && [[ "$*" == *"$(cat "$S/kubectl.fail")"* ]]; then
    echo "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?" >&2
    exit 1
fi
no_type() {
    echo "error: the server doesn't have a resource type \"$1\"" >&2
    exit 1
}
case "$1 $2" in
    "get crd")
        if [[ "@{3:-} @{4:-}" == "-o name" ]]; then
            for f in "$S/crds"/*; do
                [[ -e "$f" ]] && echo "customresourcedefinition.apiextensions.k8s.io/@{f##*/}"
            done
            exit 0
        fi
        if [[ -f "$S/crds/$3" ]]; then
            echo "customresourcedefinition.apiextensions.k8s.io/$3"
        elif [[ " $* " != *" --ignore-not-found "* ]]; then
            echo "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"$3\" not found" >&2
            exit 1
        fi
        ;;
    "get clusters.cluster.x-k8s.io")
        [[ -f "$S/crds/clusters.cluster.x-k8s.io" ]] || no_type clusters
        [[ " $* " == *" -A "* && " $* " == *" --no-headers "* ]] || { echo "fake kubectl: expected -A --no-headers" >&2; exit 64; }
        if [[ -s "$S/capi-clusters" ]]; then
            awk '{ printf "%-12s %s\n", $1, $2 }' "$S/capi-clusters"
        else
            echo "No resources found" >&2
        fi
        ;;
    "get providers.clusterctl.cluster.x-k8s.io")
        [[ -f "$S/crds/providers.clusterctl.cluster.x-k8s.io" ]] || no_type providers
        if [[ -s "$S/providers" ]]; then
            cat "$S/providers"
        fi
        ;;
    "get deployments")
        if [[ "$namespace" == cert-manager && -s "$S/cert-manager-version" ]]; then
            # One line per deployment: cert-manager, cert-manager-cainjector, cert-manager-webhook.
            for _ in 1 2 3; do cat "$S/cert-manager-version"; done
        else
            echo "No resources found in $namespace namespace." >&2
        fi
        ;;
    "get pods")
        echo "NAME                                      READY   STATUS             RESTARTS"
        echo "orc-controller-manager-5d8f9c7b6d-x2x7q   0/1     CrashLoopBackOff   5"
        ;;
    "apply --server-side")
        if [[ -f "$S/kubectl-apply.fail" ]] && (($(cat "$S/kubectl-apply.fail") > 0)); then
            echo $(($(cat "$S/kubectl-apply.fail") - 1)) >"$S/kubectl-apply.fail"
            echo "error: unable to read URL \"@{*: -1}\", server reported 503 Service Unavailable, status code=503" >&2
            exit 1
        fi
        manifest="@{*: -1}"
        [[ "@{*: -2:1}" == -f && -f "$manifest" ]] || { echo "error: the path \"$manifest\" does not exist" >&2; exit 1; }
        cp "$manifest" "$S/orc-applied"
        # The manifest's CRDs: created when missing; the apply leaves labels it does not own alone.
        for crd in "@{ORC_CRDS[@]}"; do
            touch "$S/crds/$crd"
        done
        echo "namespace/orc-system serverside-applied"
        echo "deployment.apps/orc-controller-manager serverside-applied"
        ;;
    "label --overwrite" | "label crd")
        # kubectl label [--overwrite] crd NAME... KEY=VALUE...
        overwrite=0
        if [[ "$2" == --overwrite ]]; then overwrite=1; shift; fi
        shift
        [[ "$1" == crd ]] || { echo "fake kubectl: label expects the type crd" >&2; exit 64; }
        shift
        names=()
        pairs=()
        for a in "$@"; do
            if [[ "$a" == *=* ]]; then pairs+=("$a"); else names+=("$a"); fi
        done
        ((@{#names[@]} > 0 && @{#pairs[@]} > 0)) || { echo "fake kubectl: label needs names and KEY=VALUE pairs" >&2; exit 64; }
        for n in "@{names[@]}"; do
            if [[ ! -f "$S/crds/$n" ]]; then
                echo "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"$n\" not found" >&2
                exit 1
            fi
        done
        for n in "@{names[@]}"; do
            changed=0
            for p in "@{pairs[@]}"; do
                key=@{p%%=*}
                current=$(grep -m1 "^$key=" "$S/crds/$n" || true)
                if [[ -n "$current" && "$current" != "$p" ]]; then
                    if ((!overwrite)); then
                        echo "error: '$key' already has a value (@{current#*=}), and --overwrite is false" >&2
                        exit 1
                    fi
                fi
                if [[ "$current" != "$p" ]]; then
                    { grep -v "^$key=" "$S/crds/$n" || true; echo "$p"; } >"$S/crds/$n.new"
                    mv "$S/crds/$n.new" "$S/crds/$n"
                    changed=1
                fi
            done
            echo "customresourcedefinition.apiextensions.k8s.io/$n $( ((changed)) && echo labeled || echo not labeled)"
        done
        ;;
    "set env")
        # kubectl set env (deployment/NAME | deployment --all) NAME=value... NAME-...: recorded per namespace.
        shift 2
        target=$1
        shift
        if [[ "$target" == deployment && "@{1:-}" == --all ]]; then shift; target="deployment --all"; fi
        echo "$namespace $target $*" >>"$S/set-env"
        echo "deployment.apps/@{target#deployment/} env updated"
        ;;
    "rollout status")
        timeout=""
        for a in "$@"; do
            case "$a" in --timeout=*s) timeout=@{a#--timeout=}; timeout=@{timeout%s} ;; esac
        done
        [[ -n "$timeout" ]] || { echo "fake kubectl: rollout status without --timeout=<n>s" >&2; exit 64; }
        if [[ ! -f "$S/orc-applied" ]]; then
            echo "Error from server (NotFound): deployments.apps \"@{3#deployment/}\" not found" >&2
            exit 1
        fi
        if [[ -f "$S/orc-unready" ]]; then
            echo "Waiting for deployment \"@{3#deployment/}\" rollout to finish: 0 of 1 updated replicas are available..."
            sleep "$timeout"
            echo "error: timed out waiting for the condition" >&2
            exit 1
        fi
        echo "deployment \"@{3#deployment/}\" successfully rolled out"
        ;;
    *)
        echo "fake kubectl: unexpected arguments: $*" >&2
        exit 64
        ;;
esac
`);

/**
 * Fake clusterctl: `init` adds providers to `$S/providers` (failing, as the real one does,
 * on a provider that is already installed), `upgrade apply` changes their versions (failing
 * on one that is not installed). Both require `--config` with `CLUSTER_TOPOLOGY: "true"`,
 * `--wait-providers` and `--wait-provider-timeout`, and set cert-manager's version from the
 * config file. `$S/clusterctl.fail` makes it fail with that message; `$S/clusterctl.sleep`
 * makes it hang that many real seconds first (the virtual clock stands still meanwhile, so
 * only the script's `timeout` can end it).
 */
const FAKE_CLUSTERCTL = PREAMBLE + bash(String.raw`
command="$1"
if [[ "$1" == upgrade ]]; then command="upgrade $2"; shift; fi
shift
config=""
waits=0
wanted=()
while (($#)); do
    case "$1" in
        --config | --kubeconfig)
            if [[ "$1" == --config ]]; then config=$2; fi
            shift 2
            ;;
        --core) wanted+=("CoreProvider $2 capi-system"); shift 2 ;;
        --bootstrap) wanted+=("BootstrapProvider $2 capi-kubeadm-bootstrap-system"); shift 2 ;;
        --control-plane) wanted+=("ControlPlaneProvider $2 capi-kubeadm-control-plane-system"); shift 2 ;;
        --infrastructure) wanted+=("InfrastructureProvider $2 capo-system"); shift 2 ;;
        --addon) wanted+=("AddonProvider $2 caaph-system"); shift 2 ;;
        --wait-providers) waits=$((waits + 1)); shift ;;
        --wait-provider-timeout) waits=$((waits + 1)); shift 2 ;;
        *) echo "fake clusterctl: unexpected argument $1" >&2; exit 64 ;;
    esac
done
if [[ -f "$S/clusterctl.sleep" ]]; then
    command -p sleep "$(cat "$S/clusterctl.sleep")"
fi
if [[ -f "$S/clusterctl.fail" ]]; then
    echo "Error: $(cat "$S/clusterctl.fail")" >&2
    exit 1
fi
[[ -f "$config" ]] && grep -qx 'CLUSTER_TOPOLOGY: "true"' "$config" || { echo "fake clusterctl: --config without CLUSTER_TOPOLOGY" >&2; exit 64; }
((waits == 2)) || { echo "fake clusterctl: --wait-providers and --wait-provider-timeout are required" >&2; exit 64; }
((@{#wanted[@]} > 0)) || { echo "fake clusterctl: no provider given" >&2; exit 64; }
cm_version=$(sed -n 's/^  version: "\(.*\)"$/\1/p' "$config")
# Like clusterctl with a local repository: each provider's url (the line after its type) must be
# file://<base>/<label>/<version>/<components file> with metadata.yaml beside it; so must cert-manager's.
local_file() {
    local url=$1 want=$2
    [[ "$url" == "file:///"*"/$want" && -f "@{url#file://}" ]] || { echo "fake clusterctl: $url is not a local file ending in $want" >&2; exit 65; }
}
for w in "@{wanted[@]}"; do
    read -r type ref ns <<<"$w"
    url=$(awk -v t="type: \"$type\"" 'index($0, t) { getline; sub(/^ *url: "/, ""); sub(/"$/, ""); print; exit }' "$config")
    local_file "$url" "@{ref#*:}/@{url##*/}"
    local_file "@{url%/*}/metadata.yaml" "@{ref#*:}/metadata.yaml"
done
cm_url=$(sed -n 's/^  url: "\(.*\)"$/\1/p' "$config")
local_file "$cm_url" "$cm_version/cert-manager.yaml"
touch "$S/providers"
installed() {
    awk -v t="$1" -v n="$2" '$1 == t && $2 == n' "$S/providers"
}
for w in "@{wanted[@]}"; do
    read -r type ref ns <<<"$w"
    name=@{ref%%:*}
    case "$command" in
        init)
            if [[ -n "$(installed "$type" "$name")" ]]; then
                echo "Error: installing provider \"$name\": there is already an instance of the \"$name\" provider installed in the \"$ns\" namespace" >&2
                exit 1
            fi
            ;;
        "upgrade apply")
            if [[ -z "$(installed "$type" "$name")" ]]; then
                echo "Error: unable to perform upgrade: the provider $ns/$name in not part of the management cluster" >&2
                exit 1
            fi
            ;;
        *) echo "fake clusterctl: unexpected command $command" >&2; exit 64 ;;
    esac
done
for w in "@{wanted[@]}"; do
    read -r type ref ns <<<"$w"
    name=@{ref%%:*}
    version=@{ref#*:}
    awk -v t="$type" -v n="$name" '!($1 == t && $2 == n)' "$S/providers" >"$S/providers.new"
    echo "$type $name $version $ns" >>"$S/providers.new"
    mv "$S/providers.new" "$S/providers"
    echo "Installing Provider=\"$name\" Version=\"$version\" TargetNamespace=\"$ns\"" >&2
done
mkdir -p "$S/crds"
touch "$S/crds/providers.clusterctl.cluster.x-k8s.io" "$S/crds/clusters.cluster.x-k8s.io"
if [[ ! -s "$S/cert-manager-version" || "$command" == "upgrade apply" ]]; then
    echo "$cm_version" >"$S/cert-manager-version"
fi
echo "Your management cluster has been $([[ "$command" == init ]] && echo initialized || echo upgraded) successfully!"
`);

/**
 * Fake docker: `docker exec <kind cluster>-control-plane cat /etc/kubernetes/pki/apiserver.crt`
 * prints `$S/apiserver.crt` while that kind cluster exists. Other `docker exec [-i] NODE CMD
 * ARGS` run CMD (test, cat, mkdir, cp, rm, grep) on the node's files under `$S/node/<cluster>`
 * (absolute paths other than /dev/... are rewritten there); `systemctl` in the node is only
 * recorded (the call log).
 */
const FAKE_DOCKER = PREAMBLE + bash(String.raw`
if [[ "$1" == exec && "@{2:-}" == -i ]]; then
    set -- exec "@{@:3}"
    interactive=1
else
    interactive=0
fi
if [[ "$1" != exec ]]; then
    echo "fake docker: unexpected arguments: $*" >&2
    exit 64
fi
container=$2
if [[ "$3" != cat || "@{4:-}" != /etc/kubernetes/pki/apiserver.crt ]]; then
    cluster=@{container%-control-plane}
    if [[ "$container" != *-control-plane || ! -d "$S/kind/$cluster" ]]; then
        echo "Error response from daemon: No such container: $container" >&2
        exit 1
    fi
    root="$S/node/$cluster"
    cmd=$3
    shift 3
    case "$cmd" in
        systemctl) exit 0 ;;
        test | cat | mkdir | cp | rm | grep) ;;
        *) echo "fake docker: unexpected command in the node: $cmd" >&2; exit 64 ;;
    esac
    args=()
    for a in "$@"; do
        if [[ "$a" == /* && "$a" != /dev/* ]]; then args+=("$root$a"); else args+=("$a"); fi
    done
    if ((interactive)); then
        exec "$cmd" "@{args[@]}"
    fi
    exec "$cmd" "@{args[@]}" </dev/null
fi
cluster=@{container%-control-plane}
if [[ "$container" != *-control-plane || ! -d "$S/kind/$cluster" ]]; then
    echo "Error response from daemon: No such container: $container" >&2
    exit 1
fi
if [[ "$4" != /etc/kubernetes/pki/apiserver.crt ]]; then
    echo "cat: $4: No such file or directory" >&2
    exit 1
fi
cat "$S/apiserver.crt"
`);

/** Fake systemctl of the server: only recorded (the call log). */
const FAKE_SYSTEMCTL = PREAMBLE;

/** A fake management server: the fakes first on PATH, their state and one call log. */
export class ClusterFakes {
    /** Everything of this fake server lives under here. */
    readonly root: string;
    /** The virtual clock of the runs (test/fakes/clock.ts): sleeps and `date +%s` are on it. */
    readonly clock: FakeClock;
    /** Directory with the fake commands. */
    readonly bin: string;
    /** Simulated state of the tools. */
    readonly state: string;
    /** Every call of a fake, one `<tool> <args>` line each, in order. */
    readonly callLog: string;
    /** Stands in for HOST_STATE_DIR (/var/lib/capi-mgmt). */
    readonly stateDir: string;
    /** Stands in for SERVER_KUBECONFIG (/var/lib/capi-mgmt/kubeconfig). */
    readonly kubeconfig: string;

    constructor(prefix = "cluster") {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `capi-mgmt-${prefix}-`));
        this.bin = path.join(this.root, "bin");
        this.state = path.join(this.root, "state");
        this.callLog = path.join(this.root, "calls.log");
        this.stateDir = path.join(this.root, "var", "lib", "capi-mgmt");
        this.kubeconfig = path.join(this.stateDir, "kubeconfig");
        for (const d of [this.bin, this.state, path.join(this.state, "kind"), path.join(this.state, "crds")]) {
            fs.mkdirSync(d, { recursive: true });
        }
        const fakes: Record<string, string> = {
            kind: FAKE_KIND,
            kubectl: FAKE_KUBECTL,
            clusterctl: FAKE_CLUSTERCTL,
            docker: FAKE_DOCKER,
            systemctl: FAKE_SYSTEMCTL,
            curl: FAKE_CURL_LOGGED,
            "curl-serve": FAKE_CURL,
        };
        for (const [name, text] of Object.entries(fakes)) {
            fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
        }
        fs.mkdirSync(path.join(this.state, "downloads"));
        this.publish(orcManifestUrl("v2.6.0"), FAKE_ORC_MANIFEST);
        for (const f of fakeReleaseFiles()) {
            this.publish(f.url, fakeReleaseContent(f.url));
        }
        fs.writeFileSync(this.callLog, "");
        this.clock = new FakeClock(path.join(this.root, "clock"));
    }

    /** Removes everything of this fake server. */
    cleanup(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }

    /**
     * Points a rendered script at this fake server: swaps its `readonly STATE_DIR=` and
     * `readonly KUBECONFIG_PATH=` lines (the server paths) for the temp ones. Fails the test
     * when a rendered line is not the expected server path.
     */
    relocate(script: string): string {
        const swaps: Array<[string, string]> = [
            [`readonly STATE_DIR='${HOST_STATE_DIR}'\n`, `readonly STATE_DIR='${this.stateDir}'\n`],
            [`readonly KUBECONFIG_PATH='${SERVER_KUBECONFIG}'\n`, `readonly KUBECONFIG_PATH='${this.kubeconfig}'\n`],
        ];
        let out = script;
        for (const [from, to] of swaps) {
            const name = from.split("=")[0];
            if (script.includes(`\n${name}=`)) {
                assert.strictEqual(script.split(from).length, 2, `expected exactly one ${from.trim()}`);
                out = out.replace(from, to);
            }
        }
        return out;
    }

    /** Environment for a script run: the fakes first on PATH, on this server's virtual clock. */
    env(extra: Record<string, string> = {}): Record<string, string> {
        return this.clock.env({
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: this.root,
            FAKE_STATE: this.state,
            FAKE_CALL_LOG: this.callLog,
            FAKE_CURL_FIXTURES: path.join(this.state, "downloads"),
            FAKE_CURL_LOG: path.join(this.root, "curl.log"),
            ...extra,
        });
    }

    /** Pipes a rendered script, relocated to this fake server, to `bash -s` like the program does, on the virtual clock. */
    run(script: string, extra: Record<string, string> = {}): RunResult {
        return this.clock.run(this.relocate(script), this.env(extra));
    }

    /** Every recorded call, in order. */
    calls(): string[] {
        return fs.readFileSync(this.callLog, "utf8").split("\n").filter((l) => l !== "");
    }

    /** The recorded calls of one tool whose arguments start with `args` (all of them when omitted). */
    callsOf(tool: string, args = ""): string[] {
        return this.calls().filter((l) => l.startsWith(`${tool} ${args}`));
    }

    /** Forgets the calls recorded so far. */
    clearCalls(): void {
        fs.writeFileSync(this.callLog, "");
        fs.writeFileSync(`${this.callLog}.env`, "");
    }

    /**
     * The proxy variables each recorded call of `tool` saw, in call order: name to value, for
     * the set ones only.
     */
    proxyEnvOf(tool: string): Array<Record<string, string>> {
        const file = `${this.callLog}.env`;
        const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith(`${tool} `)) : [];
        return lines.map((l) => {
            const vars: Record<string, string> = {};
            for (const pair of l.split(" ").slice(1)) {
                const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
                if (value !== "-") {
                    vars[name] = value;
                }
            }
            return vars;
        });
    }

    /** A file in the kind node of `cluster`, or undefined when it does not exist. */
    nodeFile(cluster: string, file: string): string | undefined {
        const p = path.join(this.state, "node", cluster, file);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined;
    }

    /** The recorded `kubectl set env` calls: "namespace target args" lines. */
    setEnvCalls(): string[] {
        const file = path.join(this.state, "set-env");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
    }

    /** Names of the existing kind clusters. */
    kindClusters(): string[] {
        return fs.readdirSync(path.join(this.state, "kind")).sort();
    }

    /** Node image a kind cluster was created with. */
    kindImage(name: string): string {
        return fs.readFileSync(path.join(this.state, "kind", name, "image"), "utf8").trim();
    }

    /** The admin kubeconfig kind keeps for a cluster. */
    kindKubeconfig(name: string): string {
        return fs.readFileSync(path.join(this.state, "kind", name, "kubeconfig"), "utf8");
    }

    /** Defines a CRD in the fake cluster, with `labels`. */
    defineCrd(name: string, labels: Record<string, string> = {}): void {
        const lines = Object.entries(labels).map(([k, v]) => `${k}=${v}\n`);
        fs.writeFileSync(path.join(this.state, "crds", name), lines.join(""));
    }

    /** Names of the CRDs defined in the fake cluster. */
    crds(): string[] {
        return fs.readdirSync(path.join(this.state, "crds")).sort();
    }

    /** The labels of a defined CRD. */
    crdLabels(name: string): Record<string, string> {
        const text = fs.readFileSync(path.join(this.state, "crds", name), "utf8");
        const labels: Record<string, string> = {};
        for (const line of text.split("\n").filter((l) => l !== "")) {
            const eq = line.indexOf("=");
            labels[line.slice(0, eq)] = line.slice(eq + 1);
        }
        return labels;
    }

    /** Puts Cluster API Clusters (`namespace/name`) into the fake cluster, defining their CRD. */
    setCapiClusters(clusters: string[]): void {
        this.defineCrd("clusters.cluster.x-k8s.io");
        fs.writeFileSync(path.join(this.state, "capi-clusters"), clusters.map((c) => `${c.replace("/", " ")}\n`).join(""));
    }

    /** Sets the installed providers, defining clusterctl's Provider CRD. */
    setProviders(providers: FakeProvider[]): void {
        this.defineCrd("providers.clusterctl.cluster.x-k8s.io");
        const lines = providers.map((p) => `${p.type} ${p.name} ${p.version} ${p.namespace}\n`);
        fs.writeFileSync(path.join(this.state, "providers"), lines.join(""));
    }

    /** The installed providers. */
    providers(): FakeProvider[] {
        const file = path.join(this.state, "providers");
        if (!fs.existsSync(file)) {
            return [];
        }
        return fs
            .readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => {
                const [type, name, version, namespace] = l.split(" ");
                return { type, name, version, namespace };
            });
    }

    /** Sets the version clusterctl annotated its cert-manager with. */
    setCertManagerVersion(version: string): void {
        fs.writeFileSync(path.join(this.state, "cert-manager-version"), `${version}\n`);
    }

    /** cert-manager's version, or undefined when not installed. */
    certManagerVersion(): string | undefined {
        const file = path.join(this.state, "cert-manager-version");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : undefined;
    }

    /** Makes every kubectl call whose arguments contain `pattern` fail as if the API server were down. */
    failKubectl(pattern: string): void {
        fs.writeFileSync(path.join(this.state, "kubectl.fail"), pattern);
    }

    /** Makes the next `count` `kubectl apply` calls fail. */
    failApplies(count: number): void {
        fs.writeFileSync(path.join(this.state, "kubectl-apply.fail"), `${count}\n`);
    }

    /** Makes ORC's deployment never become available. */
    orcNeverReady(): void {
        fs.writeFileSync(path.join(this.state, "orc-unready"), "");
    }

    /** The content of the file last applied with kubectl, if any. */
    orcApplied(): string | undefined {
        const file = path.join(this.state, "orc-applied");
        return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    }

    private download(url: string): string {
        return path.join(this.state, "downloads", url.replace(/[^A-Za-z0-9]/g, "_"));
    }

    /** Makes the fake curl serve `content` for `url` (the fake ORC v2.6.0 manifest is served from the start). */
    publish(url: string, content: string): void {
        fs.writeFileSync(this.download(url), content);
    }

    /** Makes the next `count` downloads of `url` fail. */
    failDownloads(url: string, count: number): void {
        fs.writeFileSync(`${this.download(url)}.fail`, `${count}\n`);
    }

    /** Makes clusterctl fail with `message`. */
    failClusterctl(message: string): void {
        fs.writeFileSync(path.join(this.state, "clusterctl.fail"), message);
    }

    /** Makes clusterctl hang for `seconds` before doing anything. */
    hangClusterctl(seconds: number): void {
        fs.writeFileSync(path.join(this.state, "clusterctl.sleep"), String(seconds));
    }

    /** Makes `kind create cluster` fail with `message`. */
    failKindCreate(message: string): void {
        fs.writeFileSync(path.join(this.state, "kind-create.fail"), message);
    }

    /** Sets the API server certificate (PEM) the control-plane container holds. */
    setApiServerCertificate(pem: string): void {
        fs.writeFileSync(path.join(this.state, "apiserver.crt"), pem);
    }
}

/**
 * Makes fake servers for one spec file and removes every one it made after the file's tests:
 * call it at the file's top level, where it registers that root `after` hook.
 */
export function fakeServersRemovedAfterAll(): (prefix: string) => ClusterFakes {
    const made: ClusterFakes[] = [];
    after(() => {
        for (const f of made.splice(0)) {
            f.cleanup();
        }
    });
    return (prefix) => {
        const f = new ClusterFakes(prefix);
        made.push(f);
        return f;
    };
}
