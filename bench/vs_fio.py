#!/usr/bin/env python3
"""nvmx perf against fio, same parameters, same targets, alternating runs.

For every case (engine x target x queue depth) both tools run --reps
times, in alternating order, and the script prints the ratio of the
medians: nvmx/fio for IOPS (above 1.0: nvmx is faster) and for CPU time per
I/O (below 1.0: nvmx spends less). CPU time is what the whole child process
used (getrusage of children), every thread and start-up included, for both
tools alike. Run through bench/vs-fio.sh, which
builds the release binary and sets up the targets.

Both tools' I/O thread is pinned to the same CPU (--cpu, by default the
highest one this process may use): nvmx with --cpulist, fio with
--cpus_allowed. Unpinned, the scheduler's choices decide the QD 1 figures
on a VM (an idle vCPU is slow to wake): see BENCHMARKS.md.

Cases:
  nil     nvmx's `ramdisk` configuration (async nil) vs fio's null engine
  io_uring, libaio, psync
          on a 1 GiB tmpfs file (O_DIRECT) and on a loop device over it
          (direct I/O), at queue depths 1, 32 and 128
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-400:]}")
    return p.stdout


def run_timed(cmd):
    """Runs cmd; returns its stdout and the user+system CPU seconds of the
    whole child process, every thread included (io_uring's io-wq workers
    too, which fio's own per-thread figures leave out)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = run(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu


def nvmx_run(nvmx, case, qd, secs, cpu):
    cmd = [nvmx, "perf", "run", case["uri"], "--be", case["be"], "--qdepth", str(qd),
           "--iosize", "4096", "--iopattern", "randread", "--runtime", str(secs),
           "--quiet", "--output", "json"] + case.get("nvmx_args", [])
    if cpu is not None:
        cmd += ["--cpulist", str(cpu)]
    out, cpu = run_timed(cmd)
    t = json.loads(out)["total"]
    return t["iops"], cpu * 1e9 / max(t["ios"], 1)


def fio_run(fio, case, qd, secs, cpu):
    cmd = [fio, "--name=vs", f"--ioengine={case['fio_engine']}", "--rw=randread",
           "--bs=4k", f"--iodepth={qd}", f"--runtime={secs}", "--time_based",
           "--output-format=json", "--randrepeat=0", "--norandommap"] + case["fio_args"]
    if cpu is not None:
        cmd += [f"--cpus_allowed={cpu}"]
    out, cpu = run_timed(cmd)
    # fio may print notes (e.g. "queue depth will be capped at 1") first.
    j = json.loads(out[out.index("{"):])["jobs"][0]
    r = j["read"]
    return r["iops"], cpu * 1e9 / max(r["total_ios"], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvmx", required=True)
    ap.add_argument("--fio", default="fio")
    ap.add_argument("--file", required=True, help="1 GiB file on tmpfs")
    ap.add_argument("--loop", help="loop device over --file")
    ap.add_argument("--secs", type=float, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--qds", default="1,32,128")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--cpu", default=str(max(os.sched_getaffinity(0))),
                    help="CPU both tools' I/O thread runs on, or 'none' to leave it "
                         "to the scheduler (default: the highest allowed CPU)")
    ap.add_argument("--engines", default="nil,io_uring,libaio,psync",
                    help="comma-separated subset of nil,io_uring,libaio,psync")
    a = ap.parse_args()
    cpu = None if a.cpu == "none" else int(a.cpu)
    engines = set(a.engines.split(","))
    qds = [int(q) for q in a.qds.split(",")]

    cases = [dict(name="nil", target="ramdisk", uri="1GiB", be="ramdisk",
                  fio_engine="null", fio_args=["--size=1g"], qds=qds)]
    targets = [("tmpfs file", a.file, "_file", ["--direct"])]
    if a.loop:
        targets.append(("loop device", a.loop, "_bdev", ["--direct"]))
    for tname, path, suffix, nargs in targets:
        for eng, be, fio_engine in [("io_uring", "io_uring", "io_uring"),
                                    ("libaio", "libaio", "libaio"),
                                    ("psync", "emu", "psync")]:
            cases.append(dict(name=eng, target=tname, uri=path, be=be + suffix,
                              nvmx_args=nargs, fio_engine=fio_engine,
                              fio_args=[f"--filename={path}", "--direct=1", "--size=1g"],
                              qds=qds))

    cases = [c for c in cases if c["name"] in engines]
    results = []
    for c in cases:
        for qd in c["qds"]:
            nv, fi = [], []
            for rep in range(a.reps):
                order = [0, 1] if rep % 2 == 0 else [1, 0]
                for o in order:
                    if o == 0:
                        nv.append(nvmx_run(a.nvmx, c, qd, a.secs, cpu))
                    else:
                        fi.append(fio_run(a.fio, c, qd, a.secs, cpu))
            r = dict(engine=c["name"], target=c["target"], qd=qd, be=c["be"],
                     nvmx_iops=statistics.median(x[0] for x in nv),
                     fio_iops=statistics.median(x[0] for x in fi),
                     nvmx_cpu_ns=statistics.median(x[1] for x in nv),
                     fio_cpu_ns=statistics.median(x[1] for x in fi),
                     nvmx_runs=nv, fio_runs=fi)
            r["iops_ratio"] = r["nvmx_iops"] / r["fio_iops"]
            r["cpu_ratio"] = r["nvmx_cpu_ns"] / r["fio_cpu_ns"]
            results.append(r)
            print(f"{c['name']:9} {c['target']:12} qd {qd:4}: nvmx {r['nvmx_iops']:>12.0f} IOPS "
                  f"{r['nvmx_cpu_ns']:>8.0f} ns/IO | fio {r['fio_iops']:>12.0f} IOPS "
                  f"{r['fio_cpu_ns']:>8.0f} ns/IO | IOPS {r['iops_ratio']:.2f}x, "
                  f"CPU/IO {r['cpu_ratio']:.2f}x", flush=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    fio_ver = run([a.fio, "--version"]).strip()
    print()
    print(f"commit {commit}, {fio_ver}, {os.cpu_count()} CPUs, kernel {platform.release()}, "
          f"{a.reps} alternating runs of {a.secs} s each, 4 KiB random reads, one thread, "
          f"{'unpinned' if cpu is None else f'pinned to CPU {cpu}'}")
    print()
    print("| engine | target | QD | nvmx IOPS | fio IOPS | IOPS ratio | nvmx CPU ns/IO | fio CPU ns/IO | CPU/IO ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['engine']} | {r['target']} | {r['qd']} | {r['nvmx_iops']:.0f} | "
              f"{r['fio_iops']:.0f} | {r['iops_ratio']:.2f} | {r['nvmx_cpu_ns']:.0f} | "
              f"{r['fio_cpu_ns']:.0f} | {r['cpu_ratio']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(commit=commit, fio=fio_ver, cpus=os.cpu_count(),
                           kernel=platform.release(), secs=a.secs, reps=a.reps, pinned_cpu=cpu,
                           when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           results=results), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
