#!/usr/bin/env python3
"""Install a vendor's kernel instead of building ours:
`make image KERNEL=… [VMLINUX=…] [MODULES=…]`.

    vendor-kernel.py BZIMAGE [VMLINUX] OUTDIR [--modules DIR]

Copies BZIMAGE to OUTDIR/kernel. OUTDIR/vmlinux is VMLINUX when given, else
the ELF image unpacked from the bzImage's payload (gzip or xz, as the kernel's
scripts/extract-vmlinux does); OUTDIR/kernel.config is the configuration
embedded by CONFIG_IKCONFIG when there is one.

--modules DIR: DIR holds lib/modules/<release>/ for this kernel (what
`make modules_install INSTALL_MOD_PATH=DIR` writes, or a distribution
package unpacked into DIR); <release> is read from the bzImage's header.
That tree becomes OUTDIR/modules/lib/modules/<release>/, which `make image`
puts into the image; depmod indexes it when modules.dep or modules.alias is
missing (packages ship without them). Its build/source links are dropped.

Nothing of ours is left behind: a file that cannot be produced is removed,
with a warning, and without --modules OUTDIR/modules is removed (our modules
do not fit another kernel).
"""
import lzma
import os
import shutil
import struct
import subprocess
import sys
import zlib


def warn(msg):
    print(f"kernel: warning: {msg}", file=sys.stderr)


def gunzip_at(data, at):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return d.decompress(data[at:])
    except zlib.error:
        return b""


def unxz_at(data, at):
    try:
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
    except lzma.LZMAError:
        return b""


def extract_vmlinux(bz):
    for magic, unpack in ((b"\x1f\x8b\x08", gunzip_at), (b"\xfd7zXZ\x00", unxz_at)):
        at = bz.find(magic)
        while at >= 0:
            out = unpack(bz, at)
            if out.startswith(b"\x7fELF"):
                return out
            at = bz.find(magic, at + 1)
    return None


def extract_ikconfig(image):
    at = image.find(b"IKCFG_ST")
    if at < 0:
        return None
    text = gunzip_at(image, at + 8)
    return text or None


def kernel_release(bz):
    """The release a bzImage's setup header names (boot protocol 2.00+:
    kernel_version points at "6.1.192 (user@host) #1 …"), or None."""
    if bz[0x202:0x206] != b"HdrS":
        return None
    at = 0x200 + struct.unpack_from("<H", bz, 0x20E)[0]
    text = bz[at:at + 256].split(b"\0", 1)[0].decode("ascii", "replace")
    return text.split()[0] if text.strip() else None


def modules_source(bz, moddir):
    """(release, moddir/lib/modules/<release>) for this bzImage; exits
    naming what is there when that directory does not exist."""
    release = kernel_release(bz)
    if release is None:
        sys.exit("kernel: error: cannot read the release from the bzImage header")
    src = os.path.join(moddir, "lib", "modules", release)
    if not os.path.isdir(src):
        lib = os.path.join(moddir, "lib", "modules")
        have = os.listdir(lib) if os.path.isdir(lib) else []
        sys.exit(f"kernel: error: {src} missing: MODULES= must hold lib/modules/{release}/ "
                 f"(found: {', '.join(have) or 'nothing'})")
    return release, src


def install_modules(release, src, outdir):
    """src (lib/modules/<release>) -> outdir/modules/lib/modules/<release>."""
    top = os.path.join(outdir, "modules")
    tmp = os.path.join(outdir, ".modules.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    dest = os.path.join(tmp, "lib", "modules", release)
    shutil.copytree(src, dest, symlinks=True,
                    ignore=lambda d, names: {"build", "source"} if d == src else set())
    if not all(os.path.exists(os.path.join(dest, f)) for f in ("modules.dep", "modules.alias")):
        depmod = shutil.which("depmod") or "/sbin/depmod"
        r = subprocess.run([depmod, "-b", tmp, release], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            sys.exit(f"kernel: error: depmod -b {tmp} {release} failed: {r.stderr.strip()}")
    shutil.rmtree(top, ignore_errors=True)
    os.rename(tmp, top)
    count = sum(1 for _, _, files in os.walk(dest.replace(tmp, top, 1))
                for f in files if ".ko" in f)
    print(f"kernel: {count} modules of {release} from {src} in {top}", file=sys.stderr)


def replace(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def main():
    args = [a for a in sys.argv[1:]]
    moddir = None
    if "--modules" in args:
        i = args.index("--modules")
        if i + 1 >= len(args):
            sys.exit(__doc__)
        moddir = args[i + 1]
        del args[i:i + 2]
    if len(args) == 2:
        bzimage, vmlinux, outdir = args[0], "", args[1]
    elif len(args) == 3:
        bzimage, vmlinux, outdir = args
    else:
        sys.exit(__doc__)
    os.makedirs(outdir, exist_ok=True)
    with open(bzimage, "rb") as f:
        bz = f.read()
    # Checked first: a wrong MODULES= leaves out/ as it was.
    modules = modules_source(bz, moddir) if moddir else None
    replace(os.path.join(outdir, "kernel"), bz)

    if vmlinux:
        shutil.copyfile(vmlinux, os.path.join(outdir, "vmlinux"))
        with open(vmlinux, "rb") as f:
            elf = f.read()
    else:
        elf = extract_vmlinux(bz)
        target = os.path.join(outdir, "vmlinux")
        if elf is None:
            warn(f"{bzimage}: no gzip/xz ELF payload; out/vmlinux left out (pass VMLINUX=)")
            if os.path.exists(target):
                os.remove(target)
        else:
            replace(target, elf)

    config = extract_ikconfig(elf or b"") or extract_ikconfig(bz)
    target = os.path.join(outdir, "kernel.config")
    if config is None:
        warn("the kernel has no CONFIG_IKCONFIG: out/kernel.config left out")
        if os.path.exists(target):
            os.remove(target)
    else:
        replace(target, config)

    if modules:
        install_modules(*modules, outdir)
    else:
        shutil.rmtree(os.path.join(outdir, "modules"), ignore_errors=True)
        if config is not None and b"\nCONFIG_MODULES=y\n" in config:
            warn("the kernel has CONFIG_MODULES=y but no MODULES= was given: the image "
                 "carries no modules")
    print(f"kernel: vendor kernel {bzimage} installed in {outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
