# shellcheck shell=bash
# File helpers shared by the host scripts that keep files on the server in a given state
# (host-proxy.sh, cert-renewal.sh).
#
# Not run on its own: lib/hostScripts.ts (renderHostScript) puts this text in place of a
# script's `# capi-mgmt:include files.sh` line (see host/lib/proxy.sh).

# Writes `content` (newline-terminated) to `file` atomically with `mode`; returns 1 when the
# file already holds exactly that (nothing written), 0 when it was written.
write_if_changed() {
    local file=$1 content=$2 mode=$3 tmp
    if [[ "$content" != *$'\n' ]]; then
        content+=$'\n'
    fi
    if [[ -f "$file" ]] && printf '%s' "$content" | cmp -s - "$file"; then
        return 1
    fi
    mkdir -p -- "$(dirname -- "$file")"
    tmp="$file.tmp.$$"
    printf '%s' "$content" >"$tmp"
    chmod "$mode" -- "$tmp"
    mv -f -T -- "$tmp" "$file"
    return 0
}
