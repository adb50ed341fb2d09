#!/usr/bin/env bash
# Fake of the installed refresh (self-hosted-kubeconfig.sh) for the self-hosted-provider-kubeconfig
# step's tests: logged to $FAKE_DIR/calls; $FAKE_DIR/refresh-fails makes it fail with a reason;
# $FAKE_DIR/refreshed-kubeconfig, when there, replaces the server's copy $FAKE_STATE_DIR/kubeconfig
# (as a refresh that found a renewed Secret does).
set -euo pipefail
echo "refresh $*" >>"$FAKE_DIR/calls"
if [[ -e "$FAKE_DIR/refresh-fails" ]]; then
    echo "self-hosted-kubeconfig: ERROR: fake: Cluster API has not renewed the certificate" >&2
    exit 1
fi
if [[ -e "$FAKE_DIR/refreshed-kubeconfig" ]]; then
    cp -- "$FAKE_DIR/refreshed-kubeconfig" "$FAKE_STATE_DIR/kubeconfig"
fi
