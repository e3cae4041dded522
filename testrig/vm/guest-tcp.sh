#!/usr/bin/env bash
# Inside the guest: export a namespace over NVMe/TCP on loopback with the
# kernel's target (nvmet-tcp), connect to it with nvme-cli, and print the
# NVMX_DEV_TCP_* variables for the new controller (eval the output).
# The namespace is a loop device over a tmpfs file, so nothing else is used.
set -euo pipefail
nqn=nqn.2026-11.io.nvmx:tcp-loopback
cfg=/sys/kernel/config/nvmet
log() { echo "guest-tcp: $*" >&2; }

ip link set lo up
if ! mountpoint -q /sys/kernel/config; then
    modprobe configfs 2>/dev/null || true
    mount -t configfs configfs /sys/kernel/config
fi
for m in nvmet nvmet_tcp nvme_fabrics nvme_tcp; do modprobe "$m"; done
[[ -d $cfg ]] || { log "no nvmet configfs at $cfg"; exit 1; }

img=$(mktemp /tmp/nvmx-tcp.XXXXXX)
truncate -s 256M "$img"
loopdev=$(losetup --find --show "$img")

mkdir "$cfg/subsystems/$nqn"
echo 1 >"$cfg/subsystems/$nqn/attr_allow_any_host"
mkdir "$cfg/subsystems/$nqn/namespaces/1"
echo -n "$loopdev" >"$cfg/subsystems/$nqn/namespaces/1/device_path"
echo 1 >"$cfg/subsystems/$nqn/namespaces/1/enable"
mkdir "$cfg/ports/1"
echo 127.0.0.1 >"$cfg/ports/1/addr_traddr"
echo tcp >"$cfg/ports/1/addr_trtype"
echo 4420 >"$cfg/ports/1/addr_trsvcid"
echo ipv4 >"$cfg/ports/1/addr_adrfam"
ln -s "$cfg/subsystems/$nqn" "$cfg/ports/1/subsystems/$nqn"
nvme connect -t tcp -a 127.0.0.1 -s 4420 -n "$nqn" >&2

# Find the subsystem, its controller and its namespace by NQN (kernel
# numbering depends on what else is attached).
for _ in $(seq 1 100); do
    for s in /sys/class/nvme-subsystem/*; do
        [[ $(cat "$s/subsysnqn" 2>/dev/null) == "$nqn" ]] || continue
        ctrl='' ns=''
        for e in "$s"/nvme*; do
            n=$(basename "$e")
            if [[ $n =~ ^nvme[0-9]+n[0-9]+$ ]]; then
                ns=$n
            elif [[ $n =~ ^nvme[0-9]+$ ]]; then
                ctrl=$n
            fi
        done
        if [[ -n $ctrl && -n $ns && -b /dev/$ns ]]; then
            cdev=/dev/ng${ns#nvme}
            [[ -c $cdev ]] || { log "no char device $cdev for $ns"; exit 1; }
            echo "export NVMX_DEV_TCP_CTRL=/dev/$ctrl NVMX_DEV_TCP_BDEV=/dev/$ns NVMX_DEV_TCP_CDEV=$cdev NVMX_DEV_TCP_NQN=$nqn"
            log "connected: ctrl /dev/$ctrl, namespace /dev/$ns, $cdev"
            exit 0
        fi
    done
    sleep 0.1
done
log "the NVMe/TCP controller for $nqn did not appear"
exit 1
