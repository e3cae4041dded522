#!/usr/bin/env bash
# Runs inside the guest (see guest-suite.sh): every test binary listed in
# $1, then the environment-bound tests listed in $3 (lines of an
# executable and test names: each must run and pass), then the
# cross-checks with the nvmx CLI at $2. Fails if any fails.
#
# NVMX_REQUIRE_ENV=guest,root: a test that needs the guest's NVMe devices
# or a loop device fails here when it does not find them, instead of
# returning early (crates/nvmx/tests/common/env.rs).
set -uo pipefail
list=$1
nvmx=$2
envlist=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export RUST_BACKTRACE=1
export NVMX_REQUIRE_ENV=guest,root
failed=()
echo "=== guest: NVMe/TCP target on loopback"
if tcp_env=$(bash "$here/guest-tcp.sh"); then
    eval "$tcp_env"
else
    failed+=("nvme-tcp setup")
fi
while read -r bin; do
    name=$(basename "$bin")
    echo "=== guest: $name"
    if ! "$bin" --test-threads=1; then
        failed+=("$name")
    fi
done <"$list"
envtests=0
if [[ -n $envlist ]]; then
    while read -r bin names; do
        read -ra n <<<"$names"
        name=$(basename "$bin")
        echo "=== guest: $name: ${#n[@]} environment-bound tests (--ignored --exact)"
        "$bin" --ignored --exact --test-threads=1 "${n[@]}" 2>&1 | tee /tmp/envtests.out
        rc=${PIPESTATUS[0]}
        passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' /tmp/envtests.out | awk '{s += $4} END {print s + 0}')
        if ((rc != 0 || passed != ${#n[@]})); then
            failed+=("$name: environment-bound tests: exit $rc, $passed of ${#n[@]} passed")
        else
            envtests=$((envtests + passed))
        fi
    done <"$envlist"
    echo "guest: $envtests environment-bound tests passed"
else
    failed+=("no list of environment-bound tests")
fi
echo "=== guest: nvmx perf verify through every NVMe configuration"
# Every block stamped, written and read back in random order; zero
# mismatches is the only pass. Fixed (registered) buffers included.
cdev=${NVMX_DEV_NVM4K_CDEV:-} bdev=${NVMX_DEV_NVM4K_BDEV:-}
if [[ -n $cdev && -n $bdev ]]; then
    while read -r dev args; do
        echo "+ nvmx perf run $dev $args --iopattern verify"
        # shellcheck disable=SC2086
        if ! "$nvmx" perf run "$dev" $args --iopattern verify --qdepth 8 --count 2000 --quiet \
            --output json >/tmp/perf.json; then
            failed+=("perf verify $args")
        fi
        python3 -c 'import json; t = json.load(open("/tmp/perf.json"))["total"]; print("  ", t["ios"], "I/Os,", t["mismatches"], "mismatches")'
    done <<EOF2
$cdev --be io_uring_cmd
$cdev --be io_uring_cmd --register_buffers
$cdev --be emu
$cdev --be thrpool
$bdev --be io_uring --direct
$bdev --be io_uring --direct --register_buffers
$bdev --be libaio --direct
$bdev --be posix
$bdev --be io_uring_bdev --direct
EOF2
else
    failed+=("perf verify: no NVM4K namespace")
fi
echo "=== guest: cross-checks"
bash "$here/guest-xcheck.sh" "$nvmx" || failed+=("cross-checks")
echo "=== guest: zoned cross-checks"
bash "$here/guest-xcheck-zoned.sh" "$nvmx" || failed+=("zoned cross-checks")
# Last, because it resets the NVM4K controller and rewrites its namespace.
echo "=== guest: faults (controller resets during I/O, media errors, kernel fault injection)"
bash "$here/guest-faults.sh" "$nvmx" || failed+=("faults")
if ((${#failed[@]})); then
    echo "guest: FAILED: ${failed[*]}"
    exit 1
fi
echo "guest: all passed"
