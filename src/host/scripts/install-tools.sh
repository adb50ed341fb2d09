#!/usr/bin/env bash
# install-tools.sh: tools step of the capi-mgmt management server (runs as root).
#
# Downloads the pinned command-line tools in parallel into a private staging directory,
# verifies every download against its SHA-256, and only when all of them are good installs
# them into INSTALL_DIR (each one atomically). A tool the manifest in STATE_DIR records at
# the same version and checksum, whose installed binary is still the one recorded, is
# skipped: a second run on a finished server downloads and changes nothing.
#
# Parameters (rendered above this header by lib/hostScripts.ts, or taken from the environment):
#   INSTALL_DIR  directory the binaries are installed into, e.g. /usr/local/bin
#   STATE_DIR    directory holding the manifest of installed tools, e.g. /var/lib/capi-mgmt
#   RETRIES      download attempts per tool (each attempt is a curl that itself retries
#                transient errors RETRIES times)
#   TOOLS        one tool per line: name|version|url|sha256|archiveMember, where
#                archiveMember is the binary's path inside a .tar.gz, empty when the URL
#                is the binary itself
#   PROXY_HTTP, PROXY_HTTPS, PROXY_NO_PROXY
#                optional: the proxy curl downloads through (capi-mgmt:proxy) and the hosts it
#                reaches directly; unset, any inherited proxy variable is dropped
set -euo pipefail

: "${INSTALL_DIR:?install-tools: INSTALL_DIR (where binaries are installed) must be set}"
: "${STATE_DIR:?install-tools: STATE_DIR (where the manifest is kept) must be set}"
: "${RETRIES:?install-tools: RETRIES (download attempts per tool) must be set}"
: "${TOOLS:?install-tools: TOOLS (lines of name|version|url|sha256|archiveMember) must be set}"

readonly MANIFEST="$STATE_DIR/tools.manifest"
readonly LOCK_FILE="$STATE_DIR/install-tools.lock"
readonly LOCK_WAIT_SECONDS=600

# The parsed TOOLS, one entry per tool at the same index in every array.
names=()
versions=()
urls=()
shas=()
members=()
# SHA-256 of each tool's installed binary (recorded in the manifest).
binary_shas=()
# Path of each pending tool's verified binary inside the staging directory.
staged=()
# Indexes of the tools that must be (re)installed.
pending=()

# Cleaned up on exit: the staging directory and a half-written file in INSTALL_DIR.
staging=""
partial=""

log() {
    echo "install-tools: $*" >&2
}

die() {
    echo "install-tools: ERROR: $*" >&2
    exit 1
}

# Proxy helpers use_proxy and proxy_env_args (host/lib/proxy.sh, put here by rendering).
# capi-mgmt:include proxy.sh

cleanup() {
    if [[ -n "$partial" ]]; then
        rm -f -- "$partial"
    fi
    if [[ -n "$staging" ]]; then
        rm -rf -- "$staging"
    fi
}

sha256_of() {
    local sum
    sum=$(sha256sum -- "$1")
    echo "${sum%% *}"
}

check_environment() {
    local arch
    arch=$(uname -m)
    if [[ "$arch" != "x86_64" ]]; then
        die "this server is $arch, but the pinned tools are linux/amd64 builds: only x86_64 is supported"
    fi
    if [[ ! "$RETRIES" =~ ^[1-9][0-9]*$ ]]; then
        die "RETRIES must be a positive whole number, got '$RETRIES'"
    fi
    if [[ "$INSTALL_DIR" != /* || "$STATE_DIR" != /* ]]; then
        die "INSTALL_DIR and STATE_DIR must be absolute paths, got '$INSTALL_DIR' and '$STATE_DIR'"
    fi
}

# Fails unless one TOOLS line's fields are well-formed.
check_tool() {
    local name=$1 version=$2 url=$3 sha=$4 member=$5 known
    [[ "$name" =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "invalid tool name '$name'"
    for known in "${names[@]}"; do
        [[ "$known" != "$name" ]] || die "tool $name is listed twice"
    done
    [[ "$version" =~ ^[0-9A-Za-z][0-9A-Za-z.+_-]*$ ]] || die "$name: invalid version '$version'"
    [[ "$url" =~ ^https://[^[:space:]]+$ ]] || die "$name: URL must be https, got '$url'"
    [[ "$sha" =~ ^[0-9a-f]{64}$ ]] || die "$name: sha256 must be 64 lowercase hex digits, got '$sha'"
    if [[ -n "$member" ]]; then
        if [[ "$member" == /* || "$member" == -* || "/$member/" == */../* ]]; then
            die "$name: archive member must be a relative path inside the archive, got '$member'"
        fi
    fi
}

parse_tools() {
    local line bars name version url sha member
    while IFS= read -r line; do
        if [[ -z "${line//[[:space:]]/}" ]]; then
            continue
        fi
        bars=${line//[^|]/}
        if ((${#bars} != 4)); then
            die "TOOLS line must have 5 fields name|version|url|sha256|archiveMember, got '$line'"
        fi
        IFS='|' read -r name version url sha member <<<"$line"
        check_tool "$name" "$version" "$url" "$sha" "$member"
        names+=("$name")
        versions+=("$version")
        urls+=("$url")
        shas+=("$sha")
        members+=("$member")
    done <<<"$TOOLS"
    ((${#names[@]} > 0)) || die "TOOLS lists no tool"
}

# Serialises runs on one server; the wait is bounded.
take_lock() {
    exec 9>>"$LOCK_FILE"
    if ! flock --wait "$LOCK_WAIT_SECONDS" 9; then
        die "another install-tools run still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s"
    fi
}

# The manifest line of a tool (name|version|sha256|installedSha256), empty when none.
manifest_entry() {
    if [[ -f "$MANIFEST" ]]; then
        awk -F'|' -v name="$1" '$1 == name { entry = $0 } END { if (entry != "") print entry }' "$MANIFEST"
    fi
}

# True when tool i is installed at its pinned version and its binary is the one recorded.
is_current() {
    local i=$1 bin="$INSTALL_DIR/${names[$1]}" entry version sha recorded actual
    entry=$(manifest_entry "${names[i]}")
    if [[ -z "$entry" || ! -f "$bin" || ! -x "$bin" ]]; then
        return 1
    fi
    IFS='|' read -r _ version sha recorded <<<"$entry"
    if [[ "$version" != "${versions[i]}" || "$sha" != "${shas[i]}" ]]; then
        return 1
    fi
    actual=$(sha256_of "$bin")
    if [[ "$actual" != "$recorded" ]]; then
        log "${names[i]}: $bin is not the binary recorded in $MANIFEST; reinstalling"
        return 1
    fi
    binary_shas[i]=$actual
}

select_pending() {
    local i
    for i in "${!names[@]}"; do
        if is_current "$i"; then
            log "skip ${names[i]} ${versions[i]}: already installed"
        else
            log "install ${names[i]} ${versions[i]}"
            pending+=("$i")
        fi
    done
}

# Downloads one URL to a file, in up to RETRIES attempts.
download() {
    local name=$1 url=$2 dest=$3 attempt
    for ((attempt = 1; attempt <= RETRIES; attempt++)); do
        if curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
            --retry "$RETRIES" --retry-all-errors --retry-max-time 900 \
            --connect-timeout 20 --max-time 600 \
            --output "$dest" "$url" </dev/null; then
            return 0
        fi
        log "$name: download attempt $attempt/$RETRIES of $url failed"
        if ((attempt < RETRIES)); then
            sleep "$attempt"
        fi
    done
    return 1
}

download_path() {
    echo "$staging/${names[$1]}.download"
}

# Downloads every pending tool in parallel and waits for each; fails if any failed.
download_all() {
    local i k pids=() failed=()
    for i in "${pending[@]}"; do
        log "downloading ${names[i]} ${versions[i]} from ${urls[i]}"
        download "${names[i]}" "${urls[i]}" "$(download_path "$i")" &
        pids+=("$!")
    done
    for k in "${!pids[@]}"; do
        if ! wait "${pids[k]}"; then
            i=${pending[k]}
            failed+=("${names[i]} (${urls[i]})")
        fi
    done
    if ((${#failed[@]} > 0)); then
        die "download failed after $RETRIES attempts: ${failed[*]}; nothing was installed"
    fi
}

# Checks every download with sha256sum -c; reports every mismatch, then fails if any.
verify_all() {
    local i file actual bad=0
    for i in "${pending[@]}"; do
        file=$(download_path "$i")
        if ! printf '%s  %s\n' "${shas[i]}" "${file##*/}" |
            (cd "$staging" && sha256sum --check --status --strict -); then
            actual=$(sha256_of "$file")
            log "ERROR: checksum mismatch for ${names[i]} ${versions[i]}: url ${urls[i]}" \
                "expected sha256 ${shas[i]}, actual sha256 $actual"
            bad=1
        fi
    done
    if ((bad)); then
        die "checksum verification failed; nothing was installed"
    fi
}

# Makes staged[i] the verified binary of tool i, extracting it from its archive if needed.
stage_binary() {
    local i=$1 file dir
    file=$(download_path "$i")
    if [[ -z "${members[i]}" ]]; then
        staged[i]=$file
        return 0
    fi
    dir="$staging/${names[i]}.extract"
    mkdir -- "$dir"
    if ! tar -xzf "$file" -C "$dir" --no-same-owner -- "${members[i]}"; then
        die "${names[i]}: cannot extract ${members[i]} from ${urls[i]}; nothing was installed"
    fi
    if [[ ! -f "$dir/${members[i]}" || -L "$dir/${members[i]}" ]]; then
        die "${names[i]}: ${members[i]} in ${urls[i]} is not a regular file; nothing was installed"
    fi
    staged[i]="$dir/${members[i]}"
}

# Installs tool i under a temporary name in INSTALL_DIR, then renames it into place.
install_one() {
    local i=$1 target="$INSTALL_DIR/${names[$1]}"
    partial="$INSTALL_DIR/.${names[i]}.install-tools.$$"
    install -m 0755 -- "${staged[i]}" "$partial"
    mv -f -T -- "$partial" "$target"
    partial=""
    binary_shas[i]=$(sha256_of "$target")
    log "installed ${names[i]} ${versions[i]} as $target"
}

is_listed() {
    local name
    for name in "${names[@]}"; do
        if [[ "$name" == "$1" ]]; then
            return 0
        fi
    done
    return 1
}

# Rewrites the manifest atomically: every listed tool, plus entries of tools no longer
# listed (their binaries stay installed).
write_manifest() {
    local i line tmp="$MANIFEST.tmp.$$"
    partial=$tmp
    {
        echo "# Tools installed by capi-mgmt install-tools: name|version|sha256|installedSha256"
        if [[ -f "$MANIFEST" ]]; then
            while IFS= read -r line; do
                if [[ -n "$line" && "$line" != \#* ]] && ! is_listed "${line%%|*}"; then
                    printf '%s\n' "$line"
                fi
            done <"$MANIFEST"
        fi
        for i in "${!names[@]}"; do
            printf '%s|%s|%s|%s\n' "${names[i]}" "${versions[i]}" "${shas[i]}" "${binary_shas[i]}"
        done
    } >"$tmp"
    chmod 0644 -- "$tmp"
    mv -f -T -- "$tmp" "$MANIFEST"
    partial=""
}

main() {
    local i
    umask 022
    check_environment
    use_proxy
    if [[ -n "${PROXY_HTTP:-}${PROXY_HTTPS:-}" ]]; then
        log "downloads go through the proxy ${PROXY_HTTPS:-$PROXY_HTTP}"
    fi
    parse_tools
    mkdir -p -- "$INSTALL_DIR" "$STATE_DIR"
    take_lock
    select_pending
    if ((${#pending[@]} == 0)); then
        echo "install-tools: all ${#names[@]} tools already installed; nothing to do"
        return 0
    fi
    trap cleanup EXIT
    staging=$(mktemp -d "${TMPDIR:-/tmp}/capi-mgmt-tools.XXXXXXXX")
    download_all
    verify_all
    for i in "${pending[@]}"; do
        stage_binary "$i"
    done
    for i in "${pending[@]}"; do
        install_one "$i"
    done
    write_manifest
    echo "install-tools: installed ${#pending[@]} of ${#names[@]} tools into $INSTALL_DIR"
}

main "$@"
