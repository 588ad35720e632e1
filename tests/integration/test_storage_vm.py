"""Runs the storage unit-test binaries inside a QEMU VM booted with the
project's guest kernel (out/kernel from `make kernel`), where the kernel has
what the build machine's lacks: device-mapper (dm-linear VPMem layers), 9p
with the fd transport, GPT partitions, and CAP_SYS_RESOURCE for online ext4
growth. Every case of every tests/unit/test_storage*.c binary becomes one
pytest test here too ("vm::<binary>::<case>"); the cases that skip on the
build machine for want of those features must pass in the VM.

The VM also gets real devices for tests/unit/test_storage_real.c: a
virtio-scsi controller with a blank disk at LUN 3 and a GPT disk with two
partitions at LUN 5, and a virtio-pmem device packing two ext4 layers (the
second at a page-aligned, not megabyte-aligned, offset as hcsshim packs
them), described to the tests by LCOW_STORAGE_REAL and LCOW_STORAGE_PMEM.

With veritysetup (cryptsetup-bin) it also gets, for
tests/unit/test_storage_verity.c: a second virtio-pmem device holding a
layer made by `veritysetup format` and a copy with one data byte flipped,
the layer again at SCSI LUN 7, a blank disk at LUN 9 (encrypted scratch)
and an xfs disk (mkfs.xfs) at LUN 10; the host's VerityInfo for the layer is read
from the image as an hcsshim v0.11 host reads it (LCOW_VERITY).

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
from storage_host import host_verity_info, verity_format

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
# Images for the real devices are made with the host's e2fsprogs and gdisk.
REAL_DEVICES = bool(shutil.which("mkfs.ext4") and shutil.which("sgdisk"))
if REAL_DEVICES:
    MUST_PASS_IN_VM |= {
        "real_scsi_blank_disk_format_mount_unplug",
        "real_scsi_partition",
        "real_vpmem_two_mapped_layers_at_once",
        "real_vpmem_whole_device",
    }
VERITY = REAL_DEVICES and bool(shutil.which("veritysetup")) and bool(shutil.which("mkfs.xfs"))
if VERITY:
    MUST_PASS_IN_VM |= {
        "real_vpmem_verity_layer_mounts_reads_and_goes",
        "real_vpmem_verity_corrupt_block_reads_as_eio",
        "real_verity_wrong_root_digest_is_refused",
        "real_scsi_verity_layer",
        "real_scsi_encrypted_scratch",
        "real_scsi_xfs_mounts",
    }
MiB = 1024 * 1024
# The verity layer: 4 MiB of ext4, then superblock and tree, in a 5 MiB
# image; on pmem1 at 0 and, tampered with, at 8 MiB.
VERITY_FS, VERITY_IMAGE, VERITY_CORRUPT_AT, PMEM1_SIZE = 4 * MiB, 5 * MiB, 8 * MiB, 16 * MiB
VERITY_TEXT = b"verity layer\n"
# (offset, size) of the layers on the pmem device; 4198400 = 4 MiB + 4 KiB.
PMEM_LAYERS = [(0, 4 * MiB), (4198400, 8 * MiB)]
PMEM_SIZE = 32 * MiB

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin LCOW_FORBID_VSOCK=1
[ -e /real-devices ] && export LCOW_STORAGE_REAL=1 LCOW_STORAGE_PMEM="$(cat /real-devices)"
[ -e /verity-devices ] && . /verity-devices
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


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def _layer(path, index, size):
    src = path + ".d"
    os.makedirs(src)
    with open(os.path.join(src, f"layer{index}.txt"), "w") as f:
        f.write(f"layer {index}\n")
    _run("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", src, path, str(size // 1024) + "k")


def _verity_devices(work):
    """The verity layer, a tampered copy, the encrypted-scratch and xfs
    disks; returns QEMU arguments and the shell lines for /verity-devices."""
    layer, pmem1, blank, xfs = (os.path.join(work, n) for n in (
        "verity.img", "pmem1.img", "lun9.img", "lun10.img"))
    root = verity_format(layer, {"verity.txt": VERITY_TEXT.decode()}, VERITY_FS, VERITY_IMAGE)
    info = host_verity_info(layer)
    # The host's reading of the VHD gives what veritysetup printed.
    assert info and info["RootDigest"] == root, (info, root)
    with open(layer, "rb") as f:
        good = f.read()
    at = good.index(VERITY_TEXT)
    assert at < VERITY_FS
    bad = good[:at] + bytes([good[at] ^ 1]) + good[at + 1:]
    with open(pmem1, "wb") as f:
        f.truncate(PMEM1_SIZE)
        f.write(good)
        f.seek(VERITY_CORRUPT_AT)
        f.write(bad)
    for img, size in ((blank, 64 * MiB), (xfs, 300 * MiB)):
        with open(img, "wb") as f:
            f.truncate(size)
    # xfs's smallest file system is 300 MiB (sparse here).
    _run("mkfs.xfs", "-q", xfs)
    env = ":".join(str(info[k]) for k in ("Ext4SizeInBytes", "BlockSize", "Version",
                                          "Algorithm", "RootDigest", "Salt"))
    lines = (f"export LCOW_VERITY={env} LCOW_VERITY_IMAGE={VERITY_IMAGE} "
             f"LCOW_VERITY_CORRUPT_AT={VERITY_CORRUPT_AT}\n")
    args = []
    for lun, img in ((7, layer), (9, blank), (10, xfs)):
        args += ["-drive", f"file={img},if=none,format=raw,id=d{lun}",
                 "-device", f"scsi-hd,drive=d{lun},bus=scsi0.0,channel=0,scsi-id=0,lun={lun}"]
    args += ["-object", f"memory-backend-file,id=pm1,share=on,mem-path={pmem1},size={PMEM1_SIZE}",
             "-device", "virtio-pmem-pci,memdev=pm1,id=nv1"]
    return args, lines


def _devices(work):
    """Disk and pmem images; returns QEMU arguments."""
    blank, gpt, pmem = (os.path.join(work, n) for n in ("lun3.img", "lun5.img", "pmem.img"))
    for img in (blank, gpt):
        with open(img, "wb") as f:
            f.truncate(64 * MiB)
    _run("sgdisk", "-n", "1:2048:+16M", "-n", "2:0:+24M", gpt)
    with open(pmem, "wb") as f:
        f.truncate(PMEM_SIZE)
    for i, (off, size) in enumerate(PMEM_LAYERS):
        layer = os.path.join(work, f"layer{i}.img")
        _layer(layer, i, size)
        with open(layer, "rb") as src, open(pmem, "r+b") as dst:
            dst.seek(off)
            dst.write(src.read())
    return ["-device", "virtio-scsi-pci,id=scsi0",
            "-drive", f"file={blank},if=none,format=raw,id=d3",
            "-device", "scsi-hd,drive=d3,bus=scsi0.0,channel=0,scsi-id=0,lun=3",
            "-drive", f"file={gpt},if=none,format=raw,id=d5",
            "-device", "scsi-hd,drive=d5,bus=scsi0.0,channel=0,scsi-id=0,lun=5",
            "-object", f"memory-backend-file,id=pm0,share=on,mem-path={pmem},size={PMEM_SIZE}",
            "-device", "virtio-pmem-pci,memdev=pm0,id=nv0"]


def _initramfs(stage, binaries, verity_lines=None):
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
    if REAL_DEVICES:
        with open(os.path.join(stage, "real-devices"), "w") as f:
            f.write(",".join(f"{off}:{size}" for off, size in PMEM_LAYERS))
    if verity_lines:
        with open(os.path.join(stage, "verity-devices"), "w") as f:
            f.write(verity_lines)
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
        devices, verity_lines = _devices(work) if REAL_DEVICES else [], None
        if VERITY:
            more, verity_lines = _verity_devices(work)
            devices += more
        image = _initramfs(os.path.join(work, "root"), _binaries(), verity_lines)
        # TCG: the build machine's /dev/kvm cannot run ordinary guests.
        proc = subprocess.run(
            [QEMU, "-accel", "tcg", "-m", "1536,slots=2,maxmem=4G", "-smp", "2", "-nographic",
             "-no-reboot", "-nic", "none", "-kernel", KERNEL, "-initrd", image,
             "-append", "console=ttyS0 panic=-1 quiet"] + devices,
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
