#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets of fuzz/ (cargo-fuzz, libFuzzer,
# AddressSanitizer) for SECONDS of one CPU each, all at once, starting
# from the corpora committed in fuzz/corpus/<target>/.
#
#   testrig/fuzz.sh [SECONDS]      (default 30)
#
# Targets: `decode` (every nvmx-spec decoder on arbitrary bytes), `parse`
# (URIs, ramdisk parameters, Options::set, sizes, PCI addresses) and
# `ramdisk` (command sequences against a conventional ramdisk checked by a
# model, and a zoned one whose write pointers must stay in bounds). For
# each it prints libFuzzer's count of executions; a crash, a failed
# assertion, a leak or an input slower than 20 s fails the script, and
# libFuzzer leaves the input in fuzz/artifacts/<target>/ (replay it with
# `cargo +nightly fuzz run <target> <file>`).
#
# The inputs a run discovers go to a scratch copy of the corpus, not into
# the repository; to keep some, `cargo +nightly fuzz cmin` them into
# fuzz/corpus/<target>/ and commit a few dozen small files.
#
# Needs the nightly toolchain and cargo-fuzz, which it installs when
# missing (`cargo install cargo-fuzz --locked`: about two minutes of
# building on two CPUs). Without them (no way to download) it prints a
# warning and exits 0, so CI does not fail for a missing download; once
# the fuzzers run, any failure fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2 && exit 2 ;;
esac
targets=(decode parse ramdisk)

skip() {
    echo "warning: $*; the fuzz targets did not run" >&2
    exit 0
}

command -v rustup >/dev/null 2>&1 || skip "rustup is not installed"
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
        skip "could not install the nightly toolchain"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked >/dev/null 2>&1 || skip "could not install cargo-fuzz"
fi
cargo fuzz --version

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "--- cargo +nightly fuzz build (AddressSanitizer, debug assertions)"
if ! cargo +nightly fuzz build >/dev/null 2>"$scratch/build.log"; then
    cat "$scratch/build.log" >&2
    # A build that fails for want of a download is a missing install; one
    # that fails on the code is a failure.
    if grep -q -E 'failed to (download|get|fetch)|could not resolve|network' "$scratch/build.log"; then
        skip "the fuzz crate's dependencies could not be downloaded"
    fi
    echo "error: the fuzz targets do not build" >&2
    exit 1
fi

# The targets run at the same time, for as long as gives each SECONDS of
# one CPU: SECONDS x targets / CPUs of wall time (45 s for three targets
# at 30 s on two CPUs, instead of 90 s one after the other).
# NVMX_FUZZ_SERIAL=1 runs them one after the other, SECONDS each.
ncpu=$(nproc 2>/dev/null || echo 1)
if [ "${NVMX_FUZZ_SERIAL:-0}" = 1 ] || [ "$ncpu" -le 1 ]; then
    wall=$secs
    parallel=0
else
    n=${#targets[@]}
    [ "$ncpu" -gt "$n" ] && ncpu=$n
    wall=$(((secs * n + ncpu - 1) / ncpu))
    parallel=1
fi

# Starts one target on a scratch copy of its corpus; its status goes to
# $scratch/<target>.rc.
start() { # TARGET
    local t=$1 corpus="$scratch/$1" rc=0
    mkdir -p "$corpus"
    cp fuzz/corpus/"$t"/* "$corpus"/
    echo "--- $t: ${wall} s from $(find fuzz/corpus/"$t" -type f | wc -l) seed inputs"
    cargo +nightly fuzz run "$t" "$corpus" -- \
        -max_total_time="$wall" -timeout=20 -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$scratch/$t.rc"
}
t0=$SECONDS
if [ "$parallel" = 1 ]; then
    pids=()
    for t in "${targets[@]}"; do
        start "$t" &
        pids+=($!)
    done
    wait "${pids[@]}" || true
else
    for t in "${targets[@]}"; do start "$t"; done
fi

total=0
failed=0
for t in "${targets[@]}"; do
    rc=$(cat "$scratch/$t.rc" 2>/dev/null || echo 1)
    execs=$(grep -E '^stat::number_of_executed_units:' "$scratch/$t.log" | awk '{print $2}' | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        tail -n 60 "$scratch/$t.log" >&2
        echo "error: fuzz target $t failed (exit $rc); the input is in fuzz/artifacts/$t/" >&2
        failed=1
        continue
    fi
    grep -E '^Done [0-9]+ runs' "$scratch/$t.log" | tail -n 1 || true
    echo "fuzz: $t: ${execs:-0} executions in ${wall} s, corpus $(find "$scratch/$t" -type f | wc -l) inputs"
    total=$((total + ${execs:-0}))
done
[ "$failed" = 0 ] || exit 1
echo "fuzz: ${#targets[@]} targets, $total executions in $((SECONDS - t0)) s, no failure"
