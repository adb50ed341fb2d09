#!/usr/bin/env bash
# A `date` whose now is the epoch second in $FAKE_STATE/now (test/backup.spec.ts); any other
# use (a -d conversion) is the real date's.
# Inputs (environment): FAKE_STATE.
if [[ "$*" == "+%s" ]]; then
    cat "$FAKE_STATE/now"
else
    exec /bin/date "$@"
fi
