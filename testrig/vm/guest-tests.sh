#!/usr/bin/env bash
# Runs inside the guest (see guest-suite.sh): every test binary listed in
# $1, then the cross-checks with the nvmx CLI at $2. Fails if any fails.
set -uo pipefail
list=$1
nvmx=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export RUST_BACKTRACE=1
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
