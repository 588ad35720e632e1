#!/usr/bin/env python3
"""UVM process benchmark (make bench-process; figures, not a test).

Stdio throughput: bytes between the host's end of a stdio connection and a
child without a console, which the gcs gives the connection itself as its
stdout/stdin (gcs/process/stdio.c), against the same child on a socket of
its own (a socketpair, no gcs). The endpoints are the same program in both
runs (tests/bench/stdio_copy.c); what differs is the gcs's dial, spawn and
wait. Target: >= 90 %. (Console processes and containers go through the
relay, gcs/process/relay.h; bench-vm measures them in the VM.)

Latency: ExecuteProcess + WaitForProcess of /bin/true, no stdio.

    bench_process.py <gcs> <stdio_copy> [MiB] [exec iterations]
"""
import os
import socket
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
os.environ["LCOW_FORBID_VSOCK"] = "1"

from gcs_host import GcsProcess  # noqa: E402
from uvm_process import UvmHost  # noqa: E402

CHUNK = 1 << 20
RUNS = 3


def drain(sock):
    buf = memoryview(bytearray(CHUNK))
    total = 0
    while True:
        n = sock.recv_into(buf)
        if not n:
            return total
        total += n


def feed(sock, size):
    block = memoryview(b"x" * CHUNK)
    left = size
    while left:
        n = min(left, CHUNK)
        sock.sendall(block[:n])
        left -= n
    sock.shutdown(socket.SHUT_WR)


def gcs_out(host, copy, size):
    p = host.execute([copy, "source", str(size)], stdout=True)
    t0 = time.perf_counter()
    got = drain(p.stdout)
    elapsed = time.perf_counter() - t0
    assert got == size, got
    assert p.wait().json["ExitCode"] == 0
    p.close()
    return elapsed


def gcs_in(host, copy, size):
    p = host.execute([copy, "sink"], stdin=True)
    t0 = time.perf_counter()
    feed(p.stdin, size)
    assert p.wait().json["ExitCode"] == 0
    elapsed = time.perf_counter() - t0
    p.close()
    return elapsed


def direct_out(copy, size):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    prod = subprocess.Popen([copy, "source", str(size)], stdout=b)
    b.close()
    t0 = time.perf_counter()
    got = drain(a)
    elapsed = time.perf_counter() - t0
    a.close()
    assert got == size and prod.wait() == 0
    return elapsed


def direct_in(copy, size):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sink = subprocess.Popen([copy, "sink"], stdin=b)
    b.close()
    t0 = time.perf_counter()
    feed(a, size)
    assert sink.wait() == 0
    elapsed = time.perf_counter() - t0
    a.close()
    return elapsed


def best_rate(fn, size):
    return max(size / fn() for _ in range(RUNS)) / CHUNK  # MiB/s


def exec_latency(host, iterations):
    for _ in range(20):  # warm up: workers, page cache
        host.execute(["/bin/true"]).wait()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        p = host.execute(["/bin/true"])
        assert p.wait().json["ExitCode"] == 0
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times


def spawn_latency(iterations):
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        pid = os.posix_spawn("/bin/true", ["/bin/true"], {})
        os.waitpid(pid, 0)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times


def pct(times, p):
    return times[min(len(times) - 1, int(len(times) * p))]


def main():
    gcs, copy = sys.argv[1], sys.argv[2]
    size = (int(sys.argv[3]) if len(sys.argv) > 3 else 1024) * CHUNK
    iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    g = GcsProcess(gcs, args=["-loglevel", "info"])
    host = UvmHost(g)
    try:
        host.connect()
        print(f"bench-process: stdio throughput, {size >> 20} MiB, best of {RUNS}")
        for name, through_gcs, direct in (("child stdout -> host", gcs_out, direct_out),
                                          ("host -> child stdin", gcs_in, direct_in)):
            ours = best_rate(lambda: through_gcs(host, copy, size), size)
            base = best_rate(lambda: direct(copy, size), size)
            print(f"  {name}: through the gcs {ours:6.0f} MiB/s; on a socketpair of its own "
                  f"{base:6.0f} MiB/s ({100 * ours / base:.0f} %); target >= 90 %")
        t = exec_latency(host, iterations)
        print(f"bench-process: ExecuteProcess + WaitForProcess of /bin/true, {iterations} runs: "
              f"p50 {pct(t, 0.5):.2f} ms, p99 {pct(t, 0.99):.2f} ms, "
              f"mean {statistics.mean(t):.2f} ms")
        s = spawn_latency(iterations)
        print(f"  for scale, posix_spawn + waitpid from the benchmark itself: "
              f"p50 {pct(s, 0.5):.2f} ms")
    finally:
        host.close()


if __name__ == "__main__":
    main()
