#!/usr/bin/env bash
# The fake docker of the certificate tests (test/fakes/certFakes.ts), before the fake server's
# (test/fakes/cluster/docker.sh) on PATH: runs `kubeadm certs renew all`, `crictl ps|stop` and
# `kubectl ... get --raw=/readyz` in the kind node `<cluster>-control-plane`; hands any other
# call to the server's docker.
# Inputs (environment): FAKE_STATE (`$S`, the fake server's state), FAKE_CALL_LOG (the shared
# call log), FAKE_BASE_BIN (the server's fakes).
# Inputs (files under $S): kind/<cluster>/ (the cluster exists; its kubeconfig gets the renewed
# admin certificate), kubeadm.fail (the renewal fails with this message), renew-days (days the
# renewed certificates last, default 365), crictl-missing-<name> (no such container),
# api-down (how many readiness checks fail, or "never").
# Outputs: $S/apiserver.crt (the renewed certificate), $S/stopped (stopped container ids).
# A fake certificate is the text `FAKE CERTIFICATE notAfter=<openssl's date>`; the renewal
# dates it from the virtual clock's `date`.
set -euo pipefail
S="$FAKE_STATE"
if [[ "$1" == exec && "${2:-}" != -i && "${3:-}" =~ ^(kubeadm|crictl|kubectl)$ ]]; then
    printf 'docker %s\n' "$*" >>"$FAKE_CALL_LOG"
    cluster=${2%-control-plane}
    [[ -d "$S/kind/$cluster" ]] || { echo "Error response from daemon: No such container: $2" >&2; exit 1; }
    shift 2
    case "$*" in
        "kubeadm certs renew all")
            if [[ -f "$S/kubeadm.fail" ]]; then echo "error: $(cat "$S/kubeadm.fail")" >&2; exit 1; fi
            days=$(cat "$S/renew-days" 2>/dev/null || echo 365)
            t=$(($(date +%s) + days * 86400))
            cert="FAKE CERTIFICATE notAfter=$(date -u -d "@$t" '+%b %e %H:%M:%S %Y GMT')"
            echo "$cert" >"$S/apiserver.crt"
            data=$(printf '%s\n' "$cert" | base64 -w0)
            sed -i -E "s#(client-certificate-data: ).*#\1$data#; s#(client-key-data: ).*#\1$(printf 'key-%s' "$t" | base64 -w0)#" "$S/kind/$cluster/kubeconfig"
            echo "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed"
            ;;
        "crictl ps --quiet --state running --name "*)
            name=${7#^}
            name=${name%$}
            [[ -f "$S/crictl-missing-$name" ]] || echo "$name-0123456789ab"
            ;;
        "crictl stop "*)
            echo "$3" >>"$S/stopped"
            echo "$3"
            ;;
        "kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=10s get --raw=/readyz")
            down=$(cat "$S/api-down" 2>/dev/null || echo 0)
            if [[ "$down" == never ]] || ((down > 0)); then
                [[ "$down" == never ]] || echo $((down - 1)) >"$S/api-down"
                echo "The connection to the server localhost:6443 was refused" >&2
                exit 1
            fi
            echo ok
            ;;
        *) echo "fake docker: unexpected command in the node: $*" >&2; exit 64 ;;
    esac
    exit 0
fi
exec "$FAKE_BASE_BIN/docker" "$@"
