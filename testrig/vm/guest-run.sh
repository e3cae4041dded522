#!/bin/bash
# Stage 2 of the nvmx guest (runs as root in the guest root, from the host's
# copy of this file; see guest-init.sh). Resolves the NVMe controllers by
# serial, exports NVMX_DEV_*, runs the requested command with its stdout on
# ttyS1 and stderr on ttyS2, and writes its exit status to $RUNDIR/rc.
#
# Forks are expensive under TCG (tens of ms each), so the device scan uses
# bash builtins only.
set -uo pipefail
RUNDIR=$1
# shellcheck source=/dev/null
source "$RUNDIR/request.env"
mark() { # record guest uptime at a milestone
    local up _
    read -r up _ </proc/uptime
    echo "$1 $up" >>"$RUNDIR/timeline"
}
mark stage2-start
export NVMX_GUEST=1
export HOME=${HOME:-/root}

# The command's streams: raw serial ports (no \n -> \r\n, no echo).
OUT=/dev/ttyS1
ERR=/dev/ttyS2
stty -F "$OUT" raw -echo -ixon 2>/dev/null
stty -F "$ERR" raw -echo -ixon 2>/dev/null
warn() { echo "[nvmx-guest] $*" >"$ERR"; }

# ---------------------------------------------------------------- devices
# NVMX_REQ_DEVICES entries: "LABEL SERIAL NAMESPACES KEY=VALUE..."
declare -A CTRL_OF=()  # serial -> nvmeX
declare -A STATE_OF=() # nvmeX -> state
declare -A NS_OF=()    # nvmeX -> "nsid:bdev:cdev ..." sorted by nsid
declare -A NSN_OF=()   # nvmeX -> namespaces with a block and a char device

# scan: (re)read /sys/class/nvme. A namespace shows up under its controller
# either as its own disk (nvmeAnB, no multipath) or as a path (nvmeAcXnB) of
# the head disk nvmeAnB (native multipath; QEMU's namespaces are "shared").
# The generic char device carries the disk's instance numbers: ngAnB, next
# to the head disk (multipath) or under the controller.
scan() {
    local c ctrl ser state e name head nsid cdev g n
    local -a byid
    CTRL_OF=() STATE_OF=() NS_OF=() NSN_OF=()
    for c in /sys/class/nvme/nvme*; do
        [[ -r $c/serial ]] || continue
        ctrl=${c##*/}
        read -r ser <"$c/serial" || true
        CTRL_OF[$ser]=$ctrl
        read -r state <"$c/state" || true
        STATE_OF[$ctrl]=$state
        byid=()
        n=0
        for e in "$c"/nvme*; do
            name=${e##*/}
            if [[ $name =~ ^nvme([0-9]+)c[0-9]+n([0-9]+)$ ]]; then
                head="nvme${BASH_REMATCH[1]}n${BASH_REMATCH[2]}"
            elif [[ $name =~ ^nvme[0-9]+n[0-9]+$ ]]; then
                head=$name
            else
                continue
            fi
            [[ -r /sys/block/$head/nsid ]] || continue
            read -r nsid <"/sys/block/$head/nsid" || continue
            cdev=""
            for g in "/sys/block/$head/../ng${head#nvme}" "$c/ng${head#nvme}"; do
                [[ -e $g && -e /dev/${g##*/} ]] && { cdev=${g##*/}; break; }
            done
            [[ -e /dev/$head && -n $cdev ]] && n=$((n + 1))
            byid[nsid]="$nsid:$head:$cdev"
        done
        NS_OF[$ctrl]="${byid[*]}"
        NSN_OF[$ctrl]=$n
    done
}

all_ready() { # every requested controller live, with all its namespaces
    local d label serial nns _ ctrl
    for d in "${NVMX_REQ_DEVICES[@]}"; do
        read -r label serial nns _ <<<"$d"
        ctrl=${CTRL_OF[$serial]:-}
        [[ -n $ctrl && ${STATE_OF[$ctrl]} == live && ${NSN_OF[$ctrl]} -ge $nns ]] || return 1
    done
    return 0
}

WAIT_S=${NVMX_VM_DEV_WAIT:-60}
deadline=$((SECONDS + WAIT_S))
scan
until all_ready || ((SECONDS >= deadline)); do
    sleep 0.2
    scan
done
mark devices-ready

ENVFILE=/run/nvmx-devices.env
ENVTEXT="# NVMe devices of this guest, by label (written by testrig/vm/guest-run.sh)"$'\n'
add_env() { # NAME VALUE: export now, and record for $ENVFILE
    local q
    export "$1=$2"
    q="'${2//\'/\'\\\'\'}'"
    ENVTEXT+="export $1=$q"$'\n'
}
add_env NVMX_GUEST 1
present=()
missing=()
for d in "${NVMX_REQ_DEVICES[@]}"; do
    read -r label serial nns props <<<"$d"
    P="NVMX_DEV_$label"
    ctrl=${CTRL_OF[$serial]:-}
    if [[ -z $ctrl ]]; then
        missing+=("$label")
        continue
    fi
    read -r -a nss <<<"${NS_OF[$ctrl]}"
    if ((${#nss[@]} < nns || NSN_OF[$ctrl] < nns)) || [[ ${STATE_OF[$ctrl]} != live ]]; then
        missing+=("$label")
    fi
    present+=("$label")
    add_env "${P}_CTRL" "/dev/$ctrl"
    add_env "${P}_SERIAL" "$serial"
    pci=""
    if cd -P "/sys/class/nvme/$ctrl/device" 2>/dev/null; then pci=${PWD##*/}; fi
    add_env "${P}_PCI" "$pci"
    for kv in $props; do add_env "${P}_${kv%%=*}" "${kv#*=}"; done
    first=1
    for ns in "${nss[@]}"; do
        IFS=: read -r nsid bdev cdev <<<"$ns"
        if ((first)); then
            add_env "${P}_NSID" "$nsid"
            add_env "${P}_BDEV" "/dev/$bdev"
            add_env "${P}_CDEV" "${cdev:+/dev/$cdev}"
            first=0
        fi
        if ((nns > 1)); then
            add_env "${P}_NS${nsid}_BDEV" "/dev/$bdev"
            add_env "${P}_NS${nsid}_CDEV" "${cdev:+/dev/$cdev}"
        fi
    done
done
cd / || true
add_env NVMX_DEV_LABELS "${present[*]}"
add_env NVMX_DEV_MISSING "${missing[*]}"
add_env NVMX_DEV_SKIPPED "${NVMX_REQ_SKIPPED:-}"
read -r kver </proc/sys/kernel/osrelease
add_env NVMX_GUEST_KERNEL "$kver"
add_env NVMX_GUEST_QEMU "${NVMX_REQ_QEMU_VERSION:-}"
add_env NVMX_GUEST_IOMMU "${NVMX_REQ_IOMMU:-0}"
printf '%s' "$ENVTEXT" >"$ENVFILE"
printf '%s' "$ENVTEXT" >"$RUNDIR/devices.env"
if ((${#missing[@]})); then
    warn "devices missing or incomplete after ${WAIT_S}s: ${missing[*]} (see dmesg.txt in the run directory)"
fi
mark devices-exported

# ---------------------------------------------------------------- command
if ! cd "$NVMX_REQ_CWD"; then
    warn "cannot cd to $NVMX_REQ_CWD"
    echo 125 >"$RUNDIR/rc"
    exit 0
fi
read -r up _ </proc/uptime
echo "$up" >"$RUNDIR/started"
# stdout and stderr reach the serial ports through pipes, so that CMD sees
# what it sees in CI (not a terminal). With pipefail the status is CMD's.
{ "${NVMX_REQ_CMD[@]}" </dev/null 2>&1 1>&3 3>&- | cat >"$ERR"; } 3>&1 | cat >"$OUT"
rc=$?
mark finished
echo "$rc" >"$RUNDIR/rc"
exit 0
