#!/usr/bin/python3
"""bench_vm.py: figures of the image under QEMU (-accel tcg) with the vsock
backend, driven as hcsshim drives it (make bench-vm). Figures, not a test.

  boot     seconds from launching QEMU to: entropy served (port 1), log
           connected (port 109), bridge dialled (0x40000000), negotiated;
           median (min-max) of --runs boots. Then the same boots in the
           guest's own clock (CLOCK_BOOTTIME stamps init passes to the gcs
           and the gcs logs): kernel start -> /init's first instruction,
           /init -> the gcs's main, the gcs's main -> bridge connected; and
           /init -> the gcs's main by init's boot steps (what init timed
           and passed on; "+step" ran in the background, beside the
           others), the rest being init's fork, vsockexec's start and dial
           and the gcs's exec.
           --cpus N boots with N vCPUs (default 1; hcsshim gives a UVM 2)
  stdio    throughput of stdio in one VM, both directions, for 4 KiB,
           64 KiB and 1 MiB writes (`dd bs=`; host -> guest: the host's
           sends and dd's reads), each against the direct socket in the same
           VM:
             direct     the process's own fd is a vsock connection (vsockexec
                        -o/-i dials the host port and execs dd on it): the
                        most the guest's virtio-vsock and the backend allow
             uvm        a UVM process with CreateStdOutPipe/CreateStdInPipe:
                        the gcs dials the host's port and gives dd the
                        connection itself as its fd (spec §6.3), the same
                        path as direct
             exec       a process exec'd in a busybox container: pipes
                        from the gcs (so that /dev/stdout can be opened), so
                        dd <-> pipe <-> the gcs's relay <-> the connection
             init       a busybox container's init: its pipes exist from
                        `runc create`, before the host names its ports, so
                        dd <-> pipe <-> the gcs's relay <-> the connection
                        (a fresh container, overlay and all, per figure)
           guest -> host from the host's first byte to EOF; host -> guest
           from the host's first send to WaitForProcess's answer (dd has
           read everything). Median of --stdio-runs, interleaved.
  container  in the same VM, --container-runs containers of `true` (Create,
           ExecuteProcess of the init, WaitForProcess, DeleteContainerState
           on a fresh overlay of the busybox layer): per request, the gcs's
           own time from reading it to sending the reply (the log's `us`),
           less runc's (`runc_us`, spawn to reap, timed by the gcs) and,
           for the wait, the process's (`process_us`, until it was reaped):
           everything between the bridge and runc's exec, and back.
"""
import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import container_host  # noqa: E402
import lcow_ops  # noqa: E402
from gcs_host import NULL_GUID, Msg  # noqa: E402
from lcow_vm import LcowVM, blank_disk, busybox_layer  # noqa: E402
from uvm_process import UvmHost  # noqa: E402

EVENTS = ("entropy", "log", "bridge", "negotiated")


def boot_once(kernel, initrd, backend, cpus=1):
    vm = LcowVM(kernel, initrd, backend, cpus=cpus)
    try:
        vm.start()
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(120)
        host.bridge.negotiate()
        vm.mark("negotiated")
        # The log stream is read on its own: its line may trail the reply.
        vm.log.wait_for(lambda e: e.get("msg") == "bridge connected, serving", timeout=10)
        return dict(vm.marks, **guest_stamps(vm.log.entries))
    finally:
        vm.close()


GUEST_SPANS = (("kernel -> /init", "guest_init"), ("/init -> gcs main", "guest_gcs"),
               ("gcs main -> bridge", "guest_bridge"), ("/init -> bridge", "guest_total"))


def guest_stamps(entries):
    """Guest-clock spans (ms) from the log's boot stamps."""
    started = next(e for e in entries if e.get("msg") == "GCS started")
    bridge = next(e for e in entries if e.get("msg") == "bridge connected, serving")
    init_us, gcs_us, bridge_us = (started["initStartedUs"], started["boottimeUs"],
                                  bridge["boottimeUs"])
    steps = {k: int(v) / 1e3 for k, v in
             (kv.split("=") for kv in started["initStepsUs"].split(","))}
    # What passes between init's last step and the gcs's main: forking
    # vsockexec, its dial of the log port, its exec of the gcs. Steps named
    # "+step" ran in the background, alongside the others: not on the path.
    on_path = sum(v for k, v in steps.items() if not k.startswith("+"))
    steps["(to gcs main)"] = (gcs_us - init_us) / 1e3 - on_path
    return {"guest_init": init_us / 1e3, "guest_gcs": (gcs_us - init_us) / 1e3,
            "guest_bridge": (bridge_us - gcs_us) / 1e3,
            "guest_total": (bridge_us - init_us) / 1e3, "init_steps": steps}


MiB = 1 << 20
SIZES = (("4 KiB", 4096), ("64 KiB", 64 << 10), ("1 MiB", MiB))
KINDS = ("direct", "uvm", "exec", "init")
CONTAINER_ID = "bench-stdio"
LAYER_LUN, SCRATCH_LUN = 1, 2


def receive_all(conn):
    """(bytes, seconds from the first byte to EOF)."""
    buf = bytearray(MiB)
    n = conn.recv_into(buf)
    t0, total = time.monotonic(), n
    while n:
        n = conn.recv_into(buf)
        total += n
    return total, time.monotonic() - t0


def send_all(conn, total, bs):
    data = memoryview(bytes(bs))
    for _ in range(total // bs):
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


class StdioBench:
    """One booted VM with a busybox container; each method moves `total`
    bytes once and returns MB/s."""

    def __init__(self, vm, host, total):
        self.vm, self.host, self.total = vm, host, total
        self.container = None
        self.inits, self.n_inits = [], 0

    def start_container(self, workdir):
        self.container = lcow_ops.Container(self.host, CONTAINER_ID, LAYER_LUN, SCRATCH_LUN)
        c = self.container
        for step in (c.attach_layer, c.attach_scratch, c.combine_layers,
                     lambda: c.create(["/bin/sleep", "1000000"]), c.start):
            reply = step()
            if reply.result != 0:
                raise SystemExit(f"bench-vm: container setup failed: {reply.json}")
        reply, _ = c.execute_init(stdout=False, stderr=False)
        if reply.result != 0:
            raise SystemExit(f"bench-vm: container init failed: {reply.json}")

    def _run(self, kind, args, **stdio):
        """Starts args as `kind`; returns (process, host connection, wait target)."""
        if kind == "init":
            return self._run_init(args, **stdio)
        if kind == "direct":
            port = self.host.ports(1)[0]
            lst = self.vm.listen(port)
            flag = "-o" if stdio.get("stdout") else "-i"
            proc = self.host.execute(["vsockexec", flag, str(port)] + args)
            conn = lst.accept(60)
            self.vm.drop(lst)
            return proc, conn, (NULL_GUID, proc.pid)
        if kind == "uvm":
            proc = self.host.execute(args, **stdio)
            return proc, proc.stdout or proc.stdin, (NULL_GUID, proc.pid)
        proc = self.host.execute(container_id=CONTAINER_ID,
                                 OciProcess=container_host.exec_process(args), **stdio)
        return proc, proc.stdout or proc.stdin, (CONTAINER_ID, proc.pid)

    def _run_init(self, args, stdout=False, stdin=False):
        self.n_inits += 1
        c = lcow_ops.Container(self.host, f"bench-init-{self.n_inits}", LAYER_LUN, SCRATCH_LUN)
        for step in (c.combine_layers, lambda: c.create(args), c.start):
            reply = step()
            if reply.result != 0:
                raise SystemExit(f"bench-vm: init container setup failed: {reply.json}")
        reply, proc = c.execute_init(stdout=stdout, stderr=False, stdin=stdin)
        if reply.result != 0:
            raise SystemExit(f"bench-vm: init container start failed: {reply.json}")
        self.inits.append(c)
        return proc, proc.stdout or proc.stdin, (c.cid, proc.pid)

    def remove_inits(self):
        """Each init container, once its dd has ended."""
        for c in self.inits:
            for step in (c.remove_layers, c.delete_state):
                reply = step()
                if reply.result != 0:
                    raise SystemExit(f"bench-vm: {c.cid} cleanup failed: {reply.json}")
        self.inits = []

    def _wait(self, target):
        cid, pid = target
        reply = self.host.bridge.request(Msg.WAIT_FOR_PROCESS, {
            "ContainerId": cid, "ActivityId": NULL_GUID, "ProcessId": pid,
            "TimeoutInMs": 0xFFFFFFFF}, timeout=300)
        return reply.json.get("ExitCode")

    def guest_to_host(self, kind, bs):
        args = ["dd", "if=/dev/zero", f"bs={bs}", f"count={self.total // bs}"]
        proc, conn, target = self._run(kind, args, stdout=True)
        n, seconds = receive_all(conn)
        conn.close()
        proc.close()
        code = self._wait(target)
        if code != 0 or n != self.total:
            raise SystemExit(f"bench-vm: {kind} stdout got {n} bytes, exit code {code}")
        return n / seconds / 1e6

    def host_to_guest(self, kind, bs):
        args = ["dd", "of=/dev/null", f"bs={bs}"]
        proc, conn, target = self._run(kind, args, stdin=True)
        t0 = time.monotonic()
        send_all(conn, self.total, bs)
        code = self._wait(target)
        seconds = time.monotonic() - t0
        conn.close()
        proc.close()
        if code != 0:
            raise SystemExit(f"bench-vm: {kind} stdin: dd exited with {code}")
        return self.total / seconds / 1e6


def stdio(kernel, initrd, backend, mib, runs, container_runs):
    """({(direction, size label, kind): [MB/s per run]}, container_split())
    from one VM."""
    work = tempfile.mkdtemp(prefix="bench-vm-")
    disks = [(LAYER_LUN, busybox_layer(os.path.join(work, "layer.img")), True),
             (SCRATCH_LUN, blank_disk(os.path.join(work, "scratch.img"), 256), False)]
    vm = LcowVM(kernel, initrd, backend, disks=disks)
    rates = {}
    try:
        vm.start()
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(120)
        host.bridge.negotiate()
        bench = StdioBench(vm, host, mib * MiB)
        bench.start_container(work)
        for _ in range(runs):
            for label, bs in SIZES:
                for kind in KINDS:
                    for direction, fn in (("guest -> host", bench.guest_to_host),
                                          ("host -> guest", bench.host_to_guest)):
                        rates.setdefault((direction, label, kind), []).append(fn(kind, bs))
                bench.remove_inits()
        return rates, container_split(bench, container_runs)
    finally:
        vm.close()
        shutil.rmtree(work, ignore_errors=True)


CONTAINER_STEPS = ("Create", "ExecuteProcess", "WaitForProcess", "DeleteContainerState")


def container_split(bench, runs):
    """[{step: (us, runc_us + process_us)}] for `runs` containers of `true`."""
    log = bench.vm.log
    out = []
    for i in range(runs):
        c = lcow_ops.Container(bench.host, f"bench-path-{i}", LAYER_LUN, SCRATCH_LUN)
        ids = {}
        for name, step in (("", c.combine_layers), ("Create", lambda: c.create(["/bin/true"])),
                           ("", c.start)):
            reply = step()
            if reply.result != 0:
                raise SystemExit(f"bench-vm: container path setup failed: {reply.json}")
            if name:
                ids[name] = reply.id
        reply, proc = c.execute_init(stdout=False, stderr=False)
        if reply.result != 0:
            raise SystemExit(f"bench-vm: container path start failed: {reply.json}")
        ids["ExecuteProcess"] = reply.id
        wait = bench.host.bridge.request(Msg.WAIT_FOR_PROCESS, {
            "ContainerId": c.cid, "ActivityId": NULL_GUID, "ProcessId": proc.pid,
            "TimeoutInMs": 0xFFFFFFFF}, timeout=300)
        ids["WaitForProcess"] = wait.id
        for step in (c.remove_layers, c.delete_state):
            reply = step()
            if reply.result != 0:
                raise SystemExit(f"bench-vm: container path cleanup failed: {reply.json}")
        ids["DeleteContainerState"] = reply.id
        lines = {}
        for step, rid in ids.items():
            e = log.wait_for(lambda e, rid=rid: e.get("msg") == "request done"
                             and e.get("id") == rid)
            lines[step] = (e["us"], e.get("runc_us", 0) + e.get("process_us", 0))
        out.append(lines)
    return out


def print_container_split(runs):
    print(f"bench-vm: container path in the VM, `true`, median of {len(runs)} "
          "(ms; gcs = us - runc/process):")
    print(f"  {'request':22s} {'in the gcs':>11s} {'runc/process':>13s} {'gcs':>8s}")
    totals = [0.0] * len(runs)
    for step in CONTAINER_STEPS:
        us = [r[step][0] / 1e3 for r in runs]
        other = [r[step][1] / 1e3 for r in runs]
        own = [a - b for a, b in zip(us, other)]
        totals = [t + o for t, o in zip(totals, own)]
        print(f"  {step:22s} {statistics.median(us):8.2f} ms {statistics.median(other):10.2f} ms "
              f"{statistics.median(own):5.2f} ms")
    print(f"  {'all four':22s} {'':11s} {'':13s} {statistics.median(totals):5.2f} ms"
          "  (target <= 1 ms off-VM)")


def print_stdio(rates, mib, runs):
    print(f"bench-vm: stdio throughput, MB/s (median of {runs} x {mib} MiB; % of direct):")
    print(f"  {'direction':14s} {'writes':7s} {'direct':>8s}"
          + "".join(f" {k:>14s}" for k in KINDS[1:]))
    for direction in ("guest -> host", "host -> guest"):
        for label, _ in SIZES:
            med = {k: statistics.median(rates[(direction, label, k)]) for k in KINDS}
            cells = [f"{med['direct']:8.0f}"] + [
                f"{med[k]:6.0f} ({100 * med[k] / med['direct']:3.0f} %)" for k in KINDS[1:]]
            print(f"  {direction:14s} {label:7s} " + " ".join(cells))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--kernel")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=1,
                    help="vCPUs of the boots (hcsshim gives a UVM two; TCG runs one "
                         "host thread each)")
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--stdio-runs", type=int, default=3)
    ap.add_argument("--container-runs", type=int, default=10)
    a = ap.parse_args()
    kernel = a.kernel or os.path.join(a.out, "vmlinux")
    initrd = os.path.join(a.out, "initrd.img")
    if a.runs:
        print_boots([boot_once(kernel, initrd, a.backend, a.cpus) for _ in range(a.runs)], kernel,
                    a.cpus)
    if a.stdio_runs or a.container_runs:
        rates, split = stdio(kernel, initrd, a.backend, a.mib, a.stdio_runs, a.container_runs)
        if a.stdio_runs:
            print_stdio(rates, a.mib, a.stdio_runs)
        if split:
            print_container_split(split)


def print_boots(runs, kernel, cpus):
    print(f"bench-vm: QEMU launch (-accel tcg, {cpus} vCPU, {os.path.basename(kernel)}) -> "
          f"median (min-max) of {len(runs)} boots:")
    for ev in EVENTS:
        vals = [r[ev] for r in runs]
        print(f"  {ev:11s} {statistics.median(vals):6.2f} s  "
              f"({min(vals):.2f}-{max(vals):.2f})")
    print("bench-vm: the same boots in the guest's clock (CLOCK_BOOTTIME), median (min-max):")
    for name, key in GUEST_SPANS:
        vals = [r[key] for r in runs]
        print(f"  {name:20s} {statistics.median(vals):8.1f} ms  "
              f"({min(vals):.1f}-{max(vals):.1f})")
    print("bench-vm: /init -> gcs main by init's steps (guest clock), median (min-max):")
    for step in runs[0]["init_steps"]:
        vals = [r["init_steps"].get(step, 0.0) for r in runs]
        print(f"  {step:20s} {statistics.median(vals):8.1f} ms  "
              f"({min(vals):.1f}-{max(vals):.1f})")


if __name__ == "__main__":
    main()
