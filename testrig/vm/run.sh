#!/usr/bin/env bash
# Run a command inside a QEMU (TCG) Linux guest with emulated NVMe controllers.
#
#   testrig/vm/run.sh [options] -- CMD [ARGS...]
#
# The guest's root is the host's / (read-only over virtio-9p, tmpfs overlay),
# the current directory is shared read-write at the same path, and CMD runs
# there as root. Its stdout/stderr come back on this script's stdout/stderr
# and its exit status is this script's exit status. See README.md.
#
# Options (environment variable in brackets):
#   --devices SET    full (default) | all (full + MEDIAERR) | nvm | zns | pi | fdp | minimal | none,
#                    or a comma list of sets and labels, e.g. nvm,ZNS [NVMX_VM_DEVICES]
#   --iommu          add an emulated Intel IOMMU (for vfio) [NVMX_VM_IOMMU=1]
#   --modules LIST   extra modules to load at boot, e.g. vfio_pci,uio_pci_generic [NVMX_VM_MODULES]
#   --share DIR      also share DIR read-write (repeatable; the cwd is always
#                    shared) [NVMX_VM_SHARES, ':'-separated]
#   --hugepages N    reserve N 2 MiB hugepages in the guest [NVMX_VM_HUGEPAGES]
#   --mem MIB        guest memory (default 2048) [NVMX_VM_MEM]
#   --smp N          guest CPUs (default 2) [NVMX_VM_SMP]
#   --ns-size SIZE   size of each namespace image (default 512M) [NVMX_VM_NS_SIZE]
#   --timeout SEC    bound for the whole run (default 1500) [NVMX_VM_TIMEOUT]
#   --keep           keep the run directory (images, logs) [NVMX_VM_KEEP=1]
#   -v, --verbose    report boot/run timings and the device map on stderr [NVMX_VM_VERBOSE=1]
#   --list-devices   print the device table and exit
# More knobs: NVMX_VM_LOGLEVEL (guest console loglevel, default 4),
# NVMX_VM_APPEND (extra kernel arguments), NVMX_VM_DEV_WAIT (seconds the
# guest waits for the controllers, default 60), NVMX_VM_BOOT_TIMEOUT (seconds
# from QEMU start to CMD start before the boot counts as hung, default 180),
# NVMX_VM_BOOT_RETRIES (boots retried after such a hang or a QEMU crash
# before CMD started, default 2),
# NVMX_VM_DIR (cache dir, default <repo>/.vm).
#
# Exit status: CMD's status; 124 when the run timed out; 125 when the rig
# failed (setup missing, guest did not boot, ...), with a message on stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEVICES=${NVMX_VM_DEVICES:-full}
IOMMU=${NVMX_VM_IOMMU:-0}
MODULES=${NVMX_VM_MODULES:-}
HUGEPAGES=${NVMX_VM_HUGEPAGES:-0}
MEM=${NVMX_VM_MEM:-2048}
SMP=${NVMX_VM_SMP:-2}
NS_SIZE=${NVMX_VM_NS_SIZE:-512M}
TIMEOUT=${NVMX_VM_TIMEOUT:-1500}
KEEP=${NVMX_VM_KEEP:-0}
VERBOSE=${NVMX_VM_VERBOSE:-0}
SHARES=()
if [[ -n ${NVMX_VM_SHARES:-} ]]; then IFS=: read -r -a SHARES <<<"$NVMX_VM_SHARES"; fi
LIST_ONLY=0

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
while (($#)); do
    case $1 in
    --devices) DEVICES=${2:?--devices needs a value}; shift 2 ;;
    --devices=*) DEVICES=${1#*=}; shift ;;
    --iommu) IOMMU=1; shift ;;
    --modules) MODULES=${2:?}; shift 2 ;;
    --share) SHARES+=("${2:?}"); shift 2 ;;
    --hugepages) HUGEPAGES=${2:?}; shift 2 ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --ns-size) NS_SIZE=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -v | --verbose) VERBOSE=1; shift ;;
    --list-devices) LIST_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) rig_die "unknown option $1 (see --help)" ;;
    *) break ;;
    esac
done
CMD=("$@")

# ------------------------------------------------------------ device table
# One controller per label, each behind its own pcie-root-port, serial
# "nvmx-<label>" so that the guest finds it by serial whatever the kernel's
# numbering. dev_def LABEL sets:
#   D_CTRL   extra nvme (controller) properties
#   D_SUBSYS nvme-subsys properties ("" = none)
#   D_NS     namespace properties, one entry per namespace (nsid 1, 2, ...)
#   D_NEED   QEMU features required (zoned zrwa pi mset pif fdp)
#   D_PROPS  facts exported to the guest as NVMX_DEV_<LABEL>_<KEY>=<VALUE>
#   D_BADLBA a logical block whose reads fail ("" = none): the namespace
#            image sits behind QEMU's blkdebug driver, which fails every
#            read that covers it with EIO, and QEMU's controller completes
#            such a read with Unrecovered Read Error (sct 0x2, sc 0x81)
# ALL_LABELS is the table's order; FULL_LABELS is the `full` set. MEDIAERR
# is only had by name: its failing block would upset tests that read the
# whole namespace.
ALL_LABELS=(NVM4K NVM512 MULTINS ZNS SMALLMDTS PI1 PI1EXT PI2 PI3 PIF2 FDP MEDIAERR)
FULL_LABELS=(NVM4K NVM512 MULTINS ZNS SMALLMDTS PI1 PI1EXT PI2 PI3 PIF2 FDP)
lbs() { echo "logical_block_size=$1,physical_block_size=$1"; }
dev_def() {
    D_CTRL="mdts=7"
    D_SUBSYS=""
    D_NS=()
    D_NEED=""
    D_PROPS="LBS=4096 MS=0 PI=0 MDTS=7"
    D_BADLBA=""
    case $1 in
    NVM4K) D_NS=("$(lbs 4096)") ;;
    NVM512) D_NS=("$(lbs 512)"); D_PROPS="LBS=512 MS=0 PI=0 MDTS=7" ;;
    MULTINS)
        D_NS=("$(lbs 512)" "$(lbs 512)" "$(lbs 512)")
        D_PROPS="LBS=512 MS=0 PI=0 MDTS=7 NSIDS=1,2,3"
        ;;
    ZNS)
        D_NS=("$(lbs 4096),zoned=on,zoned.zone_size=8M,zoned.zone_capacity=6M,zoned.max_active=16,zoned.max_open=16,zoned.zrwas=65536,zoned.zrwafg=16384,zoned.numzrwa=16")
        D_NEED="zoned zrwa"
        D_PROPS="LBS=4096 MS=0 PI=0 MDTS=7 ZONE_SIZE=8M ZONE_CAP=6M MAX_ACTIVE=16 MAX_OPEN=16 ZRWAS=65536 ZRWAFG=16384 NUMZRWA=16"
        ;;
    SMALLMDTS) D_CTRL="mdts=2"; D_NS=("$(lbs 4096)"); D_PROPS="LBS=4096 MS=0 PI=0 MDTS=2" ;;
    PI1) D_NS=("$(lbs 512),ms=8,pi=1"); D_NEED="pi"; D_PROPS="LBS=512 MS=8 PI=1 MSET=0 PIF=0 MDTS=7" ;;
    PI1EXT) D_NS=("$(lbs 512),ms=8,mset=1,pi=1"); D_NEED="pi mset"; D_PROPS="LBS=512 MS=8 PI=1 MSET=1 PIF=0 MDTS=7" ;;
    PI2) D_NS=("$(lbs 512),ms=8,pi=2"); D_NEED="pi"; D_PROPS="LBS=512 MS=8 PI=2 MSET=0 PIF=0 MDTS=7" ;;
    PI3) D_NS=("$(lbs 512),ms=8,pi=3"); D_NEED="pi"; D_PROPS="LBS=512 MS=8 PI=3 MSET=0 PIF=0 MDTS=7" ;;
    PIF2) D_NS=("$(lbs 4096),ms=16,pi=1,pif=2"); D_NEED="pi pif"; D_PROPS="LBS=4096 MS=16 PI=1 MSET=0 PIF=2 MDTS=7" ;;
    FDP)
        D_SUBSYS="fdp=on,fdp.nruh=8,fdp.nrg=32,fdp.runs=1M"
        D_NS=("$(lbs 4096),fdp.ruhs=0;5;6;7")
        D_NEED="fdp"
        D_PROPS="LBS=4096 MS=0 PI=0 MDTS=7 FDP_NRUH=8 FDP_NRG=32 FDP_RUNS=1M FDP_RUHS=0;5;6;7"
        ;;
    MEDIAERR)
        D_NS=("$(lbs 4096)")
        D_BADLBA=1000
        D_PROPS="LBS=4096 MS=0 PI=0 MDTS=7 BAD_LBA=$D_BADLBA"
        ;;
    *) return 1 ;;
    esac
}
serial_of() { echo "nvmx-${1,,}"; }

expand_set() { # SET[,SET...] -> labels in table order, deduplicated
    local want=" " item l
    IFS=, read -r -a items <<<"$1"
    for item in "${items[@]}"; do
        case ${item,,} in
        full) want+="${FULL_LABELS[*]} " ;;
        all) want+="${ALL_LABELS[*]} " ;;
        nvm) want+="NVM4K NVM512 MULTINS SMALLMDTS " ;;
        zns) want+="ZNS " ;;
        pi) want+="PI1 PI1EXT PI2 PI3 PIF2 " ;;
        fdp) want+="FDP " ;;
        minimal) want+="NVM4K " ;;
        none | "") ;;
        *)
            dev_def "${item^^}" || rig_die "unknown device set or label '$item'"
            want+="${item^^} "
            ;;
        esac
    done
    for l in "${ALL_LABELS[@]}"; do [[ $want == *" $l "* ]] && echo "$l"; done
    return 0
}

if ((LIST_ONLY)); then
    printf '%-10s %-16s %-18s %s\n' LABEL SERIAL NEEDS "QEMU (controller | namespaces)"
    for l in "${ALL_LABELS[@]}"; do
        dev_def "$l"
        printf '%-10s %-16s %-18s %s\n' "$l" "$(serial_of "$l")" "${D_NEED:--}" \
            "${D_SUBSYS:+nvme-subsys $D_SUBSYS | }nvme $D_CTRL | $(IFS=' '; echo "${D_NS[*]}")${D_BADLBA:+ | blkdebug: reads of LBA $D_BADLBA fail}"
    done
    exit 0
fi
((${#CMD[@]})) || rig_die "no command given (usage: run.sh [options] -- CMD [ARGS...])"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || rig_die "timeout must be a number of seconds"

rig_load_info
mapfile -t WANT < <(expand_set "$DEVICES")
LABELS=()
SKIPPED=()
for l in "${WANT[@]}"; do
    dev_def "$l"
    ok=1
    for f in $D_NEED; do
        v="VM_QEMU_HAS_${f^^}"
        [[ ${!v:-0} == 1 ]] || ok=0
    done
    if ((ok)); then LABELS+=("$l"); else SKIPPED+=("$l"); fi
done
if ((${#SKIPPED[@]})); then
    # Sets skip what this QEMU cannot emulate; a label named on its own, or
    # a set of which nothing is left, is an error.
    for l in "${SKIPPED[@]}"; do
        case ,${DEVICES^^}, in *,"$l",*)
            case $l in ZNS | FDP) ;; *) rig_die "QEMU $VM_QEMU_VERSION cannot emulate $l" ;; esac
            ;;
        esac
    done
    ((${#LABELS[@]})) || rig_die "QEMU $VM_QEMU_VERSION cannot emulate any of: ${SKIPPED[*]}"
    if ((VERBOSE)) || [[ ,${DEVICES,,}, != *,full,* ]]; then
        rig_log "skipped (QEMU $VM_QEMU_VERSION lacks the feature): ${SKIPPED[*]}"
    fi
fi

# ------------------------------------------------------------ run directory
mkdir -p "$VM_DIR/runs" "$VM_DIR/logs"
# Run directories left behind (--keep, failures) go after a day.
find "$VM_DIR/runs" -mindepth 1 -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
RUN=$(mktemp -d "$VM_DIR/runs/run.XXXXXX")
chmod 0755 "$RUN"
QPID=""
PIDS=()
HOLD_OUT=""
HOLD_ERR=""
# shellcheck disable=SC2317 # invoked by trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
        kill -TERM "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
    fi
    [[ -n $HOLD_OUT ]] && exec {HOLD_OUT}>&-
    [[ -n $HOLD_ERR ]] && exec {HOLD_ERR}>&-
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -e $RUN/console.log ]]; then
        cp -f "$RUN/console.log" "$VM_DIR/logs/console.log.tmp.$$" &&
            mv -f "$VM_DIR/logs/console.log.tmp.$$" "$VM_DIR/logs/console.log"
    fi
    rm -f "$RUN"/*.img "$RUN"/*.fifo
    if [[ $KEEP == 1 || $rc -eq 124 || $rc -eq 125 ]]; then
        [[ $KEEP == 1 ]] || rig_log "run directory kept: $RUN"
    else
        rm -rf "$RUN"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ QEMU arguments
qesc() { echo "${1//,/,,}"; } # a comma inside a QEMU option value is doubled
# shellcheck disable=SC2054 # commas are QEMU syntax
qargs=(
    -name nvmx-guest -nodefaults -display none -no-user-config
    -accel tcg,thread=multi -cpu max -machine q35 -smp "$SMP" -m "$MEM"
    -no-reboot
)
APPEND="console=ttyS0,115200 panic=-1 loglevel=${NVMX_VM_LOGLEVEL:-4} mitigations=off 8250.nr_uarts=3"
APPEND+="${NVMX_VM_APPEND:+ $NVMX_VM_APPEND}"
if [[ $IOMMU == 1 ]]; then
    # Must come before the PCI devices it translates for.
    qargs+=(-device intel-iommu)
    APPEND+=" intel_iommu=on iommu=nopt"
    MODULES+="${MODULES:+,}vfio_pci,vfio_iommu_type1"
fi
qargs+=(-kernel "$VM_KERNEL" -initrd "$VM_INITRAMFS" -append "$APPEND")

# Serial ports: ttyS0 = kernel console (log file), ttyS1 = CMD's stdout,
# ttyS2 = CMD's stderr. The outputs go through FIFOs read by cat, so they
# land on this script's own stdout/stderr file descriptions.
mkfifo "$RUN/out.fifo" "$RUN/err.fifo"
exec {HOLD_OUT}<>"$RUN/out.fifo" {HOLD_ERR}<>"$RUN/err.fifo"
cat "$RUN/out.fifo" {HOLD_OUT}>&- {HOLD_ERR}>&- &
PIDS+=($!)
cat "$RUN/err.fifo" >&2 {HOLD_OUT}>&- {HOLD_ERR}>&- &
PIDS+=($!)
# shellcheck disable=SC2054
qargs+=(
    -chardev "file,id=con,path=$(qesc "$RUN/console.log")"
    -chardev "file,id=gout,path=$(qesc "$RUN/out.fifo")"
    -chardev "file,id=gerr,path=$(qesc "$RUN/err.fifo")"
    -device isa-serial,chardev=con,index=0
    -device isa-serial,chardev=gout,index=1
    -device isa-serial,chardev=gerr,index=2,irq=5
)

# 9p: host / (read-only), the run directory, the shares.
SHARES=("$PWD" "${SHARES[@]}")
ABS_SHARES=()
for s in "${SHARES[@]}"; do
    [[ -d $s ]] || rig_die "share $s is not a directory"
    s=$(cd "$s" && pwd -P)
    [[ $s == / ]] && continue # / is already there (read-only)
    ABS_SHARES+=("$s")
done
mapfile -t ABS_SHARES < <(printf '%s\n' "${ABS_SHARES[@]}" | awk 'NF' | sort -u)
qargs+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
qargs+=(-virtfs "local,path=$(qesc "$RUN"),mount_tag=nvmxrun,security_model=none,multidevs=remap")
for i in "${!ABS_SHARES[@]}"; do
    qargs+=(-virtfs "local,path=$(qesc "${ABS_SHARES[$i]}"),mount_tag=share$i,security_model=none,multidevs=remap")
done

# NVMe controllers and namespaces.
DEVLIST=()
n=0
for l in "${LABELS[@]}"; do
    dev_def "$l"
    n=$((n + 1))
    ser=$(serial_of "$l")
    qargs+=(-device "pcie-root-port,id=rp$n,chassis=$n,slot=$n")
    ctrl="nvme,id=c$n,serial=$ser,bus=rp$n,$D_CTRL"
    if [[ -n $D_SUBSYS ]]; then
        qargs+=(-device "nvme-subsys,id=subsys$n,nqn=$ser,$D_SUBSYS")
        ctrl+=",subsys=subsys$n"
    fi
    qargs+=(-device "$ctrl")
    for k in "${!D_NS[@]}"; do
        nsid=$((k + 1))
        img="$RUN/${l,,}-n$nsid.img"
        truncate -s "$NS_SIZE" "$img"
        drive="id=d$n-$nsid,format=raw,if=none,discard=on,cache=writeback"
        if [[ -n $D_BADLBA ]]; then
            # blkdebug between the raw format and the image: every read
            # covering the bad block's first 512-byte sector fails (EIO).
            lbs=$(sed -n 's/.*logical_block_size=\([0-9]*\).*/\1/p' <<<"${D_NS[$k]}")
            drive+=",file.driver=blkdebug,file.image.driver=file,file.image.filename=$(qesc "$img")"
            drive+=",file.inject-error.0.event=read_aio,file.inject-error.0.iotype=read"
            drive+=",file.inject-error.0.errno=5,file.inject-error.0.sector=$((D_BADLBA * ${lbs:-512} / 512))"
        else
            drive+=",file=$(qesc "$img")"
        fi
        qargs+=(
            -drive "$drive"
            -device "nvme-ns,id=c$n-n$nsid,drive=d$n-$nsid,bus=c$n,nsid=$nsid,${D_NS[$k]}"
        )
    done
    DEVLIST+=("$l $ser ${#D_NS[@]} $D_PROPS")
done

# ------------------------------------------------------------ the request
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
    echo "RUNDIR=$(q "$RUN")"
    echo "STAGE2=$(q "$RIG_DIR/guest-run.sh")"
    echo "MODDIR=$(q "$VM_MODDIR")"
    echo "MODULES=$(q "$MODULES")"
    echo "HUGEPAGES=$(q "$HUGEPAGES")"
    echo "NSHARES=${#ABS_SHARES[@]}"
    for i in "${!ABS_SHARES[@]}"; do echo "SHARE_$i=$(q "${ABS_SHARES[$i]}")"; done
} >"$RUN/boot.conf"

{
    printf 'NVMX_REQ_CWD=%q\n' "$PWD"
    printf 'NVMX_REQ_CMD=('
    printf '%q ' "${CMD[@]}"
    printf ')\n'
    printf 'NVMX_REQ_DEVICES=('
    for d in "${DEVLIST[@]}"; do printf '%q ' "$d"; done
    printf ')\n'
    printf 'NVMX_REQ_SKIPPED=%q\n' "${SKIPPED[*]}"
    printf 'NVMX_REQ_QEMU_VERSION=%q\n' "$VM_QEMU_VERSION"
    printf 'NVMX_REQ_IOMMU=%q\n' "$IOMMU"
    # Environment passed through: the basics and NVMX_*, RUST*, CARGO_*.
    while IFS= read -r v; do
        case $v in
        NVMX_* | RUST_* | RUSTC* | RUSTUP_* | RUSTFLAGS | RUSTDOCFLAGS | CARGO* | \
            PATH | HOME | USER | LOGNAME | LANG | LANGUAGE | LC_* | TZ | TERM | TMPDIR)
            printf 'export %s=%q\n' "$v" "${!v}"
            ;;
        esac
    done < <(compgen -e)
} >"$RUN/request.env"

# ------------------------------------------------------------ boot
# A watchdog notes when the guest starts CMD (boot-to-command figure) and
# kills QEMU when that has not happened within BOOT_TIMEOUT: TCG guests have
# been seen to hang early in boot now and then, and a boot is safe to retry
# because CMD has not run yet.
BOOT_TIMEOUT=${NVMX_VM_BOOT_TIMEOUT:-180}
BOOT_RETRIES=${NVMX_VM_BOOT_RETRIES:-2}
T_START=$(rig_now_ms)
attempt=0
while :; do
    attempt=$((attempt + 1))
    rm -f "$RUN/started" "$RUN/boot-ms" "$RUN/boot-timeout" "$RUN/init-error" "$RUN/timeline"
    left=$((TIMEOUT - ($(rig_now_ms) - T_START) / 1000))
    ((left > 0)) || left=1
    T0=$(rig_now_ms)
    timeout -k 10 "$left" "$VM_QEMU" "${qargs[@]}" </dev/null >"$RUN/qemu.log" 2>&1 {HOLD_OUT}>&- {HOLD_ERR}>&- &
    QPID=$!
    (
        limit=$((T0 + BOOT_TIMEOUT * 1000))
        while [[ ! -e $RUN/started ]]; do
            kill -0 "$QPID" 2>/dev/null || exit 0
            if (($(rig_now_ms) > limit)); then
                : >"$RUN/boot-timeout"
                kill -TERM "$QPID" 2>/dev/null
                exit 0
            fi
            sleep 0.1
        done
        echo $(($(rig_now_ms) - T0)) >"$RUN/boot-ms"
    ) {HOLD_OUT}>&- {HOLD_ERR}>&- &
    WPID=$!
    qrc=0
    wait "$QPID" || qrc=$?
    QPID=""
    kill "$WPID" 2>/dev/null || true
    wait "$WPID" 2>/dev/null || true
    if [[ -e $RUN/boot-timeout && ! -e $RUN/started ]] && ((attempt <= BOOT_RETRIES)); then
        mv -f "$RUN/console.log" "$RUN/console-attempt$attempt.log" 2>/dev/null || true
        rig_log "guest did not start the command within ${BOOT_TIMEOUT}s (NVMX_VM_BOOT_TIMEOUT); retrying the boot (log: $RUN/console-attempt$attempt.log)"
        KEEP=1
        continue
    fi
    # QEMU 10's multi-threaded TCG has been seen to abort on an internal
    # assertion (iotlb_to_section) while the guest boots. CMD has not run,
    # so that boot is as safe to retry as a hung one.
    if ((qrc > 128 && qrc != 124)) && [[ ! -e $RUN/started ]] && ((attempt <= BOOT_RETRIES)); then
        mv -f "$RUN/qemu.log" "$RUN/qemu-attempt$attempt.log" 2>/dev/null || true
        mv -f "$RUN/console.log" "$RUN/console-attempt$attempt.log" 2>/dev/null || true
        rig_log "QEMU died (status $qrc) before the guest started the command; retrying the boot (log: $RUN/qemu-attempt$attempt.log)"
        KEEP=1
        continue
    fi
    break
done
WALL=$(rig_elapsed "$T_START")
# QEMU is gone: let the readers drain the FIFOs and see EOF.
exec {HOLD_OUT}>&- {HOLD_ERR}>&-
HOLD_OUT=""
HOLD_ERR=""
wait "${PIDS[0]}" "${PIDS[1]}" 2>/dev/null || true

diagnose() {
    rig_log "$1"
    [[ -s $RUN/init-error ]] && rig_log "guest init: $(cat "$RUN/init-error")"
    if [[ -s $RUN/qemu.log ]]; then
        rig_log "--- qemu.log"
        tail -n 20 "$RUN/qemu.log" >&2
    fi
    if [[ -s $RUN/console.log ]]; then
        rig_log "--- console.log (tail; full log: $VM_DIR/logs/console.log)"
        tail -n 30 "$RUN/console.log" >&2
    fi
}
if ((VERBOSE)); then
    boot="?"
    [[ -s $RUN/boot-ms ]] && boot=$(awk '{ printf "%.1f s", $1 / 1000 }' "$RUN/boot-ms")
    rig_log "qemu $VM_QEMU_VERSION, kernel $VM_KVER, ${#LABELS[@]} controllers (${LABELS[*]})"
    rig_log "boot-to-command $boot, total $WALL"
    [[ -s $RUN/timeline ]] && rig_log "guest uptime at: $(tr '\n' ' ' <"$RUN/timeline")"
    [[ -s $RUN/devices.env ]] && grep -E '_(CTRL|BDEV|CDEV|PCI)=|_LABELS=|_MISSING=|_SKIPPED=' "$RUN/devices.env" | sed 's/^export /[nvmx-vm]   /' >&2
fi
if [[ -e $RUN/boot-timeout && ! -e $RUN/started ]]; then
    diagnose "the guest did not start the command within ${BOOT_TIMEOUT}s (NVMX_VM_BOOT_TIMEOUT), $attempt attempt(s)"
    exit 125
fi
if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
    diagnose "timed out after $TIMEOUT s (NVMX_VM_TIMEOUT)"
    exit 124
fi
if [[ -s $RUN/rc ]]; then
    rc=$(cat "$RUN/rc")
    [[ $rc =~ ^[0-9]+$ ]] || rc=125
    exit "$rc"
fi
diagnose "the guest ended without running the command (qemu status $qrc)"
exit 125
