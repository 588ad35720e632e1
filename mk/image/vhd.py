#!/usr/bin/env python3
"""Append a fixed-disk VHD footer to a raw disk image (what hcsshim's
`tar2ext4 -vhd` does), so Hyper-V can attach the ext4 rootfs as a VHD.

    vhd.py RAW.img OUT.vhd

A fixed VHD is the raw data followed by one 512-byte footer (Microsoft's
"Virtual Hard Disk Image Format Specification"): big-endian fields, cookie
"conectix", disk type 2 (fixed), CHS geometry from the specification's
algorithm and a one's-complement checksum of the footer bytes. The unique id
and the timestamp are derived from the data and SOURCE_DATE_EPOCH so the same
input gives the same file.
"""
import hashlib
import os
import shutil
import struct
import sys

VHD_EPOCH = 946684800  # 2000-01-01T00:00:00Z, the VHD time origin
FIXED_DISK = 2


def chs(size):
    """Cylinders, heads, sectors per track (VHD specification, appendix)."""
    total = min(size // 512, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cyl_heads = total // spt
    else:
        spt = 17
        cyl_heads = total // spt
        heads = max((cyl_heads + 1023) // 1024, 4)
        if cyl_heads >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cyl_heads = total // spt
        if cyl_heads >= heads * 1024:
            spt, heads = 63, 16
            cyl_heads = total // spt
    return cyl_heads // heads, heads, spt


def checksum(footer):
    return ~sum(footer) & 0xFFFFFFFF


def footer(size, unique_id, timestamp):
    cyl, heads, spt = chs(size)
    fields = struct.pack(
        ">8sIIQI4sI4sQQHBBII16sB",
        b"conectix",
        2,  # features: reserved bit, always set
        0x00010000,  # file format version 1.0
        0xFFFFFFFFFFFFFFFF,  # data offset: none for a fixed disk
        timestamp,
        b"lcow",  # creator application
        0x00010000,  # creator version
        b"Wi2k",  # creator host OS, as Windows tools write it
        size,  # original size
        size,  # current size
        cyl, heads, spt,
        FIXED_DISK,
        0,  # checksum, filled below
        unique_id,
        0,  # saved state
    )
    fields += b"\0" * (512 - len(fields))
    return fields[:64] + struct.pack(">I", checksum(fields)) + fields[68:]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw, out = sys.argv[1], sys.argv[2]
    size = os.path.getsize(raw)
    if size % 512:
        sys.exit(f"vhd: {raw}: size {size} is not a multiple of 512")
    digest = hashlib.sha256()
    with open(raw, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    uid = bytearray(digest.digest()[:16])
    uid[6] = (uid[6] & 0x0F) | 0x50  # shaped like a name-based UUID
    uid[8] = (uid[8] & 0x3F) | 0x80
    stamp = max(int(os.environ.get("SOURCE_DATE_EPOCH", "0")) - VHD_EPOCH, 0)
    tmp = out + ".tmp"
    shutil.copyfile(raw, tmp)
    with open(tmp, "ab") as f:
        f.write(footer(size, bytes(uid), stamp))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
