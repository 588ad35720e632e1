#!/usr/bin/env python3
"""pe_stamp.py FILE.efi: make a PE image reproducible.

objcopy writes the current time into the COFF header's TimeDateStamp of the
UKI it assembles. Replace it with SOURCE_DATE_EPOCH (else 0) and recompute
the optional header's CheckSum the way the PE format defines it (16-bit
one's-complement-style sum of the file with the field itself as zero, plus
the file length).
"""
import os
import struct
import sys


def pe_checksum(data):
    """The CheckSum of `data`, whose CheckSum field must be zero."""
    total = 0
    padded = data + b"\0" * (len(data) % 2)
    for (word,) in struct.iter_unpack("<H", padded):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return (total + len(data)) & 0xFFFFFFFF


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:2] != b"MZ":
        sys.exit(f"pe_stamp: {path}: not a PE image")
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe:pe + 4] != b"PE\0\0":
        sys.exit(f"pe_stamp: {path}: no PE signature")
    struct.pack_into("<I", data, pe + 8, int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    checksum_at = pe + 24 + 64  # optional header + 64, same for PE32 and PE32+
    struct.pack_into("<I", data, checksum_at, 0)
    struct.pack_into("<I", data, checksum_at, pe_checksum(bytes(data)))
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.chmod(path + ".tmp", os.stat(path).st_mode)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
