#!/usr/bin/env bash
# A `kubectl` for src/host/scripts/pivot.sh (test/pivot.spec.ts): two fake management clusters,
# each a directory holding its kubeconfig (a line "server: URL") and its state, one file per
# kind, a line per object, fields separated by "|":
#   clusters    name|spec.paused|infrastructureProvisioned|ControlPlaneInitialized|controlPlaneInitialized|RollingOut|annotations
#   classes     name|annotations
#   machines    name|nodeRef name
#   crds        a CRD name per line
#   orc         resource|name|managementPolicy|onDelete|cloudCredentialsRef secret|annotations
#   providers   type/providerName|version
#   idrefs      identityRef type|name (of the OpenStackClusters and their templates)
#   identities  name|namespace/secret
#   secrets     namespace/name|labels (JSON)
#   objects     resource|kind.group/name (for `get RESOURCE -o name`)
#   kustomizations  namespace/name|spec.suspend (Flux)
# Annotations and labels are JSON-like text: `annotate K=V` appends "K":"V", `annotate K-` removes it.
# Inputs (environment): FAKE_LOG (`kubectl <args>` a line, the kubeconfig's directory name first).
set -uo pipefail
kc="" ns="" out="" args=()
while (($#)); do
    case "$1" in
        --kubeconfig) kc=$2; shift ;;
        -n) ns=$2; shift ;;
        -o) out=$2; shift ;;
        --request-timeout=*) ;;
        *) args+=("$1") ;;
    esac
    shift
done
st=$(dirname -- "$kc")
echo "kubectl [${st##*/}] -n ${ns:-} ${args[*]} ${out:+-o $out}" >>"$FAKE_LOG"
[[ -f "$st/unreachable" ]] && { echo "fake kubectl: connection refused" >&2; exit 1; }
f() { touch "$st/$1"; echo "$st/$1"; }
# A line's key: its first field, or (ORC objects, KEYS=2) "resource/name" of its first two.
KEYS=1
# rewrite FILE KEY FIELD VALUE: sets field FIELD of the line with key KEY (every line: KEY=*).
rewrite() {
    awk -F'|' -v OFS='|' -v k="$2" -v i="$3" -v v="$4" -v keys="$KEYS" '((keys == 2 ? $1 "/" $2 : $1) == k || k == "*") { $i = v } { print }' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
# annotate FILE KEY FIELD ANNOTATION: K=V adds "K":"V" to field FIELD, K- removes "K":...
annotate() {
    local file=$1 key=$2 i=$3 a=$4
    awk -F'|' -v OFS='|' -v k="$key" -v i="$i" -v a="$a" -v keys="$KEYS" '
        ((keys == 2 ? $1 "/" $2 : $1) == k || k == "*") {
            if (a ~ /-$/) { name = substr(a, 1, length(a) - 1); gsub("\"" name "\":\"[^\"]*\"", "", $i) }
            else { split(a, kv, "="); gsub("\"" kv[1] "\":\"[^\"]*\"", "", $i); $i = $i "\"" kv[1] "\":\"" substr(a, length(kv[1]) + 2) "\"" }
        }
        { print }' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}
verb=${args[0]:-}
res=${args[1]:-}
name=${args[2]:-}
case "$verb $res" in
    "config view") sed -n 's/^server: //p' "$kc" ;;
    "get clusters.v1beta2.cluster.x-k8s.io")
        if [[ "$out" == *infrastructureProvisioned* ]]; then cat "$(f clusters)"; else awk -F'|' '{ print $1 "|" $2 "|" $7 }' "$(f clusters)"; fi ;;
    "get clusterclasses.v1beta2.cluster.x-k8s.io") cat "$(f classes)" ;;
    "get machines.v1beta2.cluster.x-k8s.io") cat "$(f machines)" ;;
    "get crd")
        if [[ "$out" == name ]]; then sed 's#^#customresourcedefinition.apiextensions.k8s.io/#' "$(f crds)"; else cat "$(f crds)"; fi ;;
    "get providers.clusterctl.cluster.x-k8s.io") cat "$(f providers)" ;;
    "get kustomizations.kustomize.toolkit.fluxcd.io") cat "$(f kustomizations)" ;;
    "get openstackclusters.infrastructure.cluster.x-k8s.io,openstackclustertemplates.infrastructure.cluster.x-k8s.io") cat "$(f idrefs)" ;;
    "get openstackclusteridentities.infrastructure.cluster.x-k8s.io")
        line=$(grep "^$name|" "$(f identities)") || { echo "Error from server (NotFound): $name not found" >&2; exit 1; }
        [[ "$out" == name ]] && echo "openstackclusteridentity/$name" || echo "${line#*|}" ;;
    "get secret")
        line=$(grep "^$ns/$name|" "$(f secrets)") || { echo "Error from server (NotFound): secrets \"$name\" not found" >&2; exit 1; }
        [[ "$out" == name ]] && echo "secret/$name" || echo "${line#*|}" ;;
    "label secret")
        annotate "$(f secrets)" "$ns/$name" 2 "${args[3]}" ;;
    "label crd" | "label --overwrite") ;;
    "patch clusters.v1beta2.cluster.x-k8s.io") rewrite "$(f clusters)" "$name" 2 "$([[ "${args[*]}" == *'"paused":false'* ]] && echo false || echo true)" ;;
    "annotate clusters.v1beta2.cluster.x-k8s.io")
        if [[ "$name" == --all ]]; then annotate "$(f clusters)" "*" 7 "${args[-1]}"; else annotate "$(f clusters)" "$name" 7 "${args[-1]}"; fi ;;
    "annotate clusterclasses.v1beta2.cluster.x-k8s.io")
        if [[ "$name" == --all ]]; then annotate "$(f classes)" "*" 2 "${args[-1]}"; else annotate "$(f classes)" "$name" 2 "${args[-1]}"; fi ;;
    *)
        if [[ "$res" == *.openstack.k-orc.cloud ]]; then
            # ORC objects: keyed "resource/name" in the file's first two fields.
            file=$(f orc)
            case "$verb" in
                get)
                    if [[ "$out" == name ]]; then
                        awk -F'|' -v r="$res" '$1 == r { print r "/" $2 }' "$file"
                    elif [[ -n "$name" ]]; then
                        awk -F'|' -v r="$res" -v n="$name" '$1 == r && $2 == n { print $6 }' "$file" | sed -n 's/.*"capi-mgmt.io\/pivot-on-delete":"\([^"]*\)".*/\1/p'
                    else
                        awk -F'|' -v r="$res" '$1 == r' "$file"
                    fi ;;
                annotate)
                    KEYS=2
                    annotate "$file" "$res/$name" 6 "${args[-1]}" ;;
                patch)
                    KEYS=2
                    p=${args[-1]}
                    case "$p" in
                        *'"onDelete":"detach"'*) v=detach ;;
                        *'"op":"remove"'*) v="" ;;
                        *) v=$(sed -n 's/.*"value":"\([^"]*\)".*/\1/p' <<<"$p") ;;
                    esac
                    rewrite "$file" "$res/$name" 4 "$v" ;;
            esac
        elif [[ "$verb" == get && "$out" == name ]]; then
            awk -F'|' -v r="$res" '$1 == r { print $2 }' "$(f objects)"
        else
            echo "fake kubectl: unexpected ${args[*]}" >&2
            exit 64
        fi ;;
esac
