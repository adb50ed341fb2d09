#!/usr/bin/env bash
# Fake date on the virtual clock in $FAKE_CLOCK_DIR: see test/fakes/clock.ts.
# +%s and +%s%N print the virtual time; a -d/--date conversion is the real date's.
set -euo pipefail
shopt -s nullglob
t=("$FAKE_CLOCK_DIR"/t/*)
ms=$((10#${t[-1]##*/}))
case "$*" in
    +%s) echo "$((ms / 1000))" ;;
    +%s%N) printf '%d%03d000000\n' "$((ms / 1000))" "$((ms % 1000))" ;;
    *)
        for arg in "$@"; do
            if [[ "$arg" == -d* || "$arg" == --date* ]]; then
                exec "$FAKE_REAL_DATE" "$@"
            fi
        done
        echo "fake date: only +%s, +%s%N or a -d conversion, got: $*" >&2
        exit 64
        ;;
esac
