#!/bin/sh
# /init of the nvmx rig's initramfs (busybox sh, PID 1). setup.sh copies it
# into the initramfs; rebuild with setup.sh after editing.
#
# 1. load the boot modules (dependencies first, from /lib/modules/*.deps)
# 2. mount the run directory (9p tag nvmxrun) and read its boot.conf
# 3. build the guest root: host / over 9p (read-only) + tmpfs overlay,
#    the shared directories over 9p read-write at their host paths,
#    the guest kernel's module tree at /lib/modules/$(uname -r)
# 4. chroot into it and run the stage-2 script (bash) with a clean env
# 5. record the exit status, sync, power off
PATH=/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

log() { echo "nvmx-init: $*"; }
fail() {
    log "FATAL: $*"
    if [ -d /hostrun/. ] && mountpoint -q /hostrun; then
        echo "$*" >/hostrun/init-error
    fi
    sync
    poweroff -f
}

LOADED=" "
load_one() {
    case $LOADED in *" $1 "*) return 0 ;; esac
    if [ -d "/sys/module/$1" ] && [ ! -e "/sys/module/$1/initstate" ]; then
        LOADED="$LOADED$1 " # built in
        return 0
    fi
    if [ -e "/sys/module/$1/initstate" ]; then
        LOADED="$LOADED$1 "
        return 0
    fi
    # Options for the module from the kernel command line (NAME.opt=value),
    # as modprobe would pass them: e.g. nvme.poll_queues=1.
    params=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$1\.//p" | tr '\n' ' ')
    # shellcheck disable=SC2086 # one word per option
    insmod "/lib/modules/$1.ko" $params || return 1
    LOADED="$LOADED$1 "
}
load_mod() { # NAME: the module and its dependencies
    m=$(echo "$1" | tr - _)
    if [ ! -e "/lib/modules/$m.deps" ]; then
        if grep -qx "$m" /etc/nvmx/builtin 2>/dev/null; then return 0; fi
        log "module $m is not in the initramfs"
        return 1
    fi
    # shellcheck disable=SC2013 # one line of names
    for d in $(cat "/lib/modules/$m.deps"); do
        load_one "$d" || { log "insmod $d failed"; return 1; }
    done
}

T_INIT=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2013 # one name per line
for m in $(cat /etc/nvmx/boot-modules); do
    load_mod "$m" || fail "cannot load boot module $m"
done

OPTS9P=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$OPTS9P,cache=none" nvmxrun /hostrun || fail "cannot mount the run directory (9p tag nvmxrun)"
[ -r /hostrun/boot.conf ] || fail "no boot.conf in the run directory"
# boot.conf sets: RUNDIR STAGE2 MODDIR NSHARES SHARE_0.. MODULES HUGEPAGES
# shellcheck disable=SC1091
. /hostrun/boot.conf
echo "init-start $T_INIT" >/hostrun/timeline
echo "init-9p $(cut -d' ' -f1 /proc/uptime)" >>/hostrun/timeline

for m in $(echo "${MODULES:-}" | tr , ' '); do
    load_mod "$m" || log "warning: module $m could not be loaded"
done

# The guest root: host / read-only, writes go to a tmpfs.
mount -t 9p -o "$OPTS9P,cache=loose,ro" hostroot /lower || fail "cannot mount host / (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    fail "cannot mount the overlay root"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/hugepages
ln -sf /proc/self/fd $R/dev/fd
ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout
ln -sf /proc/self/fd/2 $R/dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t hugetlbfs hugetlbfs $R/dev/hugepages 2>/dev/null
# /tmp stays on the overlay: the host's files show, writes stay in the guest.
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mount -t configfs configfs $R/sys/kernel/config 2>/dev/null

# The guest kernel's modules, so that modprobe works inside the guest.
KVER=$(uname -r)
if [ -n "${MODDIR:-}" ] && [ -d "$R$MODDIR" ]; then
    mkdir -p "$R/lib/modules/$KVER" && mount --bind "$R$MODDIR" "$R/lib/modules/$KVER"
fi

# Read-write shares (host paths, same path in the guest); parents first.
i=0
p=""
while [ "$i" -lt "${NSHARES:-0}" ]; do
    eval "p=\$SHARE_$i"
    mkdir -p "$R$p" 2>/dev/null
    mount -t 9p -o "$OPTS9P,cache=mmap" "share$i" "$R$p" || fail "cannot mount share $p"
    i=$((i + 1))
done
mkdir -p "$R$RUNDIR" 2>/dev/null
mount --move /hostrun "$R$RUNDIR" || fail "cannot move the run directory into the guest root"

if [ "${HUGEPAGES:-0}" -gt 0 ]; then
    echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages
fi

# Stage 2 runs with the host's bash and a clean environment.
echo "init-chroot $(cut -d' ' -f1 /proc/uptime)" >>"$R$RUNDIR/timeline"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
    chroot $R /bin/bash "$STAGE2" "$RUNDIR"
rc=$?
[ -e "$R$RUNDIR/rc" ] || echo "$rc" >"$R$RUNDIR/stage2-rc"
dmesg >"$R$RUNDIR/dmesg.txt" 2>/dev/null
sync
i=$((${NSHARES:-0} - 1))
umount "$R$RUNDIR" 2>/dev/null
while [ "$i" -ge 0 ]; do
    eval "p=\$SHARE_$i"
    umount "$R$p" 2>/dev/null
    i=$((i - 1))
done
sync
poweroff -f
