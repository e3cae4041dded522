#!/usr/bin/env bash
# Cargo runner for the Windows tests: runs a test binary under Wine, and
# runs it once more when Wine itself broke (its client lost the
# connection to the Wine server: "wine client error"), which is Wine's
# failure, not the test's. Any other failure is reported as it is.
#
# Usage (set by windows-suite.sh): WINE=... run-test.sh BINARY [ARGS...]
set -uo pipefail
wine=${WINE:-/usr/lib/wine/wine64}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for attempt in 1 2; do
    "$wine" "$@" 2> >(tee "$err" >&2)
    rc=$?
    wait
    if [ "$rc" -eq 0 ] || ! grep -q "wine client error" "$err"; then
        exit "$rc"
    fi
    echo "run-test: Wine's client lost the Wine server (attempt $attempt); running $1 again" >&2
done
exit "$rc"
