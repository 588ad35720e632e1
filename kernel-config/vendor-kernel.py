#!/usr/bin/env python3
"""Install a vendor's kernel instead of building ours: `make image KERNEL=…`.

    vendor-kernel.py BZIMAGE [VMLINUX] OUTDIR

Copies BZIMAGE to OUTDIR/kernel. OUTDIR/vmlinux is VMLINUX when given, else
the ELF image unpacked from the bzImage's payload (gzip or xz, as the kernel's
scripts/extract-vmlinux does); OUTDIR/kernel.config is the configuration
embedded by CONFIG_IKCONFIG when there is one. Nothing of ours is left
behind: a file that cannot be produced is removed, with a warning.
"""
import lzma
import os
import shutil
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


def replace(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def main():
    args = [a for a in sys.argv[1:]]
    if len(args) == 2:
        bzimage, vmlinux, outdir = args[0], "", args[1]
    elif len(args) == 3:
        bzimage, vmlinux, outdir = args
    else:
        sys.exit(__doc__)
    os.makedirs(outdir, exist_ok=True)
    with open(bzimage, "rb") as f:
        bz = f.read()
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
    print(f"kernel: vendor kernel {bzimage} installed in {outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
