#!/usr/bin/env bash
# A fake kubectl for test/lbCleanup.spec.ts: answers the calls src/host/scripts/lb-cleanup.sh makes from
# files under $FAKE_STATE (clusters.json, machines/<cluster>, osc/<name>.json,
# identities/<name>, secrets/<ns>/<name>/<key>), writes what `create -f` gets to events/,
# and logs every call to $FAKE_STATE/calls.log. A file fail-<verb>-<resource> makes that
# call fail as an unreachable API server would.
set -euo pipefail
S="$FAKE_STATE"
echo "kubectl $*" >>"$S/calls.log"
args=()
while (($#)); do
    case "$1" in
        --kubeconfig | -n | --namespace) [[ "$1" == --kubeconfig ]] || ns=$2; shift 2 ;;
        -l) label=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        -f) file=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ ! -f "$S/fail-${args[0]}-${args[1]:-}" ]] || { echo "error: the server is currently unable to handle the request" >&2; exit 1; }
case "${args[0]} ${args[1]:-}" in
    "get clusters.cluster.x-k8s.io") cat "$S/clusters.json" ;;
    "get machines.cluster.x-k8s.io") c=${label#cluster.x-k8s.io/cluster-name=}; [[ ! -f "$S/machines/$c" ]] || cat "$S/machines/$c" ;;
    "get openstackclusters.infrastructure.cluster.x-k8s.io")
        f="$S/osc/${args[2]}.json"
        [[ -f "$f" ]] || { echo "Error from server (NotFound): openstackclusters \"${args[2]}\" not found" >&2; exit 1; }
        cat "$f" ;;
    "get openstackclusteridentities.infrastructure.cluster.x-k8s.io") cat "$S/identities/${args[2]}" ;;
    "get secret")
        d="$S/secrets/$ns/${args[2]}"
        [[ -d "$d" ]] || { echo "Error from server (NotFound): secrets \"${args[2]}\" not found" >&2; exit 1; }
        key=${out#jsonpath=\{.data.}; key=${key%\}}; key=${key//\\/}
        [[ ! -f "$d/$key" ]] || base64 -w0 "$d/$key" ;;
    "create ") mkdir -p "$S/events"; cp "$file" "$S/events/$(date +%s%N).json" ;;
    *) echo "fake kubectl: not faked: ${args[*]}" >&2; exit 64 ;;
esac
