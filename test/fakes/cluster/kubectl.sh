#!/usr/bin/env bash
# Fake kubectl. State: `$S/crds/<name>` (defined CRDs, each file their labels, one `key=value`
# a line), `$S/capi-clusters` ("ns name" lines),
# `$S/providers` ("type name version namespace" lines), `$S/cert-manager-version`,
# `$S/orc-applied` (the content of the file last applied: `apply -f` takes files only),
# `$S/orc-unready` (rollout never completes), `$S/orc-crds` (the CRDs of the fake ORC
# manifest, one a line: written by clusterFakes.ts from FAKE_ORC_CRDS).
# Failures: `$S/kubectl.fail` holds a substring of the arguments that make kubectl fail as
# if the API server were down; `$S/kubectl-apply.fail` holds how many applies fail next.
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
mapfile -t ORC_CRDS <"$S/orc-crds"
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
set -- "${rest[@]}"
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
        if [[ "${3:-} ${4:-}" == "-o name" ]]; then
            for f in "$S/crds"/*; do
                [[ -e "$f" ]] && echo "customresourcedefinition.apiextensions.k8s.io/${f##*/}"
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
            echo "error: unable to read URL \"${*: -1}\", server reported 503 Service Unavailable, status code=503" >&2
            exit 1
        fi
        manifest="${*: -1}"
        [[ "${*: -2:1}" == -f && -f "$manifest" ]] || { echo "error: the path \"$manifest\" does not exist" >&2; exit 1; }
        cp "$manifest" "$S/orc-applied"
        # The manifest's CRDs: created when missing; the apply leaves labels it does not own alone.
        for crd in "${ORC_CRDS[@]}"; do
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
        ((${#names[@]} > 0 && ${#pairs[@]} > 0)) || { echo "fake kubectl: label needs names and KEY=VALUE pairs" >&2; exit 64; }
        for n in "${names[@]}"; do
            if [[ ! -f "$S/crds/$n" ]]; then
                echo "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"$n\" not found" >&2
                exit 1
            fi
        done
        for n in "${names[@]}"; do
            changed=0
            for p in "${pairs[@]}"; do
                key=${p%%=*}
                current=$(grep -m1 "^$key=" "$S/crds/$n" || true)
                if [[ -n "$current" && "$current" != "$p" ]]; then
                    if ((!overwrite)); then
                        echo "error: '$key' already has a value (${current#*=}), and --overwrite is false" >&2
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
        if [[ "$target" == deployment && "${1:-}" == --all ]]; then shift; target="deployment --all"; fi
        echo "$namespace $target $*" >>"$S/set-env"
        echo "deployment.apps/${target#deployment/} env updated"
        ;;
    "rollout status")
        timeout=""
        for a in "$@"; do
            case "$a" in --timeout=*s) timeout=${a#--timeout=}; timeout=${timeout%s} ;; esac
        done
        [[ -n "$timeout" ]] || { echo "fake kubectl: rollout status without --timeout=<n>s" >&2; exit 64; }
        if [[ ! -f "$S/orc-applied" ]]; then
            echo "Error from server (NotFound): deployments.apps \"${3#deployment/}\" not found" >&2
            exit 1
        fi
        if [[ -f "$S/orc-unready" ]]; then
            echo "Waiting for deployment \"${3#deployment/}\" rollout to finish: 0 of 1 updated replicas are available..."
            sleep "$timeout"
            echo "error: timed out waiting for the condition" >&2
            exit 1
        fi
        echo "deployment \"${3#deployment/}\" successfully rolled out"
        ;;
    *)
        echo "fake kubectl: unexpected arguments: $*" >&2
        exit 64
        ;;
esac
