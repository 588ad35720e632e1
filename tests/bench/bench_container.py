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

    bench_container.py <gcs> [iterations]
"""
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
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


def gcs_run(host, env, i):
    """Returns (create+start+wait, with delete) in seconds."""
    cid = f"g{i}"
    bundle = fresh_bundle(env, cid)
    spec = oci_spec(os.path.join(bundle, "rootfs"), ["/bin/true"])
    cfg = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": bundle,
           "OciSpecification": spec}
    b = host.bridge
    t0 = time.perf_counter()
    r = b.request(Msg.CREATE, {"ContainerId": cid, "ContainerConfig": json.dumps(cfg)})
    assert r.result == 0, r.json
    r = b.request(Msg.EXECUTE_PROCESS, {"ContainerId": cid, "Settings": {
        "ProcessParameters": "{}"}})
    assert r.result == 0, r.json
    pid = r.json["ProcessId"]
    r = b.request(Msg.WAIT_FOR_PROCESS, {"ContainerId": cid, "ProcessId": pid,
                                         "TimeoutInMs": INFINITE})
    assert r.result == 0 and r.json["ExitCode"] == 0, r.json
    t1 = time.perf_counter()
    b.wait_notification()
    t2 = time.perf_counter()
    r = b.request(Msg.DELETE_CONTAINER_STATE, {"ContainerId": cid})
    assert r.result == 0, r.json
    t3 = time.perf_counter()
    return t1 - t0, (t1 - t0) + (t3 - t2)


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


def main():
    gcs = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    if os.geteuid() != 0:
        print("bench-container: needs root (runc)")
        return 0
    # The directly started inits are re-parented to us: reap them.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    env = ContainerEnv(gcs)
    try:
        host = env.start(args=["-loglevel", "info"])
        template, config = template_bundle(host, env)
        for i in range(3):  # warm up both paths
            gcs_run(host, env, f"w{i}")
            raw_run(env, template, config, f"w{i}")
            direct_run(env, template, config, f"w{i}")
        g, gd, r, d, dd = [], [], [], [], []
        for i in range(n):
            a, b = gcs_run(host, env, i)
            g.append(a)
            gd.append(b)
            r.append(raw_run(env, template, config, i))
            a, b = direct_run(env, template, config, i)
            d.append(a)
            dd.append(b)
        print(f"bench-container: `true` in a container, {n} runs each "
              f"(gcs {os.path.relpath(gcs, TOP)}, runc {shutil.which('runc')})")
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
    finally:
        left = env.close()
        if left:
            print("bench-container: left behind:", left)
    return 0


if __name__ == "__main__":
    sys.exit(main())
