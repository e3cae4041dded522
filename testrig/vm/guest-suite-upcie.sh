#!/usr/bin/env bash
# The user-space driver's guest suite: build the upcie test binaries and
# the CLI on the host, then boot the QEMU guest twice:
#   1. without IOMMU, uio_pci_generic loaded, 64 hugepages: the uio backing
#      (Identify by DMA, a hugepage region, rebind to nvme); "vfio without
#      IOMMU" and a device in use refused;
#   2. with --iommu (vfio_pci, vfio_iommu_type1), uio_pci_generic not
#      loaded, no hugepages: the vfio backing (4 KiB page fallback); "uio
#      module absent" and a device in use refused.
# Each boot also runs guest-upcie.sh's CLI checks (nvmx driver, nvmx enum)
# the conformance suite through the user-space driver (uio, vfio), and the
# zoned, FDP and PI tests on those controllers bound to it.
# Boots take /tmp/nvmx-vm.lock so that they never overlap other guest runs;
# do not run this script itself under `flock /tmp/nvmx-vm.lock`: the first
# boot would wait for that lock forever.
#
#   testrig/vm/guest-suite-upcie.sh       (NVMX_VM_TIMEOUT applies)
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
list=$(mktemp "$vm_dir/upcie.XXXXXX")
trap 'rm -f "$list"' EXIT
# --workspace: the feature set of the host tests' build, whose binaries
# (and CLI) are reused as they are.
cargo test -q --workspace --locked --no-run
# Prints the executables of the named test targets of nvmx.
bins() {
    local args=()
    for t in "$@"; do args+=(--test "$t"); done
    cargo test -q --workspace --locked --no-run --message-format=json "${args[@]}" 2>/dev/null |
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
bins driver >"$list"
[[ -s $list ]] || { echo "guest-suite-upcie: no test binaries were built" >&2; exit 1; }
# The conformance suite, run through the user-space driver on a bound
# controller (guest-upcie.sh sets NVMX_UPCIE_URI/NVMX_UPCIE_BE).
conformance=$(bins device)
[[ -n $conformance ]] || { echo "guest-suite-upcie: no conformance binary" >&2; exit 1; }
bench=$conformance
# The command-set tests (zoned, FDP, PI) on controllers bound to the driver.
sets=$(mktemp "$vm_dir/upcie-sets.XXXXXX")
trap 'rm -f "$list" "$sets"' EXIT
echo "$conformance" >"$sets"

rc=0
# One boot must end within this (a quiet boot takes 4-8 min); run.sh
# answers 124 when it does not.
boot_timeout=${NVMX_VM_TIMEOUT:-900}
boot() { # NAME RUN.SH-OPTIONS...
    local name=$1 b r try
    shift
    # A boot that times out is booted once more, and a second timeout
    # fails. Seen here under TCG, most often in the vfio boot (emulated
    # IOMMU): one vCPU stops taking timer interrupts (the guest kernel logs
    # "rcu_preempt detected stalls ... timer wakeup didn't happen") and the
    # test waiting on it never ends, while the same binaries pass in the
    # next boot. A test that fails (any other status) is not retried.
    for try in 1 2; do
        b=$SECONDS
        echo "=== guest-suite-upcie: boot $name (attempt $try)"
        set +e
        flock /tmp/nvmx-vm.lock env NVMX_VM_TIMEOUT="$boot_timeout" \
            NVMX_VM_DEVICES="${NVMX_VM_DEVICES:-NVM4K,NVM512,ZNS,FDP,pi}" \
            "$here/run.sh" "$@" -- bash "$here/guest-upcie.sh" "$list" "$target_dir/debug/nvmx" "$conformance" "$bench" "$sets"
        r=$?
        set -e
        echo "guest-suite-upcie: boot $name finished with status $r after $((SECONDS - b)) s"
        ((r == 124 && try == 1)) || break
        echo "guest-suite-upcie: boot $name timed out; booting it once more (a second timeout fails)"
    done
    ((r == 0)) || rc=1
}
boot uio --modules uio_pci_generic,vfio_pci --hugepages 64
boot vfio --iommu
echo "guest-suite-upcie: status $rc (total $((SECONDS - start)) s)"
exit "$rc"
