#!/usr/bin/env bash
# self-hosted-kubeconfig-install.sh: the self-hosted-kubeconfig step of `pulumi up`
# (managementCluster.mode selfHosted, src/cluster/selfHosted.ts; runs as root). Installs the
# refresh of the self-hosted cluster's kubeconfig (src/host/scripts/self-hosted-kubeconfig.sh,
# rendered) and its daily systemd timer (src/host/systemd/capi-mgmt-self-hosted-kubeconfig.*)
# as lib/timer-install.sh does for the other timers, then runs the refresh once: an `up` that
# finds the copy expiring and not refreshable fails with the refresh's reason, as the unit does.
# Idempotent; a second run writes nothing.
#
# Parameters (rendered by src/cluster/selfHostedKubeconfig.ts):
#   SCRIPT_PATH  where the refresh goes (root-only, executable)
#   SCRIPT       its text
#   UNIT_DIR     systemd's directory for local units
#   UNIT         name of the service and the timer
#   SERVICE      text of <UNIT>.service
#   TIMER        text of <UNIT>.timer
set -euo pipefail
umask 022

# capi-mgmt:include files.sh
# capi-mgmt:include timer-install.sh

install_timer self-hosted-kubeconfig-install "$SCRIPT_PATH" "$SCRIPT" "$UNIT_DIR" "$UNIT" "$SERVICE" "$TIMER"
"$SCRIPT_PATH" >&2
echo "self-hosted-kubeconfig-install: the self-hosted cluster's kubeconfig on the server is current"
