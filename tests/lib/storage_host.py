"""Storage as the gcs sees it off-VM, for tests: a private directory with

  run/  the allowed guest root (LCOW_STORAGE_EXTRA_ROOTS),
  sys/  a fake sysfs (LCOW_SYSFS_ROOT): bus/vmbus/devices/<controller guid>/
        host<N> and bus/scsi/devices/N:0:0:<lun>/block/loopX, as Hyper-V's
        storvsc lays them out,
  dev/  a fake /dev (LCOW_DEV_ROOT) with block nodes of the loop devices,
  img/  the image files,

and ext4 images on loop devices attached with LO_FLAGS_AUTOCLEAR (they go
away once unmounted and our fds are closed). Rig.cleanup() lazily unmounts
whatever was left below the directory, says what it was, and removes it.
Used by tests/integration/test_storage_bridge.py and the host flows
(tests/hostflows/).
"""
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import time

import pytest

MiB = 1024 * 1024

# UUIDv5 of "0".."3" (spec §5.1): hcsshim's SCSI controller instance ids.
CONTROLLER_GUIDS = [
    "df6d0690-79e5-55b6-a5ec-c1e2f77f580a",
    "0110f83b-de10-5172-a266-78bca56bf50a",
    "b5d2d8d4-3a75-51bf-945b-3444dc6b8579",
    "305891a9-b251-5dfe-91a2-c25d9212275b",
]
HOST_OF = {0: 5, 1: 2, 2: 7, 3: 0}  # controller -> Linux SCSI host number

LOOP_CTL_GET_FREE = 0x4C82
LOOP_CONFIGURE = 0x4C0A
LO_FLAGS_AUTOCLEAR = 4
CAP_SYS_RESOURCE = 24


def loop_config(backing_fd):
    """struct loop_config {u32 fd, block_size; struct loop_info64; u64[8]}."""
    info = struct.pack("=5Q4I64s64s32s2Q", 0, 0, 0, 0, 0, 0, 0, 0, LO_FLAGS_AUTOCLEAR,
                       b"", b"", b"", 0, 0)
    return struct.pack("=II", backing_fd, 0) + info + bytes(64)


def has_cap(bit):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def kernel_has(fs):
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == fs for line in f if line.strip())


def mountinfo(path):
    """(source, fstype, mount options, super options, propagation fields) of
    the top mount at path, or None."""
    found = None
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fields = pre.split()
            if fields[4] == path:
                fstype, source, sopts = post.split()[:3]
                found = (source, fstype, fields[5].split(","), sopts.split(","), fields[6:])
    return found


def mounts_below(top):
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(top + "/")]


class Rig:
    """The private directory, fake sysfs and /dev, images and loop devices."""

    def __init__(self, host_of=None, prefix="lcow-stbridge-"):
        self.host_of = dict(HOST_OF if host_of is None else host_of)
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.run, self.sys, self.dev, self.img = (os.path.join(self.dir, d)
                                                  for d in ("run", "sys", "dev", "img"))
        for d in (self.run, self.sys, self.dev, self.img):
            os.mkdir(d)
        self.loop_fds = []

    def path(self, rel):
        return os.path.join(self.run, rel)

    def image(self, name, size, files=None, fs=True, fs_size=None):
        """An image file of `size` bytes; with fs an ext4 filesystem of
        fs_size (default: all of it) holding `files` ({path: text or
        callable(dir)})."""
        path = os.path.join(self.img, name)
        with open(path, "wb") as f:
            f.truncate(fs_size or size)
        if fs:
            src = os.path.join(self.img, name + ".src")
            os.mkdir(src)
            for rel, content in (files or {}).items():
                full = os.path.join(src, rel)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                if callable(content):
                    content(full)
                else:
                    with open(full, "w") as f:
                        f.write(content)
            subprocess.run(["mkfs.ext4", "-q", "-F", "-d", src, path], check=True,
                           stdout=subprocess.DEVNULL)
            shutil.rmtree(src)
        if fs_size:
            with open(path, "r+b") as f:
                f.truncate(size)
        return path

    def attach(self, image):
        """Attaches image to a free loop device (autoclear); returns N."""
        backing = os.open(image, os.O_RDWR | os.O_CLOEXEC)
        try:
            ctl = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            os.close(backing)
            pytest.skip(f"no loop devices: {e}")
        try:
            for _ in range(50):
                n = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
                try:
                    fd = os.open(f"/dev/loop{n}", os.O_RDWR | os.O_CLOEXEC)
                except FileNotFoundError:
                    time.sleep(0.01)
                    continue
                try:
                    fcntl.ioctl(fd, LOOP_CONFIGURE, loop_config(backing))
                except OSError as e:
                    os.close(fd)
                    if e.errno != errno.EBUSY:
                        raise
                    time.sleep(0.01)  # someone else took it: try the next free one
                    continue
                self.loop_fds.append(fd)
                return n
            raise AssertionError(f"no free loop device for {image}")
        finally:
            os.close(ctl)
            os.close(backing)

    def node(self, name, loop_n):
        """A block node dev/<name> for /dev/loop<loop_n>."""
        rdev = os.stat(f"/dev/loop{loop_n}").st_rdev
        os.mknod(os.path.join(self.dev, name), stat.S_IFBLK | 0o600, rdev)
        return os.path.join(self.dev, name)

    def plug(self, controller, lun, loop_n):
        """The fake sysfs entries of a hot-plugged SCSI disk."""
        host = self.host_of[controller]
        os.makedirs(os.path.join(self.sys, "bus", "vmbus", "devices",
                                 CONTROLLER_GUIDS[controller], f"host{host}"), exist_ok=True)
        addr = os.path.join(self.sys, "bus", "scsi", "devices", f"{host}:0:0:{lun}")
        os.makedirs(os.path.join(addr, "block", f"loop{loop_n}"))
        return addr

    def disk(self, controller, lun, size=32 * MiB, **image_kw):
        """An image attached as SCSI controller/LUN; returns (image, dev node)."""
        image = self.image(f"c{controller}l{lun}.img", size, **image_kw)
        n = self.attach(image)
        node = self.node(f"loop{n}", n)
        self.plug(controller, lun, n)
        return image, node

    def cleanup(self):
        """Returns the mount points a test left behind (then removes them)."""
        left = mounts_below(self.dir)
        for mp in sorted(left, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        for fd in self.loop_fds:
            os.close(fd)  # autoclear detaches once nothing is mounted
        shutil.rmtree(self.dir)
        return left


# -- dm-verity layers ---------------------------------------------------------------------

VERITY_SB = struct.Struct("<8sII16s32sIIQH6s256s")  # struct verity_sb, 376 of 512 bytes


def ext4_image(path, files, size_mib):
    """An ext4 image of size_mib MiB holding files {name: text} (mke2fs -d)."""
    src = path + ".d"
    os.makedirs(src)
    for name, text in files.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", src, path,
                    f"{size_mib}M"], check=True, capture_output=True)
    shutil.rmtree(src)
    return path


def pmem_image(path, size, layers):
    """A virtio-pmem backing file of size bytes with, at each (offset,
    length) of layers, an ext4 layer i holding layer<i>.txt."""
    with open(path, "wb") as f:
        f.truncate(size)
    for i, (off, length) in enumerate(layers):
        layer = ext4_image(f"{path}.layer{i}", {f"layer{i}.txt": f"layer {i}\n"},
                           length // (1024 * 1024))
        with open(layer, "rb") as src, open(path, "r+b") as dst:
            dst.seek(off)
            dst.write(src.read())
        os.unlink(layer)
    return path


def verity_format(path, files, fs_size, image_size=None):
    """An ext4 layer of fs_size bytes (4 KiB blocks) holding files, followed
    by a dm-verity superblock and hash tree made by `veritysetup format`, as
    hcsshim's tar2ext4 --append-dm-verity lays a layer VHD out. The file is
    image_size bytes (default: up to the end of the tree).
    Returns the root hash veritysetup printed."""
    src = path + ".src"
    os.makedirs(src)
    try:
        for rel, text in files.items():
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        with open(path, "wb") as f:
            f.truncate(fs_size)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "4096", "-d", src, path], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(src)
    return append_verity(path, fs_size, image_size)


def append_verity(path, fs_size, image_size=None):
    """Appends a dm-verity superblock and hash tree to the fs_size bytes of
    ext4 (4 KiB blocks) at the start of path, with `veritysetup format`;
    the file becomes image_size bytes, by default the end of the tree.
    Returns the root hash veritysetup printed."""
    with open(path, "r+b") as f:  # room for the superblock and the tree
        f.truncate(image_size or (fs_size + MiB))
    out = subprocess.run(["veritysetup", "format", "--hash=sha256",
                          "--data-block-size=4096", "--hash-block-size=4096",
                          f"--data-blocks={fs_size // 4096}", f"--hash-offset={fs_size}",
                          path, path], capture_output=True, text=True, check=True).stdout
    root = re.search(r"Root hash:\s*([0-9a-f]+)", out)
    assert root, out
    if not image_size:
        with open(path, "r+b") as f:
            f.truncate(fs_size + 4096 + verity_tree_bytes(fs_size))
    return root.group(1)


def verity_tree_bytes(fs_size, block=4096):
    """Bytes of a sha256 hash tree over fs_size bytes (32-byte digests,
    levels of 4 KiB blocks down to one)."""
    total, n = 0, fs_size // block
    while True:
        n = (n * 32 + block - 1) // block
        total += n * block
        if n == 1:
            return total


def host_verity_info(path):
    """VerityInfo as an hcsshim v0.11 host builds it from a layer VHD
    (internal/uvm/vpmem.go readVeritySuperBlock, ext4/dmverity
    ReadDMVerityInfo): the ext4 size from its superblock, the verity
    superblock right after it, and the root digest as sha256(salt || the
    first tree block), which holds for a single top-level block. None when
    there is no verity superblock."""
    with open(path, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
        blocks_lo, = struct.unpack_from("<I", sb, 4)
        log_block, = struct.unpack_from("<I", sb, 24)
        block = 1024 << log_block
        size = blocks_lo * block
        f.seek(size)
        raw = f.read(4096)
        top = f.read(4096)
    (sig, version, _hash_type, _uuid, alg, _dbs, _hbs, _data_blocks, salt_size, _pad,
     salt) = VERITY_SB.unpack_from(raw)
    if sig != b"verity\0\0":
        return None
    salt = salt[:salt_size]
    return {"Ext4SizeInBytes": size, "Version": version,
            "Algorithm": alg.rstrip(b"\0").decode(), "SuperBlock": True,
            "RootDigest": hashlib.sha256(salt + top).hexdigest(), "Salt": salt.hex(),
            "BlockSize": block}
