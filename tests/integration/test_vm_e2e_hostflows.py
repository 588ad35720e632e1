"""The host flows (tests/hostflows/*.json) in the VM: the image (out/vmlinux
and out/initrd.img as built, no tools overlay: real hosts boot the release
image) under QEMU (-accel tcg) with the vsock backend, one UVM per flow as
every real host starts one (a flow begins with the UVM's first message and
ends with HCS terminating it). The flow's SCSI disks are virtio-scsi LUNs of
controller 0 and its VPMem layers sit at their offsets in one virtio-pmem
device; each reply is checked as the flow's hcsshim version parses it
(tests/hostflows/runner.py). Steps the VM cannot take (a VMBus NIC) are
skipped with the reason the flow data gives.

A flow that runs processes in the UVM itself (runhcs create-scratch: test,
ls, mkfs.ext4) needs those programs in the image; while the image lacks them
the flow is an expected failure naming what is missing."""
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

import pytest

from conftest import BACKEND, INITRD, KERNEL, TOP

sys.path.insert(0, os.path.join(TOP, "tests", "hostflows"))

import runner  # noqa: E402
from lcow_vm import missing_prereqs  # noqa: E402  (runner put tests/vm on the path)

FLOWS = runner.load_flows()
# The PATH hcsshim's internal/cmd gives a UVM process.
UVM_PATH = ["usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"]




_image_files = None


def image_files():
    """Every path in the initrd's first archive (a gzip'd newc cpio; the
    plain one after it holds only the tools' squashfs, whose programs have
    symlinks in the first)."""
    global _image_files
    if _image_files is None:
        with open(INITRD, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = zlib.decompressobj(wbits=31).decompress(data)
        r = subprocess.run(["cpio", "-t", "--quiet"], input=data, capture_output=True)
        _image_files = {p.lstrip("./").lstrip("/") for p in r.stdout.decode().split()}
    return _image_files


def uvm_programs_missing(flow):
    """The programs a flow's UVM processes run (CommandArgs[0]) that are not
    on hcsshim's PATH in the image."""
    progs = set()

    def walk(steps):
        for s in steps:
            if s.get("send") == "ExecuteProcess" and \
                    s["body"]["ContainerId"] == runner.hcsshim_host.NULL_GUID:
                params = s["body"]["Settings"]["ProcessParameters"]["$json"]
                progs.add(params["CommandArgs"][0])
            if "loop" in s:
                walk(s["loop"]["steps"])
    walk(flow["steps"])
    files = image_files()
    return sorted(p for p in progs if not any(f"{d}/{p}" in files for d in UVM_PATH))


@pytest.mark.parametrize("flow", FLOWS, ids=[f["name"] for f in FLOWS])
def test_vm_hostflow(flow):
    missing = missing_prereqs(KERNEL, INITRD, BACKEND,
                              ("/bin/busybox", "mke2fs", "dumpe2fs", "debugfs"))
    if missing:
        pytest.skip("no " + ", ".join(missing))
    # A host execs these in the UVM and brings none of its own: an image
    # without one fails the host's first container (create-scratch).
    absent = uvm_programs_missing(flow)
    assert not absent, f"the image has no {', '.join(absent)} on hcsshim's UVM PATH"
    work = tempfile.mkdtemp(prefix="lcow-vmflow-")
    try:
        failure = runner.replay(flow, runner.VmEnv(KERNEL, INITRD, BACKEND, flow, work),
                                "in the VM")
        if failure:
            pytest.fail(failure, pytrace=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
