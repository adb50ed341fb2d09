#!/usr/bin/env bash
# Fake docker for src/host/scripts/rebuild-check.sh's tests: `ps -aq --filter label=io.x-k8s.kind.cluster`
# prints $FAKE_KIND_NODES; FAKE_DOCKER=down fails like a daemon that does not answer.
set -euo pipefail
echo "docker $*" >>"$FAKE_LOG"
if [[ "${FAKE_DOCKER:-up}" == down ]]; then
    echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
    exit 1
fi
if [[ "$*" != "ps -aq --filter label=io.x-k8s.kind.cluster" ]]; then
    echo "fake docker: unexpected: $*" >&2
    exit 64
fi
if [[ -n "${FAKE_KIND_NODES:-}" ]]; then
    printf '%s\n' "$FAKE_KIND_NODES"
fi
