# shellcheck shell=bash
# clusterctl's local repository of verified release files, for host/capi-providers.sh.
#
# Not run on its own: lib/hostScripts.ts puts this text in place of the script's
# `# capi-mgmt:include release-repository.sh` line. Reads the rendered parameters STATE_DIR
# and RELEASE_FILES (lib/releaseFiles.ts: one file a line, "label version file url sha256",
# sha256 `-` when unpinned), the helpers log and die, and the proxy exported by use_proxy.
#
# The repository is REPOSITORY_DIR/<label>/<version>/<file>, the layout clusterctl v1.14 reads
# through a `file://` URL (cmd/clusterctl/client/repository/repository_local.go). Every file
# is checked against its pin, or, unpinned, against the SHA-256 recorded when this server
# first downloaded it (FIRST_USE_FILE); a file already in place with that SHA-256 is kept (no
# download, so a re-run does not need GitHub). Everything is downloaded and checked into a
# staging directory first; any mismatch refuses the whole run before clusterctl runs.

readonly REPOSITORY_DIR="$STATE_DIR/clusterctl-repository"
# sha256sum-style lines "<sha256>  <label>/<version>/<file>" of unpinned files, first use.
readonly FIRST_USE_FILE="$STATE_DIR/release-sha256-first-use"
readonly DOWNLOAD_TIMEOUT_SECONDS=300

# Prints the SHA-256 of file $1.
sha256_of() {
    local sum
    sum=$(sha256sum -- "$1") || die "cannot compute the SHA-256 of $1"
    echo "${sum%% *}"
}

# Prints the SHA-256 recorded on first use for "<label>/<version>/<file>" $1, or nothing.
first_use_sha256() {
    [[ -f "$FIRST_USE_FILE" ]] || return 0
    awk -v f="$1" '$2 == f { print $1; exit }' "$FIRST_USE_FILE"
}

# Checks every line of RELEASE_FILES (a rendering bug or a hand edit must not write outside
# the repository or download from elsewhere).
check_release_files() {
    local label version file url sum count=0
    while read -r label version file url sum; do
        [[ -z "$label" ]] && continue
        count=$((count + 1))
        [[ "$label" =~ ^[a-z][a-z-]*$ && "$version" =~ $VERSION_RE && "$file" =~ ^[a-z][a-z-]*\.yaml$ ]] ||
            die "RELEASE_FILES has a bad line: '$label $version $file'"
        [[ "$url" == "https://github.com/"*"/releases/download/$version/$file" ]] ||
            die "RELEASE_FILES: $label/$version/$file has a URL outside a GitHub release: '$url'"
        [[ "$sum" == "-" || "$sum" =~ ^[0-9a-f]{64}$ ]] ||
            die "RELEASE_FILES: $label/$version/$file has a bad SHA-256 '$sum'"
    done <<<"$RELEASE_FILES"
    ((count > 0)) || die "RELEASE_FILES lists no file"
}

# Downloads, verifies and puts in place every release file; refuses any mismatch, changing
# nothing. Prints (stdout) the SHA-256 of each unpinned file, so the step's output shows it.
prepare_repository() {
    local label version file url pin expected how path staging actual
    local -a mismatches=() unpinned=() recorded=() staged=()
    check_release_files
    mkdir -p -- "$REPOSITORY_DIR"
    # A staging directory left by a run that was killed (runs are serialised by the lock).
    rm -rf -- "$STATE_DIR"/clusterctl-repository.staging.*
    staging=$(mktemp -d "$STATE_DIR/clusterctl-repository.staging.XXXXXX") || die "cannot create a staging directory in $STATE_DIR"
    # shellcheck disable=SC2064 # expand now: the path is fixed
    trap "rm -rf -- '$staging'" EXIT
    while read -r label version file url pin; do
        [[ -z "$label" ]] && continue
        path="$label/$version/$file"
        expected=$pin how="is pinned"
        if [[ "$pin" == "-" ]]; then
            expected=$(first_use_sha256 "$path") how="is what this server's first download had (not pinned)"
        fi
        if [[ -n "$expected" && -f "$REPOSITORY_DIR/$path" && "$(sha256_of "$REPOSITORY_DIR/$path")" == "$expected" ]]; then
            log "$path: already in the local repository with the expected SHA-256"
        else
            mkdir -p -- "$staging/$label/$version"
            log "downloading $url"
            curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 \
                --connect-timeout 20 --max-time "$DOWNLOAD_TIMEOUT_SECONDS" --output "$staging/$path" "$url" </dev/null >&2 ||
                die "could not download $url (see the curl output above); nothing was applied. Check that the release exists and that the server reaches github.com"
            actual=$(sha256_of "$staging/$path")
            if [[ -z "$expected" ]]; then
                log "WARNING: $path is not pinned; trusting this first download, SHA-256 $actual"
                recorded+=("$actual  $path")
            elif [[ "$actual" != "$expected" ]]; then
                mismatches+=("$url has SHA-256 $actual, but $expected $how")
            fi
            staged+=("$path")
        fi
        if [[ "$pin" == "-" ]]; then
            unpinned+=("$path")
        fi
    done <<<"$RELEASE_FILES"
    if ((${#mismatches[@]} > 0)); then
        printf 'capi-providers: refused: %s\n' "${mismatches[@]}" >&2
        die "${#mismatches[@]} release file(s) differ from their SHA-256 (listed above); nothing was applied and the local repository is unchanged. If upstream re-published a release, check the new file and pin its SHA-256 in capi-mgmt:versions"
    fi
    for path in "${staged[@]}"; do
        mkdir -p -- "$REPOSITORY_DIR/${path%/*}"
        mv -f -T -- "$staging/$path" "$REPOSITORY_DIR/$path"
    done
    if ((${#recorded[@]} > 0)); then
        printf '%s\n' "${recorded[@]}" >>"$FIRST_USE_FILE"
    fi
    for path in "${unpinned[@]}"; do
        echo "capi-providers: unpinned (trusted on first use): $path sha256 $(sha256_of "$REPOSITORY_DIR/$path")"
    done
    rm -rf -- "$staging"
    trap - EXIT
}

# The `file://` URL of a provider's components file in the local repository.
repository_url() {
    echo "file://$REPOSITORY_DIR/$1/$2/$3"
}
