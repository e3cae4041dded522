#!/usr/bin/env bash
# The guest suite: build nvmx's test binaries on the host, boot one QEMU
# guest with emulated NVMe controllers, and run inside it the conformance
# suite over every NVMe configuration, the Linux interface tests, the
# environment-bound tests that need the guest (each must run: see
# guest-tests.sh), and the cross-checks against nvme-cli and dd. Exits
# with the guest's status.
#
#   testrig/vm/guest-suite.sh            (NVMX_VM_DEVICES, NVMX_VM_TIMEOUT apply)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# Where cargo puts the binaries, and the rig's cache directory (both may be
# moved by the environment, as for cargo and run.sh).
target_dir=${CARGO_TARGET_DIR:-$repo/target}
[[ $target_dir == /* ]] || target_dir=$repo/$target_dir
vm_dir=${NVMX_VM_DIR:-$repo/.vm}
mkdir -p "$vm_dir"

start=$SECONDS
"$here/setup.sh"
echo "guest-suite: setup done ($((SECONDS - start)) s)"

# Test binaries that exercise kernel NVMe interfaces, plus the CLI.
list=$(mktemp "$vm_dir/suite.XXXXXX")
trap 'rm -f "$list"' EXIT
# --workspace: the feature set of the host tests' build, whose binaries
# (and CLI) are reused as they are.
cargo test -q --workspace --locked --no-run
cargo test -q --workspace --locked --no-run --message-format=json \
    --test device 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])
' >"$list"
[[ -s $list ]] || { echo "guest-suite: no test binaries were built" >&2; exit 1; }
echo "guest-suite: $(wc -l <"$list") test binaries ($((SECONDS - start)) s)"
# The environment-bound tests the guest provides for (ignored on a plain
# host; crates/nvmx/tests/common/env.rs): those that need the guest's NVMe
# devices, and the device binary's loop-device tests (the guest runs as
# root). One line per binary: its executable and the test names, which
# guest-tests.sh runs with --ignored --exact and counts.
envlist=$(mktemp "$vm_dir/suite-env.XXXXXX")
trap 'rm -f "$list" "$envlist"' EXIT
exe() { # PACKAGE TARGET
    cargo test -q -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])
'
}
{
    "$repo/testrig/env-tests.py" "needs the QEMU guest's NVMe devices"
    "$repo/testrig/env-tests.py" 'needs root and loop devices' | { grep '^nvmx device ' || true; }
} | while read -r package target names; do
    bin=$(exe "$package" "$target")
    [[ -n $bin ]] || { echo "guest-suite: no executable for $package $target" >&2; exit 1; }
    echo "$bin $names"
done >"$envlist"
echo "guest-suite: $(wc -w <"$envlist") words of environment-bound tests in $(wc -l <"$envlist") lines"

boot=$SECONDS
set +e
# The pi set (PI1, PI1EXT, PI2, PI3, PIF2) carries metadata and protection
# information; FDP is the flexible data placement subsystem; MEDIAERR fails
# the reads of one block (guest-faults.sh); the nvme driver
# gets a poll queue so that --poll_io runs against real polled queues;
# iomem=relaxed lets the register tests map BAR0 of a bound controller.
NVMX_VM_APPEND="nvme.poll_queues=1 iomem=relaxed${NVMX_VM_APPEND:+ $NVMX_VM_APPEND}" \
    NVMX_VM_DEVICES=${NVMX_VM_DEVICES:-nvm,ZNS,pi,FDP,MEDIAERR} "$here/run.sh" -- bash "$here/guest-tests.sh" "$list" "$target_dir/debug/nvmx" "$envlist"
rc=$?
set -e
echo "guest-suite: guest finished with status $rc after $((SECONDS - boot)) s (total $((SECONDS - start)) s)"
exit "$rc"
