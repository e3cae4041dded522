#!/usr/bin/env python3
"""nvmx perf against xNVMe's own benchmark tool, xnvmeperf, alternating runs.

xnvmeperf is not built by this repository: build xNVMe yourself (meson,
with liburing) and pass its binary with --xnvmeperf. Both tools run pinned
to CPU 0 (xnvmeperf insists on a CPU list), on the same targets, with
4 KiB random reads, and neither records latencies (nvmx perf runs with
--no-latency, since xnvmeperf only counts). CPU time is the whole child
process's, as in vs_fio.py.

Cases:
  nil       nvmx's `ramdisk` configuration (async nil) vs xnvmeperf's
            `ramdisk` (its nil async; it takes queue depths up to 16)
  io_uring  on a tmpfs file (O_DIRECT) and a loop device over it

How the two wait differs, and the ratios show it: xnvmeperf polls the
completion ring in a loop (one CPU busy however slow the device), nvmx
perf sleeps in io_uring_enter until a completion arrives.
"""

import argparse
import json
import re
import statistics
import sys

from vs_fio import run_timed


def nvmx_run(nvmx, case, qd, secs):
    cmd = [nvmx, "perf", "run", case["uri"], "--be", case["be"], "--qdepth", str(qd),
           "--iosize", "4096", "--iopattern", "randread", "--runtime", str(secs),
           "--cpulist", "0", "--no-latency", "--quiet", "--output", "json"] + case["args"]
    out, cpu = run_timed(cmd)
    t = json.loads(out)["total"]
    return t["iops"], cpu * 1e9 / max(t["ios"], 1)


def xnvme_run(xnvmeperf, case, qd, secs):
    cmd = [xnvmeperf, "run", case["xuri"], "--be", case["be"], "--iopattern", "randread",
           "--qdepth", str(qd), "--iosize", "4096", "--runtime", str(int(secs)),
           "--cpulist", "0"] + case["args"]
    out, cpu = run_timed(cmd)
    total = re.search(r"^\s*Total:\s+([\d.]+)", out, re.M)
    elapsed = re.search(r"elapsed:\s*([\d.]+)s", out)
    if not total or not elapsed:
        raise RuntimeError(f"xnvmeperf printed no total: {out[-400:]}")
    iops = float(total.group(1))
    return iops, cpu * 1e9 / max(iops * float(elapsed.group(1)), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvmx", required=True)
    ap.add_argument("--xnvmeperf", required=True)
    ap.add_argument("--file", required=True, help="1 GiB file on tmpfs")
    ap.add_argument("--loop", help="loop device over --file")
    ap.add_argument("--secs", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()

    cases = [dict(name="nil", target="ramdisk", uri="1GiB", xuri="1GB", be="ramdisk",
                  args=[], qds=[1, 16])]
    targets = [("tmpfs file", a.file, "io_uring_file")]
    if a.loop:
        targets.append(("loop device", a.loop, "io_uring_bdev"))
    for tname, path, be in targets:
        cases.append(dict(name="io_uring", target=tname, uri=path, xuri=path, be=be,
                          args=["--direct"], qds=[1, 32, 128]))

    print("| engine | target | QD | nvmx IOPS | xnvmeperf IOPS | IOPS ratio | nvmx CPU ns/IO "
          "| xnvmeperf CPU ns/IO | CPU/IO ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        for qd in c["qds"]:
            nv, xn = [], []
            for rep in range(a.reps):
                pair = [(nv, nvmx_run, a.nvmx), (xn, xnvme_run, a.xnvmeperf)]
                for out, fn, exe in pair if rep % 2 == 0 else pair[::-1]:
                    out.append(fn(exe, c, qd, a.secs))
            ni, xi = statistics.median(x[0] for x in nv), statistics.median(x[0] for x in xn)
            nc, xc = statistics.median(x[1] for x in nv), statistics.median(x[1] for x in xn)
            print(f"| {c['name']} | {c['target']} | {qd} | {ni:.0f} | {xi:.0f} | {ni / xi:.2f} "
                  f"| {nc:.0f} | {xc:.0f} | {nc / xc:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
