#!/usr/bin/env bash
# Prepare the nvmx QEMU guest rig (idempotent):
#   1. host packages (busybox-static, cpio, nvme-cli, xz-utils, kmod)
#   2. a private apt configuration with bookworm-backports
#   3. QEMU (backports >= 8 for FDP when reachable, else bookworm's 7.2)
#   4. a guest kernel + modules, downloaded and unpacked (never installed)
#   5. the initramfs (busybox + modules + the rig's init)
# Everything lands in $NVMX_VM_DIR (default: <repo>/.vm).
#
# Environment:
#   NVMX_VM_DIR        cache directory (default <repo>/.vm)
#   NVMX_VM_QEMU       auto (default) | backports | bookworm
#   NVMX_VM_KERNEL     auto (default) | backports | bookworm   (kernel suite)
#   NVMX_VM_REFRESH=1  re-read the package lists and take the newest kernel
#   NVMX_VM_APT_TIMEOUT  bound for each apt call in seconds (default 900)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QEMU_WANT=${NVMX_VM_QEMU:-auto}
KERNEL_WANT=${NVMX_VM_KERNEL:-auto}
REFRESH=${NVMX_VM_REFRESH:-0}
APT_TIMEOUT=${NVMX_VM_APT_TIMEOUT:-900}
BASE_PACKAGES=(busybox-static cpio nvme-cli xz-utils kmod)

case $QEMU_WANT in auto | backports | bookworm) ;; *) rig_die "NVMX_VM_QEMU: auto|backports|bookworm" ;; esac
case $KERNEL_WANT in auto | backports | bookworm) ;; *) rig_die "NVMX_VM_KERNEL: auto|backports|bookworm" ;; esac

T_ALL=$(rig_now_ms)
step() { STEP_NAME=$1; STEP_T=$(rig_now_ms); rig_log "== $1"; }
step_done() { rig_log "   $STEP_NAME: $(rig_elapsed "$STEP_T")${1:+ ($1)}"; }

export DEBIAN_FRONTEND=noninteractive
apt_sys() { timeout "$APT_TIMEOUT" apt-get -q -y -o DPkg::Lock::Timeout=600 "$@"; }
apt_priv() { timeout "$APT_TIMEOUT" apt-get -c "$APT_CONF" -q -y -o DPkg::Lock::Timeout=600 "$@"; }
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
need_root() { [[ $EUID -eq 0 ]] || rig_die "$1 needs root"; }

mkdir -p "$VM_DIR"

# ---------------------------------------------------------------- 1. packages
step "host packages"
missing=()
for p in "${BASE_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
    need_root "installing ${missing[*]}"
    apt_sys update >/dev/null
    apt_sys install --no-install-recommends "${missing[@]}" >/dev/null
    step_done "installed ${missing[*]}"
else
    step_done "already present"
fi

# ----------------------------------------------------- 2. private apt config
# Own sources list, lists and cache under $VM_DIR/apt; dpkg's database is the
# machine's (packages installed through it are ordinary packages).
step "private apt configuration"
mkdir -p "$APT_DIR"/{lists/partial,archives/partial,cache,parts,prefs}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT_DIR/sources.list" <<EOF
deb [signed-by=$KEYRING] $DEB_MIRROR $DEB_SUITE main
deb [signed-by=$KEYRING] $DEB_MIRROR $DEB_SUITE-updates main
deb [signed-by=$KEYRING] $DEB_SECURITY_MIRROR $DEB_SUITE-security main
deb [signed-by=$KEYRING] $DEB_MIRROR $DEB_SUITE-backports main
EOF
cat >"$APT_CONF" <<EOF
Dir::Etc::SourceList "$APT_DIR/sources.list";
Dir::Etc::SourceParts "$APT_DIR/parts";
Dir::Etc::Preferences "$APT_DIR/prefs/none";
Dir::Etc::PreferencesParts "$APT_DIR/prefs";
Dir::State::Lists "$APT_DIR/lists";
Dir::Cache "$APT_DIR/cache";
Dir::Cache::Archives "$APT_DIR/archives";
APT::Get::List-Cleanup "false";
EOF
PRIV_UPDATED=0
priv_update() { # at most once per run; returns non-zero when offline
    ((PRIV_UPDATED)) && return 0
    if apt_priv update >"$APT_DIR/update.log" 2>&1; then
        PRIV_UPDATED=1
    else
        rig_log "   apt-get update (private config) failed; see $APT_DIR/update.log"
        return 1
    fi
}
have_backports() { # PACKAGE: true when the private lists know PACKAGE in backports
    apt-cache -c "$APT_CONF" show "$1/$DEB_SUITE-backports" >/dev/null 2>&1
}
step_done

# ------------------------------------------------------------------- 3. QEMU
step "QEMU"
qemu_pkg_version() { dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true; }
qemu_major() { local v; v=$(qemu_pkg_version); v=${v#*:}; echo "${v%%.*}"; }
QEMU_SOURCE=""
cur=$(qemu_pkg_version)
if [[ -n $cur && $REFRESH != 1 ]] &&
    { [[ $(qemu_major) -ge 8 ]] || [[ $QEMU_WANT == bookworm ]]; }; then
    step_done "already installed: $cur"
else
    need_root "installing QEMU"
    if [[ $QEMU_WANT != bookworm ]] && priv_update && have_backports qemu-system-x86; then
        # -t: dependencies that need newer versions (qemu-system-common/-data,
        # seabios) come from backports too; everything else stays bookworm.
        apt_priv install --no-install-recommends -t "$DEB_SUITE-backports" qemu-system-x86 \
            >"$APT_DIR/install-qemu.log" 2>&1 ||
            rig_die "installing QEMU from backports failed; see $APT_DIR/install-qemu.log"
        QEMU_SOURCE="$DEB_SUITE-backports"
    elif [[ $QEMU_WANT == backports ]]; then
        rig_die "NVMX_VM_QEMU=backports but $DEB_SUITE-backports is not reachable"
    else
        # Plain bookworm (backports has a lower priority than the release).
        { priv_update || apt_sys update; } >/dev/null 2>&1
        apt_priv install --no-install-recommends qemu-system-x86 \
            >"$APT_DIR/install-qemu.log" 2>&1 ||
            rig_die "installing QEMU failed; see $APT_DIR/install-qemu.log"
        QEMU_SOURCE="$DEB_SUITE"
    fi
    step_done "installed $(qemu_pkg_version) from $QEMU_SOURCE"
fi
if [[ -z $QEMU_SOURCE ]]; then
    case $(qemu_pkg_version) in *bpo*) QEMU_SOURCE="$DEB_SUITE-backports" ;; *) QEMU_SOURCE="$DEB_SUITE" ;; esac
fi
QEMU_BIN=$(command -v qemu-system-x86_64) || rig_die "qemu-system-x86_64 not found after install"
QEMU_VERSION=$(rig_qemu_version "$QEMU_BIN")
# Feature probes: what the nvme devices of this QEMU accept.
ns_help=$("$QEMU_BIN" -device nvme-ns,help 2>&1 || true)
subsys_help=$("$QEMU_BIN" -device nvme-subsys,help 2>&1 || true)
has() { grep -q -- "$2" <<<"$1" && echo 1 || echo 0; }
HAS_ZONED=$(has "$ns_help" 'zoned=')
HAS_ZRWA=$(has "$ns_help" 'zoned.zrwas=')
HAS_PI=$(has "$ns_help" ' pi=')
HAS_MSET=$(has "$ns_help" 'mset=')
HAS_PIF=$(has "$ns_help" 'pif=')
HAS_FDP=$(has "$subsys_help" 'fdp=')
rig_log "   qemu $QEMU_VERSION ($QEMU_SOURCE): zoned=$HAS_ZONED zrwa=$HAS_ZRWA pi=$HAS_PI mset=$HAS_MSET pif=$HAS_PIF fdp=$HAS_FDP"

# ------------------------------------------------------------- 4. the kernel
step "guest kernel"
KDIR_ROOT="$VM_DIR/kernel"
mkdir -p "$KDIR_ROOT" "$VM_DIR/debs"
old_kpkg=""
old_suite=""
if [[ -r $VM_INFO ]]; then
    old_kpkg=$(sed -n "s/^VM_KERNEL_PKG='\(.*\)'$/\1/p" "$VM_INFO")
    old_suite=$(sed -n "s/^VM_KERNEL_SUITE='\(.*\)'$/\1/p" "$VM_INFO")
fi
kpkg=""
ksuite=""
if [[ -n $old_kpkg && -e $KDIR_ROOT/$old_kpkg/.unpacked && $REFRESH != 1 ]] &&
    { [[ $KERNEL_WANT == auto ]] || [[ $old_suite == "$DEB_SUITE-$KERNEL_WANT" ]] ||
        { [[ $KERNEL_WANT == bookworm ]] && [[ $old_suite == "$DEB_SUITE" ]]; }; }; then
    kpkg=$old_kpkg
    ksuite=$old_suite
    step_done "cached: $kpkg"
else
    if ! priv_update; then
        rig_die "cannot read package lists for the guest kernel (offline?)"
    fi
    if [[ $KERNEL_WANT != bookworm ]] && have_backports linux-image-amd64; then
        ksuite="$DEB_SUITE-backports"
        meta="linux-image-amd64/$ksuite"
    elif [[ $KERNEL_WANT == backports ]]; then
        rig_die "NVMX_VM_KERNEL=backports but $DEB_SUITE-backports is not reachable"
    else
        ksuite="$DEB_SUITE"
        meta="linux-image-amd64"
    fi
    # The metapackage names the versioned image package in its Depends.
    dl=$(mktemp -d "$VM_DIR/debs/dl.XXXXXX")
    (cd "$dl" && apt_priv -o APT::Sandbox::User=root download "$meta" >/dev/null)
    kpkg=$(dpkg-deb -f "$dl"/linux-image-amd64_*.deb Depends | sed 's/[ ,(|].*//')
    [[ $kpkg == linux-image-* ]] || rig_die "cannot resolve the image package behind $meta"
    if [[ ! -e $KDIR_ROOT/$kpkg/.unpacked ]]; then
        (cd "$dl" && apt_priv -o APT::Sandbox::User=root download "$kpkg" >/dev/null)
        rm -rf "$KDIR_ROOT/$kpkg.tmp"
        dpkg-deb -x "$dl/${kpkg}"_*.deb "$KDIR_ROOT/$kpkg.tmp"
        rm -rf "${KDIR_ROOT:?}/$kpkg"
        mv "$KDIR_ROOT/$kpkg.tmp" "$KDIR_ROOT/$kpkg"
        touch "$KDIR_ROOT/$kpkg/.unpacked"
    fi
    rm -rf "$dl"
    step_done "$kpkg from $ksuite"
fi
KROOT="$KDIR_ROOT/$kpkg"
KIMAGE=$(find "$KROOT/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
[[ -n $KIMAGE ]] || rig_die "no vmlinuz in $KROOT/boot"
KVER=${KIMAGE##*/vmlinuz-}
MODDIR=""
for d in "$KROOT/lib/modules/$KVER" "$KROOT/usr/lib/modules/$KVER"; do
    [[ -d $d ]] && MODDIR=$d && break
done
[[ -n $MODDIR ]] || rig_die "no module tree for $KVER in $KROOT"
# Debian generates modules.dep at install time; do it here for the unpacked tree.
if [[ ! -s $MODDIR/modules.dep ]]; then
    t=$(rig_now_ms)
    if [[ $MODDIR == "$KROOT/usr/lib/modules/$KVER" && ! -e $KROOT/lib ]]; then
        ln -s usr/lib "$KROOT/lib"
    fi
    depmod -b "$KROOT" "$KVER"
    rig_log "   depmod: $(rig_elapsed "$t")"
fi

# ------------------------------------------------------------ 5. initramfs
step "initramfs"
declare -A MOD_PATH=() MOD_DEPS=() BUILTIN=()
# "name path dep dep ..." with names normalised (basename, no .ko*, - -> _)
NORM_AWK='function norm(p) { sub(/.*\//, "", p); sub(/\.ko.*$/, "", p); gsub(/-/, "_", p); return p }'
while read -r name path deps; do
    MOD_PATH[$name]=$path
    MOD_DEPS[$name]=$deps
done < <(awk -F': *' "$NORM_AWK"'
    { n = split($2, d, " "); s = ""; for (i = 1; i <= n; i++) s = s " " norm(d[i]);
      print norm($1), $1, s }' "$MODDIR/modules.dep")
if [[ -r $MODDIR/modules.builtin ]]; then
    while read -r name; do BUILTIN[$name]=1; done < <(awk "$NORM_AWK"'{ print norm($0) }' "$MODDIR/modules.builtin")
fi
ORDER=()
declare -A SEEN=()
visit() { # depth-first: dependencies before the module
    local m=$1 d
    [[ -n ${SEEN[$m]:-} ]] && return 0
    SEEN[$m]=1
    if [[ -n ${BUILTIN[$m]:-} ]]; then return 0; fi
    if [[ -z ${MOD_PATH[$m]:-} ]]; then
        rig_log "   warning: module $m is neither built in nor in modules.dep"
        return 0
    fi
    for d in ${MOD_DEPS[$m]}; do visit "$d"; done
    ORDER+=("$m")
}
closure() { # MODULE -> its load order, dependencies first, built-ins dropped
    local -a saved=("${ORDER[@]}")
    ORDER=()
    SEEN=()
    visit "$1"
    echo "${ORDER[*]}"
    ORDER=("${saved[@]}")
}

stage=$(mktemp -d "$VM_DIR/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,etc/nvmx,lib/modules,newroot,lower,rw,hostrun}
cp /bin/busybox "$stage/bin/busybox"
for a in $("$stage/bin/busybox" --list); do
    [[ $a == busybox ]] || ln -s busybox "$stage/bin/$a"
done
install -m 0755 "$RIG_DIR/guest-init.sh" "$stage/init"

declare -A COPIED=()
decompress() { # SRC DST: modules may be .ko, .ko.xz, .ko.zst, .ko.gz
    case $1 in
    *.xz) xz -dc "$1" >"$2" ;;
    *.zst) zstd -qdc "$1" >"$2" ;;
    *.gz) gzip -dc "$1" >"$2" ;;
    *) cp "$1" "$2" ;;
    esac
}
add_module() { # copy MODULE and its dependencies; write MODULE.deps (load order)
    local m=$1 list d
    if [[ -n ${BUILTIN[$m]:-} ]]; then
        echo "$m" >>"$stage/etc/nvmx/builtin"
        return 0
    fi
    if [[ -z ${MOD_PATH[$m]:-} ]]; then
        rig_log "   warning: module $m not available in $KVER (skipped)"
        return 0
    fi
    list=$(closure "$m")
    for d in $list; do
        [[ -n ${COPIED[$d]:-} ]] && continue
        decompress "$MODDIR/${MOD_PATH[$d]}" "$stage/lib/modules/$d.ko"
        COPIED[$d]=1
    done
    echo "$list" >"$stage/lib/modules/$m.deps"
}
for m in "${BOOT_MODULES[@]}" "${EXTRA_MODULES[@]}"; do add_module "$m"; done
: >"$stage/etc/nvmx/boot-modules"
for m in "${BOOT_MODULES[@]}"; do echo "$m" >>"$stage/etc/nvmx/boot-modules"; done
echo "$KVER" >"$stage/etc/nvmx/kver"
# Dependency lists of the modules that were only pulled in as dependencies.
for m in "${!COPIED[@]}"; do
    [[ -e $stage/lib/modules/$m.deps ]] || closure "$m" >"$stage/lib/modules/$m.deps"
done

INITRAMFS="$VM_DIR/initramfs-$KVER.cpio"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --quiet) >"$INITRAMFS.tmp"
mv -f "$INITRAMFS.tmp" "$INITRAMFS"
nmods=${#COPIED[@]}
step_done "$nmods modules, $(du -k "$INITRAMFS" | cut -f1) KiB, uncompressed cpio"

# ------------------------------------------------------------- 6. info.env
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
    echo "# written by testrig/vm/setup.sh on $(date -u +%FT%TZ)"
    echo "VM_QEMU=$(q "$QEMU_BIN")"
    echo "VM_QEMU_VERSION=$(q "$QEMU_VERSION")"
    echo "VM_QEMU_SOURCE=$(q "$QEMU_SOURCE")"
    echo "VM_QEMU_HAS_ZONED=$HAS_ZONED"
    echo "VM_QEMU_HAS_ZRWA=$HAS_ZRWA"
    echo "VM_QEMU_HAS_PI=$HAS_PI"
    echo "VM_QEMU_HAS_MSET=$HAS_MSET"
    echo "VM_QEMU_HAS_PIF=$HAS_PIF"
    echo "VM_QEMU_HAS_FDP=$HAS_FDP"
    echo "VM_KERNEL_PKG=$(q "$kpkg")"
    echo "VM_KERNEL_SUITE=$(q "$ksuite")"
    echo "VM_KVER=$(q "$KVER")"
    echo "VM_KERNEL=$(q "$KIMAGE")"
    echo "VM_MODDIR=$(q "$MODDIR")"
    echo "VM_INITRAMFS=$(q "$INITRAMFS")"
} >"$VM_INFO.tmp"
mv -f "$VM_INFO.tmp" "$VM_INFO"

rig_log "done in $(rig_elapsed "$T_ALL"): qemu $QEMU_VERSION ($QEMU_SOURCE, fdp=$HAS_FDP), kernel $KVER ($ksuite)"
rig_log "info: $VM_INFO"
