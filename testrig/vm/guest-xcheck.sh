#!/usr/bin/env bash
# Cross-checks inside the guest, against independent tools:
# - data written by nvmx is read back by dd, and data written by dd is read
#   back by nvmx, on the 4 KiB and 512 B namespaces, through several
#   configurations;
# - fields of `nvmx idfy-ctrlr` / `idfy-ns` equal those of nvme-cli's
#   `nvme id-ctrl` / `nvme id-ns`.
set -euo pipefail
nvmx=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "xcheck: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "xcheck: ok: $*"; }

for label in NVM4K NVM512 TCP; do
    bdev_var="NVMX_DEV_${label}_BDEV"; cdev_var="NVMX_DEV_${label}_CDEV"; ctrl_var="NVMX_DEV_${label}_CTRL"
    bdev=${!bdev_var:-}; cdev=${!cdev_var:-}; ctrl=${!ctrl_var:-}
    if [[ -z $bdev || -z $cdev || -z $ctrl ]]; then
        fail "$label: device not present in the guest"
        continue
    fi
    bs=$(cat "/sys/block/$(basename "$bdev")/queue/logical_block_size")
    n=8
    # nvmx writes (through each configuration), dd reads.
    for be in emu io_uring libaio io_uring_cmd emu_bdev; do
        dev=$bdev
        [[ $be == io_uring_cmd ]] && dev=$cdev
        slba=$((RANDOM % 1000 + 100))
        head -c $((n * bs)) /dev/urandom >"$tmp/in"
        "$nvmx" lblk write "$dev" --be "$be" --slba "$slba" --nlb $((n - 1)) --data-input "$tmp/in" >/dev/null
        dd if="$bdev" of="$tmp/out" bs="$bs" skip="$slba" count="$n" iflag=direct status=none
        if cmp -s "$tmp/in" "$tmp/out"; then ok "$label $be: nvmx write, dd read"; else fail "$label $be: nvmx write, dd read differ"; fi
    done
    # dd writes, nvmx reads.
    for be in emu thrpool emu_bdev; do
        slba=$((RANDOM % 1000 + 2000))
        head -c $((n * bs)) /dev/urandom >"$tmp/in"
        dd if="$tmp/in" of="$bdev" bs="$bs" seek="$slba" count="$n" oflag=direct conv=notrunc status=none
        "$nvmx" lblk read "$bdev" --be "$be" --slba "$slba" --nlb $((n - 1)) --data-output "$tmp/out" >/dev/null
        if cmp -s "$tmp/in" "$tmp/out"; then ok "$label $be: dd write, nvmx read"; else fail "$label $be: dd write, nvmx read differ"; fi
    done
    # Identify fields against nvme-cli.
    "$nvmx" idfy-ctrlr "$ctrl" --output json >"$tmp/nvmx-ctrl.json"
    nvme id-ctrl "$ctrl" -o json >"$tmp/cli-ctrl.json"
    "$nvmx" idfy-ns "$bdev" --output json >"$tmp/nvmx-ns.json"
    nvme id-ns "$bdev" -o json >"$tmp/cli-ns.json"
    if python3 - "$tmp" <<'PY'; then ok "$label: identify fields equal nvme-cli's"; else fail "$label: identify fields differ from nvme-cli's"; fi
import json, sys
d = sys.argv[1]
def load(name):
    with open(f"{d}/{name}") as f:
        v = json.load(f)
    # nvmx wraps the structure in one top-level key.
    if len(v) == 1 and isinstance(next(iter(v.values())), dict):
        v = next(iter(v.values()))
    return v
bad = 0
for mine, theirs, fields in [
    ("nvmx-ctrl.json", "cli-ctrl.json", ["vid", "ssvid", "sn", "mn", "fr", "mdts", "cntlid", "ver", "nn", "oncs", "vwc", "sqes", "cqes", "oacs"]),
    ("nvmx-ns.json", "cli-ns.json", ["nsze", "ncap", "nuse", "nlbaf", "flbas", "mc", "dpc", "dps"]),
]:
    a, b = load(mine), load(theirs)
    for f in fields:
        x, y = a.get(f), b.get(f)
        if isinstance(y, str):
            y = y.strip()
        if isinstance(x, str):
            x = x.strip()
        if x != y:
            print(f"  {mine} {f}: nvmx {x!r} != nvme-cli {y!r}")
            bad += 1
sys.exit(1 if bad else 0)
PY
done
# Controller registers (BAR0 through sysfs; the suite boots with
# iomem=relaxed so a bound controller's BAR can be mapped).
ctrl=${NVMX_DEV_NVM4K_CTRL:-}
# nvme-cli 2.3 exits 1 after printing the registers, so its status is
# ignored and its output checked instead.
if [[ -n $ctrl ]] && "$nvmx" show-regs "$ctrl" --output json >"$tmp/nvmx-regs.json" &&
    { nvme show-regs "$ctrl" -o json >"$tmp/cli-regs.json" || true; } &&
    grep -q '"cap"' "$tmp/cli-regs.json"; then
    if python3 - "$tmp" <<'PY'; then ok "NVM4K: show-regs equals nvme-cli's"; else fail "NVM4K: show-regs differs from nvme-cli's"; fi
import json, sys
d = sys.argv[1]
mine = json.load(open(f"{d}/nvmx-regs.json"))["regs"]
theirs = json.load(open(f"{d}/cli-regs.json"))
def num(v):
    return int(v, 0) if isinstance(v, str) else v
bad = 0
for f in ["cap", "cc", "csts", "aqa"]:
    if f not in theirs:
        print(f"  nvme-cli printed no {f!r}: {sorted(theirs)}")
        bad += 1
    elif num(mine[f]) != num(theirs[f]):
        print(f"  {f}: nvmx {mine[f]} != nvme-cli {theirs[f]}")
        bad += 1
sys.exit(1 if bad else 0)
PY
else
    fail "NVM4K: show-regs did not run"
fi
echo "xcheck: $fails failure(s)"
exit $((fails > 0))
