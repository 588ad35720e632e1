"""The storage ModifySettings requests end to end: the real gcs, driven over
the unix transport by the host library (tests/lib/gcs_host.py), mounts real
ext4 images on loop devices.

Each test gets a private directory holding
  run/  the allowed guest root (LCOW_STORAGE_EXTRA_ROOTS),
  sys/  a fake sysfs (LCOW_SYSFS_ROOT): bus/vmbus/devices/<controller guid>/
        host<N> and bus/scsi/devices/N:0:0:<lun>/block/loopX, as Hyper-V's
        storvsc lays them out, with N != controller so the translation shows,
  dev/  a fake /dev (LCOW_DEV_ROOT) with block nodes of the loop devices
        (loopX for SCSI disks, pmem<N> for VPMem devices),
  img/  the image files.
Loop devices are attached with LO_FLAGS_AUTOCLEAR and our fds are closed at
the end, so they go away once unmounted; teardown stops the gcs, lazily
unmounts whatever a failed test left below the directory, and removes it.

What cannot run on the build machine's kernel (9p, device-mapper, online
ext4 growth without CAP_SYS_RESOURCE) is checked for a clear, prompt error
here; the mounts themselves run in the VM tests (test_storage_vm.py).
"""
import errno
import json
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from conftest import OUT, require_root
from gcs_host import HR, NULL_GUID, GcsProcess, Msg
from storage_host import (CAP_SYS_RESOURCE, CONTROLLER_GUIDS, MiB, Rig, has_cap, host_verity_info,
                          kernel_has, mountinfo, verity_format)

GCS = os.path.join(OUT, "gcs")
GUID = "5d3c1a2b-4e5f-4a6b-8c7d-0123456789ab"


class Storage:
    def __init__(self):
        self.rig = Rig()
        self.procs = []

    def start(self, timeout_ms=1000, env=None):
        """A negotiated bridge to a new gcs seeing the rig."""
        full = {"LCOW_SYSFS_ROOT": self.rig.sys, "LCOW_DEV_ROOT": self.rig.dev,
                "LCOW_STORAGE_EXTRA_ROOTS": self.rig.run,
                "LCOW_STORAGE_DEVICE_TIMEOUT_MS": str(timeout_ms)}
        full.update(env or {})
        g = GcsProcess(GCS, env=full)
        self.procs.append(g)
        b = g.accept_bridge()
        b.negotiate()
        b.gcs = g
        return b


@pytest.fixture
def storage():
    require_root()
    for tool in ("mkfs.ext4", "e2fsck", "debugfs"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} (e2fsprogs) is not installed")
    s = Storage()
    yield s
    for g in s.procs:
        g.stop()
    bad = [line for g in s.procs for line in g.log.bad]
    left = s.rig.cleanup()
    assert not bad, "non-JSON log lines:\n" + "".join(bad[:5])
    assert not left, f"mounts left behind: {left}"


def omitempty(settings):
    """The host's encoding: zero values are left out (spec §3.10)."""
    return {k: v for k, v in settings.items() if v not in (0, False, "", None, [], {})}


def modify(b, resource, settings, request_type="Add", activity=GUID, timeout=30):
    body = {"ContainerId": NULL_GUID,
            "Request": {"ResourceType": resource, "RequestType": request_type,
                        "Settings": omitempty(settings)}}
    if activity is not None:
        body["ActivityId"] = activity
    return b.request(Msg.MODIFY_SETTINGS, body, timeout=timeout)


def ok(reply, activity=GUID):
    """A success is exactly the base: Result 0 and the ActivityId echoed."""
    assert reply.json == {"Result": 0, "ActivityId": activity}, reply.json
    return reply


def failed(reply, hresult):
    """A failure carries Result, the ActivityId, ErrorMessage and one record."""
    assert reply.result == hresult, reply.json
    assert reply.json["ActivityId"] == GUID
    msg = reply.error
    assert msg and reply.json["ErrorRecords"][0]["Message"] == msg
    assert reply.size <= 65536
    return msg


def disk(mount_path, controller=0, lun=0, **kw):
    return {"MountPath": mount_path, "Controller": controller, "Lun": lun, **kw}


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def debugfs_cat(image, path):
    out = subprocess.run(["debugfs", "-R", f"cat {path}", image], capture_output=True,
                         text=True, check=True)
    return out.stdout


def fsck_clean(image):
    return subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)


def fs_bytes(path):
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


# -- MappedVirtualDisk -----------------------------------------------------------------

def test_read_only_disk_is_mounted_ro_noload_and_removed(storage):
    rig, b = storage.rig, storage.start()
    # Controller 0 LUN 0: the host omits both (omitempty); the guest finds
    # host5 under controller 0's GUID and 5:0:0:0.
    _, node = rig.disk(0, 0, files={"etc/os-release": "layer one\n"})
    mp = rig.path("mounts/scsi/m0")
    # Of the Options only propagation flags mean something (spec §3.10.1).
    ok(modify(b, "MappedVirtualDisk", disk(mp, ReadOnly=True, Options=["ro", "unbindable"])))
    source, fstype, opts, sopts, propagation = mountinfo(mp)
    assert (source, fstype) == (node, "ext4")
    assert "ro" in opts and "norecovery" in sopts  # MS_RDONLY + noload
    assert "unbindable" in propagation
    assert read(mp + "/etc/os-release") == "layer one\n"
    with pytest.raises(OSError) as e:
        write(mp + "/new", "x")
    assert e.value.errno == errno.EROFS
    ok(modify(b, "MappedVirtualDisk", disk(mp, ReadOnly=True), "Remove"))
    assert mountinfo(mp) is None and not os.path.exists(mp)


def test_read_write_disk_keeps_what_was_written(storage):
    rig, b = storage.rig, storage.start()
    image, _ = rig.disk(1, 2, files={"old": "before\n"})
    mp = rig.path("gcs/c/ctr1")
    ok(modify(b, "MappedVirtualDisk", disk(mp, 1, 2)))
    assert "rw" in mountinfo(mp)[2]
    assert read(mp + "/old") == "before\n"
    write(mp + "/hello.txt", "written through the bridge\n")
    ok(modify(b, "MappedVirtualDisk", disk(mp, 1, 2), "Remove"))
    assert mountinfo(mp) is None and not os.path.exists(mp)
    assert debugfs_cat(image, "/hello.txt") == "written through the bridge\n"
    r = fsck_clean(image)
    assert r.returncode == 0, r.stdout + r.stderr


def test_blank_disk_is_formatted_once_and_fsck_clean(storage):
    rig, b = storage.rig, storage.start()
    image, _ = rig.disk(0, 3, size=64 * MiB, fs=False)
    mp = rig.path("gcs/c/scratch1")
    settings = disk(mp, 0, 3, EnsureFilesystem=True, Filesystem="ext4")
    ok(modify(b, "MappedVirtualDisk", settings))
    assert mountinfo(mp)[1] == "ext4"
    assert 48 * MiB < fs_bytes(mp) <= 64 * MiB
    write(mp + "/kept", "survives a remount\n")
    ok(modify(b, "MappedVirtualDisk", settings, "Remove"))
    r = fsck_clean(image)
    assert r.returncode == 0, r.stdout + r.stderr
    # EnsureFilesystem formats only when ext4 is absent: the data stays.
    ok(modify(b, "MappedVirtualDisk", settings))
    assert read(mp + "/kept") == "survives a remount\n"
    ok(modify(b, "MappedVirtualDisk", settings, "Remove"))
    assert debugfs_cat(image, "/kept") == "survives a remount\n"


def test_grown_image_gives_a_larger_filesystem(storage):
    rig, b = storage.rig, storage.start()
    image, _ = rig.disk(2, 1, size=256 * MiB, fs_size=64 * MiB)
    mp = rig.path("gcs/c/grown")
    plain = disk(mp, 2, 1)
    ok(modify(b, "MappedVirtualDisk", plain))  # no EnsureFilesystem: left as it is
    assert fs_bytes(mp) <= 64 * MiB
    ok(modify(b, "MappedVirtualDisk", plain, "Remove"))
    grow = disk(mp, 2, 1, EnsureFilesystem=True, Filesystem="ext4")
    reply = modify(b, "MappedVirtualDisk", grow)
    if not has_cap(CAP_SYS_RESOURCE):
        msg = failed(reply, HR.E_FAIL)
        assert "SCSI controller 2 LUN 1: grow ext4" in msg
        sizes = re.search(r"from (\d+) to (\d+) blocks", msg)
        assert sizes and int(sizes[2]) == 4 * int(sizes[1]), msg  # the whole 256 MiB
        assert mountinfo(mp) is None and not os.path.exists(mp)
        pytest.skip(f"no CAP_SYS_RESOURCE here (the VM test grows); the gcs said: {msg}")
    ok(reply)
    assert fs_bytes(mp) > 200 * MiB
    ok(modify(b, "MappedVirtualDisk", grow, "Remove"))
    r = fsck_clean(image)
    assert r.returncode == 0, r.stdout + r.stderr


def test_block_dev_is_a_symlink_to_the_device(storage):
    rig, b = storage.rig, storage.start()
    _, node = rig.disk(3, 63)
    link = rig.path("gcs/c/blk/dev0")
    ok(modify(b, "MappedVirtualDisk", disk(link, 3, 63, BlockDev=True)))
    assert os.readlink(link) == node and mountinfo(link) is None
    ok(modify(b, "MappedVirtualDisk", disk(link, 3, 63, BlockDev=True), "Remove"))
    assert not os.path.lexists(link)


def test_remove_is_idempotent(storage):
    rig, b = storage.rig, storage.start()
    rig.disk(0, 4)
    mp = rig.path("mounts/scsi/m4")
    ok(modify(b, "MappedVirtualDisk", disk(mp, 0, 4)))
    for _ in range(2):
        ok(modify(b, "MappedVirtualDisk", disk(mp, 0, 4), "Remove"))
        assert not os.path.exists(mp)
    # Removes of what was never there, for every type that has a path.
    never = rig.path("never/there")
    ok(modify(b, "MappedDirectory", {"MountPath": never, "Port": 564, "ShareName": "3"},
              "Remove"))
    ok(modify(b, "VPMemDevice", {"DeviceNumber": 2, "MountPath": never}, "Remove"))
    ok(modify(b, "CombinedLayers", {"ContainerRootPath": never}, "Remove"))
    ok(modify(b, "SCSIDevice", {"Controller": 0, "Lun": 60}, "Remove"))
    # An empty MountPath is attach-only: nothing to do either way.
    ok(modify(b, "MappedVirtualDisk", disk("", 0, 9)))
    ok(modify(b, "MappedVirtualDisk", disk("", 0, 9), "Remove"))


def test_scsi_device_remove_unplugs(storage):
    rig, b = storage.rig, storage.start()
    addr = rig.plug(1, 7, 99)
    write(addr + "/delete", "")
    ok(modify(b, "SCSIDevice", {"Controller": 1, "Lun": 7}, "Remove"))
    assert read(addr + "/delete") == "1\n"
    msg = failed(modify(b, "SCSIDevice", {"Controller": 1, "Lun": 7}), HR.E_FAIL)
    assert msg == "SCSIDevice: invalid request type 'Add'"


# -- refusals ---------------------------------------------------------------------------

def test_path_escapes_are_refused_naming_the_path(storage):
    rig, b = storage.rig, storage.start()
    rig.disk(0, 5)
    os.symlink("/etc", rig.path("evil"))
    escapes = ["/etc/lcow-escape", rig.path("../outside"), rig.path("evil/lcow-escape"),
               "relative/path"]
    for mp in escapes:
        msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 0, 5)), HR.INVALID_ARG)
        assert msg.startswith("MappedVirtualDisk Add: SCSI controller 0 LUN 5: MountPath")
        assert mp in msg
    assert not os.path.exists("/etc/lcow-escape") and not os.path.exists(rig.dir + "/outside")
    # The same rule for every path of every type.
    root = rig.path("gcs/c/c9/rootfs")
    msg = failed(modify(b, "CombinedLayers", {"ContainerRootPath": root,
                                               "Layers": [{"Path": "/usr"}]}), HR.INVALID_ARG)
    assert "layer path \"/usr\" is outside the allowed guest roots" in msg
    msg = failed(modify(b, "CombinedLayers", {"ContainerRootPath": root,
                                               "Layers": [{"Path": rig.path("l")}],
                                               "ScratchPath": "/tmp/x"}), HR.INVALID_ARG)
    assert "ScratchPath \"/tmp/x\"" in msg
    msg = failed(modify(b, "VPMemDevice", {"MountPath": "/run/../etc"}), HR.INVALID_ARG)
    assert "/run/../etc" in msg
    msg = failed(modify(b, "MappedDirectory", {"MountPath": "/", "ShareName": "1"}),
                 HR.INVALID_ARG)
    assert 'MountPath "/"' in msg
    assert not os.path.exists(root)


def test_unsupported_values_are_refused(storage):
    rig, b = storage.rig, storage.start()
    rig.disk(0, 6, fs=False)
    mp = rig.path("gcs/c/enc")
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 0, 6, Encrypted=True, ReadOnly=True)),
                 HR.INVALID_ARG)
    assert "Encrypted formats the disk: it cannot be ReadOnly" in msg
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 0, 6, ReadOnly=True,
                                                      EnsureFilesystem=True)), HR.INVALID_ARG)
    assert "read-only: not formatting" in msg
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 4, 0)), HR.INVALID_ARG)
    assert "controller must be 0-3" in msg
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 0, 64)), HR.INVALID_ARG)
    assert "LUN must be 0-63" in msg
    msg = failed(modify(b, "VPMemDevice", {"MountPath": mp}, "Update"), HR.E_FAIL)
    assert msg == "VPMemDevice: invalid request type 'Update'"
    assert not os.path.exists(mp)
    # Settings the host never leaves out.
    reply = b.request(Msg.MODIFY_SETTINGS, {"ContainerId": NULL_GUID, "ActivityId": GUID,
                                            "Request": {"ResourceType": "MappedVirtualDisk"}})
    assert failed(reply, HR.INVALID_JSON) == "MappedVirtualDisk Add: Settings is missing"
    # The resource types are the spec's, case and all.
    reply = modify(b, "mappedvirtualdisk", disk(mp))
    assert failed(reply, HR.E_FAIL) == "invalid ResourceType 'mappedvirtualdisk'"
    # Storage is a UVM resource: a container id is refused by the envelope.
    reply = b.request(Msg.MODIFY_SETTINGS, {"ContainerId": "c1", "ActivityId": GUID,
                                            "Request": {"ResourceType": "MappedVirtualDisk",
                                                        "Settings": disk(mp)}})
    assert "not supported for a container" in failed(reply, HR.E_FAIL)


def test_a_lun_that_never_appears_times_out_naming_it(storage):
    rig, b = storage.rig, storage.start(timeout_ms=400)
    rig.disk(2, 1)  # controller 2 is there, LUN 9 never comes
    mp = rig.path("mounts/scsi/m9")
    start = time.monotonic()
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 2, 9)), HR.E_FAIL)
    elapsed = time.monotonic() - start
    assert msg.startswith("MappedVirtualDisk Add: SCSI controller 2 LUN 9: no device after "
                          "400 ms"), msg
    assert "7:0:0:9/block" in msg  # host7 is controller 2
    assert 0.4 <= elapsed < 5
    assert not os.path.exists(mp)
    # A controller that is not there at all says so.
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 3, 1)), HR.E_FAIL)
    assert "SCSI controller 3 LUN 1" in msg and CONTROLLER_GUIDS[3] in msg


# -- concurrency ------------------------------------------------------------------------

def test_a_request_waiting_for_its_disk_does_not_block_others(storage):
    rig, b = storage.rig, storage.start(timeout_ms=20000)
    image = rig.image("late.img", 32 * MiB, files={"late": "hot-plugged\n"})
    late_loop = rig.attach(image)
    rig.node(f"loop{late_loop}", late_loop)
    rig.disk(0, 1, files={"early": "already there\n"})
    late_mp, early_mp = rig.path("mounts/scsi/late"), rig.path("mounts/scsi/early")

    waiting = b.send(Msg.MODIFY_SETTINGS, {
        "ContainerId": NULL_GUID, "ActivityId": GUID,
        "Request": {"ResourceType": "MappedVirtualDisk",  # no RequestType: Add
                    "Settings": disk(late_mp, 0, 8, ReadOnly=True)}})
    props = b.send(Msg.GET_PROPERTIES, {"ContainerId": NULL_GUID, "Query": ""})
    mount = b.send(Msg.MODIFY_SETTINGS, {
        "ContainerId": NULL_GUID, "ActivityId": GUID,
        "Request": {"ResourceType": "MappedVirtualDisk", "RequestType": "Add",
                    "Settings": disk(early_mp, 0, 1)}})
    assert b.wait_reply(props).result == 0
    ok(b.wait_reply(mount))
    assert read(early_mp + "/early") == "already there\n"
    text = b.request(Msg.DUMP_STACKS, {"ContainerId": NULL_GUID}).json["GuestStacks"]
    assert "storage requests in flight: 1" in text
    assert f'id {waiting} MappedVirtualDisk Add controller 0 LUN 8 at "{late_mp}"' in text
    assert waiting not in b.replies

    rig.plug(0, 8, late_loop)  # the host hot-plugs the disk: the wait ends
    ok(b.wait_reply(waiting, timeout=20))
    assert read(late_mp + "/late") == "hot-plugged\n"
    assert b.order.index(waiting) > b.order.index(mount) > b.order.index(props)
    ok(modify(b, "MappedVirtualDisk", disk(late_mp, 0, 8), "Remove"))
    ok(modify(b, "MappedVirtualDisk", disk(early_mp, 0, 1), "Remove"))
    text = b.request(Msg.DUMP_STACKS, {"ContainerId": NULL_GUID}).json["GuestStacks"]
    assert "storage requests in flight: 0" in text


def test_shutdown_with_a_request_waiting_for_its_disk(storage):
    rig, b = storage.rig, storage.start(timeout_ms=3000)
    conf = b.gcs.log.wait_for(lambda e: e["msg"] == "storage configuration")
    assert (conf["sysfs"], conf["dev"], conf["device-timeout-ms"], conf["extra-roots"]) == \
        (rig.sys, rig.dev, 3000, rig.run)
    b.send(Msg.MODIFY_SETTINGS, {"ContainerId": NULL_GUID, "Request": {
        "ResourceType": "MappedVirtualDisk", "Settings": disk(rig.path("m/x"), 0, 1)}})
    text = b.request(Msg.DUMP_STACKS, {"ContainerId": NULL_GUID}).json["GuestStacks"]
    assert "storage requests in flight: 1" in text
    # The job finishes its bounded wait; the gcs then exits cleanly.
    assert b.gcs.stop() == 0
    assert any("finished after the gcs cancelled it" in e["msg"] for e in b.gcs.log.entries)


# -- CombinedLayers -----------------------------------------------------------------------

def whiteout(path):
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def opaque_dir(files):
    def make(path):
        os.makedirs(path)
        os.setxattr(path, "trusted.overlay.opaque", b"y")
        for name, text in files.items():
            write(os.path.join(path, name), text)
    return make


def test_combined_layers_of_three_scsi_layers_with_a_whiteout(storage):
    if not kernel_has("overlay"):
        pytest.skip("the kernel has no overlayfs")
    rig, b = storage.rig, storage.start()
    layers = [  # top-most first, as hcsshim sends them
        {"b": "top b\n"},
        {"a": whiteout, "dir": opaque_dir({"y": "middle y\n"}), "c": "middle c\n"},
        {"a": "bottom a\n", "b": "bottom b\n", "dir/x": "bottom x\n"},
    ]
    paths = []
    for lun, files in enumerate(layers, start=3):
        rig.disk(1, lun, size=16 * MiB, files=files)
        mp = rig.path(f"mounts/scsi/m{lun}")
        ok(modify(b, "MappedVirtualDisk", disk(mp, 1, lun, ReadOnly=True)))
        paths.append(mp)
    scratch_image, _ = rig.disk(1, 10, size=32 * MiB, fs=False)
    bundle = rig.path("gcs/c/c1")
    ok(modify(b, "MappedVirtualDisk", disk(bundle, 1, 10, EnsureFilesystem=True,
                                          Filesystem="ext4")))
    root, scratch = bundle + "/rootfs", bundle + "/scratch/c1"
    combined = {"ContainerID": "c1", "ContainerRootPath": root,
                "Layers": [{"Path": p, "Id": f"l{i}"} for i, p in enumerate(paths)],
                "ScratchPath": scratch}
    ok(modify(b, "CombinedLayers", combined))

    assert mountinfo(root)[1] == "overlay"
    assert not os.path.exists(root + "/a")  # whited out by the middle layer
    assert read(root + "/b") == "top b\n"
    assert read(root + "/c") == "middle c\n"
    assert sorted(os.listdir(root + "/dir")) == ["y"]  # opaque: bottom x hidden
    write(root + "/new", "container write\n")
    os.unlink(root + "/b")
    assert read(scratch + "/upper/new") == "container write\n"
    assert read(paths[0] + "/b") == "top b\n"  # layers are never written

    ok(modify(b, "CombinedLayers", {"ContainerRootPath": root}, "Remove"))
    assert mountinfo(root) is None and not os.path.exists(root)
    ok(modify(b, "CombinedLayers", {"ContainerRootPath": root}, "Remove"))
    for lun, mp in enumerate(paths, start=3):
        ok(modify(b, "MappedVirtualDisk", disk(mp, 1, lun, ReadOnly=True), "Remove"))
    ok(modify(b, "MappedVirtualDisk", disk(bundle, 1, 10), "Remove"))
    assert debugfs_cat(scratch_image, "/scratch/c1/upper/new") == "container write\n"
    r = fsck_clean(scratch_image)
    assert r.returncode == 0, r.stdout + r.stderr


def test_combined_layers_without_scratch_is_read_only(storage):
    rig, b = storage.rig, storage.start()
    paths = []
    for i, files in enumerate([{"top": "t\n"}, {"bottom": "b\n"}]):
        d = rig.path(f"layers/dir{i}")
        os.makedirs(d)
        for name, text in files.items():
            write(os.path.join(d, name), text)
        paths.append(d)
    root = rig.path("gcs/c/ro/rootfs")
    ok(modify(b, "CombinedLayers", {"ContainerRootPath": root,
                                    "Layers": [{"Path": p} for p in paths]}))
    assert sorted(os.listdir(root)) == ["bottom", "top"]
    assert "ro" in mountinfo(root)[2]
    ok(modify(b, "CombinedLayers", {"ContainerRootPath": root}, "Remove"))
    assert not os.path.exists(root)
    msg = failed(modify(b, "CombinedLayers", {"ContainerRootPath": root}), HR.INVALID_ARG)
    assert "no layers" in msg


# -- what this kernel cannot do: clear, prompt errors -----------------------------------------

def test_plan9_share_errors_are_clear_without_a_server_or_9p(storage):
    rig, b = storage.rig, storage.start()
    mp = rig.path("gcs/c/c1/mounts/m0")
    share = {"MountPath": mp, "Port": 564, "ShareName": "3", "ReadOnly": True}
    msg = failed(modify(b, "MappedDirectory", share, timeout=10), HR.E_FAIL)
    assert msg.startswith('MappedDirectory Add: Plan 9 share "3": connect to the 9P server at')
    assert b.gcs.prefix + "_564" in msg  # the unix transport's port 564
    assert not os.path.exists(mp)
    if kernel_has("9p"):
        pytest.skip("this kernel has 9p: the mount itself runs in the VM test")
    server = b.gcs.listen(564)
    start = time.monotonic()
    msg = failed(modify(b, "MappedDirectory", share, timeout=10), HR.E_FAIL)
    assert time.monotonic() - start < 5
    assert 'Plan 9 share "3"' in msg and "the kernel has no 9p filesystem" in msg
    conn = server.accept(timeout=5)  # it did dial, then closed its end
    conn.settimeout(5)
    assert conn.recv(1) == b""
    conn.close()
    assert not os.path.exists(mp)
    msg = failed(modify(b, "MappedDirectory", dict(share, ShareName="a,b")), HR.INVALID_ARG)
    assert "may not contain commas" in msg


def test_vpmem_whole_device_mounts_and_mapping_needs_device_mapper(storage):
    rig, b = storage.rig, storage.start(timeout_ms=300)
    image = rig.image("pmem.img", 16 * MiB, files={"layer.txt": "pmem layer\n"})
    n = rig.attach(image)
    node = rig.node("pmem0", n)
    mp = rig.path("layers/p0")
    # DeviceNumber 0 is omitted by the host.
    ok(modify(b, "VPMemDevice", {"DeviceNumber": 0, "MountPath": mp}))
    source, fstype, opts, sopts, _ = mountinfo(mp)
    assert (source, fstype) == (node, "ext4") and "ro" in opts and "norecovery" in sopts
    assert read(mp + "/layer.txt") == "pmem layer\n"
    ok(modify(b, "VPMemDevice", {"DeviceNumber": 0, "MountPath": mp}, "Remove"))
    assert not os.path.exists(mp)

    # A mapping needs a dm-linear device; this build machine has no
    # device-mapper (and the fake /dev no mapper/control): a clear error.
    rig.node("pmem1", n)
    mapped = {"DeviceNumber": 1, "MountPath": rig.path("layers/p1-0-8388608"),
              "MappingInfo": {"DeviceSizeInBytes": 8 * MiB}}
    msg = failed(modify(b, "VPMemDevice", mapped), HR.E_FAIL)
    assert msg.startswith("VPMemDevice Add: VPMem device 1: ")
    assert "dm-linear-pmem1-0-8388608" in msg and "device-mapper is not available" in msg
    assert not os.path.exists(mapped["MountPath"])
    ok(modify(b, "VPMemDevice", mapped, "Remove"))
    msg = failed(modify(b, "VPMemDevice", dict(mapped, MappingInfo={
        "DeviceOffsetInBytes": 1, "DeviceSizeInBytes": 4096})), HR.INVALID_ARG)
    assert "multiples of 512" in msg

    # A device that never appears: the configured wait, then its name.
    start = time.monotonic()
    msg = failed(modify(b, "VPMemDevice", {"DeviceNumber": 7, "MountPath": rig.path("layers/p7")}),
                 HR.E_FAIL)
    assert 0.3 <= time.monotonic() - start < 5
    assert "VPMem device 7" in msg and rig.dev + "/pmem7 did not appear" in msg


# -- dm-verity and encrypted scratch (the devices themselves: test_storage_vm.py) --------

def test_verity_info_is_read_checked_and_needs_device_mapper(storage):
    """VerityInfo as an hcsshim v0.11 host sends it for a layer VHD with a
    verity superblock (internal/uvm/vpmem.go, scsi.go): decoded, checked
    before any device is touched, and on this machine (no device-mapper)
    refused naming the verity device rather than mounted unverified."""
    if not shutil.which("veritysetup"):
        pytest.skip("veritysetup (cryptsetup-bin) is not installed")
    rig, b = storage.rig, storage.start(timeout_ms=300)
    image = os.path.join(rig.img, "verity.img")
    root = verity_format(image, {"layer.txt": "verity layer\n"}, 4 * MiB)
    info = host_verity_info(image)
    assert info["RootDigest"] == root
    rig.node("pmem0", rig.attach(image))
    mp = rig.path("layers/p0")
    msg = failed(modify(b, "VPMemDevice", {"MountPath": mp, "VerityInfo": info}), HR.E_FAIL)
    assert msg.startswith("VPMemDevice Add: VPMem device 0: dm-verity dm-verity-pmem0")
    assert "device-mapper is not available" in msg
    assert not os.path.exists(mp)
    ok(modify(b, "VPMemDevice", {"MountPath": mp, "VerityInfo": info}, "Remove"))
    # Without VerityInfo the same device mounts as it is.
    ok(modify(b, "VPMemDevice", {"MountPath": mp}))
    assert read(mp + "/layer.txt") == "verity layer\n"
    ok(modify(b, "VPMemDevice", {"MountPath": mp}, "Remove"))
    # Values no kernel would take are refused first, naming the field.
    for field, value in (("RootDigest", "not-hex"), ("BlockSize", 1000), ("Version", 7),
                         ("Salt", "abc"), ("Ext4SizeInBytes", 4097)):
        msg = failed(modify(b, "VPMemDevice", {"MountPath": mp,
                                               "VerityInfo": dict(info, **{field: value})}),
                     HR.INVALID_ARG)
        assert msg.startswith(f"VPMemDevice Add: VPMem device 0: VerityInfo: {field}"), msg
    # SCSI: the same for a read-only layer; a writable disk cannot be verity.
    rig.disk(0, 4)
    smp = rig.path("mounts/scsi/m4")
    msg = failed(modify(b, "MappedVirtualDisk", disk(smp, 0, 4, VerityInfo=info)),
                 HR.INVALID_ARG)
    assert "VerityInfo needs a ReadOnly disk" in msg
    msg = failed(modify(b, "MappedVirtualDisk", disk(smp, 0, 4, ReadOnly=True, VerityInfo=info)),
                 HR.E_FAIL)
    assert "SCSI controller 0 LUN 4: dm-verity dm-verity-scsi-contr0-lun4-p0" in msg
    assert "device-mapper is not available" in msg
    assert not os.path.exists(smp)


def test_encrypted_scratch_needs_device_mapper(storage):
    rig, b = storage.rig, storage.start()
    image, _ = rig.disk(0, 6, fs=False)
    mp = rig.path("gcs/c/enc")
    # As a host with scratch encryption sends it (hcsshim v0.14
    # internal/layers/lcow.go): Filesystem xfs, EnsureFilesystem.
    msg = failed(modify(b, "MappedVirtualDisk", disk(mp, 0, 6, Encrypted=True,
                                                      EnsureFilesystem=True, Filesystem="xfs")),
                 HR.E_FAIL)
    assert msg.startswith("MappedVirtualDisk Add: SCSI controller 0 LUN 6: dm-crypt "
                          "dm-crypt-scsi-contr0-lun6-p0")
    assert "device-mapper is not available" in msg
    assert not os.path.exists(mp)
    # Nothing was written to the disk: it never reached a plaintext format.
    with open(image, "rb") as f:
        assert f.read(1 << 20).count(0) == 1 << 20


# -- reply shape -----------------------------------------------------------------------------

def test_replies_echo_activity_and_stay_within_64k(storage):
    rig, b = storage.rig, storage.start()
    rig.disk(0, 2)
    mp = rig.path("mounts/scsi/shape")
    # Success: exactly the base; no ActivityId when the request had none.
    reply = modify(b, "MappedVirtualDisk", disk(mp, 0, 2), activity=None)
    assert reply.json == {"Result": 0}
    reply = modify(b, "MappedVirtualDisk", disk(mp, 0, 2), "Remove", activity=GUID.upper())
    assert reply.json == {"Result": 0, "ActivityId": GUID.upper()}
    # Failure with a huge path: the text is cut, the message stays small.
    huge = "/" + "x" * 200000
    reply = modify(b, "MappedVirtualDisk", disk(huge, 0, 2))
    assert reply.result == HR.INVALID_ARG and reply.size <= 65536
    assert set(reply.json) == {"Result", "ActivityId", "ErrorMessage", "ErrorRecords"}
    assert reply.json["Result"] == HR.INVALID_ARG - (1 << 32)  # signed int32 on the wire
    assert reply.error.startswith("MappedVirtualDisk Add: ")
    rec = reply.json["ErrorRecords"]
    assert len(rec) == 1 and rec[0]["ModuleName"] == "gcs" and rec[0]["Message"] == reply.error
    assert json.loads(reply.raw) == reply.json
