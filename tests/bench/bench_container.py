#!/usr/bin/env python3
"""Container benchmark (make bench-container; figures, not a test).

The time to run `true` in a container through the gcs, from the host's side
of the bridge: Create + ExecuteProcess (the init, no stdio) + WaitForProcess,
against `runc run` of the same bundle (the config.json the gcs wrote, with
its hostname/hosts/resolv.conf), which creates, starts, waits for and deletes
the container in one runc process. A second gcs figure adds
DeleteContainerState, which `runc run` includes. Target: the gcs within 5 %
of runc run.

The gcs must run `runc create` and `runc start` as two commands (spec §6.2:
Create and ExecuteProcess are two requests), so a third baseline runs those
same commands directly (`runc create`, `runc start`, waitpid of the init;
`runc delete` for the second figure): the difference to it is what the gcs
itself adds. Runs alternate so that drift hits all alike.

The split: the gcs logs each request's end ("request done", with its total
"us" from reading the request to sending the reply and, for a request that
ran runc, "runc_us": the wall time from spawning each runc command to
reaping it, timed inside the gcs; for WaitForProcess, "process_us": the
time from the request until the gcs reaped the process, which is `true`'s
own end after runc start returned: its exec, exit and namespaces'
teardown). Per request of the lifecycle (Create, ExecuteProcess of the
init, WaitForProcess, DeleteContainerState) the bench prints the host-side
round trip, the time that is runc's or the process's, and the gcs's share
(round trip - that), as medians over the runs, and the same for the four
together; the gcs's share is further split into what passes inside the gcs
(us - runc_us - process_us) and on the host's side of the socket (round
trip - us: this Python client, the socket, the scheduler's wake-ups). The
gcs runs at -loglevel debug for those lines (one line per request, written
after the reply).

Files go where the VM has them, on a tmpfs (/run there): the bundles and
runc's state are in /dev/shm when it is a tmpfs (BENCH_CONTAINER_DIR
chooses another place). On the build machine's shared ext4 disk, journal
waits caused by other users' I/O (an rmdir took up to 3 ms) made the
figures measure the neighbours.

    bench_container.py <gcs> [iterations]
"""
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
os.environ["LCOW_FORBID_VSOCK"] = "1"

from container_host import ContainerEnv, Msg, make_rootfs, oci_spec  # noqa: E402

INFINITE = 0xFFFFFFFF


def fresh_bundle(env, name):
    bundle = os.path.join(env.dir, "c", name)
    make_rootfs(os.path.join(bundle, "rootfs"))
    return bundle


STEPS = ("Create", "ExecuteProcess", "WaitForProcess", "DeleteContainerState")


def gcs_run(host, env, i, split=None):
    """Returns (create+start+wait, with delete) in seconds; appends
    {step: (request id, host round trip in s)} to split."""
    cid = f"g{i}"
    bundle = fresh_bundle(env, cid)
    spec = oci_spec(os.path.join(bundle, "rootfs"), ["/bin/true"])
    cfg = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": bundle,
           "OciSpecification": spec}
    b = host.bridge
    steps = {}

    def timed(step, msg_type, body):
        t = time.perf_counter()
        r = b.request(msg_type, body)
        steps[step] = (r.id, time.perf_counter() - t)
        return r

    t0 = time.perf_counter()
    r = timed("Create", Msg.CREATE, {"ContainerId": cid, "ContainerConfig": json.dumps(cfg)})
    assert r.result == 0, r.json
    r = timed("ExecuteProcess", Msg.EXECUTE_PROCESS, {"ContainerId": cid, "Settings": {
        "ProcessParameters": "{}"}})
    assert r.result == 0, r.json
    pid = r.json["ProcessId"]
    r = timed("WaitForProcess", Msg.WAIT_FOR_PROCESS, {"ContainerId": cid, "ProcessId": pid,
                                                      "TimeoutInMs": INFINITE})
    assert r.result == 0 and r.json["ExitCode"] == 0, r.json
    t1 = time.perf_counter()
    b.wait_notification()
    t2 = time.perf_counter()
    r = timed("DeleteContainerState", Msg.DELETE_CONTAINER_STATE, {"ContainerId": cid})
    assert r.result == 0, r.json
    t3 = time.perf_counter()
    if split is not None:
        split.append(steps)
    return t1 - t0, (t1 - t0) + (t3 - t2)


def request_lines(gcs, ids):
    """The gcs's "request done" log entries of these request ids."""
    want = set(ids)
    gcs.log.wait_for(lambda e: e.get("msg") == "request done" and e.get("id") == max(want))
    with gcs.log.cond:
        return {e["id"]: e for e in gcs.log.entries
                if e.get("msg") == "request done" and e.get("id") in want}


def print_split(gcs, split):
    """Per step and for the four together: round trip, runc, gcs = the
    difference, and that split into inside the gcs and the host's side
    (medians over the runs, in ms). Returns the median gcs share."""
    lines = request_lines(gcs, [rid for steps in split for rid, _ in steps.values()])
    cols = {s: ([], [], [], [], []) for s in STEPS + ("all four", "all but the wait")}
    for steps in split:
        sums = [0.0] * 5
        for step in STEPS:
            rid, rtt = steps[step]
            runc = (lines[rid].get("runc_us", 0) + lines[rid].get("process_us", 0)) / 1e6
            inside = lines[rid]["us"] / 1e6
            row = (rtt, runc, rtt - runc, inside - runc, rtt - inside)
            for k, v in enumerate(row):
                cols[step][k].append(v)
                sums[k] += v
        for k, v in enumerate(sums):
            cols["all four"][k].append(v)
            cols["all but the wait"][k].append(v - cols["WaitForProcess"][k][-1])
    print(f"  split (medians over {len(split)} runs; runc = runc's wall time timed by the gcs, "
          "or for the wait the process's until reaped; gcs = round trip - runc = in the gcs "
          "+ host side):")
    print(f"    {'request':22s} {'round trip':>11s} {'runc':>9s} {'gcs':>9s} "
          f"{'in the gcs':>11s} {'host side':>10s}")
    for step, c in cols.items():
        m = [statistics.median(x) * 1e3 for x in c]
        print(f"    {step:22s} {m[0]:8.2f} ms {m[1]:6.2f} ms {m[2]:6.2f} ms "
              f"{m[3]:8.2f} ms {m[4]:7.2f} ms")
    return statistics.median(cols["all four"][2]), statistics.median(cols["all four"][3])


def template_bundle(host, env):
    """A bundle as the gcs prepares it, kept for runc run."""
    cid = "template"
    bundle = fresh_bundle(env, cid)
    spec = oci_spec(os.path.join(bundle, "rootfs"), ["/bin/true"])
    cfg = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": bundle,
           "OciSpecification": spec}
    r = host.bridge.request(Msg.CREATE, {"ContainerId": cid, "ContainerConfig": json.dumps(cfg)})
    assert r.result == 0, r.json
    keep = os.path.join(env.dir, "raw-template")
    shutil.copytree(bundle, keep, symlinks=True, ignore=shutil.ignore_patterns("runc.log"))
    r = host.bridge.request(Msg.DELETE_CONTAINER_STATE, {"ContainerId": cid})
    assert r.result == 0, r.json
    with open(os.path.join(keep, "config.json")) as f:
        text = f.read()
    # Point the spec's bind sources (hostname, hosts, resolv.conf) at "@B@".
    return keep, json.loads(text.replace(bundle, "@B@"))


def prepare_raw(env, template, config, cid):
    bundle = os.path.join(env.dir, "c", cid)
    shutil.copytree(template, bundle, symlinks=True)
    cfg = json.loads(json.dumps(config))
    cfg["root"]["path"] = cfg["root"]["path"].replace("@B@", bundle)
    cfg["linux"]["cgroupsPath"] = cfg["linux"]["cgroupsPath"].rsplit("/", 1)[0] + "/" + cid
    for m in cfg["mounts"]:
        m["source"] = m.get("source", "").replace("@B@", bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f)
    return bundle


def raw_run(env, template, config, i):
    cid = f"r{i}"
    bundle = prepare_raw(env, template, config, cid)
    t0 = time.perf_counter()
    subprocess.run(["runc", "--root", env.runc_root, "run", "--no-pivot", "-b", bundle, cid],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    t1 = time.perf_counter()
    shutil.rmtree(bundle)
    return t1 - t0


def direct_run(env, template, config, i):
    """runc create + runc start + waitpid, then runc delete: (without, with)."""
    cid = f"d{i}"
    bundle = prepare_raw(env, template, config, cid)
    pid_file = os.path.join(env.dir, f"{cid}.pid")
    runc = ["runc", "--root", env.runc_root]
    t0 = time.perf_counter()
    subprocess.run(runc + ["create", "--no-pivot", "-b", bundle, "--pid-file", pid_file, cid],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    subprocess.run(runc + ["start", cid], check=True)
    with open(pid_file) as f:
        pid = int(f.read())
    _, status = os.waitpid(pid, 0)  # we are the subreaper
    t1 = time.perf_counter()
    assert os.waitstatus_to_exitcode(status) == 0
    subprocess.run(runc + ["delete", cid], check=True)
    t2 = time.perf_counter()
    shutil.rmtree(bundle)
    os.unlink(pid_file)
    return t1 - t0, t2 - t0


def figures(name, xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(len(xs) * 0.9))]
    print(f"  {name:34s} median {statistics.median(xs) * 1e3:7.2f} ms  "
          f"mean {statistics.mean(xs) * 1e3:7.2f} ms  p90 {p90 * 1e3:7.2f} ms  (n={len(xs)})")
    return statistics.median(xs)


def bench_dir():
    """BENCH_CONTAINER_DIR, else /dev/shm when it is a tmpfs, else the
    default temporary directory."""
    if os.environ.get("BENCH_CONTAINER_DIR"):
        return os.environ["BENCH_CONTAINER_DIR"]
    with open("/proc/self/mounts") as f:
        if any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in f):
            return "/dev/shm"
    return tempfile.gettempdir()


def main():
    gcs = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    if os.geteuid() != 0:
        print("bench-container: needs root (runc)")
        return 0
    tempfile.tempdir = bench_dir()
    # The directly started inits are re-parented to us: reap them.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    env = ContainerEnv(gcs)
    try:
        host = env.start(args=["-loglevel", "debug"])
        template, config = template_bundle(host, env)
        for i in range(3):  # warm up both paths
            gcs_run(host, env, f"w{i}")
            raw_run(env, template, config, f"w{i}")
            direct_run(env, template, config, f"w{i}")
        g, gd, r, d, dd, split = [], [], [], [], [], []
        for i in range(n):
            a, b = gcs_run(host, env, i, split)
            g.append(a)
            gd.append(b)
            r.append(raw_run(env, template, config, i))
            a, b = direct_run(env, template, config, i)
            d.append(a)
            dd.append(b)
        print(f"bench-container: `true` in a container, {n} runs each "
              f"(gcs {os.path.relpath(gcs, TOP)}, runc {shutil.which('runc')}, "
              f"files in {tempfile.tempdir})")
        mr = figures("runc run (create+start+wait+delete)", r)
        md = figures("runc create+start+wait, direct", d)
        mdd = figures("runc create+start+wait+delete", dd)
        mg = figures("gcs Create+Execute+Wait", g)
        mgd = figures("gcs ... + DeleteContainerState", gd)
        print(f"  gcs vs runc run:          {100 * (mg / mr - 1):+.1f} % (create+start+wait), "
              f"{100 * (mgd / mr - 1):+.1f} % (with delete); target <= +5 %")
        print(f"  gcs vs the same runc commands run directly: {100 * (mg / md - 1):+.1f} % "
              f"({(mg - md) * 1e3:+.2f} ms), with delete {100 * (mgd / mdd - 1):+.1f} % "
              f"({(mgd - mdd) * 1e3:+.2f} ms)")
        own, inside = print_split(env.gcs, split)
        print(f"  gcs's own share of Create+Execute+Wait+Delete: {own * 1e3:.2f} ms "
              f"(median; {inside * 1e3:.2f} ms of it inside the gcs); target <= 1 ms")
    finally:
        left = env.close()
        if left:
            print("bench-container: left behind:", left)
    return 0


if __name__ == "__main__":
    sys.exit(main())
