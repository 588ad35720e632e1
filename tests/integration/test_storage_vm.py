"""Runs the storage unit-test binaries inside a QEMU VM booted with the
project's guest kernel (out/kernel from `make kernel`), where the kernel has
what the build machine's lacks: device-mapper (dm-linear VPMem layers), 9p
with the fd transport, GPT partitions, and CAP_SYS_RESOURCE for online ext4
growth. Every case of every tests/unit/test_storage*.c binary becomes one
pytest test here too ("vm::<binary>::<case>"); the cases that skip on the
build machine for want of those features must pass in the VM.

The VM has no network and no vsock; LCOW_FORBID_VSOCK is set inside it as
well. Skips when QEMU, busybox-static, cpio or the kernel are missing.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import OUT, TOP

KERNEL = os.environ.get("LCOW_KERNEL", os.path.join(TOP, "out", "kernel"))
QEMU = shutil.which("qemu-system-x86_64")
BUSYBOX = "/bin/busybox"
TOOLS = ["e2fsck", "dumpe2fs", "debugfs", "sgdisk"]
VM_TIMEOUT = 900
SKIP_EXIT = 77

# Skipped on the build machine, so they must really run in the VM.
MUST_PASS_IN_VM = {
    "vpmem_mapping_mounts_one_layer",
    "scsi_grows_a_filesystem_smaller_than_its_disk",
    "scsi_mounts_the_requested_partition",
    "plan9_mounts_a_share_through_the_transport",
}

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin LCOW_FORBID_VSOCK=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "@@BOOTED"
for b in /t/test_*; do
  n=${b##*/}
  for c in $($b --list); do
    $b $c >/tmp/out 2>&1
    rc=$?
    sed "s|^|@@OUT $n $c |" /tmp/out
    echo "@@RESULT $n $c $rc"
  done
done
echo "@@DONE"
poweroff -f
"""


def _binaries():
    return sorted(b for b in glob.glob(os.path.join(OUT, "tests", "test_storage*"))
                  if os.access(b, os.X_OK))


def _cases():
    for binary in _binaries():
        names = subprocess.run([binary, "--list"], capture_output=True, text=True,
                               check=True).stdout.split()
        for name in names:
            yield pytest.param(os.path.basename(binary), name,
                               id=f"vm::{os.path.basename(binary)}::{name}")


def _copy_with_libs(path, root):
    """Copies an executable and the shared objects ldd names, same paths."""
    files = {os.path.realpath(path): path}
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True)
    for line in ldd.stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            files[os.path.realpath(m.group(1))] = m.group(1)
    for real, wanted in files.items():
        dest = os.path.join(root, wanted.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(real, dest)


def _initramfs(stage, binaries):
    for d in ("bin", "proc", "sys", "dev", "tmp", "t"):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(stage, "bin", "busybox"))
    for binary in binaries:
        _copy_with_libs(binary, stage)
        os.rename(os.path.join(stage, binary.lstrip("/")),
                  os.path.join(stage, "t", os.path.basename(binary)))
    for tool in TOOLS:
        found = shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
        if found:
            _copy_with_libs(found, stage)
    with open(os.path.join(stage, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(stage, "init"), 0o755)
    image = os.path.join(os.path.dirname(stage), "initramfs.cpio")
    names = subprocess.run(["find", "."], cwd=stage, capture_output=True, text=True,
                           check=True).stdout
    with open(image, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=stage, input=names.encode(),
                       stdout=out, check=True)
    return image


def _parse(console):
    results, output = {}, {}
    for line in console.splitlines():
        line = line.rstrip("\r")
        m = re.match(r"@@RESULT (\S+) (\S+) (-?\d+)$", line)
        if m:
            results[(m.group(1), m.group(2))] = int(m.group(3))
            continue
        m = re.match(r"@@OUT (\S+) (\S+) ?(.*)$", line)
        if m:
            output.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
    return results, output


@pytest.fixture(scope="module")
def vm_results():
    missing = [what for what, ok in (
        ("qemu-system-x86_64", QEMU),
        ("the guest kernel (make kernel)", os.path.exists(KERNEL)),
        ("busybox-static", os.path.exists(BUSYBOX)),
        ("cpio", shutil.which("cpio")),
        ("storage test binaries", _binaries()),
    ) if not ok]
    if missing:
        pytest.skip("no " + ", ".join(missing))
    work = tempfile.mkdtemp(prefix="lcow-storage-vm-")
    try:
        image = _initramfs(os.path.join(work, "root"), _binaries())
        # TCG: the build machine's /dev/kvm cannot run ordinary guests.
        proc = subprocess.run(
            [QEMU, "-accel", "tcg", "-m", "1536", "-smp", "2", "-nographic", "-no-reboot",
             "-nic", "none", "-kernel", KERNEL, "-initrd", image,
             "-append", "console=ttyS0 panic=-1 quiet"],
            capture_output=True, text=True, errors="replace", timeout=VM_TIMEOUT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    console = proc.stdout + proc.stderr
    if "@@DONE" not in console:
        pytest.fail("the storage VM did not finish:\n" + console[-4000:])
    return _parse(console)


@pytest.mark.parametrize("binary,case", list(_cases()))
def test_storage_in_vm(vm_results, binary, case):
    results, output = vm_results
    key = (binary, case)
    assert key in results, f"{case} did not run in the VM"
    text = "\n".join(output.get(key, []))
    if results[key] == SKIP_EXIT:
        assert case not in MUST_PASS_IN_VM, f"{case} skipped in the VM: {text}"
        pytest.skip(text.removeprefix("SKIP: ") or "skipped")
    assert results[key] == 0, f"{case} failed in the VM:\n{text}"
