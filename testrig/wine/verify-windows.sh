#!/usr/bin/env bash
# The verify workload under Wine: the Windows build of nvmx through every
# Windows configuration that moves data.
#
# Runs `nvmx.exe perf run --iopattern verify` (every block written with a
# stamp of its LBA, a generation and a seed, then read back in random order
# and compared) over:
#   - ramdisks (ramdisk_emu, ramdisk_thrpool) in 512-byte and 4 KiB LBA
#     formats;
#   - a file inside the Wine prefix (C:\...) and a file on a host temp
#     directory seen through Wine's Z: drive, through iocp_file,
#     iocp_th_file, thrpool_file and emu_file, buffered and with --direct
#     (FILE_FLAG_NO_BUFFERING);
# each at queue depth 1 with 1 queue, 8 with 2 queues and 32 with 2 queues.
# One run is one configuration. A mismatch, an I/O error, a non-zero exit
# or a run without totals fails the script; the last line is
# `verify (wine): N configurations, M I/Os verified, 0 mismatches`.
# nil_file and the ramdisk's nil configuration move no data and are left
# out (nvmx refuses verify on them).
#
# Usage: testrig/wine/verify-windows.sh NVMX.EXE
# Environment: WINEPREFIX (set up, with the ProcessPrng stub; see
# windows-suite.sh), NVMX_VERIFY_COUNT (I/Os written per queue, default
# 256), WINE (default /usr/lib/wine/wine64).
set -euo pipefail

exe=${1:?usage: verify-windows.sh NVMX.EXE}
[ -f "$exe" ] || { echo "verify (wine): $exe not found" >&2; exit 1; }
: "${WINEPREFIX:?verify (wine): WINEPREFIX must name a prepared Wine prefix}"
[ -d "$WINEPREFIX/drive_c" ] || { echo "verify (wine): $WINEPREFIX has no drive_c" >&2; exit 1; }
WINE=${WINE:-/usr/lib/wine/wine64}
WINESERVER=${WINESERVER:-/usr/lib/wine/wineserver64}
export WINEDEBUG=${WINEDEBUG:--all}
count=${NVMX_VERIFY_COUNT:-256}

# A host path as Wine sees it through its Z: drive (the host's /).
winpath() { local p=$1; printf 'Z:%s' "${p//\//\\}"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nvmx-verify-wine.XXXXXX")
cdir=$(mktemp -d "$WINEPREFIX/drive_c/nvmx-verify.XXXXXX")
cleanup() { rm -rf "$work" "$cdir"; }
trap cleanup EXIT
# One Wine server for all the runs, kept for a while after the last one:
# otherwise each run starts its own. Outputs go to files, never to a pipe
# that a lingering wineserver would hold open.
"$WINESERVER" -p10 </dev/null >/dev/null 2>&1 || true # (already running: fine)

configs=0
ios=0
mismatches=0
failures=0

# One number from the "total" object of a perf JSON report (the last
# occurrence of the key: the total comes after the jobs).
total_of() { # key json
    printf '%s\n' "$2" | tr -d '\r' | sed -n "s/^ *\"$1\": \([0-9]*\),\{0,1\}$/\1/p" | tail -n 1
}

# run LABEL URI BE [extra perf options...]: every queue depth and queue count.
run() {
    local label=$1 uri=$2 be=$3
    shift 3
    local qd nq out err rc n m e
    for qd_nq in 1:1 8:2 32:2; do
        qd=${qd_nq%:*}
        nq=${qd_nq#*:}
        rc=0
        "$WINE" "$exe" perf run "$uri" --be "$be" --iopattern verify --qdepth "$qd" \
            --nqueues "$nq" --count "$count" --quiet --output json "$@" \
            </dev/null >"$work/out.json" 2>"$work/err.txt" || rc=$?
        out=$(cat "$work/out.json")
        err=$(tr -d '\r' <"$work/err.txt")
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

# Ramdisks, in 512-byte and 4 KiB LBA formats.
for uri in 8MiB "8MiB?lbaf=2"; do
    for be in ramdisk_emu ramdisk_thrpool; do
        run "ramdisk $uri" "$uri" "$be"
    done
done

# A file in the prefix's C: drive and one on the host's temp directory.
truncate -s 8M "$cdir/verify.img" "$work/verify.img"
cname=${cdir##*/}
for f in "C:\\$cname\\verify.img" "$(winpath "$work/verify.img")"; do
    for be in iocp_file iocp_th_file thrpool_file emu_file; do
        run "file $f" "$f" "$be"
        run "file $f direct" "$f" "$be" --direct
    done
done

echo "verify (wine): $configs configurations, $ios I/Os verified, $mismatches mismatches"
if [ "$failures" -ne 0 ]; then
    echo "verify (wine): $failures configurations failed" >&2
    exit 1
fi
