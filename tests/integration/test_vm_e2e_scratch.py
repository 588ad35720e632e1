"""create-scratch in a VM: the release image (out/vmlinux + out/initrd.img as
built) under QEMU (-accel tcg), driven as containerd's LCOW snapshotter
drives it through `runhcs create-scratch`, and booted the way a host with a
console pipe boots it.

hcsshim v0.11.8 (internal/lcow/scratch.go) attaches a blank disk without
asking the guest to mount it, then runs three UVM processes (ExecuteProcess
on the null container id, built by internal/cmd: CommandArgs, working
directory /, Environment {PATH}, a pipe only for the stream it reads):

    test -d /sys/bus/scsi/devices/<controller>:0:0:<lun>/block   until it exits 0
    ls /sys/bus/scsi/devices/<controller>:0:0:<lun>/block         stdout: the device
    mkfs.ext4 -q -E lazy_itable_init=0,nodiscard \\
        -O ^has_journal,sparse_super2,^resize_inode /dev/<device>   stderr kept

then removes the disk (a MappedVirtualDisk Remove without a MountPath).
A container later gets that disk as its scratch: a MappedVirtualDisk Add
without EnsureFilesystem (v0.11.8's request has no such field), which must
find the ext4. Newer hosts (hcsshim main) attach the disk as a BlockDev
link instead and run the same mkfs.ext4 on that path.

The host's `test -d` names SCSI host <controller> directly: under QEMU the
one virtio-scsi adapter must be SCSI host 0 for controller 0, which the first
test checks on the way.

The VM is booted with hcsshim's console form of the command line,
`-e 1 sh -c "<gcs command> & exec sh"`, which needs the image's /bin/sh.
Under QEMU the disk stays plugged between create-scratch and the mount (no
hot-unplug here); the guest sees the same requests otherwise.
"""
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import BACKEND, INITRD, KERNEL, TOP, module_vm

sys.path.insert(0, os.path.join(TOP, "tests", "vm"))

import lcow_ops  # noqa: E402
from lcow_vm import (GCS_COMMAND, KERNEL_OPTIONS, LcowVM, blank_disk,  # noqa: E402
                     cmdline, missing_prereqs)
from uvm_process import UvmHost, read_all  # noqa: E402

BOOT_BOUND = 60
# hcsshim's console form (guest-image.md §3): the gcs in the background of
# a shell that then becomes the console shell.
CONSOLE_GCS_COMMAND = f'sh -c "{GCS_COMMAND} & exec sh"'

CONTROLLER = 0
LUN_V0118 = 0    # a fresh UVM: the scratch is the first disk, controller 0 LUN 0
LUN_BLOCKDEV = 1
SCRATCH_MIB = 256
# internal/cmd.Command: the only environment a host gives a UVM process.
HOST_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
MKFS = ["mkfs.ext4", "-q", "-E", "lazy_itable_init=0,nodiscard",
        "-O", "^has_journal,sparse_super2,^resize_inode"]
TESTD_RETRY = 5.0  # timeout.TestDRetryLoop
RPC = 240          # timeout.ExternalCommandToStart (4 min)




class Uvm:
    def __init__(self, work):
        self.images = {lun: blank_disk(os.path.join(work, f"scratch{lun}.vhd"), SCRATCH_MIB)
                       for lun in (LUN_V0118, LUN_BLOCKDEV)}
        self.vm = LcowVM(KERNEL, INITRD, BACKEND,
                         append=cmdline(KERNEL_OPTIONS, CONSOLE_GCS_COMMAND),
                         disks=[(lun, path, False) for lun, path in self.images.items()])
        self.host = UvmHost(self.vm)

    def start(self):
        self.vm.start()
        self.host.bridge = self.vm.accept_bridge(BOOT_BOUND)
        self.host.bridge.negotiate()

    def run(self, args, stdout=False, stderr=False, timeout=RPC):
        """One UVM process as internal/cmd runs it: (exit code, stdout, stderr)."""
        proc = self.host.execute(args, env=HOST_ENV, cwd="/", stdout=stdout, stderr=stderr)
        box = {}
        threads = []
        for name, conn in (("out", proc.stdout), ("err", proc.stderr)):
            if conn is not None:
                t = threading.Thread(target=lambda n=name, c=conn: box.update({n: read_all(c)}),
                                     daemon=True)
                t.start()
                threads.append(t)
        for t in threads:
            t.join(timeout)
        proc.close()
        code = proc.wait(timeout=timeout).json["ExitCode"]
        return code, box.get("out", b"").decode(), box.get("err", b"").decode()

    def mounts(self):
        code, out, err = self.run(["cat", "/proc/mounts"], stdout=True, stderr=True)
        assert code == 0, err
        return {line.split()[1]: line.split() for line in out.splitlines()}

    def modify(self, resource, settings, request_type="Add"):
        reply = lcow_ops.modify(self.host, resource, settings, request_type)
        assert reply.result == 0, f"{resource} {request_type} {settings}: {reply.json}"
        return reply


@pytest.fixture(scope="module")
def uvm():
    with module_vm(Uvm, "lcow-scratch-",
                   missing_prereqs(KERNEL, INITRD, BACKEND, ("e2fsck", "dumpe2fs", "debugfs"))) as u:
        yield u


def host_checks(image):
    """What the host relies on once the disk comes back: a clean ext4 with
    the create-scratch features."""
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    out = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True,
                         check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("Filesystem features:"))
    features = set(line.split(":", 1)[1].split())
    assert "has_journal" not in features and "resize_inode" not in features, features
    assert {"extent", "sparse_super2", "metadata_csum"} <= features, features


def mount_as_container_scratch(uvm, lun, mp):
    """The scratch attach of a container: MappedVirtualDisk Add as v0.11.8
    sends it (Go omitempty: Lun and Controller 0 are left out), no
    EnsureFilesystem. Then the guest's /proc/mounts, a write, and Remove."""
    settings = {"MountPath": mp}
    if lun:
        settings["Lun"] = lun
    uvm.modify("MappedVirtualDisk", settings)
    entry = uvm.mounts().get(mp)
    assert entry is not None, f"{mp} not mounted: {uvm.mounts()}"
    assert entry[2] == "ext4" and "rw" in entry[3].split(","), entry
    code, _, err = uvm.run(["/bin/sh", "-c", f"echo scratch > {mp}/written-in-the-uvm"],
                           stderr=True)
    assert code == 0, err
    uvm.modify("MappedVirtualDisk", settings, "Remove")
    assert mp not in uvm.mounts()


def debugfs_cat(image, path):
    return subprocess.run(["debugfs", "-R", f"cat {path}", image], capture_output=True,
                          text=True).stdout


def test_console_form_boots_with_the_image_shell(uvm):
    """init ran `sh -c "... & exec sh"`: the gcs dialled the bridge (the
    fixture negotiated), and the console shell is the image's sh."""
    deadline = time.monotonic() + 20
    while "/ # " not in uvm.vm.console_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "/ # " in uvm.vm.console_text(), uvm.vm.console_text()[-2000:]
    code, out, _ = uvm.run(["readlink", "-f", "/bin/sh"], stdout=True)
    # The initrd keeps busybox in the tools squashfs /init mounts.
    assert (code, out) == (0, "/lib/lcow/tools/bin/busybox\n")


def test_create_scratch_v0_11_8(uvm):
    block = f"/sys/bus/scsi/devices/{CONTROLLER}:0:0:{LUN_V0118}/block"
    # test -d until the device is there; an exec failure would end the loop
    # at once in the host (not an ExitError).
    deadline = time.monotonic() + TESTD_RETRY
    while True:
        code, _, _ = uvm.run(["test", "-d", block])
        if code == 0:
            break
        if time.monotonic() > deadline:
            _, listing, _ = uvm.run(["ls", "-l", "/sys/bus/scsi/devices/"], stdout=True)
            pytest.fail(f"{block} never appeared: SCSI host {CONTROLLER} is not the "
                        f"virtio-scsi adapter?\n{listing}")
        time.sleep(0.01)
    code, out, _ = uvm.run(["ls", block], stdout=True)
    assert code == 0
    device = "/dev/" + out.strip()
    assert device.startswith("/dev/sd") and "\n" not in out.strip(), out
    code, _, err = uvm.run(MKFS + [device], stderr=True)
    assert (code, err) == (0, ""), err
    # RemoveSCSI of an attach-only disk: MountPath blank, Lun 0 and
    # Controller 0 left out by omitempty.
    uvm.modify("MappedVirtualDisk", {}, "Remove")
    mount_as_container_scratch(uvm, LUN_V0118, "/run/gcs/c/scratch-v0118")
    image = uvm.images[LUN_V0118]
    host_checks(image)
    assert debugfs_cat(image, "/written-in-the-uvm") == "scratch\n"


def test_create_scratch_blockdev(uvm):
    """hcsshim main: the disk attached as a BlockDev link, mkfs.ext4 on it."""
    link = "/run/mounts/scsi/m0"
    settings = {"MountPath": link, "Lun": LUN_BLOCKDEV, "BlockDev": True}
    uvm.modify("MappedVirtualDisk", settings)
    code, _, err = uvm.run(MKFS + [link], stderr=True)
    assert (code, err) == (0, ""), err
    uvm.modify("MappedVirtualDisk", settings, "Remove")
    mount_as_container_scratch(uvm, LUN_BLOCKDEV, "/run/gcs/c/scratch-blockdev")
    image = uvm.images[LUN_BLOCKDEV]
    host_checks(image)
    assert debugfs_cat(image, "/written-in-the-uvm") == "scratch\n"


def test_mkfs_failure_reaches_the_host(uvm):
    """A failing mkfs.ext4 exits non-zero with its reason on stderr, which
    create-scratch reports: here a device that does not exist."""
    code, _, err = uvm.run(MKFS + ["/dev/sdzz"], stderr=True)
    assert code != 0 and "/dev/sdzz" in err, (code, err)
