#!/usr/bin/env python3
"""Reproducible archives of a staged root file system.

    archive.py cpio STAGE OUT.gz [--node PATH:TYPE:MAJOR:MINOR:MODE ...] [--stored PATH ...]
    archive.py tar  STAGE OUT.gz [--node ...]

Writes a gzip'd newc cpio (the initrd) or a gzip'd tar (rootfs.tar.gz) of the
directory STAGE. Every entry is owned by 0:0, carries the same mtime
(SOURCE_DATE_EPOCH, else 0) and appears in sorted order with parents before
children; inode numbers are assigned in that order and the gzip header holds
no name or time. The same tree therefore always gives the same bytes, whoever
builds it and whenever. --node adds a device node (e.g. dev/console:c:5:1:600)
that an unprivileged build could not create in STAGE.

--stored PATH (cpio only) moves a file that is compressed already out of the
gzip'd archive into a plain cpio appended after it: the kernel unpacks a
concatenation of compressed and uncompressed archives (padded to 4 bytes;
Documentation/driver-api/early-userspace/buffer-format.rst), and inflating
what gzip cannot shrink only costs boot time.
"""
import argparse
import gzip
import io
import os
import stat
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


class Entry:
    def __init__(self, path, mode, data=b"", rdev=(0, 0), link=None):
        self.path = path  # relative, no leading slash
        self.mode = mode  # full st_mode
        self.data = data  # file contents or symlink target
        self.rdev = rdev
        self.link = link


def walk(stage, nodes):
    entries = {}
    for root, dirs, files in os.walk(stage):
        for name in dirs + files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, stage)
            st = os.lstat(full)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                entries[rel] = Entry(rel, stat.S_IFDIR | perm)
            elif stat.S_ISLNK(st.st_mode):
                entries[rel] = Entry(rel, stat.S_IFLNK | 0o777, link=os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    entries[rel] = Entry(rel, stat.S_IFREG | perm, f.read())
            else:
                sys.exit(f"archive: {rel}: unsupported file type in stage (use --node)")
    for spec in nodes:
        path, kind, major, minor, mode = spec.split(":")
        fmt = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
        entries[path] = Entry(path, fmt | int(mode, 8), rdev=(int(major), int(minor)))
    # Parents sort before their children when compared component-wise.
    return [entries[k] for k in sorted(entries, key=lambda p: p.split("/"))]


def cpio_newc(entries, first_ino=1, pad=512):
    out = io.BytesIO()

    def record(ino, e, name, data):
        nlink = 2 if stat.S_ISDIR(e.mode) else 1
        fields = (ino, e.mode, 0, 0, nlink, EPOCH, len(data), 0, 0,
                  e.rdev[0], e.rdev[1], len(name) + 1, 0)
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        out.write(hdr + name.encode() + b"\0")
        out.write(b"\0" * (-out.tell() % 4))
        out.write(data)
        out.write(b"\0" * (-out.tell() % 4))

    for ino, e in enumerate(entries, start=first_ino):
        data = e.link.encode() if e.link is not None else e.data
        record(ino, e, e.path, data)
    record(0, Entry("TRAILER!!!", 0), "TRAILER!!!", b"")
    out.write(b"\0" * (-out.tell() % pad))
    return out.getvalue()


def tar_bytes(entries, epoch=EPOCH):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for e in entries:
            ti = tarfile.TarInfo(e.path)
            ti.mode = stat.S_IMODE(e.mode)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = epoch
            if stat.S_ISDIR(e.mode):
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif e.link is not None:
                ti.type = tarfile.SYMTYPE
                ti.linkname = e.link
                tar.addfile(ti)
            elif stat.S_ISCHR(e.mode) or stat.S_ISBLK(e.mode):
                ti.type = tarfile.CHRTYPE if stat.S_ISCHR(e.mode) else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = e.rdev
                tar.addfile(ti)
            else:
                ti.size = len(e.data)
                tar.addfile(ti, io.BytesIO(e.data))
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["cpio", "tar"])
    ap.add_argument("stage")
    ap.add_argument("output")
    ap.add_argument("--node", action="append", default=[])
    ap.add_argument("--stored", action="append", default=[])
    args = ap.parse_args()
    entries = walk(args.stage, args.node)
    stored = [e for e in entries if e.path in args.stored]
    if len(stored) != len(args.stored) or (stored and args.format != "cpio") or any(
            not stat.S_ISREG(e.mode) for e in stored):
        sys.exit(f"archive: --stored takes regular files of the stage, for cpio: {args.stored}")
    entries = [e for e in entries if e not in stored]
    raw = cpio_newc(entries) if args.format == "cpio" else tar_bytes(entries)
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        # filename="" and mtime=0 keep the gzip header free of build details.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as gz:
            gz.write(raw)
        if stored:
            f.write(b"\0" * (-f.tell() % 4))
            f.write(cpio_newc(stored, first_ino=len(entries) + 1, pad=4))
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
