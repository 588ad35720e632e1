#!/usr/bin/env python3
"""UVM process benchmark (make bench-process; figures, not a test).

Stdio throughput: bytes between the host's end of a stdio connection and a
child's pipe, through the gcs's relay, against a plain copy on the same
machine (a process copying socket -> pipe or pipe -> socket with read/write
and a 64 KiB buffer), with the default pipe and with the 256 KiB pipe the
relay gives itself. The endpoints are the same program in both runs
(tests/bench/stdio_copy.c), so only the relay differs. Target: >= 80 %.

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
PIPE_SIZE = 256 << 10  # RELAY_PIPE_SIZE (gcs/process/relay.h)


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


def copier(copy, pipe_size):
    return [copy, "copy"] + ([str(pipe_size)] if pipe_size else [])


def plain_out(copy, size, pipe_size):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    prod = subprocess.Popen([copy, "source", str(size)], stdout=subprocess.PIPE)
    cp = subprocess.Popen(copier(copy, pipe_size), stdin=prod.stdout, stdout=b)
    prod.stdout.close()
    b.close()
    t0 = time.perf_counter()
    got = drain(a)
    elapsed = time.perf_counter() - t0
    a.close()
    assert got == size and prod.wait() == 0 and cp.wait() == 0
    return elapsed


def plain_in(copy, size, pipe_size):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sink = subprocess.Popen([copy, "sink"], stdin=subprocess.PIPE)
    cp = subprocess.Popen(copier(copy, pipe_size), stdin=b, stdout=sink.stdin)
    sink.stdin.close()
    b.close()
    t0 = time.perf_counter()
    feed(a, size)
    assert sink.wait() == 0
    elapsed = time.perf_counter() - t0
    a.close()
    assert cp.wait() == 0
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
        for name, through_gcs, plain in (
                ("child stdout -> host (pipe -> socket)", gcs_out, plain_out),
                ("host -> child stdin (socket -> pipe)", gcs_in, plain_in)):
            relay = best_rate(lambda: through_gcs(host, copy, size), size)
            base = best_rate(lambda: plain(copy, size, 0), size)
            big = best_rate(lambda: plain(copy, size, PIPE_SIZE), size)
            print(f"  {name}:\n"
                  f"    gcs relay {relay:6.0f} MiB/s; plain copy {base:6.0f} MiB/s "
                  f"({100 * relay / base:.0f} %), plain copy with the relay's "
                  f"{PIPE_SIZE >> 10} KiB pipe {big:6.0f} MiB/s ({100 * relay / big:.0f} %); "
                  f"target >= 80 %")
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
