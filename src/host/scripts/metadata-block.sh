#!/usr/bin/env bash
# metadata-block.sh: keeps the containers of the capi-mgmt management server (the management
# cluster's node container, and with it every pod) away from the cloud's metadata service at
# METADATA_ADDRESS, which hands the server's user-data, the SSH host key among it, to
# whoever asks from the server. cloud-init installs it as /usr/local/sbin/capi-mgmt-metadata-block,
# run by capi-mgmt-metadata-block.service on every boot before Docker starts (lib/metadataBlock.ts).
#
# One rule in the DOCKER-USER chain of the filter table, which Docker jumps to first from
# FORWARD for its containers' traffic and never flushes (it only creates the chain when it is
# missing and appends a RETURN): traffic forwarded to METADATA_ADDRESS is rejected, an
# immediate "connection refused" rather than a client hanging until its timeout. The host's
# own traffic (cloud-init reads the metadata on every boot) leaves through OUTPUT, not
# FORWARD, and is untouched. The IPv6 metadata address (fe80::a9fe:a9fe) is link-local, which
# the kernel never forwards. Idempotent: the rule is inserted first in the chain, once.
#
# Parameters (rendered above this header by lib/metadataBlock.ts):
#   METADATA_ADDRESS  the metadata service's IPv4 address, 169.254.169.254
set -euo pipefail

rule=(-d "$METADATA_ADDRESS/32" -j REJECT --reject-with icmp-port-unreachable)
if ! iptables -w -n -L DOCKER-USER >/dev/null 2>&1; then
    iptables -w -N DOCKER-USER
fi
if ! iptables -w -C DOCKER-USER "${rule[@]}" 2>/dev/null; then
    iptables -w -I DOCKER-USER 1 "${rule[@]}"
fi
echo "metadata-block: containers cannot reach $METADATA_ADDRESS (iptables DOCKER-USER)"
