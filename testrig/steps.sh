# shellcheck shell=bash
# The CI steps, their budgets and the runner that times them. Sourced by
# .ci/run, testrig/suite.sh and testrig/quick.sh, so a step runs the same
# code whichever of them starts it.
#
# Budgets are wall seconds on a quiet machine of the CI kind (2 cores, no
# KVM), from clean-clone runs (see testrig/README.md, "Timings"). A step
# over its budget prints a WARNING line; it does not fail the run. Scale
# them with NVMX_CI_BUDGET_SCALE (percent, default 100; 150 on a loaded
# machine, where the issue allows 45 minutes instead of 30).
#
# A new suite gets a line here and a step_<name> function below; plan its
# time in: the whole list stays under NVMX_CI_TOTAL_BUDGET.

# name|budget seconds|what it checks (order = the order .ci/run runs them)
CI_STEPS=(
    "toolchain|20|Rust toolchain and components"
    "fmt|15|cargo fmt --check"
    "clippy|150|clippy, host, all targets, -D warnings"
    "doc|45|cargo doc, -D warnings"
    "nostd|20|no_std build of nvmx-spec"
    "tests|120|host tests (cargo test --workspace)"
    "host-env|60|host tests bound to the environment (testrig/host-env-tests.sh)"
    "freebsd|90|FreeBSD clippy and library build"
    "wine|170|Windows cross-build, clippy, tests and verify under Wine"
    "miri|180|Miri: queue bookkeeping, ramdisk, spec decoders"
    "fuzz|150|fuzz targets, 30 s of one CPU each, all at once"
    "verify|30|verify workload on every host configuration"
    "icount|120|instructions per I/O against the baseline"
    "guest|450|guest suite: NVMe devices in a QEMU guest"
    "upcie|340|guest suite: user-space NVMe driver (uio, vfio)"
)
# The whole run: the issue's standing rule is 30 minutes on a quiet machine.
NVMX_CI_TOTAL_BUDGET=${NVMX_CI_TOTAL_BUDGET:-1800}

ci_names() { local s; for s in "${CI_STEPS[@]}"; do echo "${s%%|*}"; done; }
ci_field() { # NAME FIELD(2=budget,3=title)
    local s
    for s in "${CI_STEPS[@]}"; do
        [[ ${s%%|*} == "$1" ]] && { echo "$s" | cut -d'|' -f"$2"; return 0; }
    done
    return 1
}

# ---------------------------------------------------------------- steps
# Each runs from the repository root under `set -euo pipefail`; a non-zero
# exit fails it; exit 77 means "not applicable here" (shown as skipped).

step_toolchain() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo is not installed: this CI needs a machine with a Rust toolchain (rustup)" >&2
        return 1
    fi
    if command -v rustup >/dev/null 2>&1; then
        rustup component add rustfmt clippy >/dev/null 2>&1 || true
    fi
    cargo --version
    rustc --version
}

step_fmt() { cargo fmt --all -- --check; }

step_clippy() { cargo clippy --workspace --all-targets --locked -- -D warnings; }

step_doc() { RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked; }

step_nostd() { cargo build -p nvmx-spec --no-default-features --locked; }

# The README's test command. It also builds, in one feature set, every test
# binary and the CLI that verify, icount's neighbours and both guest suites
# use afterwards (they ask for `--workspace` too, so nothing is rebuilt).
step_tests() { cargo test --workspace --locked; }

# Tests that need something of the host (root, loop devices, /dev/shm...):
# the test binaries mark them ignored, and this script runs them with a
# strict variable that turns a missing environment into a failure.
step_host-env() {
    if [[ ! -e testrig/host-env-tests.sh ]]; then
        echo "testrig/host-env-tests.sh is not in this tree: nothing to run"
        return 77
    fi
    bash testrig/host-env-tests.sh
}

# Type-checks and lints the FreeBSD backend (nvmx-os/src/freebsd: nvme passthrough,
# kqueue aio, /dev enumeration), the CLI and the tests for FreeBSD; clippy
# does not link, so no FreeBSD sysroot is needed. The library's rlib is
# built too. The FreeBSD-independent parts (ioctl numbers, layouts,
# marshalling, decoding, name parsing) run as host unit tests.
step_freebsd() {
    if ! rustup target add x86_64-unknown-freebsd >/dev/null 2>&1; then
        echo "warning: could not add the x86_64-unknown-freebsd target; FreeBSD check not run" >&2
        return 77
    fi
    cargo clippy --workspace --all-targets --target x86_64-unknown-freebsd --locked -- -D warnings
    cargo build -p nvmx --lib --target x86_64-unknown-freebsd --locked
}

# Installs mingw-w64 and Wine from Debian's packages on first use, builds
# the workspace for x86_64-pc-windows-gnu, lints it with -D warnings and
# runs its tests under Wine: the conformance suite on files through iocp,
# iocp_th, thrpool, emu and nil and on the ramdisk, the Windows CLI tests,
# and the clean failure of the StorNVMe and IoRing paths Wine lacks; then
# the verify workload with nvmx.exe.
step_wine() { testrig/wine/windows-suite.sh; }

# Interprets the selected tests under Miri (nightly); see testrig/miri.sh.
# Without nightly/Miri (no download possible) it warns and passes; a Miri
# failure fails CI.
step_miri() { testrig/miri.sh; }

# cargo-fuzz with libFuzzer and AddressSanitizer on nightly: spec decoders,
# URI/option parsing and ramdisk command sequences checked against a model.
# Warns and passes when nightly or cargo-fuzz cannot be had; a crash fails.
step_fuzz() { testrig/fuzz.sh "${NVMX_FUZZ_SECONDS:-30}"; }

step_verify() { testrig/verify-host.sh; }

# Counted by callgrind, so the check holds on a loaded machine; a rise of
# more than 10 % over bench/icount-baseline.txt fails.
step_icount() {
    if ! command -v valgrind >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
    fi
    bench/icount.sh
}

# One guest with emulated NVMe controllers: the conformance suite over every
# NVMe configuration, the Linux interface tests, the cross-checks against
# nvme-cli and dd, and the fault runs (testrig/vm/guest-suite.sh).
step_guest() { NVMX_VM_TIMEOUT=${NVMX_VM_TIMEOUT:-2400} testrig/vm/guest-suite.sh; }

# The user-space driver: `nvmx driver` binds and rebinds a controller, the
# conformance suite and the command-set tests run through uio and vfio
# (testrig/vm/guest-suite-upcie.sh).
step_upcie() { NVMX_VM_TIMEOUT=${NVMX_VM_TIMEOUT:-900} testrig/vm/guest-suite-upcie.sh; }

# ---------------------------------------------------------------- runner
_ci_done=()   # "name|status|seconds"
_ci_t0=0
_ci_load0=""
_ci_cur=""    # the step running now (shown as interrupted)
_ci_cur_t=0

_ci_load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

# Prints the timing table: every step asked for, its wall time, budget and
# status, the total, and a WARNING line per step over its budget.
ci_table() {
    local scale=${NVMX_CI_BUDGET_SCALE:-100} s name st secs budget total=0 warn=()
    local -A got=()
    for s in "${_ci_done[@]}"; do got[${s%%|*}]=${s#*|}; done
    printf '\n=== timing (%s, commit %s; load average %s at start, %s at end; budgets x%s%%)\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$_ci_load0" "$(_ci_load)" "$scale"
    printf '%-10s %-11s %7s %7s  %s\n' step status wall budget what
    for name in "${_ci_asked[@]}"; do
        budget=$(($(ci_field "$name" 2) * scale / 100))
        if [[ -n ${got[$name]:-} ]]; then
            st=${got[$name]%%|*}
            secs=${got[$name]#*|}
            total=$((total + secs))
            printf '%-10s %-11s %6ss %6ss  %s\n' "$name" "$st" "$secs" "$budget" "$(ci_field "$name" 3)"
            ((secs > budget)) && warn+=("WARNING: step $name took $secs s, over its budget of $budget s")
        elif [[ $name == "${_ci_cur:-}" ]]; then
            secs=$((SECONDS - _ci_cur_t))
            total=$((total + secs))
            printf '%-10s %-11s %6ss %6ss  %s\n' "$name" interrupted "$secs" "$budget" "$(ci_field "$name" 3)"
        else
            printf '%-10s %-11s %7s %6ss  %s\n' "$name" "not run" "-" "$budget" "$(ci_field "$name" 3)"
        fi
    done
    local tb=$((NVMX_CI_TOTAL_BUDGET * scale / 100)) wall=$((SECONDS - _ci_t0))
    printf '%-10s %-11s %6ss %6ss  %s\n' total "$_ci_status" "$wall" "$tb" "wall time of the run (steps: $total s)"
    ((${#_ci_asked[@]} == ${#CI_STEPS[@]})) && ((wall > tb)) &&
        warn+=("WARNING: the run took $wall s, over the total budget of $tb s")
    for s in "${warn[@]}"; do echo "$s"; done
    return 0
}

# Runs the named steps in order, each in its own shell with `set -e`, and
# prints the table on exit, also when a step fails or the run is
# interrupted. Stops at the first failure unless NVMX_CI_KEEP_GOING=1.
ci_run() {
    local name rc failed=0
    for name in "$@"; do
        ci_field "$name" 2 >/dev/null || { echo "unknown step '$name'; steps: $(ci_names | xargs)" >&2; return 2; }
    done
    _ci_asked=("$@")
    _ci_t0=$SECONDS
    _ci_load0=$(_ci_load)
    _ci_status=interrupted
    trap 'ci_table' EXIT
    # A signal ends the run through exit, so that the table is printed.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    for name in "$@"; do
        printf '\n=== %s: %s (%ss)\n' "$name" "$(ci_field "$name" 3)" "$((SECONDS - _ci_t0))"
        local t=$SECONDS
        _ci_cur=$name
        _ci_cur_t=$t
        set +e
        (
            set -euo pipefail
            "step_$name"
        )
        rc=$?
        set -e
        _ci_cur=""
        case $rc in
        0) _ci_done+=("$name|ok|$((SECONDS - t))") ;;
        77) _ci_done+=("$name|skipped|$((SECONDS - t))") ;;
        *)
            _ci_done+=("$name|FAILED|$((SECONDS - t))")
            echo "=== $name failed (exit $rc)" >&2
            failed=1
            [[ ${NVMX_CI_KEEP_GOING:-0} == 1 ]] || break
            ;;
        esac
    done
    if ((failed)); then _ci_status=FAILED; else _ci_status=ok; fi
    return "$failed"
}
