#!/usr/bin/env bash
# A fake `curl` for the host scripts' tests (install-tools, the ORC step), on PATH as `curl`.
# Serves `$FAKE_CURL_FIXTURES/<key>` for a URL (key: the URL with every non-alphanumeric
# character replaced by `_`) to the `--output`/`-o` file.
# Inputs (environment):
#   FAKE_CURL_FIXTURES  directory of the served files; `<key>.fail` holding a count above 0
#                       makes the next downloads fail (the count goes down by one each time)
#   FAKE_CURL_LOG       log: `start`/`end` lines with nanosecond times, the arguments and the
#                       proxy variables each call saw
#   FAKE_CURL_SLEEP     seconds each call sleeps (default 0)
set -euo pipefail
out=""
url=""
args=("$@")
while (($#)); do
    case "$1" in
        --output | -o) out=$2; shift 2 ;;
        https://* | http://*) url=$1; shift ;;
        *) shift ;;
    esac
done
key=${url//[^A-Za-z0-9]/_}
{
    echo "start $key $(date +%s%N)"
    echo "args $key ${args[*]}"
    echo "proxy $key http_proxy=${http_proxy--} https_proxy=${https_proxy--} no_proxy=${no_proxy--} HTTPS_PROXY=${HTTPS_PROXY--}"
} >>"$FAKE_CURL_LOG"
sleep "${FAKE_CURL_SLEEP:-0}"
fixture="$FAKE_CURL_FIXTURES/$key"
status=0
if [[ -f "$fixture.fail" ]] && (($(cat "$fixture.fail") > 0)); then
    echo $(($(cat "$fixture.fail") - 1)) >"$fixture.fail"
    echo "curl: (56) fake transient failure" >&2
    status=56
elif [[ ! -f "$fixture" ]]; then
    echo "curl: (22) The requested URL returned error: 404" >&2
    status=22
else
    cp "$fixture" "$out"
fi
echo "end $key $(date +%s%N)" >>"$FAKE_CURL_LOG"
exit "$status"
