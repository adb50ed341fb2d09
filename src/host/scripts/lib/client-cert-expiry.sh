# shellcheck shell=bash
# The expiry of a kubeconfig's client certificate, shared by self-hosted-kubeconfig.sh (the
# daily refresh of the server's copy) and self-hosted-provider-kubeconfig.sh (the copy the
# program's Kubernetes provider reads). Needs awk, base64, openssl and GNU date.

# Prints the notAfter (epoch seconds) of the client certificate of the kubeconfig on stdin.
client_cert_expiry() {
    local data end
    data=$(awk '$1 == "client-certificate-data:" { print $2; exit }')
    [[ -n "$data" ]] || return 1
    end=$(base64 -d <<<"$data" 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null) || return 1
    [[ "$end" == notAfter=* ]] || return 1
    date -u -d "${end#notAfter=}" +%s
}
