#!/usr/bin/env bash
# The host's environment-bound tests, which a plain `cargo test` lists as
# ignored (crates/nvmx/tests/common/env.rs):
# - as root, the tests marked "needs root and loop devices" (the block
#   interface on loop devices, selection on a loop device, the CLI's
#   mounted-device refusal), with NVMX_REQUIRE_ENV=root so that a missing
#   loop device fails them; the conformance suite runs once more the same
#   way, so its loop-device targets must be there too;
# - as nobody, the tests marked "needs a user other than root" (file
#   permission refusals; root ignores file modes), NVMX_REQUIRE_ENV=nonroot.
# testrig/env-tests.py finds them by their ignore reason. Every one must
# run and pass: a test that was filtered out or found nothing fails this.
#
# Needs root (CI runs it as root). Usage: testrig/host-env-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

if [[ $(id -u) != 0 ]]; then
    echo "host-env-tests: needs root (loop devices, and setpriv to run as nobody)" >&2
    exit 1
fi
fails=0
total=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Runs CMD... whose libtest output must say that exactly N tests passed.
expect() { # N LABEL CMD...
    local n=$1 label=$2 rc=0
    shift 2
    echo "--- $label: $*"
    "$@" >"$out" 2>&1 || rc=$?
    grep -E '^test |^test result' "$out" || true
    local passed
    passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')
    if ((rc != 0 || passed != n)); then
        tail -n 60 "$out"
        echo "host-env-tests: FAIL: $label: exit $rc, $passed of $n passed"
        fails=$((fails + 1))
    else
        total=$((total + n))
    fi
}

# The executable of one test target (`lib` or an integration test), built
# as `cargo test --workspace` builds it (the same features, so nothing is
# built twice).
exe() { # PACKAGE TARGET
    local sel=(--test "$2")
    [[ $2 == lib ]] && sel=(--lib)
    cargo test -q --workspace "${sel[@]}" --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
package, target = sys.argv[1:3]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    t = m["target"]
    kind = "lib" if target == "lib" else "test"
    name = package.replace("-", "_") if target == "lib" else target
    if kind in t["kind"] and t["name"] == name:
        print(m["executable"])
' "$1" "$2"
}

echo "=== host-env-tests: as root (loop devices)"
while read -r package target names; do
    read -ra n <<<"$names"
    sel=(--test "$target")
    [[ $target == lib ]] && sel=(--lib)
    NVMX_REQUIRE_ENV=root expect "${#n[@]}" "$package $target" \
        cargo test --workspace "${sel[@]}" -- --ignored --exact "${n[@]}"
done < <(testrig/env-tests.py 'needs root and loop devices')
# The conformance suite with its loop-device targets required.
conformance=$(cargo test -q --workspace --test device -- --list conformance:: 2>/dev/null | grep -c ': test$')
NVMX_REQUIRE_ENV=root expect "$conformance" "conformance on loop devices" \
    cargo test --workspace --test device -- conformance::

echo "=== host-env-tests: as nobody (file permissions)"
while read -r package target names; do
    read -ra n <<<"$names"
    bin=$(exe "$package" "$target")
    [[ -n $bin ]] || { echo "host-env-tests: FAIL: no executable for $package $target"; fails=$((fails + 1)); continue; }
    # The binary reads nothing of the tree; it writes to the temp dir.
    expect "${#n[@]}" "$package $target (as nobody)" \
        env NVMX_REQUIRE_ENV=nonroot TMPDIR=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups -- \
        "$bin" --ignored --exact "${n[@]}"
done < <(testrig/env-tests.py 'needs a user other than root')

if ((fails)); then
    echo "host-env-tests: $fails failure(s)"
    exit 1
fi
echo "host-env-tests: $total environment-bound tests passed"
