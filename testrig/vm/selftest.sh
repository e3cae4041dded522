#!/usr/bin/env bash
# Self-test of the QEMU guest rig: boots the guest with the full device set
# (or --devices SET) and checks, inside it, that every labelled controller
# and namespace is there and answers nvme-cli; then checks exit-status and
# stream passing with a second, device-less boot.
#
#   testrig/vm/selftest.sh [run.sh options]
#
# Inside the guest this same file runs with --in-guest.
set -euo pipefail

if [[ ${1:-} != --in-guest ]]; then
    # ---------------------------------------------------------------- host
    # shellcheck source-path=SCRIPTDIR source=lib.sh
    source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
    T0=$(rig_now_ms)
    mkdir -p "$VM_DIR/runs"
    SHARE=$(mktemp -d "$VM_DIR/runs/selftest.XXXXXX")
    trap 'rm -rf "$SHARE"' EXIT
    rig_log "selftest 1/2: nvme-cli checks in the guest (devices: ${NVMX_VM_DEVICES:-full}; run.sh options: ${*:-none})"
    rc=0
    (cd "$SHARE" && NVMX_SELFTEST_SHARE=$SHARE "$RIG_DIR/run.sh" -v "$@" -- \
        bash "$RIG_DIR/selftest.sh" --in-guest) || rc=$?
    T1=$(rig_now_ms)
    if ((rc != 0)); then
        rig_log "selftest FAILED: guest checks exited with $rc"
        exit 1
    fi
    marker=$(cat "$SHARE/marker" 2>/dev/null || true)
    [[ $marker == written-in-guest ]] || { rig_log "selftest FAILED: share not written through"; exit 1; }
    rig_log "selftest 1/2 passed in $(rig_elapsed "$T0")"

    rig_log "selftest 2/2: exit status and stdout/stderr passing (no devices)"
    out=$(mktemp "$SHARE/out.XXXXXX")
    err=$(mktemp "$SHARE/err.XXXXXX")
    rc=0
    # shellcheck disable=SC2016 # expanded in the guest
    NVMX_SELFTEST_PROBE=passed-through "$RIG_DIR/run.sh" --devices none -- \
        bash -c 'echo "to-stdout $NVMX_SELFTEST_PROBE"; echo to-stderr >&2; exit 7' \
        >"$out" 2>"$err" || rc=$?
    if [[ $rc -ne 7 || $(cat "$out") != "to-stdout passed-through" || $(cat "$err") != to-stderr ]]; then
        rig_log "selftest FAILED: rc=$rc (want 7), stdout='$(cat "$out")', stderr='$(cat "$err")'"
        exit 1
    fi
    rig_log "selftest 2/2 passed in $(rig_elapsed "$T1")"
    rig_log "selftest passed, total $(rig_elapsed "$T0")"
    exit 0
fi

# -------------------------------------------------------------------- guest
# Every check reports and counts its failure; nothing aborts the run.
set +e
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
section() { printf '\n=== %s\n' "$*"; }
val() { local v="NVMX_DEV_${1}_$2"; echo "${!v:-}"; }

section "environment"
env | grep -E '^NVMX_' | LC_ALL=C sort
[[ ${NVMX_GUEST:-} == 1 ]] || fail "NVMX_GUEST is not 1"
[[ -r /run/nvmx-devices.env ]] || fail "/run/nvmx-devices.env missing"
read -r -a LABELS <<<"${NVMX_DEV_LABELS:-}"
((${#LABELS[@]})) || fail "no labelled devices"
[[ -z ${NVMX_DEV_MISSING:-} ]] || fail "missing devices: $NVMX_DEV_MISSING"
[[ -z ${NVMX_DEV_SKIPPED:-} ]] || echo "note: skipped (QEMU lacks support): $NVMX_DEV_SKIPPED"

section "nvme list"
nvme list || fail "nvme list"

nsids_of() { local s; s=$(val "$1" NSIDS); echo "${s:-$(val "$1" NSID)}" | tr , ' '; }
bdev_of() { if [[ -n $(val "$1" NSIDS) ]]; then val "$1" "NS${2}_BDEV"; else val "$1" BDEV; fi; }
cdev_of() { if [[ -n $(val "$1" NSIDS) ]]; then val "$1" "NS${2}_CDEV"; else val "$1" CDEV; fi; }

for l in "${LABELS[@]}"; do
    ctrl=$(val "$l" CTRL)
    section "$l: $ctrl ($(val "$l" PCI), serial $(val "$l" SERIAL))"
    [[ -c $ctrl ]] || { fail "$l: $ctrl is not a char device"; continue; }
    [[ -d /sys/bus/pci/devices/$(val "$l" PCI) ]] || fail "$l: PCI address $(val "$l" PCI) unknown"
    idc=$(nvme id-ctrl "$ctrl") || { fail "$l: nvme id-ctrl"; continue; }
    grep -E '^(vid|sn|mn|fr|mdts|cntlid|ver|oacs|oncs|ctratt|nn) ' <<<"$idc"
    sn=$(awk -F: '$1 ~ /^sn / { gsub(/ /, "", $2); print $2 }' <<<"$idc")
    [[ $sn == "$(val "$l" SERIAL)" ]] || fail "$l: id-ctrl sn '$sn'"
    mdts=$(awk -F: '$1 ~ /^mdts / { gsub(/ /, "", $2); print $2 }' <<<"$idc")
    [[ $mdts == "$(val "$l" MDTS)" ]] || fail "$l: mdts $mdts, want $(val "$l" MDTS)"
    for nsid in $(nsids_of "$l"); do
        b=$(bdev_of "$l" "$nsid")
        c=$(cdev_of "$l" "$nsid")
        echo "-- nsid $nsid: $b $c"
        [[ -b $b ]] || fail "$l/$nsid: $b is not a block device"
        [[ -c $c ]] || fail "$l/$nsid: $c is not a char device"
        idn=$(nvme id-ns "$ctrl" -n "$nsid") || { fail "$l/$nsid: nvme id-ns"; continue; }
        grep -E '^(nsze|ncap|nuse|flbas|mc|dpc|dps|nmic|nsattr) |in use' <<<"$idn"
        inuse=$(grep 'in use' <<<"$idn")
        lbads=$(sed -n 's/.*lbads:\([0-9]*\).*/\1/p' <<<"$inuse")
        ms=$(sed -n 's/.*ms:\([0-9]*\).*/\1/p' <<<"$inuse")
        (((1 << lbads) == $(val "$l" LBS))) || fail "$l/$nsid: lbads $lbads, want LBS $(val "$l" LBS)"
        ((ms == $(val "$l" MS))) || fail "$l/$nsid: ms $ms, want $(val "$l" MS)"
        dps=$(awk -F: '$1 ~ /^dps / { gsub(/ /, "", $2); print $2 }' <<<"$idn")
        (((dps & 7) == $(val "$l" PI))) || fail "$l/$nsid: dps $dps, want PI $(val "$l" PI)"
        flbas=$(awk -F: '$1 ~ /^flbas / { gsub(/ /, "", $2); print $2 }' <<<"$idn")
        if [[ -n $(val "$l" MSET) ]]; then
            ((((flbas >> 4) & 1) == $(val "$l" MSET))) || fail "$l/$nsid: flbas $flbas, want MSET $(val "$l" MSET)"
        fi
        [[ $(cat "/sys/block/${b#/dev/}/nsid") == "$nsid" ]] || fail "$l/$nsid: sysfs nsid of $b"
    done
done

have() { [[ " ${LABELS[*]} " == *" $1 "* ]]; }

if have NVM4K; then
    section "NVM4K: write + read back (nvme-cli and dd, O_DIRECT)"
    b=$NVMX_DEV_NVM4K_BDEV
    head -c 8192 /dev/urandom >/tmp/w
    nvme write "$b" --start-block=16 --block-count=1 --data-size=8192 --data=/tmp/w ||
        fail "nvme write"
    nvme read "$b" --start-block=16 --block-count=1 --data-size=8192 --data=/tmp/r ||
        fail "nvme read"
    if cmp /tmp/w /tmp/r; then echo "nvme write/read: data matches"; else fail "nvme read-back differs"; fi
    dd if=/tmp/w of="$b" bs=4096 seek=64 count=2 oflag=direct status=none || fail "dd write"
    dd if="$b" of=/tmp/r2 bs=4096 skip=64 count=2 iflag=direct status=none || fail "dd read"
    if cmp /tmp/w /tmp/r2; then echo "dd write/read: data matches"; else fail "dd read-back differs"; fi
    echo "blockdev: $(blockdev --getss --getsize64 "$b" | tr '\n' ' ')"
fi

if have PIF2; then
    section "PIF2: 64-bit guard format (NVM command set Identify Namespace)"
    nvm=$(nvme nvm-id-ns "$NVMX_DEV_PIF2_CTRL" -n "$NVMX_DEV_PIF2_NSID" 2>&1)
    if [[ $nvm == *pif:* ]]; then
        grep -E 'in use' <<<"$nvm"
        grep -E 'in use' <<<"$nvm" | grep -q 'pif:2' || fail "PIF2: in-use format has no pif:2"
    else
        echo "(nvme-cli cannot show pif: $(head -n 1 <<<"$nvm"))"
    fi
fi

if have PI1; then
    section "PI1: block-layer write + read (kernel generates and checks PI)"
    b=$NVMX_DEV_PI1_BDEV
    head -c 4096 /dev/urandom >/tmp/p
    dd if=/tmp/p of="$b" bs=4096 seek=8 count=1 oflag=direct status=none || fail "PI1 dd write"
    dd if="$b" of=/tmp/p2 bs=4096 skip=8 count=1 iflag=direct status=none || fail "PI1 dd read"
    if cmp /tmp/p /tmp/p2; then echo "PI1: data matches"; else fail "PI1 read-back differs"; fi
fi

if have ZNS; then
    section "ZNS"
    b=$NVMX_DEV_ZNS_BDEV
    echo "zoned: $(cat "/sys/block/${b#/dev/}/queue/zoned"), zones: $(cat "/sys/block/${b#/dev/}/queue/nr_zones")"
    nvme zns id-ctrl "$NVMX_DEV_ZNS_CTRL" || fail "nvme zns id-ctrl"
    nvme zns id-ns "$b" | head -n 12 || fail "nvme zns id-ns"
    head -c 4096 /dev/urandom >/tmp/z
    dd if=/tmp/z of="$b" bs=4096 count=1 oflag=direct status=none || fail "ZNS dd write at zone 0"
    nvme zns report-zones "$b" -d 3 || fail "nvme zns report-zones"
    nvme zns report-zones "$b" -d 1 | grep -q 'WP: 0x1 ' || fail "zone 0 write pointer did not move to 0x1"
    nvme zns reset-zone "$b" -s 0 || fail "nvme zns reset-zone"
fi

if have MULTINS; then
    section "MULTINS: namespaces"
    nvme list-ns "$NVMX_DEV_MULTINS_CTRL" || fail "nvme list-ns"
    n=$(nvme list-ns "$NVMX_DEV_MULTINS_CTRL" | grep -c '^\[')
    ((n == 3)) || fail "MULTINS: $n namespaces, want 3"
fi

if have SMALLMDTS; then
    section "SMALLMDTS: max transfer"
    echo "max_hw_sectors_kb: $(cat "/sys/block/${NVMX_DEV_SMALLMDTS_BDEV#/dev/}/queue/max_hw_sectors_kb")"
fi

if have FDP; then
    section "FDP"
    nvme id-ctrl "$NVMX_DEV_FDP_CTRL" | grep -E '^ctratt ' || true
    # Features 0x1d (FDP) for endurance group 1: bit 0 = enabled.
    nvme get-feature "$NVMX_DEV_FDP_CTRL" -f 0x1d --cdw11=1 || fail "get-feature FDP"
    nvme fdp configs "$NVMX_DEV_FDP_CTRL" -e 1 2>/dev/null || echo "(nvme-cli has no 'fdp configs')"
    if st=$(nvme fdp status "$NVMX_DEV_FDP_CDEV" 2>&1); then
        head -n 8 <<<"$st"
    else
        echo "(nvme fdp status: $(head -n 1 <<<"$st"))"
    fi
fi

section "guest kernel modules"
if modprobe uio_pci_generic && grep -q '^uio_pci_generic ' /proc/modules; then
    echo "modprobe uio_pci_generic: ok"
else
    fail "modprobe from the guest kernel's module tree"
fi
[[ -e /dev/loop-control ]] || fail "no /dev/loop-control (loop module)"

if [[ -n ${NVMX_SELFTEST_SHARE:-} ]]; then
    section "read-write share"
    echo written-in-guest >"$NVMX_SELFTEST_SHARE/marker" || fail "cannot write to the share"
fi

section "result"
if ((FAILS)); then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all checks passed (${#LABELS[@]} controllers: ${LABELS[*]})"
