#!/usr/bin/env bash
# Runs inside the guest (see guest-tests.sh): faults raised by the real
# kernel driver and the emulated controller, and what nvmx answers.
#
#  1. Controller resets during I/O. While `nvmx perf run` writes to the
#     NVM4K namespace, through io_uring_cmd on /dev/ngXnY and through
#     io_uring on the block device, the kernel resets the controller
#     (sysfs reset_controller) up to three times. nvmx must end within its
#     `timeout` (no hang), never panic (no "panicked", exit 0 or 1, never
#     101 or a signal), and a failure must be one line naming the NVMe
#     status or the OS error. Then a verify pass over the whole namespace
#     must find every block as written.
#  2. Media errors. The MEDIAERR controller's image sits behind QEMU's
#     blkdebug driver, which fails reads of one block; QEMU's controller
#     completes them with Unrecovered Read Error (sct 0x2, sc 0x81). nvmx
#     must report that status by name and value through the ioctl and
#     io_uring_cmd paths, and the kernel's error (ENODATA, "critical medium
#     error") through the block device; a good block still reads.
#  3. The kernel's own NVMe fault injection (debugfs
#     /sys/kernel/debug/nvmeXnY/fault_inject, CONFIG_FAULT_INJECTION_DEBUG_FS):
#     used when the guest kernel has it, otherwise its absence is reported.
#
# The figures end in a line `faults: ...`. Exit status 1 if any check failed.
#
#   bash guest-faults.sh NVMX
set -uo pipefail
nvmx=${1:?usage: guest-faults.sh NVMX}
failed=()
fail() {
    echo "FAIL: $*"
    failed+=("$*")
}
tmp=$(mktemp -d /tmp/nvmx-faults.XXXXXX)

# A file's text on one line, after "; stderr: " (nothing when empty).
said() { [[ -s $1 ]] && printf '; stderr: %s' "$(tr '\n' ' ' <"$1" | head -c 600)"; }

# A number from the "total" object of a perf JSON report ("" if none).
total() { # FILE KEY
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["total"][sys.argv[2]])' "$1" "$2" 2>/dev/null
}

# Judges how nvmx ended: WHAT RC STDERR-FILE [PATTERN the error must match].
# Exit 0, or 1 with exactly one line `nvmx: error: ...` naming an NVMe status
# `(sct 0x.., sc 0x..)` or an OS error (or PATTERN when given); anything
# else (a hang killed by timeout, a panic, a signal) fails.
judge() {
    local what=$1 rc=$2 err=$3 pat=${4:-'\(sct 0x[0-9a-f]+, sc 0x[0-9a-f]+\)|os error [0-9]+'}
    if grep -q panicked "$err"; then
        fail "$what: nvmx panicked: $(head -n 3 "$err")"
        return
    fi
    case $rc in
    0) ;;
    1)
        if [[ $(grep -c . "$err") -ne 1 ]] || ! grep -q '^nvmx: error: ' "$err"; then
            fail "$what: the error is not one line 'nvmx: error: ...': $(head -c 600 "$err")"
        elif ! grep -qE "$pat" "$err"; then
            fail "$what: the error does not name the status ($pat): $(cat "$err")"
        fi
        ;;
    124 | 137) fail "$what: nvmx hung (killed by timeout, exit $rc)" ;;
    101) fail "$what: nvmx panicked (exit 101)" ;;
    *) fail "$what: unexpected exit $rc: $(head -c 600 "$err")" ;;
    esac
}

# ------------------------------------------------------------ 1. resets
resets_total=0
reset_runs=0
verify_ios=0
ctrl=${NVMX_DEV_NVM4K_CTRL:-}
if [[ -z $ctrl || -z ${NVMX_DEV_NVM4K_CDEV:-} || -z ${NVMX_DEV_NVM4K_BDEV:-} ]]; then
    fail "resets: no NVM4K controller"
else
    sys=/sys/class/nvme/${ctrl#/dev/}
    wait_live() { # up to 60 s
        local i s
        for ((i = 0; i < 600; i++)); do
            s=$(<"$sys/state")
            [[ $s == live ]] && return 0
            sleep 0.1
        done
        echo "controller ${ctrl#/dev/} still '$s' after 60 s"
        return 1
    }
    # reset_during DEV BE [perf options...]
    reset_during() {
        local dev=$1 be=$2
        shift 2
        local what="reset during perf $dev --be $be" out=$tmp/reset.json err=$tmp/reset.err
        local pid rc n=0 i t0=$SECONDS
        echo "+ nvmx perf run $dev --be $be${*:+ $*} --iopattern randwrite --qdepth 16 --nqueues 2 --runtime 8; resets from sysfs meanwhile"
        timeout -k 5 120 "$nvmx" perf run "$dev" --be "$be" "$@" --iopattern randwrite --qdepth 16 \
            --nqueues 2 --runtime 8 --quiet --output json >"$out" 2>"$err" &
        pid=$!
        sleep 2
        for i in 1 2 3; do
            kill -0 "$pid" 2>/dev/null || break
            if echo 1 2>"$tmp/reset-write.err" >"$sys/reset_controller"; then
                n=$((n + 1))
            else
                echo "  reset $i refused: $(tr -d '\n' <"$tmp/reset-write.err")"
            fi
            wait_live || fail "$what: the controller did not come back"
            sleep 1
        done
        wait "$pid"
        rc=$?
        resets_total=$((resets_total + n))
        reset_runs=$((reset_runs + 1))
        echo "  $n resets during the run; nvmx exit $rc after $((SECONDS - t0)) s, $(total "$out" ios) I/Os," \
            "$(total "$out" errors) errors$(said "$err")"
        ((n > 0)) || fail "$what: no reset happened while nvmx ran"
        judge "$what" "$rc" "$err"
        wait_live || fail "$what: the controller did not come back"
        # A verify pass: 1024 commands of 64 KiB (64 MiB) written and read
        # back, bounded so that the debug build under TCG stays quick.
        rc=0
        timeout -k 5 600 "$nvmx" perf run "$dev" --be "$be" "$@" --iopattern verify --iosize 65536 --count 512 \
            --qdepth 16 --nqueues 2 --quiet --output json >"$out" 2>"$err" || rc=$?
        local ios mm
        ios=$(total "$out" ios)
        mm=$(total "$out" mismatches)
        echo "  then verify: exit $rc, ${ios:-?} I/Os, ${mm:-?} mismatches"
        if ((rc != 0)) || [[ -z $ios || $mm != 0 ]]; then
            fail "$what: verify after the resets: exit $rc, ${mm:-?} mismatches: $(head -c 600 "$err")"
        else
            verify_ios=$((verify_ios + ios))
        fi
    }
    echo "=== faults: controller resets during I/O (${ctrl#/dev/})"
    reset_during "$NVMX_DEV_NVM4K_CDEV" io_uring_cmd
    reset_during "$NVMX_DEV_NVM4K_BDEV" io_uring --direct
    # The kernel's own account of the resets (one "default/read/poll
    # queues" line each time the controller comes back).
    echo "  kernel log: ${ctrl#/dev/} set up its I/O queues $(dmesg | grep -c "nvme ${ctrl#/dev/}: .*queues") times"
fi

# ------------------------------------------------------------ 2. media errors
media_checks=0
if [[ -z ${NVMX_DEV_MEDIAERR_CDEV:-} || -z ${NVMX_DEV_MEDIAERR_BAD_LBA:-} ]]; then
    fail "media errors: no MEDIAERR controller (boot with --devices ...,MEDIAERR)"
else
    echo "=== faults: media error on LBA $NVMX_DEV_MEDIAERR_BAD_LBA of $NVMX_DEV_MEDIAERR_CDEV (blkdebug)"
    bad=$NVMX_DEV_MEDIAERR_BAD_LBA
    urr='Unrecovered Read Error \(sct 0x2, sc 0x81\)'
    # expect WHAT RC-WANTED PATTERN -- NVMX-ARGS...
    expect() {
        local what=$1 want=$2 pat=$3 rc=0
        shift 4
        echo "+ nvmx $*"
        timeout -k 5 120 "$nvmx" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        echo "  exit $rc$(said "$tmp/err")"
        media_checks=$((media_checks + 1))
        judge "$what" "$rc" "$tmp/err" "$pat"
        ((rc == want)) || fail "$what: exit $rc, expected $want"
    }
    c=$NVMX_DEV_MEDIAERR_CDEV b=${NVMX_DEV_MEDIAERR_BDEV:-}
    expect "good block, ioctl" 0 . -- lblk read "$c" --slba 0 --nlb 0 --data-output "$tmp/blk"
    expect "bad block, ioctl (sync)" 1 "$urr" -- lblk read "$c" --slba "$bad" --nlb 0 --data-output "$tmp/blk"
    expect "bad block within a range, ioctl" 1 "$urr" -- lblk read "$c" --slba $((bad - 2)) --nlb 7 --data-output "$tmp/blk"
    expect "bad block, io_uring_cmd" 1 "$urr" -- perf run "$c" --be io_uring_cmd --iopattern read \
        --qdepth 8 --count $((bad + 24)) --quiet --output json
    expect "bad block, emulated async over the ioctl" 1 "$urr" -- perf run "$c" --be emu --iopattern read \
        --qdepth 8 --count $((bad + 24)) --quiet --output json
    expect "bad block, block device through io_uring" 1 'os error 61|No data available' -- perf run "$b" \
        --be io_uring --direct --iopattern read --qdepth 8 --count $((bad + 24)) --quiet --output json
    expect "good blocks after the errors" 0 . -- lblk read "$c" --slba $((bad + 1)) --nlb 7 --data-output "$tmp/blk"
fi

# ------------------------------------------------------------ 3. kernel fault injection
echo "=== faults: the kernel's NVMe fault injection"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
fi_dir=""
for d in /sys/kernel/debug/nvme*/fault_inject; do [[ -d $d ]] && fi_dir=$d && break; done
if [[ -z $fi_dir ]]; then
    generic=absent
    [[ -e /sys/kernel/debug/fail_make_request ]] && generic=present
    fault_inject="absent (kernel $(uname -r): no /sys/kernel/debug/nvme*/fault_inject; debugfs $(mountpoint -q /sys/kernel/debug && echo mounted || echo 'not mounted'); generic fail_make_request $generic: CONFIG_FAULT_INJECTION_DEBUG_FS not set)"
    echo "  $fault_inject"
else
    # Exercised only on a kernel built with CONFIG_FAULT_INJECTION_DEBUG_FS:
    # the next command on that namespace completes with the status written
    # to the knob, without retry.
    fault_inject="present ($fi_dir)"
    echo "  $fault_inject"
    disk=${fi_dir#/sys/kernel/debug/}
    disk=${disk%/fault_inject}
    cdev=/dev/ng${disk#nvme}
    if ! { echo 0x281 >"$fi_dir/status" && echo 1 >"$fi_dir/dont_retry" &&
        echo 100 >"$fi_dir/probability" && echo 1 >"$fi_dir/times"; }; then
        fail "fault_inject: cannot arm $fi_dir"
    fi
    rc=0
    timeout -k 5 60 "$nvmx" lblk read "$cdev" --slba 0 --nlb 0 --data-output "$tmp/blk" 2>"$tmp/err" >/dev/null || rc=$?
    echo "  nvmx lblk read $cdev with 0x281 injected: exit $rc: $(cat "$tmp/err")"
    judge "fault_inject 0x281" "$rc" "$tmp/err" 'Unrecovered Read Error \(sct 0x2, sc 0x81\)'
    ((rc == 1)) || fail "fault_inject: the injected status was not reported (exit $rc)"
    echo 0 >"$fi_dir/probability"
fi

rm -rf "$tmp"
echo "faults: $resets_total controller resets during $reset_runs runs, $verify_ios I/Os verified after them," \
    "$media_checks media-error checks; kernel fault_inject $fault_inject"
if ((${#failed[@]})); then
    echo "faults: FAILED: ${#failed[@]} checks"
    exit 1
fi
echo "faults: all passed"
