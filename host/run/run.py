#!/usr/bin/python3
"""make run: boot the lcow-guest image under QEMU and drive it as hcsshim
drives a utility VM, printing what happens.

  1. vsock-backend + QEMU (-accel tcg) with the kernel, out/initrd.img as
     built (its busybox runs `uname` and the shell), and hcsshim's kernel
     command line;
  2. 512 bytes of entropy on vsock port 1, the gcs log stream on port 109
     (each JSON line printed as time/level/msg/fields), the bridge on
     0x40000000: NegotiateProtocol;
  3. `uname -a` as a UVM process (ExecuteProcess + WaitForProcess);
  4. a busybox container: its layer an ext4 image made here with mke2fs -d
     on a read-only virtio-scsi LUN, a blank scratch LUN formatted by the gcs
     (MappedVirtualDisk EnsureFilesystem), CombinedLayers, Create,
     ExecuteProcess, WaitForProcess, then the §4.2 teardown;
  5. ShutdownGraceful on the UVM: QEMU exits by itself.

A vendor kernel with modules (--modules DIR, DIR holding lib/modules/
<release>; --config FILE when the kernel has no IKCONFIG) boots the same
initrd plus the modules LCOW needs from DIR, appended as check-kernel does
it (host/check-kernel/check_kernel.py boot_initrd); /init loads them.

Usage: run.py --out OUT --backend BIN [--kernel K] [--initrd I] [--cmd CMD]
              [--modules DIR [--config FILE]]
Exit status: the container command's exit status when every step that the
gcs implements succeeded, 1 when a step failed.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

import lcow_ops  # noqa: E402
from lcow_vm import (LcowVM, blank_disk, busybox_layer)  # noqa: E402
from uvm_process import UvmHost  # noqa: E402

LAYER_LUN, SCRATCH_LUN = 1, 2
CONTAINER_ID = "lcow-run"
DEFAULT_CMD = "echo hello from lcow-guest"

_print_lock = threading.Lock()
_t0 = time.monotonic()


def say(text, prefix=""):
    with _print_lock:
        for line in str(text).splitlines() or [""]:
            print(f"[{time.monotonic() - _t0:6.2f}s] {prefix}{line}", flush=True)


class Failed(Exception):
    pass


def check(reply, what):
    if reply.result != 0:
        raise Failed(f"{what}: HRESULT {reply.result:#010x}: {reply.error}")
    return reply


def pump(conn, prefix):
    """Prints what arrives on a stdio connection line by line, as it comes."""
    def run():
        pending = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                say(line.decode(errors="replace"), prefix)
        if pending:
            say(pending.decode(errors="replace"), prefix)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def uname(host):
    say("$ uname -a    (ExecuteProcess in the UVM)")
    proc = host.execute(["uname", "-a"], stdout=True, stderr=True)
    for t in (pump(proc.stdout, "  | "), pump(proc.stderr, "  ! ")):
        t.join(60)
    proc.close()
    code = proc.wait().json["ExitCode"]
    say(f"uname exited with {code} (pid {proc.pid} in the UVM)")
    if code != 0:
        raise Failed(f"uname -a exited with {code}")


def container(host, cmd):
    """The §4.2 sequence for one container; returns the exit code of its
    command, or None when the gcs has no container support yet (and says so)."""
    c = lcow_ops.Container(host, CONTAINER_ID, LAYER_LUN, SCRATCH_LUN)
    say(f"container {CONTAINER_ID}: busybox layer on SCSI LUN {LAYER_LUN} (read-only), "
        f"blank scratch on LUN {SCRATCH_LUN}")
    check(c.attach_layer(), "MappedVirtualDisk (layer)")
    say(f"  layer mounted at {c.layer_path}")
    t = time.monotonic()
    check(c.attach_scratch(), "MappedVirtualDisk (scratch, EnsureFilesystem)")
    say(f"  scratch formatted ext4 and mounted at {c.bundle} in {time.monotonic() - t:.2f}s")
    check(c.combine_layers(), "CombinedLayers")
    say(f"  overlay root at {c.rootfs}")
    reply = c.create(["/bin/sh", "-c", cmd])
    if lcow_ops.not_implemented(reply):
        say(f"containers are not available yet: the gcs answered Create with "
            f"E_NOTIMPL ({reply.error})")
        check(c.remove_layers(), "CombinedLayers Remove")
        check(c.detach_scratch(), "MappedVirtualDisk Remove (scratch)")
        check(c.detach_layer(), "MappedVirtualDisk Remove (layer)")
        say("  storage released (CombinedLayers and both disks removed)")
        return None
    check(reply, "Create")
    say(f"  created (runc create); $ {cmd}")
    check(c.start(), "Start")
    reply, proc = c.execute_init()
    check(reply, "ExecuteProcess (container init)")
    wait_id = c.send_wait(proc.pid)
    pumps = [pump(proc.stdout, "  | "), pump(proc.stderr, "  ! ")]
    for t in pumps:
        t.join(lcow_ops.RPC_TIMEOUT)
    proc.close()
    code = host.bridge.wait_reply(wait_id, timeout=lcow_ops.RPC_TIMEOUT).json["ExitCode"]
    say(f"  container init exited with {code}")
    note = host.bridge.wait_notification(timeout=30)
    say(f"  notification: {note.json.get('Type')} for {note.json.get('ContainerId')}")
    for step, what in ((c.remove_layers, "CombinedLayers Remove"),
                       (c.detach_scratch, "MappedVirtualDisk Remove (scratch)"),
                       (lambda: c.unplug(SCRATCH_LUN), "SCSIDevice Remove (scratch)"),
                       (c.detach_layer, "MappedVirtualDisk Remove (layer)"),
                       (lambda: c.unplug(LAYER_LUN), "SCSIDevice Remove (layer)"),
                       (c.delete_state, "DeleteContainerState")):
        check(step(), what)
    say("  torn down (layers, scratch, SCSI devices, container state)")
    return code


def shutdown(vm, host):
    say("ShutdownGraceful on the UVM")
    reply = lcow_ops.shutdown_uvm(host)
    if reply is not None and lcow_ops.not_implemented(reply):
        say("  the gcs has no ShutdownGraceful yet (E_NOTIMPL): a UVM process sends the gcs "
            "SIGTERM instead; init powers the VM off when the gcs exits")
        try:
            lcow_ops.stop_gcs_from_inside(host)
        except (EOFError, ConnectionResetError):
            pass  # the gcs went away first
    elif reply is not None:
        check(reply, "ShutdownGraceful")
    rc = vm.wait_exit(30)
    if rc is None:
        raise Failed("QEMU did not exit within 30 s of the shutdown")
    say(f"QEMU exited by itself with status {rc}")


EVENTS = {
    "entropy": "entropy: 512 bytes served on vsock port 1 (init -e 1)",
    "log": "log: vsockexec connected the gcs's stderr on vsock port 109",
    "bridge": "bridge: the gcs dialled vsock port 0x40000000",
    "qemu-exit": "QEMU is gone",
}


def announce(name, seconds):
    if name in EVENTS:
        say(f"{EVENTS[name]}  ({seconds:.2f}s after QEMU was launched)")


def run(args):
    work = tempfile.mkdtemp(prefix="lcow-run-")
    vm = None
    status = 1
    try:
        layer = busybox_layer(os.path.join(work, "busybox-layer.img"))
        scratch = blank_disk(os.path.join(work, "scratch.img"), 256)
        say(f"kernel  {args.kernel}")
        if args.modules:
            sys.path.insert(0, os.path.join(TOP, "host", "check-kernel"))
            import check_kernel
            initrd = os.path.join(work, "initrd.img")
            try:
                check_kernel.boot_initrd(args.kernel, args.initrd, initrd, args.modules,
                                         args.config, log=say)
            except (ValueError, OSError, RuntimeError) as e:
                raise Failed(f"modules from {args.modules}: {e}")
            args.initrd = initrd
        say(f"initrd  {args.initrd}")
        say(f"disks   LUN {LAYER_LUN}: busybox layer (ext4, mke2fs -d, read-only); "
            f"LUN {SCRATCH_LUN}: 256 MiB blank scratch")
        vm = LcowVM(args.kernel, args.initrd, args.backend, mem=args.mem,
                    disks=[(LAYER_LUN, layer, True), (SCRATCH_LUN, scratch, False)],
                    echo_console=lambda l: say(l, "console | "),
                    echo_log=lambda l: say(l, "gcs | "), on_mark=announce)
        say(f"cmdline {vm.append}")
        vm.start()
        say(f"vsock-backend up, QEMU started (pid {vm.qemu.pid}, -accel tcg, {args.mem}); "
            "waiting for the guest to dial the host...")
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(args.boot_timeout)
        caps = host.bridge.negotiate().json
        vm.mark("negotiated")
        say(f"bridge: negotiated protocol {caps['Version']}, RuntimeOsType "
            f"{caps['Capabilities']['RuntimeOsType']}, "
            f"{json.dumps(caps['Capabilities']['GuestDefinedCapabilities'])}")
        uname(host)
        code = container(host, args.cmd)
        shutdown(vm, host)
        m = vm.marks
        say("figures (seconds after QEMU was launched): " + ", ".join(
            f"{k} {m[k]:.2f}" for k in ("entropy", "log", "bridge", "negotiated", "qemu-exit")
            if k in m))
        if code is None:
            say("done, without the container step (not available in this gcs yet)")
            status = 0
        elif code != 0:
            say(f"done; the container's command exited with {code}")
            status = code if code < 256 else 1
        else:
            say("done")
            status = 0
    except Failed as e:
        say(f"FAILED: {e}")
    except (TimeoutError, RuntimeError, EOFError, ConnectionError, AssertionError) as e:
        say(f"FAILED: {type(e).__name__}: {e}")
    except KeyboardInterrupt:
        say("interrupted: stopping QEMU and the backend")
    finally:
        if vm is not None:
            vm.close()
        shutil.rmtree(work, ignore_errors=True)
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the image directory (out/)")
    ap.add_argument("--backend", required=True, help="the vsock-backend binary")
    ap.add_argument("--kernel", help="kernel to boot (default OUT/vmlinux)")
    ap.add_argument("--initrd", help="initrd (default OUT/initrd.img)")
    ap.add_argument("--cmd", default=os.environ.get("LCOW_RUN_CMD", ""),
                    help="command run in the busybox container (sh -c)")
    ap.add_argument("--modules", help="the kernel's modules: DIR/lib/modules/<release>")
    ap.add_argument("--config", help="the kernel's .config (without IKCONFIG)")
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--boot-timeout", type=float, default=120)
    args = ap.parse_args()
    args.kernel = args.kernel or os.path.join(args.out, "vmlinux")
    args.initrd = args.initrd or os.path.join(args.out, "initrd.img")
    args.cmd = args.cmd or DEFAULT_CMD
    for what in (args.kernel, args.initrd, args.backend):
        if not os.path.exists(what):
            sys.exit(f"run: {what} is missing")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
