# shellcheck shell=bash
# Proxy helpers shared by the host scripts that download or configure Deployments
# (install-tools.sh, kind-cluster.sh, orc.sh, capi-providers.sh).
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text, from the line
# after this header on, in place of a script's `# capi-mgmt:include proxy.sh` line, because
# the scripts are streamed over SSH to `bash -s` and cannot source a file on the server.
# Reads the script's rendered parameters PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY (each
# optional; none of them: no proxy). This header, the comment lines up to the first blank
# line, is not included.

# Exports exactly the rendered proxy (upper and lower case; curl reads http_proxy only in
# lower case) for every command run from here on; without one, drops inherited proxy
# variables, so the stack config is the only source.
use_proxy() {
    unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy NO_PROXY no_proxy
    if [[ -n "${PROXY_HTTP:-}" ]]; then
        export HTTP_PROXY="$PROXY_HTTP" http_proxy="$PROXY_HTTP"
    fi
    if [[ -n "${PROXY_HTTPS:-}" ]]; then
        export HTTPS_PROXY="$PROXY_HTTPS" https_proxy="$PROXY_HTTPS"
    fi
    if [[ -n "${PROXY_HTTP:-}${PROXY_HTTPS:-}" && -n "${PROXY_NO_PROXY:-}" ]]; then
        export NO_PROXY="$PROXY_NO_PROXY" no_proxy="$PROXY_NO_PROXY"
    fi
}

# `kubectl set env` arguments, one a line, that give a Deployment's containers exactly the
# exported proxy (NAME=value) and remove the variables that are not set (NAME-). Applying
# them when nothing differs changes nothing, so nothing rolls out. Call after use_proxy.
proxy_env_args() {
    local name value
    for name in HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        value=${!name:-}
        if [[ -n "$value" ]]; then
            printf '%s\n%s\n' "$name=$value" "${name,,}=$value"
        else
            printf '%s\n%s\n' "$name-" "${name,,}-"
        fi
    done
}
