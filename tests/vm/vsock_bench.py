"""`make bench-vsock`: stream throughput through host/vsock-backend.

Boots the vsock-test guest (out/vmlinux, QEMU -accel tcg) and streams
guest -> host (the figure asked for) and host -> guest, measured on the host
side from the first byte to end of stream. Prints figures, asserts nothing
beyond the data arriving intact.

usage: vsock_bench.py OUT_DIR KERNEL [MiB]
"""
import os
import statistics
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vsock_vm import VsockVM, timed_sink  # noqa: E402

MiB = 1 << 20
RUNS = 3


def guest_to_host(out, kernel, size):
    ops = " + ".join("send %d %d" % (9000 + i, size) for i in range(RUNS))
    rates = []
    with VsockVM(out, kernel, ops) as vm:
        srvs = [vm.serve(9000 + i, timed_sink) for i in range(RUNS)]
        vm.start()
        for i, srv in enumerate(srvs):
            _, f = vm.wait_for(r"^send port=%d " % (9000 + i), 300)
            [(n, crc, secs)] = srv.wait_results(1, 30)
            if n != size or crc != int(f["crc"], 16):
                sys.exit("bench-vsock: guest -> host data mismatch")
            rates.append(n / secs / 1e6)
    return rates


def host_to_guest(out, kernel, size):
    data = os.urandom(size)
    ops = " + ".join("recv %d" % (9100 + i) for i in range(RUNS))
    rates = []
    with VsockVM(out, kernel, ops) as vm:
        for i in range(RUNS):
            vm.serve(9100 + i, lambda conn: conn.sendall(data))
        vm.start()
        for i in range(RUNS):
            _, f = vm.wait_for(r"^recv port=%d " % (9100 + i), 300)
            if int(f["bytes"]) != size or int(f["crc"], 16) != zlib.crc32(data):
                sys.exit("bench-vsock: host -> guest data mismatch")
            # Guest clock: the host side only knows when its writes finished.
            rates.append(size / (max(int(f["ms"]), 1) / 1000) / 1e6)
    return rates


def main():
    out, kernel = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) * MiB if len(sys.argv) > 3 else 256 * MiB
    if not os.path.exists(kernel):
        sys.exit(f"bench-vsock: {kernel} missing (make kernel)")
    g2h = guest_to_host(out, kernel, size)
    print("vsock: guest -> host %.0f MB/s (median of %d x %d MiB; %s)" % (
        statistics.median(g2h), RUNS, size // MiB, ", ".join("%.0f" % r for r in g2h)))
    h2g = host_to_guest(out, kernel, size // 4)
    print("vsock: host -> guest %.0f MB/s (median of %d x %d MiB, guest clock; %s)" % (
        statistics.median(h2g), RUNS, size // 4 // MiB, ", ".join("%.0f" % r for r in h2g)))


if __name__ == "__main__":
    main()
