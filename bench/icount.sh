#!/usr/bin/env bash
# Instructions per I/O of `nvmx perf run`, counted by valgrind's callgrind:
# the same binary and inputs give the same count whatever else the machine
# does, so this is the regression check for the per-I/O path (wall-clock
# benchmarks on a shared 2-CPU machine are not).
#
# Each case runs twice, with N and 3N commands; (I(3N) - I(N)) / 2N is the
# cost of one I/O with start-up and tear-down cancelled out. The result is
# compared with bench/icount-baseline.txt: more than 10 % above the
# baseline fails.
#
#   bench/icount.sh            check against the baseline
#   bench/icount.sh --update   write the baseline from this run
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
baseline=$here/icount-baseline.txt
update=0
[[ ${1:-} == --update ]] && update=1
command -v valgrind >/dev/null || { echo "icount: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cargo build -q --release -p nvmx-cli --manifest-path "$repo/Cargo.toml"
nvmx="${CARGO_TARGET_DIR:-$repo/target}/release/nvmx"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

N=20000
# name | perf run arguments (4 KiB random reads unless said)
cases=(
    "nil-ramdisk-qd1|64MiB --be ramdisk --qdepth 1 --no-latency"
    "nil-ramdisk-qd32|64MiB --be ramdisk --qdepth 32 --no-latency"
    "emu-ramdisk-qd1|64MiB --be ramdisk_emu --qdepth 1 --no-latency"
    "nil-ramdisk-qd1-timed|64MiB --be ramdisk --qdepth 1"
)

count() { # ARGS... -> total instructions
    local out=$tmp/cg.$RANDOM
    valgrind --tool=callgrind --callgrind-out-file="$out" "$nvmx" perf run "$@" --quiet >/dev/null 2>"$out.err" ||
        { cat "$out.err" >&2; return 1; }
    sed -n 's/^summary: *//p' "$out"
}

declare -A base=()
if [[ -f $baseline ]]; then
    while read -r name value; do
        [[ -z $name || $name == \#* ]] && continue
        base[$name]=$value
    done <"$baseline"
fi
results=()
rc=0
for c in "${cases[@]}"; do
    name=${c%%|*}
    read -r -a args <<<"${c#*|}"
    i1=$(count "${args[@]}" --count "$N")
    i3=$(count "${args[@]}" --count "$((3 * N))")
    per=$(((i3 - i1) / (2 * N)))
    results+=("$name $per")
    if [[ -n ${base[$name]:-} ]]; then
        limit=$((base[$name] * 110 / 100))
        verdict="baseline ${base[$name]}"
        if ((per > limit)); then
            verdict+=", more than 10 % above: REGRESSION"
            rc=1
        fi
    else
        verdict="no baseline"
    fi
    printf 'icount: %-26s %6d instructions per I/O (%s)\n' "$name" "$per" "$verdict"
done
if ((update)); then
    {
        echo "# Instructions per I/O (bench/icount.sh --update), commit $(git -C "$repo" rev-parse --short HEAD)"
        printf '%s\n' "${results[@]}"
    } >"$baseline"
    echo "icount: baseline written to $baseline"
    exit 0
fi
exit "$rc"
