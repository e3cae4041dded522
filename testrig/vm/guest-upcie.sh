#!/usr/bin/env bash
# Runs inside the guest (see guest-suite-upcie.sh): the upcie test binaries
# listed in $1 (among them the driver's fault case: controller resets during
# I/O on two threads, reset_during_io_through_the_driver), then the `nvmx driver` / `nvmx enum` checks with the CLI at
# $2 on the NVM4K controller, the conformance suite and the command-set
# tests through the driver, and the verify workload (`nvmx perf run
# --iopattern verify`) through the driver on NVM4K and NVM512. Fails if any
# fails.
set -uo pipefail
list=$1
nvmx=$2
conformance=${3:-}
bench=${4:-}
sets=${5:-}
export RUST_BACKTRACE=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Environment-bound tests (crates/nvmx/tests/common/env.rs): those of this
# boot, and those that need a controller bound to the driver, fail when
# their environment is missing.
if [[ ${NVMX_GUEST_IOMMU:-0} == 1 ]]; then boot_env=vfio; else boot_env=uio; fi
export NVMX_REQUIRE_ENV=upcie,$boot_env
failed=()
# The driver binary's tests for this boot (testrig/env-tests.py, by their
# ignore reason): each must run and pass.
read -ra boot_tests < <("$here/../env-tests.py" "($boot_env)" "user-space driver suite" |
    awk '$2 == "driver" { $1 = $2 = ""; print }')
while read -r bin; do
    name=$(basename "$bin")
    echo "=== guest: $name (IOMMU ${NVMX_GUEST_IOMMU:-0}): ${#boot_tests[@]} tests of this boot"
    "$bin" --ignored --exact --test-threads=1 --nocapture "${boot_tests[@]}" 2>&1 | tee /tmp/upcie-boot.out
    rc=${PIPESTATUS[0]}
    passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' /tmp/upcie-boot.out | awk '{s += $4} END {print s + 0}')
    if ((rc != 0 || ${#boot_tests[@]} == 0 || passed != ${#boot_tests[@]})); then
        failed+=("$name: exit $rc, $passed of ${#boot_tests[@]} passed")
    fi
done <"$list"

echo "=== guest: nvmx driver / nvmx enum"
pci=${NVMX_DEV_NVM4K_PCI:-}
if [[ -z $pci ]]; then
    failed+=("cli: no NVM4K controller")
elif ! "$nvmx" driver --help >/dev/null 2>&1; then
    echo "guest: this nvmx has no driver command; CLI checks skipped"
else
    if [[ ${NVMX_GUEST_IOMMU:-0} == 1 ]]; then to=vfio-pci; else to=uio_pci_generic; fi
    cli() { echo "+ nvmx $*"; "$nvmx" "$@"; }
    cli driver status "$pci" || failed+=("cli: driver status")
    if cli driver bind "$pci" --to "$to"; then
        cli driver status "$pci" --output json | grep -q "\"driver\": *\"$to\"" ||
            failed+=("cli: status after bind")
        cli enum | tee /tmp/enum.txt
        grep -q "$pci" /tmp/enum.txt || failed+=("cli: enum lists $pci bound to $to")
        cli driver bind "$pci" --to nvme || failed+=("cli: bind back to nvme")
        cli driver status "$pci" || true
    else
        failed+=("cli: driver bind --to $to")
    fi
fi
echo "=== guest: conformance through the user-space driver"
if [[ -n $pci && -n $conformance ]] && "$nvmx" driver --help >/dev/null 2>&1; then
    if [[ ${NVMX_GUEST_IOMMU:-0} == 1 ]]; then be=vfio to=vfio-pci; else be=uio to=uio_pci_generic; fi
    # The same controller, first through the kernel (io_uring_cmd), then
    # through the user-space driver: random 4 KiB reads at QD 32.
    kernel_line=""
    if [[ -n $bench && -n ${NVMX_DEV_NVM4K_CDEV:-} ]]; then
        kernel_line=$(NVMX_BENCH_URI=$NVMX_DEV_NVM4K_CDEV NVMX_BENCH_BE=io_uring_cmd \
            "$bench" bench_device:: --ignored --nocapture 2>&1 | grep '^bench:')
        echo "$kernel_line"
    fi
    if "$nvmx" driver bind "$pci" --to "$to"; then
        if [[ -n $kernel_line ]]; then
            user_line=$(NVMX_BENCH_URI=$pci NVMX_BENCH_BE=$be NVMX_BENCH_NSID=1 \
                "$bench" bench_device:: --ignored --nocapture 2>&1 | grep '^bench:')
            echo "$user_line"
            python3 - "$kernel_line" "$user_line" <<'PY' || true
import re, sys
k, u = (dict(re.findall(r"(\w+)=(\S+)", l)) for l in sys.argv[1:3])
print(f"bench: ratio {u['be']}/io_uring_cmd: iops {float(u['iops']) / float(k['iops']):.2f}x, "
      f"cpu per I/O {float(u['cpu_ns_per_io']) / float(k['cpu_ns_per_io']):.2f}x")
PY
        fi
        # The PI1 controller (separate metadata, PI type 1) joins for the
        # metadata tests.
        meta=${NVMX_DEV_PI1_PCI:-}
        if [[ -n $meta ]] && ! "$nvmx" driver bind "$meta" --to "$to"; then
            failed+=("bind $meta to $to")
            meta=""
        fi
        # Bad setup: an unprivileged user is told what it lacks.
        cp "$nvmx" /tmp/nvmx-nobody && chmod 755 /tmp/nvmx-nobody
        out=$(python3 -c 'import os, sys; os.setgid(65534); os.setuid(65534); os.execv(sys.argv[1], sys.argv[1:])' \
            /tmp/nvmx-nobody info "$pci" --be "$be" --dev-nsid 1 2>&1)
        prc=$?
        echo "+ nvmx info $pci --be $be (as nobody): exit $prc: $out"
        if ((prc == 0)) || ! grep -qiE 'permission denied|CAP_SYS_ADMIN' <<<"$out"; then
            failed+=("$be as an unprivileged user: no permission error")
        fi
        NVMX_UPCIE_URI=$pci NVMX_UPCIE_META_URI=$meta NVMX_UPCIE_BE=$be \
            "$conformance" conformance:: --test-threads=1 || failed+=("conformance through $be")
        # The command sets on their controllers bound to the driver: zoned,
        # FDP, PI types 1-3 with both guards, separate and extended metadata.
        bound=()
        upcie_env=(NVMX_UPCIE_BE=$be)
        for label in ZNS FDP PI1 PI1EXT PI2 PI3 PIF2; do
            var=NVMX_DEV_${label}_PCI
            addr=${!var:-}
            [[ -n $addr ]] || { echo "guest: no $label controller; its tests skip"; continue; }
            if [[ $label == PI1 && -n $meta ]] || "$nvmx" driver bind "$addr" --to "$to" >/dev/null; then
                [[ $label == PI1 && -n $meta ]] || bound+=("$addr")
                upcie_env+=("NVMX_UPCIE_$label=$addr")
            else
                failed+=("bind $label $addr to $to")
            fi
        done
        if [[ -n $sets ]]; then
            while read -r bin; do
                name=$(basename "$bin")
                echo "=== guest: $name through $be (${upcie_env[*]})"
                env "${upcie_env[@]}" "$bin" zoned::guest fdp::guest pi::guest --include-ignored --test-threads=1 --nocapture ||
                    failed+=("$name through $be")
            done <"$sets"
        fi
        # The verify workload through the driver: every block stamped,
        # written and read back in random order, on the 4 KiB (NVM4K) and
        # 512 B (NVM512) namespaces, with one and two I/O queues, 4 KiB and
        # 64 KiB commands (PRP lists). Zero mismatches is the only pass.
        echo "=== guest: nvmx perf verify through $be"
        vaddrs=("$pci")
        n512=${NVMX_DEV_NVM512_PCI:-}
        if [[ -z $n512 ]]; then
            failed+=("verify through $be: no NVM512 controller")
        elif "$nvmx" driver bind "$n512" --to "$to" >/dev/null; then
            vaddrs+=("$n512")
            bound+=("$n512")
        else
            failed+=("bind NVM512 $n512 to $to")
        fi
        vconfigs=0
        vios=0
        for addr in "${vaddrs[@]}"; do
            for spec in "1 1 4096" "8 2 4096" "32 2 65536"; do
                read -r qd nq iosize <<<"$spec"
                args=(perf run "$addr" --be "$be" --dev-nsid 1 --iopattern verify --qdepth "$qd"
                    --nqueues "$nq" --iosize "$iosize" --count 512 --quiet --output json)
                vrc=0
                timeout -k 5 300 "$nvmx" "${args[@]}" >/tmp/verify.json 2>/tmp/verify.err || vrc=$?
                if ((vrc == 124)); then
                    # Once in CI (2026-12-06) the first QD 1 run through
                    # vfio hung with no output until this timeout, and the
                    # same run passed before and after; the guest's TCG
                    # timers are known to stall on a loaded host (README).
                    # Say so, keep the kernel's view, and run it once more:
                    # a second hang fails the suite.
                    echo "+ nvmx ${args[*]}: timed out after 300 s; kernel log tail, then one retry"
                    dmesg | tail -n 20
                    vrc=0
                    timeout -k 5 300 "$nvmx" "${args[@]}" >/tmp/verify.json 2>/tmp/verify.err || vrc=$?
                fi
                read -r n m e < <(python3 -c '
import json, sys
try:
    t = json.load(open(sys.argv[1]))["total"]
    print(t["ios"], t["mismatches"], t["errors"])
except Exception:
    print("? ? ?")' /tmp/verify.json)
                echo "+ nvmx ${args[*]}: exit $vrc, $n I/Os, $m mismatches, $e errors"
                if ((vrc != 0)) || [[ $m != 0 || $e != 0 || $n == 0 || $n == "?" ]]; then
                    failed+=("verify $addr --be $be --qdepth $qd --nqueues $nq --iosize $iosize: exit $vrc, $m mismatches")
                    cat /tmp/verify.err
                else
                    vconfigs=$((vconfigs + 1))
                    vios=$((vios + n))
                fi
            done
        done
        echo "guest: verify through $be: $vconfigs configurations, $vios I/Os verified, 0 mismatches"
        for addr in "${bound[@]}"; do
            "$nvmx" driver bind "$addr" --to nvme >/dev/null || failed+=("rebind $addr to nvme")
        done
        if [[ -n $meta ]]; then
            "$nvmx" driver bind "$meta" --to nvme || failed+=("rebind $meta to nvme")
        fi
        "$nvmx" driver bind "$pci" --to nvme || failed+=("rebind $pci to nvme")
    else
        failed+=("bind $pci to $to for conformance")
    fi
fi
if ((${#failed[@]})); then
    echo "guest: FAILED: ${failed[*]}"
    exit 1
fi
echo "guest: all passed"
