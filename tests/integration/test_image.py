"""The boot image (issue 8): `make image` output in out/, booted under QEMU.

`make check` builds both images first (mk/image.mk): the release one in out/
and the DEBUG=1 one in out/debug/ (the same tree; its lcow.efi starts a
console shell). The boot tests use TCG (the build machine's KVM cannot run
guests), bound every QEMU run by a timeout and kill it on failure. What they
establish:
- the kernel boots direct (vmlinux via PVH, bzImage), from the UEFI disk
  through OVMF, and with rootfs.vhd as root on SCSI and on an NVDIMM (VPMem);
- init runs the command line's child and the VM powers off by itself;
- the running kernel's /proc/config.gz has every option of the fragment;
- the virtio vsock transport is a module, never built in (issue 12), and the
  image carries it with depmod's index in /lib/modules/<release>/; booted
  without a virtio-vsock device, init loads nothing;
- Debian's runc runs in the image (its libraries and loader are complete);
- the programs hosts exec in the UVM are there, on hcsshim's PATH: sh, test
  and ls (busybox), udhcpc with its script, mkfs.ext4 (our static mke2fs,
  which makes the create-scratch file system e2fsck accepts);
- initrd.img, rootfs.tar.gz, rootfs.vhd and the EFI files are reproducible;
- the VHD footer is valid and the ext4 inside it clean; sizes in budget;
- the LinuxKit images out/linuxkit/*.oci.tar are reproducible too
  (test_linuxkit_images.py checks what they hold, and linuxkit.yml).
"""
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib

import pytest

from conftest import OUT, TOP

sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
import qemu  # noqa: E402

IMAGE = os.environ.get("LCOW_IMAGE_DIR", os.path.join(TOP, "out"))
DEBUG = os.path.join(IMAGE, "debug")
FRAGMENT = os.path.join(TOP, "kernel-config", "lcow.config")
BOOT_TIMEOUT = 120  # TCG boot to init takes ~2 s direct, ~6 s through OVMF
# The marker is printed by the guest's shell: $((6*7)) keeps the literal text
# out of the kernel's own echo of its command line.
MARKER_CMD = "echo LCOW-$((6*7))-MARKER"
MARKER = "LCOW-42-MARKER"


def image(*parts):
    path = os.path.join(IMAGE, *parts)
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: `make image` (make check builds it)")
    return path


def debug_image(*parts):
    return image("debug", *parts)


def fragment_options():
    """{name: value} for CONFIG_X=v and {name: None} for '# CONFIG_X is not set'."""
    opts = {}
    with open(FRAGMENT) as f:
        for line in f:
            line = line.strip()
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
            if m:
                opts[m.group(1)] = m.group(2)
            m = re.match(r"^# (CONFIG_\w+) is not set$", line)
            if m:
                opts[m.group(1)] = None
    return opts


def config_mismatches(text):
    """Fragment options the given config text does not satisfy."""
    have = dict(re.findall(r"^(CONFIG_\w+)=(\S*)\s*$", text, re.M))
    bad = []
    for name, want in fragment_options().items():
        got = have.get(name)
        if want is None:
            if got not in (None, "n"):
                bad.append(f"{name}: want unset, got {got}")
        elif got != want:
            bad.append(f"{name}: want {want}, got {got}")
    return bad


def initrd_segments(path):
    """The archives an initrd concatenates, as the kernel reads them (NUL
    padding between them, each gzip'd or plain): [(compressed, newc bytes)]."""
    with open(path, "rb") as f:
        data = f.read()
    segments, at = [], 0
    while at < len(data):
        if data[at] == 0:
            at += 1
        elif data[at:at + 2] == b"\x1f\x8b":
            z = zlib.decompressobj(wbits=31)
            segments.append((True, z.decompress(data[at:]) + z.flush()))
            assert z.eof, f"{path}: gzip member at {at} is cut short"
            at = len(data) - len(z.unused_data)
        else:
            assert at % 4 == 0, f"{path}: a plain archive at {at} is not 4-byte aligned"
            n = newc_length(data, at)
            segments.append((False, data[at:at + n]))
            at += n
    return segments


def newc_length(data, at):
    """Bytes from `at` to the end of that newc archive's trailer record."""
    start = at
    while True:
        assert data[at:at + 6] == b"070701", f"bad newc magic at {at}"
        size, namesize = int(data[at + 54:at + 62], 16), int(data[at + 94:at + 102], 16)
        name = data[at + 110:at + 110 + namesize - 1]
        at = (at + 110 + namesize + 3) & ~3
        at = (at + size + 3) & ~3
        if name == b"TRAILER!!!":
            return at - start


def read_cpio(path):
    """Entries of an initrd (its newc archives, gzip'd or plain, in order):
    list of dicts in archive order."""
    entries = []
    for _, data in initrd_segments(path):
        entries += read_newc(data)
    return entries


def read_newc(data):
    entries, at = [], 0
    while True:
        assert data[at:at + 6] == b"070701", f"bad newc magic at {at}"
        fields = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        ino, mode, uid, gid, nlink, mtime, size, _, _, rmaj, rmin, namesize, _ = fields
        at += 110
        name = data[at:at + namesize - 1].decode()
        at = (at + namesize + 3) & ~3
        body = data[at:at + size]
        at = (at + size + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries.append(dict(name=name, mode=mode, uid=uid, gid=gid, mtime=mtime,
                            data=body, rdev=(rmaj, rmin), ino=ino))


TOOLS_IMAGE = "lib/lcow/tools.squashfs"
TOOLS_DIR = "lib/lcow/tools"


def read_initrd(path):
    """The initrd's entries as the guest sees its tree once /init has
    mounted the tools (init/tools.c): each symlink into /lib/lcow/tools
    becomes the file the squashfs holds there (its mode, the symlink's
    times), and the image, its mount point and /lib/lcow go. This is the
    tree make image staged, the one rootfs.tar.gz and the LinuxKit images
    hold."""
    entries = read_cpio(path)
    byn = by_name(entries)
    if TOOLS_IMAGE not in byn:
        return entries
    with tempfile.TemporaryDirectory() as tmp:
        sq = os.path.join(tmp, "tools.squashfs")
        with open(sq, "wb") as f:
            f.write(byn[TOOLS_IMAGE]["data"])
        subprocess.run(["unsquashfs", "-q", "-n", "-d", os.path.join(tmp, "t"), sq],
                       check=True, capture_output=True)
        out = []
        for e in entries:
            if e["name"] in (TOOLS_IMAGE, TOOLS_DIR, "lib/lcow"):
                continue
            target = e["data"].decode(errors="replace") if stat.S_ISLNK(e["mode"]) else ""
            if target.startswith("/" + TOOLS_DIR + "/"):
                real = os.path.join(tmp, "t", target[len(TOOLS_DIR) + 2:])
                st = os.lstat(real)
                with open(real, "rb") as f:
                    e = dict(e, mode=st.st_mode, data=f.read())
            out.append(e)
        return out


def by_name(entries):
    return {e["name"]: e for e in entries}


def boot(args, timeout=BOOT_TIMEOUT, **kw):
    run = qemu.run(args, timeout, **kw)
    return run


def assert_powered_off(run):
    assert not run.timed_out, "QEMU did not exit by itself:\n" + run.output[-3000:]
    assert run.returncode == 0, f"QEMU exit {run.returncode}:\n" + run.output[-3000:]
    assert "Kernel panic" not in run.output, run.output[-3000:]


# ---- kernel ---------------------------------------------------------------

def test_kernel_is_efi_stub_bzimage_and_vmlinux_is_elf():
    with open(image("kernel"), "rb") as f:
        head = f.read(0x300)
    assert head[:2] == b"MZ", "bzImage lacks the PE/EFI stub header"
    assert head[0x202:0x206] == b"HdrS", "not a bzImage (no setup header)"
    pe = struct.unpack_from("<I", head, 0x3C)[0]
    with open(image("kernel"), "rb") as f:
        f.seek(pe)
        assert f.read(4) == b"PE\0\0"
    with open(image("vmlinux"), "rb") as f:
        assert f.read(4) == b"\x7fELF"


def test_check_config_names_every_unsatisfied_option(tmp_path):
    checker = os.path.join(TOP, "kernel-config", "check-config.sh")
    ok = subprocess.run(["bash", checker, FRAGMENT, image("kernel.config")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad_fragment = tmp_path / "bad.config"
    # =y where the kernel has =m is a mismatch too (and the reverse).
    bad_fragment.write_text(open(FRAGMENT).read()
                            + "CONFIG_LCOW_NO_SUCH_OPTION=y\nCONFIG_VIRTIO_VSOCKETS=y\n"
                            + "CONFIG_HYPERV_VSOCKETS=m\n# CONFIG_EXT4_FS is not set\n")
    bad = subprocess.run(["bash", checker, str(bad_fragment), image("kernel.config")],
                         capture_output=True, text=True)
    assert bad.returncode != 0
    for name in ("CONFIG_LCOW_NO_SUCH_OPTION", "CONFIG_VIRTIO_VSOCKETS=y requested, got m",
                 "CONFIG_HYPERV_VSOCKETS=m requested, got y", "CONFIG_EXT4_FS"):
        assert name in bad.stderr, bad.stderr
    assert "4 option(s)" in bad.stderr, bad.stderr


def kernel_release(path):
    """The release in a bzImage's setup header ("6.1.192")."""
    with open(path, "rb") as f:
        head = f.read(0x10000)
    at = 0x200 + struct.unpack_from("<H", head, 0x20E)[0]
    return head[at:at + 256].split(b"\0")[0].decode().split()[0]


VSOCK_KO = "kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko"
VSOCK_COMMON_KO = "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko"


def test_release_kernel_has_virtio_vsock_as_a_module_only():
    """Built in, virtio_vsock_init would take the guest-to-host transport
    from hv_sock on Hyper-V hosts that do not pass
    initcall_blacklist=virtio_vsock_init (issue 12)."""
    with open(image("kernel.config")) as f:
        config = f.read()
    have = dict(re.findall(r"^(CONFIG_\w+)=(\S*)\s*$", config, re.M))
    assert have.get("CONFIG_VIRTIO_VSOCKETS") == "m", have.get("CONFIG_VIRTIO_VSOCKETS")
    assert have.get("CONFIG_VIRTIO_VSOCKETS_COMMON") == "m"
    assert have.get("CONFIG_HYPERV_VSOCKETS") == "y" and have.get("CONFIG_VSOCKETS") == "y"
    assert have.get("CONFIG_MODULES") == "y"
    # Nothing else became a module on the way.
    assert sorted(n for n, v in have.items() if v == "m") == [
        "CONFIG_VIRTIO_VSOCKETS", "CONFIG_VIRTIO_VSOCKETS_COMMON"]
    tree = image("modules", "lib", "modules", kernel_release(image("kernel")))
    with open(os.path.join(tree, "modules.dep")) as f:
        dep = f.read()
    assert f"{VSOCK_KO}: {VSOCK_COMMON_KO}\n" in dep, dep
    with open(os.path.join(tree, "modules.alias")) as f:
        assert "alias virtio:d00000013v* vmw_vsock_virtio_transport\n" in f.read()
    for ko in (VSOCK_KO, VSOCK_COMMON_KO):
        with open(os.path.join(tree, ko), "rb") as f:
            assert f.read(4) == b"\x7fELF"
        sections = subprocess.run(["objdump", "-h", os.path.join(tree, ko)],
                                  capture_output=True, text=True, check=True).stdout
        assert ".debug_info" not in sections, f"{ko} is not stripped"
    assert not os.path.lexists(os.path.join(tree, "build")), "a link into the build cache"


def check_modules_in(byn, where):
    """The kernel's modules tree, byte for byte, in an image's entries."""
    release = kernel_release(image("kernel"))
    tree = image("modules", "lib", "modules", release)
    for rel in (VSOCK_KO, VSOCK_COMMON_KO, "modules.dep", "modules.alias"):
        name = f"lib/modules/{release}/{rel}"
        assert name in byn, f"/{name} missing from {where}"
        with open(os.path.join(tree, rel), "rb") as f:
            assert byn[name]["data"] == f.read(), f"/{name} in {where} differs from out/modules"


def test_images_carry_the_modules_tree():
    """initrd (and so the UKI), debug initrd, rootfs.tar.gz (test below: the
    same tree as the initrd) and rootfs.vhd hold /lib/modules/<release>."""
    check_modules_in(by_name(read_initrd(image("initrd.img"))), "initrd.img")
    check_modules_in(by_name(read_initrd(debug_image("initrd.img"))), "debug/initrd.img")
    release = kernel_release(image("kernel"))
    out = subprocess.run(["debugfs", "-R", f"cat /lib/modules/{release}/{VSOCK_KO}",
                          image("rootfs.vhd")], capture_output=True).stdout
    with open(image("modules", "lib", "modules", release, VSOCK_KO), "rb") as f:
        assert out == f.read(), "rootfs.vhd lacks the virtio vsock module"


def test_vendor_kernel_swap_unpacks_vmlinux_and_config(tmp_path):
    """make image KERNEL=bzImage: the vendor's bzImage becomes out/kernel,
    and vmlinux and the config are recovered from it (here: our own bzImage
    standing in for a vendor's, so the results can be compared)."""
    vendor = tmp_path / "vendor-bzImage"
    shutil.copyfile(image("kernel"), vendor)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, os.path.join(TOP, "kernel-config", "vendor-kernel.py"),
                        str(vendor), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / "kernel").read_bytes() == vendor.read_bytes()
    with open(image("kernel.config"), "rb") as f:
        assert (out / "kernel.config").read_bytes() == f.read()
    elf = (out / "vmlinux").read_bytes()
    assert elf[:4] == b"\x7fELF"
    # The same program text as our stripped vmlinux: compare .text.
    for path, name in ((out / "vmlinux", "vendor"), (image("vmlinux"), "ours")):
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.text", str(path),
                        str(tmp_path / f"{name}.text")], check=True)
    assert (tmp_path / "vendor.text").read_bytes() == (tmp_path / "ours.text").read_bytes()


def test_boot_vmlinux_reports_every_fragment_option():
    """vmlinux + the release initrd: init runs the image's shell, which
    prints the marker, /proc/modules and /proc/config.gz, then the VM powers
    off by itself. This VM has no virtio-vsock device: init must load
    nothing."""
    cmd = f'{MARKER_CMD}; cat /proc/modules; echo END-MODULES; zcat /proc/config.gz'
    args = qemu.direct_args(image("vmlinux"), image("initrd.img"),
                            f'console=ttyS0 panic=-1 quiet -- /bin/sh -c "{cmd}"')
    run = boot(args)
    assert MARKER in run.output, run.output[-3000:]
    after = run.output.split(MARKER, 1)[1].replace("\r", "")
    modules, _, config = after.partition("END-MODULES")
    assert modules.strip() == "", f"modules loaded without their device: {modules}"
    assert "init: modules:" not in run.output, run.output[-3000:]
    assert "# Linux/x86_64 6.1" in config, config[:2000]
    assert config_mismatches(config) == []
    assert re.search(r"^CONFIG_VIRTIO_VSOCKETS=m$", config, re.M)
    assert_powered_off(run)


def test_vendor_kernel_modules(tmp_path):
    """make image KERNEL=… MODULES=dir: dir/lib/modules/<release> (release
    from the bzImage) becomes out/modules, indexed by depmod when a package
    shipped it without modules.dep; a dir without that release is refused
    before out/ changes; without MODULES= no modules are left in out/."""
    script = os.path.join(TOP, "kernel-config", "vendor-kernel.py")
    release = kernel_release(image("kernel"))
    vendor = tmp_path / "vendor"
    shutil.copytree(image("modules"), vendor, symlinks=True)
    tree = vendor / "lib" / "modules" / release
    for f in os.listdir(tree):
        if f.startswith("modules."):
            os.unlink(tree / f)
    os.symlink("/usr/src/nowhere", tree / "build")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, script, image("kernel"), str(out), "--modules",
                        str(vendor)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = out / "modules" / "lib" / "modules" / release
    assert (got / VSOCK_KO).read_bytes() == (tree / VSOCK_KO).read_bytes()
    assert f"{VSOCK_KO}: {VSOCK_COMMON_KO}" in (got / "modules.dep").read_text()
    assert "vmw_vsock_virtio_transport" in (got / "modules.alias").read_text()
    assert not os.path.lexists(got / "build")

    r = subprocess.run([sys.executable, script, image("kernel"), str(out), "--modules",
                        str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and f"lib/modules/{release}" in r.stderr, r.stderr
    assert (got / VSOCK_KO).exists(), "a refused MODULES= changed out/"

    r = subprocess.run([sys.executable, script, image("kernel"), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not (out / "modules").exists()
    assert "CONFIG_MODULES=y but no MODULES=" in r.stderr


@pytest.mark.parametrize("kernel", ["kernel", "vmlinux"])
def test_boot_release_initrd_runs_debian_runc(kernel):
    """The release initrd: init execs runc directly (no shell), and runc's
    shared libraries and loader must all be in the image."""
    args = qemu.direct_args(image(kernel), image("initrd.img"),
                            "console=ttyS0 panic=-1 quiet -- /usr/bin/runc --version")
    run = boot(args)
    assert re.search(r"runc version \d+\.\d+", run.output), run.output[-3000:]
    assert "libseccomp:" in run.output
    assert_powered_off(run)


def test_boot_uefi_disk_debug_shell():
    """OVMF boots out/debug/lcow-efi.img (BOOTX64.EFI = the UKI, its command
    line inside); init starts the console shell; through the serial line the
    shell prints the marker and the running config, then exits, and init
    powers the VM off."""
    fw = qemu.Firmware()
    try:
        disk = debug_image("lcow-efi.img")
        args = qemu.base_args() + fw.args() + [
            "-drive", f"file={disk},format=raw,if=virtio,snapshot=on"]
        typed = f"dmesg -n 1; {MARKER_CMD}; zcat /proc/config.gz; exit\n"
        run = boot(args, send=[(r"Run /init as init process[\s\S]*/ # ", typed)],
                   marks=[MARKER])
    finally:
        fw.close()
    assert "Run /init as init process" in run.output, run.output[-3000:]
    assert MARKER in run.output, run.output[-3000:]
    after = run.output.split(MARKER, 1)[1].replace("\r", "")
    assert config_mismatches(after) == []
    assert_powered_off(run)


def test_boot_uefi_disk_release_reaches_init_and_stops():
    """The release UKI starts init with hcsshim's GCS command line. Under QEMU
    there is no vsock peer, so the GCS cannot start; the VM must stop by
    itself rather than hang."""
    fw = qemu.Firmware()
    try:
        args = qemu.base_args() + fw.args() + [
            "-drive", f"file={image('lcow-efi.img')},format=raw,if=virtio,snapshot=on"]
        run = boot(args)
    finally:
        fw.close()
    assert "Run /init as init process" in run.output, run.output[-3000:]
    assert "/bin/vsockexec -e 109 /bin/gcs" in run.output
    assert not run.timed_out, run.output[-3000:]
    assert run.returncode == 0


def vhd_root_args(device):
    vhd = image("rootfs.vhd")
    cmdline = f"console=ttyS0 panic=-1 quiet root={device} ro rootwait init=/init -- /usr/bin/runc --version"
    args = qemu.direct_args(image("vmlinux"), None, cmdline)
    if device == "/dev/sda":
        # QEMU's VHD driver; current_size because our creator id is not one
        # QEMU knows to trust over the CHS geometry.
        return args + [
            "-device", "virtio-scsi-pci,id=scsi0",
            "-drive", f"driver=vpc,force_size_calc=current_size,file.filename={vhd},"
                      "if=none,id=root,read-only=on",
            "-device", "scsi-hd,drive=root,bus=scsi0.0,channel=0,scsi-id=0,lun=0"]
    size = os.path.getsize(vhd) - 512  # the ext4 data, without the footer
    return args + [
        "-machine", "pc,nvdimm=on", "-m", "512,slots=2,maxmem=2G",
        "-object", f"memory-backend-file,id=pm0,mem-path={vhd},size={size},share=off,readonly=on",
        "-device", "nvdimm,memdev=pm0,id=nv0,unarmed=on"]


@pytest.mark.parametrize("device", ["/dev/sda", "/dev/pmem0"])
def test_boot_rootfs_vhd_as_root(device):
    """rootfs.vhd as the root file system, as hcsshim boots it: on SCSI
    (root=/dev/sda) and on an NVDIMM like VPMem (root=/dev/pmem0)."""
    run = boot(vhd_root_args(device))
    assert re.search(r"runc version \d+\.\d+", run.output), run.output[-3000:]
    assert_powered_off(run)


# ---- rootfs.vhd -------------------------------------------------------------

def vhd_chs(size):
    """The VHD specification's CHS algorithm, written out again here."""
    sectors = min(size // 512, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        spt, heads = 255, 16
    else:
        spt = 17
        heads = max((sectors // spt + 1023) // 1024, 4)
        if sectors // spt >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
        if sectors // spt >= heads * 1024:
            spt, heads = 63, 16
    return sectors // spt // heads, heads, spt


def test_rootfs_vhd_footer():
    path = image("rootfs.vhd")
    total = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(total - 512)
        footer = f.read(512)
    assert footer[:8] == b"conectix"
    features, version, offset = struct.unpack_from(">IIQ", footer, 8)
    assert features & 2 and version == 0x00010000
    assert offset == 0xFFFFFFFFFFFFFFFF, "a fixed disk has no dynamic header"
    orig, cur = struct.unpack_from(">QQ", footer, 40)
    assert orig == cur == total - 512
    assert cur % (1 << 20) == 0, "disk size is not whole MiB"
    cyl, heads, spt = struct.unpack_from(">HBB", footer, 56)
    assert (cyl, heads, spt) == vhd_chs(cur)
    assert struct.unpack_from(">I", footer, 60)[0] == 2, "disk type is not fixed"
    stored = struct.unpack_from(">I", footer, 64)[0]
    zeroed = footer[:64] + b"\0\0\0\0" + footer[68:]
    assert stored == (~sum(zeroed) & 0xFFFFFFFF), "footer checksum wrong"
    assert footer[68:84] != b"\0" * 16, "no unique id"


def test_rootfs_vhd_ext4_is_clean_and_complete():
    path = image("rootfs.vhd")
    fsck = subprocess.run(["e2fsck", "-fn", path], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    out = subprocess.run(["debugfs", "-R", "stat /dev/console", path],
                         capture_output=True, text=True).stdout
    assert "Type: character special" in out and "Device major/minor number: 05:01" in out, out
    listing = subprocess.run(["debugfs", "-R", "ls -l /", path],
                             capture_output=True, text=True).stdout
    names = {line.split()[-1] for line in listing.splitlines() if line.strip()}
    initrd = by_name(read_initrd(image("initrd.img")))
    top = {n for n in initrd if "/" not in n}
    assert top <= names, f"missing in the VHD: {top - names}"


# ---- initrd / rootfs.tar.gz -----------------------------------------------

def runc_closure():
    runc = shutil.which("runc") or "/usr/sbin/runc"
    out = subprocess.run(["ldd", runc], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("linux-vdso"):
            continue
        libs.append(parts[2] if len(parts) > 2 and parts[1] == "=>" else parts[0])
    return libs


def check_layout(entries):
    names = [e["name"] for e in entries]
    assert names == sorted(names, key=lambda p: p.split("/")), "entries not sorted"
    assert {e["uid"] for e in entries} == {0} and {e["gid"] for e in entries} == {0}
    assert len({e["mtime"] for e in entries}) == 1, "more than one mtime"
    byn = by_name(entries)
    for d in ("dev", "proc", "sys", "sys/fs/cgroup", "run", "tmp", "etc", "var", "bin", "info"):
        assert d in byn and stat.S_ISDIR(byn[d]["mode"]), f"/{d} missing"
    assert stat.S_IMODE(byn["tmp"]["mode"]) == 0o1777
    console = byn["dev/console"]
    assert stat.S_ISCHR(console["mode"]) and console["rdev"] == (5, 1)
    for f in ("info/gcs.commit", "info/build.date", "info/image.name", "etc/passwd"):
        assert f in byn and byn[f]["data"].strip(), f"/{f} missing or empty"
    runc = byn["usr/bin/runc"]
    assert runc["mode"] & 0o111
    with open(shutil.which("runc") or "/usr/sbin/runc", "rb") as f:
        assert runc["data"] == f.read(), "/usr/bin/runc is not Debian's runc"
    for lib in runc_closure():
        assert lib.lstrip("/") in byn, f"runc needs {lib}, not in the image"
    return byn


def guest_binaries():
    """The guest programs `make image` put in (whatever was built)."""
    found = {}
    for name in os.listdir(OUT) if os.path.isdir(OUT) else []:
        path = os.path.join(OUT, name)
        if name in ("init", "vsockexec", "gcs") and os.path.isfile(path):
            found[name] = path
    return found


def test_release_initrd_layout():
    byn = check_layout(read_initrd(image("initrd.img")))
    assert "init" in byn, "no /init in the image (is init built?)"
    for name in guest_binaries():
        where = "init" if name == "init" else f"bin/{name}"
        assert where in byn and byn[where]["mode"] & 0o111, f"/{where} missing"
        assert byn[where]["data"][:4] == b"\x7fELF"
    assert b"lcow-guest" in byn["info/image.name"]["data"]


def test_debug_image_is_the_release_tree_with_a_console_shell():
    """DEBUG=1 changes the name and lcow.efi's command line (a console shell
    instead of entropy), nothing else in the tree."""
    release = by_name(read_initrd(image("initrd.img")))
    debug = check_layout(read_initrd(debug_image("initrd.img")))
    assert set(debug) == set(release), set(debug) ^ set(release)
    named = {"info/image.name", "etc/os-release"}
    differ = {n for n in debug if (debug[n]["mode"], debug[n]["data"])
              != (release[n]["mode"], release[n]["data"])}
    assert differ == named, differ
    assert b"debug" in debug["info/image.name"]["data"]
    with open(debug_image("cmdline")) as f:
        debug_cmdline = f.read()
    with open(image("cmdline")) as f:
        release_cmdline = f.read()
    assert " -- -d /bin/sh /bin/vsockexec" in debug_cmdline, debug_cmdline
    assert " -- -e 1 /bin/vsockexec" in release_cmdline, release_cmdline


# ---- the programs hosts exec in the UVM -------------------------------------

# hcsshim's environment for a UVM process (internal/cmd Command), and the
# directories init's children search (init's PATH is the same list).
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# name -> who execs it
HOST_EXECS = {
    "sh": "init with a console pipe (sh -c \"<gcs> & exec sh\")",
    "test": "create-scratch: test -d /sys/bus/scsi/devices/C:0:0:L/block",
    "ls": "create-scratch: ls /sys/bus/scsi/devices/C:0:0:L/block",
    "mkfs.ext4": "create-scratch: mkfs.ext4 -q -E ... /dev/sdX",
    "udhcpc": "the gcs, for DHCP: udhcpc -q -i <if> -s /sbin/udhcpc_config.script",
}
# busybox applets the image must not have (rootfs/mkrootfs.sh says why).
NOT_APPLETS = ("init", "linuxrc", "halt", "poweroff", "reboot")


def resolve(byn, path, hops=20):
    """The entry a path names in the cpio tree, following symlinks."""
    path = path.lstrip("/")
    for _ in range(hops):
        e = byn.get(path)
        if e is None or not stat.S_ISLNK(e["mode"]):
            return path, e
        target = e["data"].decode()
        path = os.path.normpath(target.lstrip("/") if target.startswith("/")
                                else os.path.join(os.path.dirname(path), target))
    raise AssertionError(f"symlink loop at {path}")


def lookpath(byn, name):
    """What exec'ing `name` with hcsshim's PATH runs in the image: (the
    directory entry found, the file it resolves to), as the gcs's
    process_find_executable resolves it (stat: symlinks followed)."""
    for d in HOST_PATH.split(":"):
        found = f"{d}/{name}".lstrip("/")
        real, e = resolve(byn, found)
        if e is not None and stat.S_ISREG(e["mode"]) and e["mode"] & 0o111:
            return found, real
    return None, None


def elf_interp(data):
    """The PT_INTERP of an ELF64 file (None for a static executable)."""
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not ELF64"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        ptype, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if ptype == 3:  # PT_INTERP
            off, = struct.unpack_from("<Q", data, phoff + i * phentsize + 8)
            size, = struct.unpack_from("<Q", data, phoff + i * phentsize + 32)
            return data[off:off + size].rstrip(b"\0").decode()
    return None


@pytest.mark.parametrize("name", sorted(HOST_EXECS))
def test_release_image_has_what_hosts_exec(name):
    """Each program a host execs in the UVM is found on hcsshim's PATH and
    is a static executable; mkfs.ext4 is our mke2fs, the rest busybox."""
    byn = by_name(read_initrd(image("initrd.img")))
    found, real = lookpath(byn, name)
    assert found, f"{name} ({HOST_EXECS[name]}) is not on PATH in the image"
    want = "sbin/mke2fs" if name == "mkfs.ext4" else "bin/busybox"
    assert real == want, f"{name} runs /{real}, want /{want}"
    assert elf_interp(byn[real]["data"]) is None, f"/{real} is not static"


def test_release_image_has_bin_sh():
    """The console form runs `sh` through init's PATH; scripts (udhcpc's)
    name /bin/sh itself."""
    byn = by_name(read_initrd(image("initrd.img")))
    assert resolve(byn, "bin/sh")[0] == "bin/busybox"


def test_busybox_applets_shadow_nothing():
    """Every command name is in one PATH directory only (no applet hides one
    of our programs), our mke2fs owns the ext names, /init is ours, and no
    applet that presumes busybox is PID 1 is there."""
    byn = by_name(read_initrd(image("initrd.img")))
    dirs = [d.lstrip("/") for d in HOST_PATH.split(":")]
    seen = {}
    for n, e in byn.items():
        d, base = os.path.split(n)
        if d in dirs:
            seen.setdefault(base, []).append(d)
    twice = {b: ds for b, ds in seen.items() if len(ds) > 1}
    assert not twice, twice
    for name in ("mke2fs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4"):
        assert lookpath(byn, name)[1] == "sbin/mke2fs", name
    assert stat.S_ISREG(byn["init"]["mode"]), "/init is not our init"
    assert "linuxrc" not in byn
    for name in NOT_APPLETS:
        found, real = lookpath(byn, name)
        assert real != "bin/busybox", f"/{found} is a busybox applet"
    # The rest of busybox is there: a sample of what a console user types.
    for name in ("cat", "ps", "ip", "mount", "dmesg", "vi"):
        assert lookpath(byn, name)[1] == "bin/busybox", name


def test_udhcpc_config_script_is_executable():
    """The gcs runs `udhcpc -s /sbin/udhcpc_config.script`; udhcpc execs
    the script, which must be executable (rootfs/skel/sbin)."""
    src = os.path.join(TOP, "rootfs", "skel", "sbin", "udhcpc_config.script")
    if not os.path.exists(src):
        pytest.skip("rootfs/skel/sbin/udhcpc_config.script is not in this tree yet")
    byn = by_name(read_initrd(image("initrd.img")))
    e = byn.get("sbin/udhcpc_config.script")
    assert e is not None, "/sbin/udhcpc_config.script missing from the image"
    assert stat.S_ISREG(e["mode"]) and stat.S_IMODE(e["mode"]) == 0o755, oct(e["mode"])
    with open(src, "rb") as f:
        assert e["data"] == f.read()
    assert e["data"].startswith(b"#!/bin/sh"), e["data"][:40]


def test_mkrootfs_makes_skel_programs_executable(tmp_path):
    """Whatever mode a program in rootfs/skel/{bin,sbin,usr/*bin} has in the
    checkout, the image gets it executable (and /etc files 0644)."""
    tree = tmp_path / "rootfs"
    (tree / "skel" / "etc").mkdir(parents=True)
    (tree / "skel" / "sbin").mkdir()
    (tree / "skel" / "usr" / "bin").mkdir(parents=True)
    shutil.copy(os.path.join(TOP, "rootfs", "mkrootfs.sh"), tree)
    for rel, mode in (("etc/passwd", 0o600), ("sbin/helper.script", 0o644),
                      ("usr/bin/tool", 0o600)):
        (tree / "skel" / rel).write_text("#!/bin/sh\n")
        os.chmod(tree / "skel" / rel, mode)
    stage = tmp_path / "stage"
    r = subprocess.run(["bash", str(tree / "mkrootfs.sh"), str(stage)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(stage / "sbin" / "helper.script").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(stage / "usr" / "bin" / "tool").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(stage / "etc" / "passwd").st_mode) == 0o644


# hcsshim v0.11.8 internal/lcow/scratch.go (create-scratch), and newer hosts
# on a BlockDev path: exactly these options.
SCRATCH_MKFS = ["-q", "-E", "lazy_itable_init=0,nodiscard",
                "-O", "^has_journal,sparse_super2,^resize_inode"]


def ext4_features(path):
    out = subprocess.run(["dumpe2fs", "-h", path], capture_output=True, text=True,
                         check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("Filesystem features:"))
    return set(line.split(":", 1)[1].split())


def test_image_mke2fs_makes_the_create_scratch_filesystem(tmp_path):
    """The image's own mke2fs (from the initrd), run here as mkfs.ext4 with
    the create-scratch options and no mke2fs.conf (the image has none: its
    built-in profile applies), makes an ext4 e2fsck accepts, without a
    journal."""
    byn = by_name(read_initrd(image("initrd.img")))
    assert stat.S_ISREG(byn["sbin/mke2fs"]["mode"]), "/sbin/mke2fs is not our mke2fs"
    assert elf_interp(byn["sbin/mke2fs"]["data"]) is None, "/sbin/mke2fs is not static"
    binary = tmp_path / "mke2fs"
    binary.write_bytes(byn["sbin/mke2fs"]["data"])
    os.chmod(binary, 0o755)
    os.symlink("mke2fs", tmp_path / "mkfs.ext4")
    disk = tmp_path / "scratch.img"
    with open(disk, "wb") as f:
        f.truncate(1 << 30)  # sparse; 1 GiB gets 4 KiB blocks like a real scratch
    env = {"PATH": "/usr/bin:/bin", "MKE2FS_CONFIG": str(tmp_path / "no-such.conf")}
    r = subprocess.run([str(tmp_path / "mkfs.ext4")] + SCRATCH_MKFS + [str(disk)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", (r.returncode, r.stdout,
                                                                     r.stderr)
    fsck = subprocess.run(["e2fsck", "-fn", str(disk)], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    features = ext4_features(str(disk))
    assert "has_journal" not in features and "resize_inode" not in features, features
    # ext4 (from the name mkfs.ext4 and the built-in profile), sparse_super2 asked for
    assert {"extent", "flex_bg", "64bit", "metadata_csum", "sparse_super2"} <= features, features
    out = subprocess.run(["dumpe2fs", "-h", str(disk)], capture_output=True, text=True).stdout
    assert re.search(r"^Block size:\s+4096$", out, re.M), out
    assert re.search(r"^Journal", out, re.M) is None, out
    # The debugfs view a host would get after mounting it: an empty root.
    ls = subprocess.run(["debugfs", "-R", "ls /", str(disk)], capture_output=True,
                        text=True).stdout
    assert "lost+found" in ls, ls


def test_initrd_keeps_the_cold_tools_compressed():
    """What an idle guest never runs stays compressed in the initrd's RAM:
    runc with its libraries, busybox, mke2fs and chronyd are symlinks into
    /lib/lcow/tools, and the xz squashfs /init mounts there holds them
    (issue 17). The plain rootfs.tar.gz (and so rootfs.vhd) keeps files."""
    raw = by_name(read_cpio(image("initrd.img")))
    sq = raw[TOOLS_IMAGE]["data"]
    assert sq[:4] == b"hsqs", "not a squashfs image"
    assert struct.unpack_from("<H", sq, 20)[0] == 4, "not xz-compressed"
    assert stat.S_ISDIR(raw[TOOLS_DIR]["mode"])
    with open(image("rootfs-runc.list")) as f:
        cold = f.read().split() + ["bin/busybox", "sbin/mke2fs", "sbin/chronyd"]
    for name in cold:
        e = raw[name]
        assert stat.S_ISLNK(e["mode"]), f"/{name} is unpacked into RAM"
        assert e["data"] == f"/{TOOLS_DIR}/{name}".encode(), e["data"]
    with tarfile.open(image("rootfs.tar.gz")) as tar:
        assert all(tar.getmember(n).isfile() for n in cold)
        assert TOOLS_IMAGE not in tar.getnames()


def test_initrd_does_not_gzip_the_squashfs_again():
    """The squashfs is xz already: it follows the gzip'd archive as a plain
    one, which the kernel copies instead of inflating at boot; everything
    else is in the gzip'd one."""
    segments = initrd_segments(image("initrd.img"))
    assert [compressed for compressed, _ in segments] == [True, False], segments
    assert [e["name"] for e in read_newc(segments[1][1])] == [TOOLS_IMAGE]
    assert TOOLS_IMAGE not in by_name(read_newc(segments[0][1]))


def test_rootfs_tar_holds_the_initrd_tree():
    cpio = by_name(read_initrd(image("initrd.img")))
    with tarfile.open(image("rootfs.tar.gz")) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == set(cpio)
        for name, m in members.items():
            e = cpio[name]
            assert (m.uid, m.gid, m.mtime) == (0, 0, e["mtime"]), name
            assert stat.S_IMODE(e["mode"]) == m.mode or m.issym(), name
            if m.isfile():
                assert tar.extractfile(m).read() == e["data"], name
            elif m.issym():
                assert m.linkname.encode() == e["data"], name


def test_image_is_reproducible(tmp_path):
    """Two `make image` runs at different times into different directories
    give byte-identical files."""
    build_dir = os.path.relpath(os.path.dirname(OUT), TOP)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    files = ["initrd.img", "rootfs.tar.gz", "rootfs.vhd", "lcow.efi", "lcow-efi.img",
             "linuxkit/kernel.oci.tar", "linuxkit/init.oci.tar", "linuxkit/runc.oci.tar"]
    outs = []
    try:
        for run in ("a", "b"):
            out = tmp_path / run
            r = subprocess.run(["make", "-C", TOP, "--no-print-directory", "image",
                                f"BUILD_DIR={build_dir}", f"IMAGE_OUT={out}",
                                "SOURCE_DATE_EPOCH=1700000000", "IMAGE_COMMIT=reproducibility-test"],
                               env=env, capture_output=True, text=True)
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
            outs.append(out)
        for f in files:
            with open(outs[0] / f, "rb") as a, open(outs[1] / f, "rb") as b:
                assert a.read() == b.read(), f"{f} differs between two builds"
    finally:  # two full image sets: do not leave ~100 MB in /tmp per run
        for run in ("a", "b"):
            shutil.rmtree(tmp_path / run, ignore_errors=True)


# ---- UEFI disk --------------------------------------------------------------

def test_efi_disk_layout(tmp_path):
    disk = image("lcow-efi.img")
    table = subprocess.run(["sgdisk", "-p", disk], capture_output=True, text=True).stdout
    rows = [l.split() for l in table.splitlines() if re.match(r"^\s+1\s", l)]
    assert rows and rows[0][1] == "2048" and rows[0][5] == "EF00", table
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    copy = tmp_path / "BOOTX64.EFI"
    subprocess.run(["mcopy", "-i", f"{disk}@@1M", "::EFI/BOOT/BOOTX64.EFI", str(copy)],
                   env=env, check=True)
    with open(copy, "rb") as a, open(image("lcow.efi"), "rb") as b:
        assert a.read() == b.read()
    # The UKI's sections are the kernel, the initrd and the command line.
    for section, source in ((".linux", "kernel"), (".initrd", "initrd.img"), (".cmdline", "cmdline")):
        dump = tmp_path / section.strip(".")
        subprocess.run(["objcopy", f"--dump-section={section}={dump}", image("lcow.efi"),
                        str(tmp_path / "scratch.efi")], check=True)
        with open(image(source), "rb") as f:
            want = f.read()
        got = dump.read_bytes()
        assert got[:len(want)] == want and not got[len(want):].strip(b"\0"), section


# ---- sizes --------------------------------------------------------------------

def test_sizes_within_budget():
    kernel = os.path.getsize(image("kernel"))
    initrd = os.path.getsize(image("initrd.img"))
    assert kernel + initrd <= 12 * 1000 * 1000, f"kernel+initrd = {kernel + initrd} bytes"
    boot_set = ["kernel", "vmlinux", "initrd.img", "rootfs.vhd", "lcow.efi", "lcow-efi.img"]
    total = sum(os.path.getsize(image(f)) for f in boot_set)
    assert total < 100 * 1000 * 1000, f"all boot files = {total} bytes"
