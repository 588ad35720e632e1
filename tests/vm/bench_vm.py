#!/usr/bin/python3
"""bench_vm.py: figures of the image under QEMU (-accel tcg) with the vsock
backend, driven as hcsshim drives it (make bench-vm). Figures, not a test.

  boot     seconds from launching QEMU to: entropy served (port 1), log
           connected (port 109), bridge dialled (0x40000000), negotiated;
           median (min-max) of --runs boots
  stream   guest -> host throughput of a UVM process's stdout (`dd
           bs=64k` from /dev/zero): without a console the gcs hands the
           process the vsock connection itself as fd 1, so this is the
           guest's virtio-vsock and the backend to the host's unix socket, as
           a real process sees them, MB/s (bench-vsock measures the same path
           with its own test program)
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from lcow_vm import LcowVM  # noqa: E402
from uvm_process import UvmHost  # noqa: E402

EVENTS = ("entropy", "log", "bridge", "negotiated")


def boot_once(kernel, initrd, backend):
    vm = LcowVM(kernel, initrd, backend)
    try:
        vm.start()
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(120)
        host.bridge.negotiate()
        vm.mark("negotiated")
        return dict(vm.marks)
    finally:
        vm.close()


def stream(kernel, initrd, backend, mib):
    vm = LcowVM(kernel, initrd, backend)
    try:
        vm.start()
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(120)
        host.bridge.negotiate()
        proc = host.execute(["dd", "if=/dev/zero", "bs=64k", f"count={mib * 16}"],
                            stdout=True)
        total = 0
        first = proc.stdout.recv(1 << 20)
        t0 = time.monotonic()
        total = len(first)
        while True:
            chunk = proc.stdout.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        seconds = time.monotonic() - t0
        proc.close()
        code = proc.wait().json["ExitCode"]
        if code != 0 or total != mib << 20:
            raise SystemExit(f"bench-vm: stream got {total} bytes, exit code {code}")
        return total / seconds / 1e6
    finally:
        vm.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--kernel")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    kernel = a.kernel or os.path.join(a.out, "vmlinux")
    initrd = os.path.join(a.out, "initrd.img")
    runs = [boot_once(kernel, initrd, a.backend) for _ in range(a.runs)]
    print(f"bench-vm: QEMU launch (-accel tcg, {os.path.basename(kernel)}) -> "
          f"median (min-max) of {a.runs} boots:")
    for ev in EVENTS:
        vals = [r[ev] for r in runs]
        print(f"  {ev:11s} {statistics.median(vals):6.2f} s  "
              f"({min(vals):.2f}-{max(vals):.2f})")
    rates = [stream(kernel, initrd, a.backend, a.mib) for _ in range(2)]
    print(f"bench-vm: UVM process stdout (dd bs=64k), guest -> host through vsock + backend: "
          f"{max(rates):.0f} MB/s (best of 2, {a.mib} MiB)")


if __name__ == "__main__":
    main()
