# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Common settings and helpers for the nvmx QEMU guest rig.
# Sourced by setup.sh, run.sh and selftest.sh; not meant to be run directly.

# Directory of the rig scripts and of the repository that holds them.
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$RIG_DIR/../.." && pwd)

# Cache directory: kernel, initramfs, private apt state, run directories.
VM_DIR=${NVMX_VM_DIR:-$REPO_DIR/.vm}

# Everything setup.sh learns is written here as shell assignments.
VM_INFO="$VM_DIR/info.env"

# Private apt configuration (sources with bookworm-backports); the machine's
# own sources are never touched.
APT_DIR="$VM_DIR/apt"
APT_CONF="$APT_DIR/apt.conf"

# Debian release the rig expects on the host.
DEB_SUITE=${NVMX_VM_DEB_SUITE:-bookworm}
DEB_MIRROR=${NVMX_VM_DEB_MIRROR:-http://deb.debian.org/debian}
DEB_SECURITY_MIRROR=${NVMX_VM_DEB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# Modules loaded by the initramfs before the guest root is mounted.
BOOT_MODULES=(virtio_pci nvme 9pnet_virtio 9p overlay loop)
# Modules copied into the initramfs as well, loaded on request
# (run.sh --modules); inside the guest `modprobe` also works for any module
# of the guest kernel, because its module tree is bind-mounted.
EXTRA_MODULES=(loop null_blk vfio vfio_pci vfio_iommu_type1 uio uio_pci_generic
    nvme_fabrics nvme_tcp nvmet nvmet_tcp)

rig_log() { printf '[nvmx-vm] %s\n' "$*" >&2; }
rig_die() { printf '[nvmx-vm] error: %s\n' "$*" >&2; exit 125; }

# Monotonic-ish milliseconds for the timing reports.
rig_now_ms() { date +%s%3N; }
rig_elapsed() { # rig_elapsed START_MS -> "12.3 s"
    local d=$(( $(rig_now_ms) - $1 ))
    printf '%d.%d s' $((d / 1000)) $(((d % 1000) / 100))
}

# Load info.env written by setup.sh (QEMU path/version, kernel, initramfs).
rig_load_info() {
    [[ -r $VM_INFO ]] || rig_die "no $VM_INFO: run testrig/vm/setup.sh first"
    # shellcheck disable=SC1090
    source "$VM_INFO"
    local f
    for f in "${VM_QEMU:-}" "${VM_KERNEL:-}" "${VM_INITRAMFS:-}"; do
        [[ -n $f && -e $f ]] || rig_die "rig incomplete (missing '${f:-?}'): run testrig/vm/setup.sh"
    done
}

# Version of a qemu-system binary as "MAJOR.MINOR.PATCH".
rig_qemu_version() {
    "$1" --version | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p'
}
