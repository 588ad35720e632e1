"""dm-verity layers and encrypted scratch through the real gcs in the
release image (out/vmlinux + out/initrd.img as built) under QEMU (-accel
tcg): what the runtime cases of tests/unit/test_storage_verity.c check,
seen from the host's side of the bridge.

The virtio-pmem device holds a layer made by `veritysetup format` (ext4,
verity superblock, tree: tar2ext4 --append-dm-verity's layout) at offset 0
and a copy with one byte of a file flipped at 8 MiB; both are mapped as
hcsshim v0.11.8 maps packed layers, with the VerityInfo it reads from the
VHD (tests/lib/storage_host.py host_verity_info). SCSI LUN 1 is a blank disk
for encrypted scratch, which the host then reads raw.
"""
import os
import sys
import threading

import pytest

from conftest import BACKEND, INITRD, KERNEL, TOP, module_vm
from storage_host import MiB, host_verity_info, verity_format

sys.path.insert(0, os.path.join(TOP, "tests", "vm"))

import lcow_ops  # noqa: E402
from gcs_host import HR  # noqa: E402
from lcow_vm import LcowVM, blank_disk, missing_prereqs  # noqa: E402
from uvm_process import UvmHost, read_all  # noqa: E402

BOOT_BOUND = 60
HOST_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

LAYER_FS, LAYER_IMAGE, CORRUPT_AT, PMEM_SIZE = 4 * MiB, 5 * MiB, 8 * MiB, 32 * MiB
TEXT = "verity layer\n"
SCRATCH_LUN, SCRATCH_MIB = 1, 64
MARKER = b"LCOW-PLAINTEXT-MARKER-52c1"


def layer_settings(offset, info):
    """VPMemDevice settings as hcsshim v0.11.8 sends them for a packed layer
    (internal/uvm/vpmem_mapped.go; DeviceOffsetInBytes 0 is left out)."""
    mapping = {"DeviceSizeInBytes": LAYER_IMAGE}
    if offset:
        mapping = {"DeviceOffsetInBytes": offset, **mapping}
    return {"MountPath": f"/run/layers/p0-{offset}-{LAYER_IMAGE}", "MappingInfo": mapping,
            "VerityInfo": info}


class Uvm:
    def __init__(self, work):
        layer = os.path.join(work, "layer.vhd")
        verity_format(layer, {"verity.txt": TEXT}, LAYER_FS, LAYER_IMAGE)
        self.info = host_verity_info(layer)
        with open(layer, "rb") as f:
            good = f.read()
        at = good.index(TEXT.encode())
        bad = good[:at] + bytes([good[at] ^ 1]) + good[at + 1:]
        pmem = os.path.join(work, "pmem.img")
        with open(pmem, "wb") as f:
            f.truncate(PMEM_SIZE)
            f.write(good)
            f.seek(CORRUPT_AT)
            f.write(bad)
        self.scratch = blank_disk(os.path.join(work, "scratch.vhd"), SCRATCH_MIB)
        self.vm = LcowVM(KERNEL, INITRD, BACKEND, disks=[(SCRATCH_LUN, self.scratch, False)],
                         pmem=pmem)
        self.host = UvmHost(self.vm)

    def start(self):
        self.vm.start()
        self.host.bridge = self.vm.accept_bridge(BOOT_BOUND)
        self.host.bridge.negotiate()

    def run(self, args):
        """One UVM process: (exit code, stdout, stderr)."""
        proc = self.host.execute(args, env=HOST_ENV, cwd="/", stdout=True, stderr=True)
        box = {}
        threads = [threading.Thread(target=lambda n=n, c=c: box.update({n: read_all(c)}),
                                    daemon=True)
                   for n, c in (("out", proc.stdout), ("err", proc.stderr))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        proc.close()
        code = proc.wait(timeout=60).json["ExitCode"]
        return code, box.get("out", b"").decode(), box.get("err", b"").decode()

    def modify(self, resource, settings, request_type="Add"):
        return lcow_ops.modify(self.host, resource, settings, request_type)

    def ok(self, resource, settings, request_type="Add"):
        reply = self.modify(resource, settings, request_type)
        assert reply.result == 0, f"{resource} {request_type}: {reply.json}"

    def mapper(self):
        code, out, err = self.run(["ls", "/dev/mapper"])
        assert code == 0, err
        return set(out.split()) - {"control"}


@pytest.fixture(scope="module")
def uvm():
    with module_vm(Uvm, "lcow-verity-",
                   missing_prereqs(KERNEL, INITRD, BACKEND, ("veritysetup", "mkfs.ext4"))) as u:
        yield u


def test_a_corrupt_block_reads_as_eio_and_the_gcs_goes_on(uvm):
    good, bad = layer_settings(0, uvm.info), layer_settings(CORRUPT_AT, uvm.info)
    uvm.ok("VPMemDevice", bad)  # the tree and the superblock block verify
    code, out, err = uvm.run(["cat", bad["MountPath"] + "/verity.txt"])
    assert code != 0 and out == "" and "Input/output error" in err, (code, out, err)
    # The gcs keeps serving: the good layer, from the same pmem device.
    uvm.ok("VPMemDevice", good)
    assert uvm.run(["cat", good["MountPath"] + "/verity.txt"]) == (0, TEXT, "")
    assert uvm.mapper() == {"dm-linear-pmem0-0-5242880", f"dm-linear-pmem0-{CORRUPT_AT}-5242880",
                            "dm-verity-pmem0-0-5242880", f"dm-verity-pmem0-{CORRUPT_AT}-5242880"}
    uvm.ok("VPMemDevice", bad, "Remove")
    uvm.ok("VPMemDevice", good, "Remove")
    assert uvm.mapper() == set()


def test_a_wrong_root_digest_is_refused(uvm):
    digest = uvm.info["RootDigest"]
    wrong = dict(uvm.info, RootDigest=("1" if digest[0] == "0" else "0") + digest[1:])
    settings = layer_settings(0, wrong)
    reply = uvm.modify("VPMemDevice", settings)
    assert reply.result == HR.E_FAIL, reply.json
    assert "the hash tree does not verify against RootDigest " + wrong["RootDigest"] \
        in reply.error, reply.error
    assert uvm.mapper() == set()
    code, _, _ = uvm.run(["test", "-e", settings["MountPath"]])
    assert code != 0
    uvm.ok("VPMemDevice", layer_settings(0, uvm.info))
    uvm.ok("VPMemDevice", layer_settings(0, uvm.info), "Remove")


def test_encrypted_scratch_keeps_no_plaintext_on_the_disk(uvm):
    # As hcsshim v0.14 sends a scratch with scratch encryption
    # (internal/layers/lcow.go): EnsureFilesystem, Filesystem xfs.
    mp = "/run/gcs/c/enc"
    settings = {"MountPath": mp, "Lun": SCRATCH_LUN, "Encrypted": True,
                "EnsureFilesystem": True, "Filesystem": "xfs"}
    uvm.ok("MappedVirtualDisk", settings)
    code, out, err = uvm.run(["cat", "/proc/mounts"])
    mounts = {line.split()[1]: line.split() for line in out.splitlines()}
    assert mounts[mp][:3] == ["/dev/mapper/dm-crypt-scsi-contr0-lun1-p0", mp, "ext4"], mounts
    script = (f"i=0; while [ $i -lt 4096 ]; do echo {MARKER.decode()}; i=$((i+1)); done "
              f"> {mp}/secret && sync && grep -c {MARKER.decode()} {mp}/secret")
    assert uvm.run(["sh", "-c", script]) == (0, "4096\n", "")
    uvm.ok("MappedVirtualDisk", {"MountPath": mp, "Lun": SCRATCH_LUN}, "Remove")
    assert uvm.mapper() == set()
    with open(uvm.scratch, "rb") as f:
        raw = f.read()
    assert MARKER not in raw
    # Written to (the file is 100 KiB), but no ext4 superblock in the clear.
    assert raw.count(0) < len(raw) - 100 * 1024
    assert raw[1024 + 56:1024 + 58] != b"\x53\xef"
