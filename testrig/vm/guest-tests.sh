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
echo "=== guest: cross-checks"
bash "$here/guest-xcheck.sh" "$nvmx" || failed+=("cross-checks")
echo "=== guest: zoned cross-checks"
bash "$here/guest-xcheck-zoned.sh" "$nvmx" || failed+=("zoned cross-checks")
if ((${#failed[@]})); then
    echo "guest: FAILED: ${failed[*]}"
    exit 1
fi
echo "guest: all passed"
