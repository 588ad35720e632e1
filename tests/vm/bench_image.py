#!/usr/bin/env python3
"""bench_image.py OUTDIR: boot-time and size figures of `make image` output.

Times are seconds from launching QEMU (TCG) to: the kernel's "Run /init",
and the marker printed by the child init starts (init is up and has run its
command line). Direct boots use the release initrd with a shell command
(busybox's sh); the UEFI boot types the same command into the debug image's
console shell.
Median of RUNS runs (env BENCH_RUNS, default 3). Figures, not a test.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

MARK = "LCOW-42-MARKER"
CMD = "echo LCOW-$((6*7))-MARKER"
RUN_INIT = r"Run /init as init process"


def timed(args, send=None):
    run = qemu.run(args, 120, marks=[RUN_INIT, MARK], send=send)
    if run.timed_out or MARK not in run.marks:
        raise SystemExit("bench: boot failed:\n" + run.output[-2000:])
    return run.marks[RUN_INIT], run.marks[MARK], run.elapsed


def median_of(fn, runs):
    results = [fn() for _ in range(runs)]
    return [statistics.median(col) for col in zip(*results)]


def main():
    out = sys.argv[1]
    debug = os.path.join(out, "debug")
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    append = f'console=ttyS0 panic=-1 -- /bin/sh -c "{CMD}"'
    rows = []
    for kernel in ("vmlinux", "kernel"):
        args = qemu.direct_args(os.path.join(out, kernel), os.path.join(out, "initrd.img"), append)
        rows.append((f"direct {kernel}", *median_of(lambda: timed(args), runs)))

    def uefi():
        fw = qemu.Firmware()
        try:
            args = qemu.base_args() + fw.args() + [
                "-drive", f"file={os.path.join(debug, 'lcow-efi.img')},format=raw,if=virtio,snapshot=on"]
            return timed(args, send=[(RUN_INIT + r"[\s\S]*/ # ", f"{CMD}; exit\n")])
        finally:
            fw.close()
    rows.append(("UEFI lcow-efi.img", *median_of(uefi, runs)))

    print(f"bench-image: QEMU -accel tcg, 2 vCPUs, 512 MiB; median of {runs} runs")
    print(f"  {'boot':<20} {'to /init':>9} {'to marker':>10} {'to exit':>8}")
    for name, to_init, to_mark, total in rows:
        print(f"  {name:<20} {to_init:>8.2f}s {to_mark:>9.2f}s {total:>7.2f}s")
    print("  sizes:")
    for label, path in (("kernel (bzImage)", "kernel"), ("vmlinux", "vmlinux"),
                        ("initrd.img", "initrd.img"), ("initrd.img (DEBUG=1)", "debug/initrd.img"),
                        ("rootfs.vhd", "rootfs.vhd"), ("lcow.efi", "lcow.efi"),
                        ("lcow-efi.img", "lcow-efi.img")):
        size = os.path.getsize(os.path.join(out, path))
        print(f"  {label:<22} {size:>10} bytes {size / 1e6:>7.2f} MB")
    both = os.path.getsize(os.path.join(out, "kernel")) + os.path.getsize(os.path.join(out, "initrd.img"))
    print(f"  {'kernel + initrd.img':<22} {both:>10} bytes {both / 1e6:>7.2f} MB (budget 12 MB)")


if __name__ == "__main__":
    main()
