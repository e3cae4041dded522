#!/usr/bin/env bash
# The Windows suite: cross-builds the workspace for x86_64-pc-windows-gnu,
# lints it, runs its tests under Wine, then the verify workload
# (verify-windows.sh) with the Windows nvmx.exe on files and ramdisks.
#
# Installs what it needs on first use (Debian packages gcc-mingw-w64-x86-64
# and wine64, the Rust target), builds testrig/wine/processprng.c into the
# bcryptprimitives.dll that Wine 8 lacks and Rust's std needs, and keeps a
# Wine prefix under the target directory. Tests that need Windows 10/11
# itself (StorNVMe on a real NVMe drive, IoRing) check there that their
# paths fail cleanly instead. The tests ignored elsewhere because they
# need Wine's drive 0 run after the others, each required to run.
#
# Usage: testrig/wine/windows-suite.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

TARGET=x86_64-pc-windows-gnu
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver64
target_dir=${CARGO_TARGET_DIR:-$repo/target}
work=$target_dir/wine
export WINEPREFIX=$work/prefix
export WINEDEBUG=-all
# No display: Wine must not try to open windows or dialogs.
unset DISPLAY WAYLAND_DISPLAY
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

t0=$SECONDS
phase() { printf -- '--- windows suite: %s (%ss)\n' "$*" "$((SECONDS - t0))"; }

phase "packages"
need=()
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
[ -x "$WINE" ] || need+=(wine64)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "windows suite: ${need[*]} missing and not root to install them" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
rustup target add "$TARGET" >/dev/null

phase "ProcessPrng stub (bcryptprimitives.dll)"
mkdir -p "$work"
dll=$work/bcryptprimitives.dll
if [ ! -f "$dll" ] || [ testrig/wine/processprng.c -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -o "$dll" \
        testrig/wine/processprng.c -lbcrypt
fi

phase "Wine prefix $WINEPREFIX"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    "$WINE" wineboot --init >/dev/null 2>&1
    "$WINESERVER" -w
fi
cp "$dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

phase "cargo clippy --target $TARGET (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked --target "$TARGET" -- -D warnings

phase "cargo test --target $TARGET under Wine"
# One persistent Wine server for the whole run: by default it exits a few
# seconds after its last client, and a test starting just then lost its
# connection ("wine client error: recvmsg: Connection reset by peer").
"$WINESERVER" -p >/dev/null 2>&1 || true
export WINE
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$repo/testrig/wine/run-test.sh
status=0
cargo test --workspace --locked --no-fail-fast --target "$TARGET" "$@" || status=$?

phase "environment-bound tests under Wine (--ignored --exact, NVMX_REQUIRE_ENV=wine)"
# Tests that need a Windows drive 0 without StorNVMe, which Wine has: a
# plain run lists them as ignored (crates/nvmx/tests/common/env.rs); here
# each must run and pass, and fails if it finds no such drive.
out=$work/env-tests.out
envtests=0
while read -r package target names; do
    read -ra n <<<"$names"
    sel=(--test "$target")
    [ "$target" = lib ] && sel=(--lib)
    rc=0
    # --workspace as above: the same features, nothing built again.
    NVMX_REQUIRE_ENV=wine cargo test --workspace "${sel[@]}" --locked --target "$TARGET" \
        -- --ignored --exact "${n[@]}" >"$out" 2>&1 || rc=$?
    grep -E '^test |^test result' "$out" || true
    passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')
    if [ "$rc" -ne 0 ] || [ "$passed" -ne ${#n[@]} ]; then
        tail -n 60 "$out"
        echo "windows suite: $package $target: exit $rc, $passed of ${#n[@]} environment-bound tests passed"
        status=1
    else
        envtests=$((envtests + passed))
    fi
done < <(testrig/env-tests.py 'Wine has one')
echo "windows suite: $envtests environment-bound tests passed under Wine"

phase "verify workload: nvmx.exe perf run --iopattern verify under Wine"
# nvmx.exe from the test build (same feature set: nothing is rebuilt).
cargo test -q --workspace --locked --no-run --target "$TARGET"
WINE=$WINE WINESERVER=$WINESERVER testrig/wine/verify-windows.sh \
    "$target_dir/$TARGET/debug/nvmx.exe" || status=1

# Stop this prefix's Wine server (it would linger for a few seconds).
"$WINESERVER" -k >/dev/null 2>&1 || true
phase "done (exit $status)"
exit "$status"
