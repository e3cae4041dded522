#!/usr/bin/env bash
# nvmx perf side by side with fio: builds the release binary, makes a
# 1 GiB file on tmpfs (/dev/shm) and a loop device over it (when run as
# root), then runs bench/vs_fio.py, which alternates the two tools and
# prints the ratio of medians per case.
#
#   bench/vs-fio.sh [--secs S] [--reps N] [--qds 1,32,128] [--engines nil,io_uring,libaio,psync]
#                   [--json out.json]
#
# Needs fio (apt-get install fio). Numbers mean something only on an
# otherwise idle machine; the ratios are what BENCHMARKS.md reports.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
command -v fio >/dev/null || { echo "vs-fio: fio is not installed (apt-get install fio)" >&2; exit 1; }
cargo build -q --release -p nvmx-cli --manifest-path "$repo/Cargo.toml"
nvmx="${CARGO_TARGET_DIR:-$repo/target}/release/nvmx"

file=$(mktemp /dev/shm/nvmx-vs-fio.XXXXXX)
loop=""
cleanup() {
    [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
    rm -f "$file"
}
trap cleanup EXIT
# Written, not sparse: reads must find pages.
dd if=/dev/urandom of="$file" bs=1M count=1024 status=none
if [[ $(id -u) == 0 ]] && command -v losetup >/dev/null; then
    loop=$(losetup --find --show --direct-io=on "$file" 2>/dev/null || losetup --find --show "$file" 2>/dev/null || true)
fi
[[ -n $loop ]] || echo "vs-fio: no loop device (needs root); loop cases skipped" >&2
python3 "$here/vs_fio.py" --nvmx "$nvmx" --file "$file" ${loop:+--loop "$loop"} "$@"
