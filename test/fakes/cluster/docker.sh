#!/usr/bin/env bash
# Fake docker: `docker exec <kind cluster>-control-plane cat /etc/kubernetes/pki/apiserver.crt`
# prints `$S/apiserver.crt` while that kind cluster exists. Other `docker exec [-i] NODE CMD
# ARGS` run CMD (test, cat, mkdir, cp, rm, grep) on the node's files under `$S/node/<cluster>`
# (absolute paths other than /dev/... are rewritten there); `systemctl` in the node is only
# recorded (the call log).
# Inputs (environment, read by preamble.sh): FAKE_STATE, the state directory (`$S`);
# FAKE_CALL_LOG, the call log shared by the fakes (`<tool> <args>` a line; the proxy variables
# of each call go to `$FAKE_CALL_LOG.env`).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=preamble.sh
source "${0%/*}/preamble.sh"
if [[ "$1" == exec && "${2:-}" == -i ]]; then
    set -- exec "${@:3}"
    interactive=1
else
    interactive=0
fi
if [[ "$1" != exec ]]; then
    echo "fake docker: unexpected arguments: $*" >&2
    exit 64
fi
container=$2
if [[ "$3" != cat || "${4:-}" != /etc/kubernetes/pki/apiserver.crt ]]; then
    cluster=${container%-control-plane}
    if [[ "$container" != *-control-plane || ! -d "$S/kind/$cluster" ]]; then
        echo "Error response from daemon: No such container: $container" >&2
        exit 1
    fi
    root="$S/node/$cluster"
    cmd=$3
    shift 3
    case "$cmd" in
        systemctl) exit 0 ;;
        test | cat | mkdir | cp | rm | grep) ;;
        *) echo "fake docker: unexpected command in the node: $cmd" >&2; exit 64 ;;
    esac
    args=()
    for a in "$@"; do
        if [[ "$a" == /* && "$a" != /dev/* ]]; then args+=("$root$a"); else args+=("$a"); fi
    done
    if ((interactive)); then
        exec "$cmd" "${args[@]}"
    fi
    exec "$cmd" "${args[@]}" </dev/null
fi
cluster=${container%-control-plane}
if [[ "$container" != *-control-plane || ! -d "$S/kind/$cluster" ]]; then
    echo "Error response from daemon: No such container: $container" >&2
    exit 1
fi
if [[ "$4" != /etc/kubernetes/pki/apiserver.crt ]]; then
    echo "cat: $4: No such file or directory" >&2
    exit 1
fi
cat "$S/apiserver.crt"
