#!/usr/bin/python3
"""Runs libFuzzer targets one after the other (`make fuzz`, `make fuzz-all`).

Each target fuzz_<t> in --dir runs on a copy of tests/fuzz/corpus/<t> (in
<dir>/corpus/<t>, kept between runs) with tests/fuzz/<t>.dict when there is
one, for --seconds (or --runs executions), its output in <dir>/logs/<t>.log
and what it finds in <dir>/artifacts/<t>/. At the end one line per target:
executions, exec/s, crashes (inputs written to the artifacts directory by
this run, or a non-zero exit). Exits 1 when any target crashed."""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Largest input per target. The bridge takes a byte stream of many messages
# and must meet its size bounds (a host message may be 8 MiB); the others
# take one document or a few, which 8 KiB holds with room (a real OCI spec
# is 2-5 KiB): longer inputs only make each execution slower.
MAX_LEN = {"bridge": 200000}
DEFAULT_MAX_LEN = 8192
ARTIFACT = re.compile(r"^(crash|leak|timeout|oom|slow-unit)-")


def run(target, args):
    exe = os.path.join(args.dir, "fuzz_" + target)
    corpus = os.path.join(args.dir, "corpus", target)
    artifacts = os.path.join(args.dir, "artifacts", target)
    logs = os.path.join(args.dir, "logs")
    for d in (corpus, artifacts, logs):
        os.makedirs(d, exist_ok=True)
    seeds = os.path.join(HERE, "corpus", target)
    for name in os.listdir(seeds):
        if not os.path.exists(os.path.join(corpus, name)):
            shutil.copy(os.path.join(seeds, name), corpus)
    before = set(os.listdir(artifacts))
    cmd = [exe, f"-jobs={args.jobs}", f"-workers={args.jobs}",
           f"-max_len={MAX_LEN.get(target, DEFAULT_MAX_LEN)}",
           "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/"]
    # With -jobs each job is a whole session with its own -runs: split
    # the total between them.
    per_job = -(-args.runs // args.jobs)
    cmd.append(f"-runs={per_job}" if args.runs else f"-max_total_time={args.seconds}")
    d = os.path.join(HERE, target + ".dict")
    if os.path.exists(d):
        cmd.append(f"-dict={d}")
    cmd.append(corpus)
    log = os.path.join(logs, target + ".log")
    for old in glob.glob(os.path.join(args.dir, "fuzz-[0-9]*.log")):
        os.unlink(old)
    print(f"fuzz: {target}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=args.dir, stdout=f, stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - start
    # With -jobs, each worker writes fuzz-<n>.log: their stats add up. (The
    # launcher also copies the log of a job that failed into its own
    # output: count the workers' logs alone when there are any.)
    text = open(log, errors="replace").read()
    wlogs = sorted(glob.glob(os.path.join(args.dir, "fuzz-[0-9]*.log")))
    if wlogs:
        text = ""
    for wlog in wlogs:
        text += open(wlog, errors="replace").read()
        with open(log, "a") as f:
            f.write(f"\n==== {os.path.basename(wlog)} ====\n" + open(wlog, errors="replace").read())
    execs = sum(int(n) for n in re.findall(r"stat::number_of_executed_units: (\d+)", text))
    new = sorted(n for n in set(os.listdir(artifacts)) - before if ARTIFACT.match(n))
    crashes = len(new) or (1 if rc != 0 else 0)
    return execs, elapsed, crashes, new, rc, log


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--runs", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("targets", nargs="+")
    args = p.parse_args()
    rows, failed = [], False
    for t in args.targets:
        execs, elapsed, crashes, new, rc, log = run(t, args)
        rows.append((t, execs, execs / elapsed if elapsed else 0, crashes, rc, log, new))
        failed |= crashes > 0
    print(f"{'target':<10} {'executions':>12} {'exec/s':>8} {'crashes':>7}")
    for t, execs, rate, crashes, rc, log, new in rows:
        extra = f"  exit {rc}, see {log} {' '.join(new)}" if crashes else ""
        print(f"{t:<10} {execs:>12} {rate:>8.0f} {crashes:>7}{extra}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
