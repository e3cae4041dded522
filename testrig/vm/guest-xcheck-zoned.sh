#!/usr/bin/env bash
# Cross-checks zone reports inside the guest against nvme-cli:
# zones are put into several states, some by nvmx and some by nvme-cli,
# then `nvmx zoned report --output json` (through the emu and io_uring_cmd
# configurations) must list the same zslba, wp, zcap and state for every
# zone as `nvme zns report-zones -o json`.
#
# Usage: guest-xcheck-zoned.sh NVMX_BINARY
#   Needs NVMX_DEV_ZNS_BDEV and NVMX_DEV_ZNS_CDEV (the rig's ZNS label),
#   nvme-cli and python3. Resets every zone of that namespace, before and
#   after. Prints one `xcheck-zoned: ok|FAIL: ...` line per check; exits 1
#   if any check failed, 0 otherwise.
set -euo pipefail
nvmx=${1:?usage: guest-xcheck-zoned.sh NVMX_BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "xcheck-zoned: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "xcheck-zoned: ok: $*"; }

bdev=${NVMX_DEV_ZNS_BDEV:-}
cdev=${NVMX_DEV_ZNS_CDEV:-}
if [[ -z $bdev || -z $cdev ]]; then
    fail "ZNS: device not present in the guest (NVMX_DEV_ZNS_BDEV/_CDEV unset)"
    exit 1
fi

z() { "$nvmx" zoned "$@" >/dev/null; }
# Zone size in blocks, from nvmx's own report of zone 1.
zsze=$("$nvmx" zoned report "$cdev" --be emu --slba 0 --limit 2 --output json |
    python3 -c 'import json,sys; e=json.load(sys.stdin)["zoned_report"]["entries"]; print(e[1]["zslba"])')
zs() { echo $(($1 * zsze)); }

# States made by nvmx.
z mgmt-reset "$cdev" --be emu --all
z write "$cdev" --be emu --slba "$(zs 0)" --nlb 0                # zone 0: implicitly opened
z mgmt-open "$cdev" --be emu --slba "$(zs 1)"                     # zone 1: explicitly opened
z write "$cdev" --be emu --slba "$(zs 2)" --nlb 3                 # zone 2: closed, wp +4
z mgmt-close "$cdev" --be emu --slba "$(zs 2)"
z mgmt-finish "$cdev" --be io_uring_cmd --slba "$(zs 3)"          # zone 3: full
z append "$cdev" --be io_uring_cmd --slba "$(zs 4)" --nlb 1       # zone 4: wp +2 by append
z append "$cdev" --be emu --slba "$(zs 4)" --nlb 2                # ... then +5
# States made by nvme-cli.
nvme zns open-zone "$bdev" -s "$(zs 5)" >/dev/null                 # zone 5: explicitly opened
nvme zns finish-zone "$bdev" -s "$(zs 6)" >/dev/null               # zone 6: full
dd if=/dev/zero of="$bdev" bs=4096 count=3 seek="$(($(zs 7) * $(cat "/sys/block/$(basename "$bdev")/queue/logical_block_size") / 4096))" \
    oflag=direct status=none                                       # zone 7: written by the kernel

nvme zns report-zones "$bdev" -o json >"$tmp/cli.json"
for be in emu io_uring_cmd; do
    "$nvmx" zoned report "$cdev" --be "$be" --output json >"$tmp/nvmx-$be.json"
    if python3 - "$tmp/nvmx-$be.json" "$tmp/cli.json" <<'PY'; then ok "$be: report equals nvme-cli's (zslba, wp, zcap, state)"; else fail "$be: report differs from nvme-cli's"; fi
import json, sys
mine = json.load(open(sys.argv[1]))["zoned_report"]
theirs = json.load(open(sys.argv[2]))

def num(v):
    return int(v, 0) if isinstance(v, str) else int(v)

# nvme-cli's state strings (and raw ZS values) to nvmx's names.
STATES = {
    "EMPTY": "EMPTY", "IMP_OPENED": "IOPEN", "EXP_OPENED": "EOPEN", "CLOSED": "CLOSED",
    "READONLY": "RONLY", "FULL": "FULL", "OFFLINE": "OFFLINE",
    0x1: "EMPTY", 0x2: "IOPEN", 0x3: "EOPEN", 0x4: "CLOSED", 0xd: "RONLY", 0xe: "FULL", 0xf: "OFFLINE",
}

def state(v):
    if isinstance(v, str) and v in STATES:
        return STATES[v]
    n = num(v)
    return STATES.get(n, STATES.get(n >> 4, f"?{v}"))

zl = theirs.get("zone_list") or theirs.get("zones") or []
cli = {num(z["slba"]): (num(z["wp"]), num(z["cap"]), state(z["state"])) for z in zl}
ours = {e["zslba"]: (e["wp"], e["zcap"], e["zs"]) for e in mine["entries"]}
bad = 0
if len(ours) != mine["nzones"]:
    print(f"  nvmx listed {len(ours)} of {mine['nzones']} zones")
    bad += 1
common = sorted(set(ours) & set(cli))
if len(common) < 8:
    print(f"  only {len(common)} zones in both reports")
    bad += 1
for zslba in common:
    if ours[zslba] != cli[zslba]:
        print(f"  zone {zslba:#x}: nvmx (wp, zcap, state) {ours[zslba]}, nvme-cli {cli[zslba]}")
        bad += 1
states = sorted({ours[z][2] for z in common})
print(f"  compared {len(common)} zones, states seen: {', '.join(states)}")
sys.exit(1 if bad else 0)
PY
done

# Filters: nvmx's full zones are nvme-cli's full zones.
"$nvmx" zoned report "$cdev" --be emu --filter full --output json >"$tmp/full.json"
full=$(python3 -c 'import json,sys; print(" ".join(str(e["zslba"]) for e in json.load(open(sys.argv[1]))["zoned_report"]["entries"]))' "$tmp/full.json")
if [[ $full == "$(zs 3) $(zs 6)" ]]; then ok "report --filter full lists zones 3 and 6"; else fail "report --filter full lists '$full', expected '$(zs 3) $(zs 6)'"; fi

z mgmt-reset "$cdev" --be emu --all
left=$(nvme zns report-zones "$bdev" -o json | python3 -c '
import json, sys
zl = json.load(sys.stdin).get("zone_list", [])
print(sum(1 for z in zl if str(z["state"]) not in ("EMPTY", "1", "16")))')
if [[ $left == 0 ]]; then ok "mgmt-reset --all leaves every zone empty for nvme-cli"; else fail "$left zones not empty after mgmt-reset --all"; fi

echo "xcheck-zoned: $fails failed"
[[ $fails == 0 ]]
