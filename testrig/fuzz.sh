#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets of fuzz/ (cargo-fuzz, libFuzzer,
# AddressSanitizer) for SECONDS each, starting from the corpora committed
# in fuzz/corpus/<target>/.
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

echo "--- cargo +nightly fuzz build (AddressSanitizer, debug assertions)"
if ! cargo +nightly fuzz build >/dev/null 2>"${TMPDIR:-/tmp}/nvmx-fuzz-build.log"; then
    cat "${TMPDIR:-/tmp}/nvmx-fuzz-build.log" >&2
    # A build that fails for want of a download is a missing install; one
    # that fails on the code is a failure.
    if grep -q -E 'failed to (download|get|fetch)|could not resolve|network' "${TMPDIR:-/tmp}/nvmx-fuzz-build.log"; then
        skip "the fuzz crate's dependencies could not be downloaded"
    fi
    echo "error: the fuzz targets do not build" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
total=0
for t in "${targets[@]}"; do
    corpus="$scratch/$t"
    mkdir -p "$corpus"
    cp fuzz/corpus/"$t"/* "$corpus"/
    echo "--- $t: ${secs} s from $(find fuzz/corpus/"$t" -type f | wc -l) seed inputs"
    rc=0
    cargo +nightly fuzz run "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=20 -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1 || rc=$?
    execs=$(grep -E '^stat::number_of_executed_units:' "$scratch/$t.log" | awk '{print $2}' | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        tail -n 60 "$scratch/$t.log" >&2
        echo "error: fuzz target $t failed (exit $rc); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^Done [0-9]+ runs' "$scratch/$t.log" | tail -n 1 || true
    echo "fuzz: $t: ${execs:-0} executions in ${secs} s, corpus $(find "$corpus" -type f | wc -l) inputs"
    total=$((total + ${execs:-0}))
done
echo "fuzz: ${#targets[@]} targets, $total executions, no failure"
