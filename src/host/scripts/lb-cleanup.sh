#!/usr/bin/env bash
# Clears what OpenStack would otherwise keep a deleting workload cluster's network with:
# the Octavia load balancers the cluster's cloud controller manager (OCCM) made for its
# Services of type LoadBalancer, and their floating IPs. Without this CAPO's removal of
# the router interface and the network fails for ever and the Cluster stays in Deleting
# (CAPO #842). Runs on the management server from a systemd timer (lb-cleanup-install.sh)
# and needs nothing from the workload cluster: its API may be gone already.
#
# For each Cluster of NAMESPACE with a deletionTimestamp whose Machines are all gone (so
# its OCCM no longer runs and cannot re-create what is deleted; CAPO waits for the same
# before it touches the network), with the credential of its own OpenStackCluster
# (spec.identityRef) it deletes, and nothing else:
#   - each Octavia load balancer named kube_service_<cluster name>_... (OCCM's
#     --cluster-name is the Cluster's name) whose VIP is on the cluster's network
#     (OpenStackCluster status.network.id), cascading listeners, pools and monitors;
#   - before it, the floating IPs on that load balancer's VIP port that OCCM created
#     (description "Floating IP for Kubernetes external service ..."); an address the user
#     brought (Service loadBalancerIP) is only released from the port by the deletion.
# Cinder volumes of the cluster's PersistentVolumes (metadata
# cinder.csi.openstack.org/cluster = <name>.<uid>, Cinder CSI's clusterID) do not block
# the network: they are kept and listed in the journal and in an Event on the Cluster,
# unless the Cluster carries DELETE_VOLUMES_LABEL=true (then the unattached ones are
# deleted). Volumes tagged with the bare cluster name (made before the clusterID had the
# uid) are listed, never deleted: another cluster of that name may own them.
#
# Idempotent; a failure for one cluster or object is logged and retried on the next run,
# the others go on. Exit 0 when nothing failed, 1 otherwise.
#
# Parameters (rendered by lib/lbCleanup.ts):
#   MGMT_KUBECONFIG        admin kubeconfig of the kind cluster
#   ACTIVE_KUBECONFIG      the active management cluster's kubeconfig when it exists
#                          (lib/mgmt-kubeconfig.sh); the cleanup reads that cluster
#   NAMESPACE              namespace of the workload Clusters
#   STATE_DIR              root-only directory: the lock and what was last reported
#   DELETE_VOLUMES_LABEL   label key a Cluster opts in to volume deletion with (value "true")
#   CALL_TIMEOUT_SECONDS   bound of each kubectl and HTTP call
#   PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY  optional: the proxy to the OpenStack APIs
set -euo pipefail
umask 077

# capi-mgmt:include proxy.sh
# capi-mgmt:include mgmt-kubeconfig.sh

mgmt=$(mgmt_kubeconfig "$MGMT_KUBECONFIG" "$ACTIVE_KUBECONFIG")

log() {
    printf 'lb-cleanup: %s\n' "$*"
}

# The JSON and YAML work, in python3 (on every Ubuntu server: cloud-init is written in it).
# Subcommands read a document on stdin and print tab-separated lines.
PY=$(
    cat <<'EOF'
import json, sys, urllib.parse
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "clouds":
    import yaml
    cloud = ((yaml.safe_load(sys.stdin) or {}).get("clouds") or {}).get(args[0])
    if not cloud:
        sys.exit("no cloud %r in clouds.yaml" % args[0])
    auth = cloud.get("auth") or {}
    url = auth.get("auth_url", "").rstrip("/")
    if not url.endswith("/v3"):
        url += "/v3"
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": auth.get("application_credential_id", ""), "secret": auth.get("application_credential_secret", "")}}}}
    with open(args[1], "w") as f:
        json.dump(body, f)
    print("%s\t%s\t%s" % (url, cloud.get("region_name", ""), cloud.get("interface", "public")))
    sys.exit(0)
doc = json.load(sys.stdin)
if cmd == "deleting":
    label = args[0]
    for c in doc.get("items", []):
        m = c.get("metadata", {})
        if not m.get("deletionTimestamp"):
            continue
        infra = (c.get("spec") or {}).get("infrastructureRef") or {}
        optin = "1" if (m.get("labels") or {}).get(label) == "true" else "0"
        print("\t".join([m["name"], m.get("uid", ""), infra.get("name", "") if infra.get("kind") == "OpenStackCluster" else "", optin]))
elif cmd == "osc":
    net = ((doc.get("status") or {}).get("network") or {}).get("id", "")
    ref = (doc.get("spec") or {}).get("identityRef") or {}
    print("\t".join([net or "-", ref.get("type") or "Secret", ref.get("name", ""), ref.get("cloudName", "")]))
elif cmd == "catalog":
    region, iface = args
    token = doc.get("token", {})
    out = {"load-balancer": "", "network": "", "block-storage": ""}
    aliases = {"volumev3": "block-storage"}
    for svc in token.get("catalog", []):
        kind = aliases.get(svc.get("type"), svc.get("type"))
        if kind not in out or out[kind]:
            continue
        for ep in svc.get("endpoints", []):
            if ep.get("interface") == iface and (not region or ep.get("region_id", ep.get("region")) == region):
                out[kind] = ep["url"].rstrip("/")
                break
    print("\t".join([out["load-balancer"] or "-", out["network"] or "-", out["block-storage"] or "-", token.get("project", {}).get("id", "-")]))
elif cmd == "lbs":
    prefix, network, project = args
    for lb in doc.get("loadbalancers", []):
        if lb.get("name", "").startswith(prefix) and lb.get("vip_network_id") == network and lb.get("project_id") in (None, project):
            print("\t".join([lb["id"], lb["name"], lb.get("vip_port_id") or "-", lb.get("provisioning_status", "")]))
elif cmd == "fips":
    for f in doc.get("floatingips", []):
        if f.get("port_id") != args[0]:
            continue
        ours = (f.get("description") or "").startswith("Floating IP for Kubernetes external service")
        print("\t".join([f["id"], f.get("floating_ip_address", ""), "occm" if ours else "user"]))
elif cmd == "volumes":
    exact, legacy = args
    for v in doc.get("volumes", []):
        md = v.get("metadata") or {}
        tag = md.get("cinder.csi.openstack.org/cluster")
        if tag not in (exact, legacy):
            continue
        pvc = "%s/%s" % (md.get("csi.storage.k8s.io/pvc/namespace", "?"), md.get("csi.storage.k8s.io/pvc/name", "?"))
        print("\t".join([v["id"], "exact" if tag == exact else "name-only", v.get("status", ""), str(v.get("size", "")), pvc]))
elif cmd == "query":
    print(urllib.parse.quote(json.dumps({"cinder.csi.openstack.org/cluster": args[0]}, separators=(",", ":"))))
EOF
)

py() {
    python3 -c "$PY" "$@"
}

kube() {
    timeout "$CALL_TIMEOUT_SECONDS" kubectl --kubeconfig "$mgmt" "$@" </dev/null
}

# api METHOD URL [BODY_FILE]: the response body in $work/body, the HTTP status on stdout
# ("000" when the server was not reached). The token goes in a header file, never on a
# command line.
api() {
    local method=$1 url=$2 data=${3:-}
    local args=(--silent --show-error --max-time "$CALL_TIMEOUT_SECONDS" --request "$method" --output "$work/body"
        --write-out '%{http_code}' --header 'Accept: application/json')
    [[ -s "$work/token.header" ]] && args+=(--header "@$work/token.header")
    [[ -n "$cacert" ]] && args+=(--cacert "$cacert")
    [[ -n "$data" ]] && args+=(--header 'Content-Type: application/json' --data-binary "@$data")
    curl "${args[@]}" "$url" 2>"$work/curl.err" || true
}

# Posts an Event on Cluster $1 (uid $2): reason $3, message $4. Best effort.
cluster_event() {
    local name=$1 uid=$2 reason=$3 message=$4 now
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    python3 -c 'import json,sys; n,u,r,m,t,ns=sys.argv[1:]; print(json.dumps({"apiVersion":"v1","kind":"Event",
"metadata":{"generateName":n+".capi-mgmt-cleanup-","namespace":ns},
"involvedObject":{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Cluster","name":n,"namespace":ns,"uid":u},
"reason":r,"message":m[:1000],"type":"Warning","firstTimestamp":t,"lastTimestamp":t,"count":1,
"source":{"component":"capi-mgmt-lb-cleanup"}}))' "$name" "$uid" "$reason" "$message" "$now" "$NAMESPACE" >"$work/event.json"
    timeout "$CALL_TIMEOUT_SECONDS" kubectl --kubeconfig "$mgmt" create -f "$work/event.json" >/dev/null 2>&1 </dev/null ||
        log "$name: could not post the Event $reason (the journal has it)"
}

# Reads the credential the cluster's OpenStackCluster names and gets a token; sets the
# endpoints. Returns 1 (logged) when that fails.
authenticate() {
    local name=$1 type=$2 ref=$3 cloud=$4 secret_ns secret_name line code
    cacert=""
    rm -f -- "$work/token.header"
    if [[ "$type" == ClusterIdentity ]]; then
        if ! line=$(kube get openstackclusteridentities.infrastructure.cluster.x-k8s.io "$ref" -o 'jsonpath={.spec.secretRef.namespace} {.spec.secretRef.name}' 2>"$work/err"); then
            log "$name: cannot read OpenStackClusterIdentity $ref: $(cat "$work/err")"
            return 1
        fi
        secret_ns=${line% *}
        secret_name=${line#* }
    else
        secret_ns=$NAMESPACE
        secret_name=$ref
    fi
    if ! kube get secret -n "$secret_ns" "$secret_name" -o 'jsonpath={.data.clouds\.yaml}' >"$work/clouds.b64" 2>"$work/err" ||
        ! base64 --decode <"$work/clouds.b64" >"$work/clouds.yaml" 2>/dev/null || [[ ! -s "$work/clouds.yaml" ]]; then
        log "$name: cannot read clouds.yaml from Secret $secret_ns/$secret_name: $(cat "$work/err")"
        return 1
    fi
    if kube get secret -n "$secret_ns" "$secret_name" -o 'jsonpath={.data.cacert}' >"$work/cacert.b64" 2>/dev/null &&
        [[ -s "$work/cacert.b64" ]] && base64 --decode <"$work/cacert.b64" >"$work/cacert.pem" 2>/dev/null; then
        cacert="$work/cacert.pem"
    fi
    if ! line=$(py clouds "$cloud" "$work/auth.json" <"$work/clouds.yaml" 2>"$work/err"); then
        log "$name: clouds.yaml of Secret $secret_ns/$secret_name: $(cat "$work/err")"
        return 1
    fi
    IFS=$'\t' read -r auth_url region iface <<<"$line"
    code=$(curl --silent --show-error --max-time "$CALL_TIMEOUT_SECONDS" --output "$work/body" --dump-header "$work/headers" \
        --write-out '%{http_code}' ${cacert:+--cacert "$cacert"} --header 'Content-Type: application/json' \
        --data-binary "@$work/auth.json" "$auth_url/auth/tokens" 2>"$work/curl.err") || true
    rm -f -- "$work/auth.json"
    if [[ "$code" != 201 ]]; then
        log "$name: Keystone at $auth_url refused or did not answer (HTTP $code) $(cat "$work/curl.err")"
        return 1
    fi
    sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: *\([^[:space:]]*\).*$/X-Auth-Token: \1/p' "$work/headers" >"$work/token.header"
    rm -f -- "$work/headers"
    IFS=$'\t' read -r lb_url net_url vol_url project <<<"$(py catalog "$region" "$iface" <"$work/body")"
    if [[ ! -s "$work/token.header" || "$lb_url" == - || "$net_url" == - ]]; then
        log "$name: Keystone's answer has no token or no load-balancer/network endpoint ($iface${region:+, region $region})"
        return 1
    fi
}

# Deletes the OCCM load balancers of Cluster $1 on network $2 and their floating IPs.
clean_load_balancers() {
    local name=$1 network=$2 code failed=0 id lb vip status fip addr owner
    code=$(api GET "$lb_url/v2/lbaas/loadbalancers?vip_network_id=$network&project_id=$project")
    if [[ "$code" != 200 ]]; then
        log "$name: cannot list load balancers (HTTP $code) $(cat "$work/curl.err")"
        return 1
    fi
    py lbs "kube_service_${name}_" "$network" "$project" <"$work/body" >"$work/lbs"
    if [[ ! -s "$work/lbs" ]]; then
        log "$name: no load balancer of the cluster's cloud controller manager is left on network $network"
        return 0
    fi
    while IFS=$'\t' read -r id lb vip status; do
        case "$status" in
            PENDING_DELETE | DELETED)
                log "$name: load balancer $lb ($id) is being deleted"
                continue
                ;;
            PENDING_*)
                log "$name: load balancer $lb ($id) is $status; trying again on the next run"
                failed=1
                continue
                ;;
        esac
        if [[ "$vip" != - ]]; then
            code=$(api GET "$net_url/v2.0/floatingips?port_id=$vip")
            if [[ "$code" != 200 ]]; then
                log "$name: cannot list the floating IPs of load balancer $lb (HTTP $code); it is kept until they can be read"
                failed=1
                continue
            fi
            py fips "$vip" <"$work/body" >"$work/fips"
            local fip_failed=0
            while IFS=$'\t' read -r fip addr owner; do
                if [[ "$owner" != occm ]]; then
                    log "$name: floating IP $addr ($fip) of $lb was not made by the cloud controller manager: kept (released from the port with the load balancer)"
                    continue
                fi
                code=$(api DELETE "$net_url/v2.0/floatingips/$fip")
                if [[ "$code" == 204 || "$code" == 404 ]]; then
                    log "$name: deleted floating IP $addr ($fip) of load balancer $lb"
                else
                    log "$name: could not delete floating IP $addr ($fip) of $lb (HTTP $code); the load balancer is kept until it is gone"
                    fip_failed=1
                fi
            done <"$work/fips"
            if ((fip_failed)); then
                failed=1
                continue
            fi
        fi
        code=$(api DELETE "$lb_url/v2/lbaas/loadbalancers/$id?cascade=true")
        case "$code" in
            202 | 204) log "$name: deleting load balancer $lb ($id) with its listeners, pools and monitors" ;;
            404) log "$name: load balancer $lb ($id) is already gone" ;;
            *)
                log "$name: could not delete load balancer $lb ($id) (HTTP $code): $(head -c 300 "$work/body" 2>/dev/null)"
                failed=1
                ;;
        esac
    done <"$work/lbs"
    return "$failed"
}

# Lists the Cinder volumes of Cluster $1 (uid $2); deletes the exactly tagged, unattached
# ones when $3 is 1.
handle_volumes() {
    local name=$1 uid=$2 optin=$3 tag code id match status size pvc listing="" failed=0 q t
    tag="$name.$uid"
    if [[ "$vol_url" == - ]]; then
        log "$name: the catalog has no block-storage endpoint: volumes not checked"
        return 0
    fi
    : >"$work/vols"
    for t in "$tag" "$name"; do
        q=$(py query "$t" <<<'{}')
        code=$(api GET "$vol_url/volumes/detail?metadata=$q")
        if [[ "$code" != 200 ]]; then
            log "$name: cannot list volumes (HTTP $code)"
            return 1
        fi
        py volumes "$tag" "$name" <"$work/body" >>"$work/vols"
    done
    sort -u -o "$work/vols" "$work/vols"
    [[ -s "$work/vols" ]] || return 0
    while IFS=$'\t' read -r id match status size pvc; do
        if [[ "$optin" == 1 && "$match" == exact && "$status" == available ]]; then
            code=$(api DELETE "$vol_url/volumes/$id")
            if [[ "$code" == 202 || "$code" == 404 ]]; then
                log "$name: deleted volume $id of PVC $pvc (${size} GiB): the Cluster opted in with $DELETE_VOLUMES_LABEL=true"
                continue
            fi
            log "$name: could not delete volume $id of PVC $pvc (HTTP $code)"
            failed=1
        elif [[ "$optin" == 1 && "$match" == exact ]]; then
            log "$name: volume $id of PVC $pvc is $status, not available: deleted on a later run"
            failed=1
            continue
        fi
        local note=""
        [[ "$match" == exact ]] || note="; tagged with the cluster's name only, so never deleted here"
        listing+="${listing:+, }$id (PVC $pvc, ${size} GiB, $status$note)"
    done <"$work/vols"
    if [[ -n "$listing" ]]; then
        local message="Cinder volumes of cluster $name are kept (delete them by hand, or label the Cluster $DELETE_VOLUMES_LABEL=true before deleting it): $listing"
        log "$message"
        # One Event per distinct list, not one a minute.
        if [[ "$(cat "$STATE_DIR/$uid.volumes" 2>/dev/null)" != "$listing" ]]; then
            cluster_event "$name" "$uid" CinderVolumesKept "$message"
            printf '%s' "$listing" >"$STATE_DIR/$uid.volumes"
        fi
    fi
    return "$failed"
}

clean_cluster() {
    local name=$1 uid=$2 infra=$3 optin=$4 machines line network type ref cloud
    if ! machines=$(kube get machines.cluster.x-k8s.io -n "$NAMESPACE" -l "cluster.x-k8s.io/cluster-name=$name" -o name 2>"$work/err"); then
        log "$name: cannot list its Machines: $(cat "$work/err")"
        return 1
    fi
    if [[ -n "$machines" ]]; then
        log "$name: deleting; waiting for its $(wc -l <<<"$machines") Machine(s) to go (its cloud controller manager may still run)"
        return 0
    fi
    if [[ -z "$infra" ]]; then
        log "$name: no OpenStackCluster: nothing to clean"
        return 0
    fi
    if ! kube get openstackclusters.infrastructure.cluster.x-k8s.io -n "$NAMESPACE" "$infra" -o json >"$work/osc.json" 2>"$work/err"; then
        if grep -q NotFound "$work/err"; then
            log "$name: OpenStackCluster $infra is gone: nothing to clean"
            return 0
        fi
        log "$name: cannot read OpenStackCluster $infra: $(cat "$work/err")"
        return 1
    fi
    IFS=$'\t' read -r network type ref cloud <<<"$(py osc <"$work/osc.json")"
    if [[ "$network" == - ]]; then
        log "$name: OpenStackCluster $infra has no network in its status: nothing to clean"
        return 0
    fi
    authenticate "$name" "$type" "$ref" "$cloud" || return 1
    local failed=0
    clean_load_balancers "$name" "$network" || failed=1
    handle_volumes "$name" "$uid" "$optin" || failed=1
    return "$failed"
}

main() {
    local tool
    for tool in kubectl curl python3 base64 timeout flock; do
        command -v "$tool" >/dev/null 2>&1 || {
            log "ERROR: $tool is not installed"
            exit 1
        }
    done
    use_proxy
    mkdir -p -- "$STATE_DIR"
    exec 9>>"$STATE_DIR/lb-cleanup.lock"
    flock 9
    work=$(mktemp -d)
    trap 'rm -rf -- "$work"' EXIT
    if ! kube get clusters.cluster.x-k8s.io -n "$NAMESPACE" -o json >"$work/clusters.json" 2>"$work/err"; then
        log "ERROR: cannot list the Clusters of $NAMESPACE: $(cat "$work/err")"
        exit 1
    fi
    local failed=0 name uid infra optin
    while IFS=$'\t' read -r name uid infra optin; do
        clean_cluster "$name" "$uid" "$infra" "$optin" || failed=1
    done < <(py deleting "$DELETE_VOLUMES_LABEL" <"$work/clusters.json")
    exit "$failed"
}

work=""
cacert=""
auth_url="" region="" iface="" lb_url="" net_url="" vol_url="" project=""
main "$@"
