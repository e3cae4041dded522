#!/usr/bin/env bash
# Runs inside the guest (see guest-suite-upcie.sh): the upcie test binaries
# listed in $1, then the `nvmx driver` / `nvmx enum` checks with the CLI at
# $2 on the NVM4K controller. Fails if any fails.
set -uo pipefail
list=$1
nvmx=$2
export RUST_BACKTRACE=1
failed=()
while read -r bin; do
    name=$(basename "$bin")
    echo "=== guest: $name (IOMMU ${NVMX_GUEST_IOMMU:-0})"
    "$bin" --test-threads=1 --nocapture || failed+=("$name")
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
if ((${#failed[@]})); then
    echo "guest: FAILED: ${failed[*]}"
    exit 1
fi
echo "guest: all passed"
