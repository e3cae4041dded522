#!/usr/bin/env bash
# The verify workload on every host configuration that moves data.
#
# Runs `nvmx perf run --iopattern verify` (every block written with a
# stamp of its LBA, then read back in random order and compared) over:
#   - ramdisks (ramdisk_emu, ramdisk_thrpool) in two LBA formats;
#   - files on the temp directory and on /dev/shm through emu_file,
#     thrpool_file, io_uring_file, libaio_file and posix_file, buffered
#     and with --direct where the file system takes O_DIRECT;
#   - as root, when losetup works: loop devices with 512- and 4096-byte
#     sectors through emu_bdev, io_uring_bdev, libaio_bdev, posix_bdev and
#     thrpool_bdev, buffered and direct;
# each at queue depths 1, 8 and 32 with 1, 2 and 4 queues. One run is one
# configuration. Any mismatch, I/O error or failed run fails the script;
# the last line is `verify: N configurations, M I/Os verified, 0 mismatches`.
#
# Environment: CARGO_TARGET_DIR as for cargo; NVMX_VERIFY_COUNT (I/Os
# written per queue, default 256).
set -euo pipefail
cd "$(dirname "$0")/.."

count=${NVMX_VERIFY_COUNT:-256}
# The CLI as the host tests build it (`cargo test --workspace`: one
# feature set, so after CI's test step nothing is rebuilt here).
cargo test -q --workspace --locked --no-run
nvmx="${CARGO_TARGET_DIR:-target}/debug/nvmx"

work=$(mktemp -d "${TMPDIR:-/tmp}/nvmx-verify.XXXXXX")
shm=""
loops=()
cleanup() {
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    rm -rf "$work"
    [ -n "$shm" ] && rm -rf "$shm"
    return 0
}
trap cleanup EXIT

configs=0
ios=0
mismatches=0
failures=0
skipped=()

# One number from the "total" object of a perf JSON report (the last
# occurrence of the key: the total comes after the jobs).
total_of() { # key json
    printf '%s\n' "$2" | sed -n "s/^ *\"$1\": \([0-9]*\),\{0,1\}$/\1/p" | tail -n 1
}

# run LABEL URI BE [extra perf options...]: every queue depth and queue count.
run() {
    local label=$1 uri=$2 be=$3
    shift 3
    local qd nq out err rc n m e
    for qd_nq in 1:1 8:2 32:4; do
        qd=${qd_nq%:*}
        nq=${qd_nq#*:}
        rc=0
        err=$("$nvmx" perf run "$uri" --be "$be" --iopattern verify --qdepth "$qd" \
            --nqueues "$nq" --count "$count" --quiet --output json "$@" 2>&1 >"$work/out.json") || rc=$?
        out=$(cat "$work/out.json")
        if [ "$rc" -ne 0 ]; then
            echo "FAIL $label --be $be --qdepth $qd --nqueues $nq $*: exit $rc: $err" >&2
            failures=$((failures + 1))
            continue
        fi
        n=$(total_of ios "$out")
        m=$(total_of mismatches "$out")
        e=$(total_of errors "$out")
        if [ -z "$n" ] || [ -z "$m" ] || [ -z "$e" ]; then
            echo "FAIL $label --be $be --qdepth $qd --nqueues $nq $*: no totals in the report" >&2
            failures=$((failures + 1))
            continue
        fi
        configs=$((configs + 1))
        ios=$((ios + n))
        mismatches=$((mismatches + m))
        if [ "$m" -ne 0 ] || [ "$e" -ne 0 ] || [ "$n" -eq 0 ]; then
            echo "FAIL $label --be $be --qdepth $qd --nqueues $nq $*: $n I/Os, $m mismatches, $e errors" >&2
            failures=$((failures + 1))
        fi
    done
}

# Whether a file (or device) opens with O_DIRECT through nvmx; a file
# system without O_DIRECT (older tmpfs) answers EINVAL.
takes_direct() { # uri
    "$nvmx" lblk read "$1" --be posix_file --slba 0 --nlb 0 --direct >/dev/null 2>&1
}

# Ramdisks, in 512-byte and 4 KiB LBA formats.
for uri in 8MiB "8MiB?lbaf=2"; do
    for be in ramdisk_emu ramdisk_thrpool; do
        run "ramdisk $uri" "$uri" "$be"
    done
done

# Files on the temp directory's file system and on /dev/shm.
dirs=("$work")
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/nvmx-verify.XXXXXX)
    dirs+=("$shm")
else
    skipped+=("/dev/shm (absent or not writable)")
fi
for d in "${dirs[@]}"; do
    f="$d/verify.img"
    truncate -s 8M "$f"
    direct=(buffered)
    if takes_direct "$f"; then
        direct+=(--direct)
    else
        skipped+=("--direct on $d (no O_DIRECT there)")
    fi
    for be in emu_file thrpool_file io_uring_file libaio_file posix_file; do
        for mode in "${direct[@]}"; do
            if [ "$mode" = buffered ]; then
                run "file $f" "$f" "$be"
            else
                run "file $f direct" "$f" "$be" --direct
            fi
        done
    done
done

# Loop devices, as root.
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null 2>&1; then
    for sector in 512 4096; do
        img="$work/loop$sector.img"
        truncate -s 8M "$img"
        if ! l=$(losetup --find --show --sector-size "$sector" "$img" 2>/dev/null); then
            skipped+=("loop devices (losetup failed)")
            break
        fi
        loops+=("$l")
        for be in emu_bdev io_uring_bdev libaio_bdev posix_bdev thrpool_bdev; do
            run "loop $l ($sector)" "$l" "$be"
            run "loop $l ($sector) direct" "$l" "$be" --direct
        done
    done
else
    skipped+=("loop devices (not root or no losetup)")
fi

for s in "${skipped[@]}"; do echo "verify: skipped $s"; done
echo "verify: $configs configurations, $ios I/Os verified, $mismatches mismatches"
if [ "$failures" -ne 0 ]; then
    echo "verify: $failures configurations failed" >&2
    exit 1
fi
