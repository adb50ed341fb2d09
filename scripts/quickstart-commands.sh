#!/usr/bin/env bash
# Prints the commands of the README's quick start, as written (the code block between the
# `<!-- quickstart` and `<!-- /quickstart -->` markers): what .ci/run runs on a clean machine,
# so the quick start cannot go stale.
set -euo pipefail
readme="${1:-$(dirname "$0")/../README.md}"
awk '/^<!-- quickstart/ { on = 1; next } /^<!-- \/quickstart -->/ { on = 0 } on && !/^```/' "$readme"
