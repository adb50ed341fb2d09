#!/usr/bin/env bash
# A fake `uname` for src/host/scripts/install-tools.sh: prints the machine name the test chose.
# Inputs (environment):
#   FAKE_UNAME_M  the machine name printed (default x86_64)
echo "${FAKE_UNAME_M:-x86_64}"
