"""End to end in a VM: the image (out/vmlinux + out/initrd.img, exactly as
built: its busybox runs the UVM processes) under QEMU (-accel tcg) with the
vhost-user vsock backend, driven through the bridge exactly as hcsshim
drives a utility VM (tests/vm/lcow_vm.py, tests/vm/lcow_ops.py).

One VM serves the module: boot (entropy on port 1, log on port 109, bridge
dialled and negotiated within BOOT_BOUND), a UVM process with stdin and
stdout, the storage cases through ModifySettings on real virtio devices
(SCSI LUNs read-only and read-write, a blank scratch formatted by the gcs,
VPMem with and without MappingInfo on virtio-pmem, a Plan 9 share served by
diod through the backend), the busybox container of spec §4.2, and at the
end a check that every log line was JSON. A second VM is shut down with
ShutdownGraceful and must end QEMU by itself.

A case skips only when the gcs itself answers E_NOTIMPL for the request it
needs (a handler not written yet), so the cases turn on as handlers land.
"""
import os
import shutil
import subprocess
import sys
import threading

import pytest

from conftest import BACKEND, INITRD, KERNEL, TOP, module_vm

sys.path.insert(0, os.path.join(TOP, "tests", "vm"))

import lcow_ops  # noqa: E402
from lcow_vm import (Diod, LcowVM, blank_disk, busybox_layer,  # noqa: E402
                     missing_prereqs)
from storage_host import ext4_image, pmem_image  # noqa: E402
from uvm_process import UvmHost, read_all  # noqa: E402

BOOT_BOUND = 60  # seconds from QEMU's launch to a negotiated bridge (TCG; ~3 s seen)
MiB = 1 << 20
# busybox for the container layer; mke2fs and debugfs for disk images.
HOST_TOOLS = ("/bin/busybox", "mke2fs", "debugfs")

LUN_LAYER, LUN_SCRATCH, LUN_RO, LUN_RW, LUN_BLANK = 1, 2, 3, 4, 5
# (offset, size) of two ext4 layers packed on the pmem device as hcsshim
# packs them (the second at a page-aligned, not MiB-aligned, offset).
PMEM_LAYERS = [(0, 4 * MiB), (4198400, 8 * MiB)]
PMEM_SIZE = 32 * MiB




def debugfs_cat(image, name):
    r = subprocess.run(["debugfs", "-R", f"cat /{name}", image], capture_output=True,
                       text=True)
    return r.stdout


class Uvm:
    """The module's VM: its images, the LcowVM, the negotiated UvmHost."""

    def __init__(self, work):
        self.work = work
        self.share = os.path.join(work, "share")
        os.mkdir(self.share)
        self.images = {
            LUN_LAYER: busybox_layer(os.path.join(work, "layer.img")),
            LUN_SCRATCH: blank_disk(os.path.join(work, "scratch.img"), 128),
            LUN_RO: ext4_image(os.path.join(work, "ro.img"), {"ro.txt": "read-only disk\n"}, 16),
            LUN_RW: ext4_image(os.path.join(work, "rw.img"), {"host.txt": "made on the host\n"},
                          16),
            LUN_BLANK: blank_disk(os.path.join(work, "blank.img"), 64),
        }
        disks = [(lun, path, lun in (LUN_LAYER, LUN_RO)) for lun, path in self.images.items()]
        self.vm = LcowVM(KERNEL, INITRD, BACKEND, disks=disks,
                         pmem=pmem_image(os.path.join(work, "pmem.img"), PMEM_SIZE, PMEM_LAYERS))
        self.diod = None
        self.host = UvmHost(self.vm)
        self.negotiated = None

    def start(self):
        self.vm.start()
        if shutil.which(Diod.PATH):
            self.diod = Diod(self.vm, self.share)
        self.host.bridge = self.vm.accept_bridge(BOOT_BOUND)
        self.negotiated = self.host.bridge.negotiate()
        self.vm.mark("negotiated")

    def sh(self, script, stdin=None, timeout=60):
        """Runs sh -c script in the UVM; returns (exit code, stdout, stderr)."""
        return self.host.sh(script, stdin, timeout)

    def mounts(self):
        code, out, err = self.sh("cat /proc/mounts")
        assert code == 0, err
        return {line.split()[1]: line.split() for line in out.splitlines()}

    def modify(self, resource, settings, request_type="Add"):
        reply = lcow_ops.modify(self.host, resource, settings, request_type)
        if lcow_ops.not_implemented(reply):
            pytest.skip(f"{resource} {request_type}: the gcs answered E_NOTIMPL ({reply.error})")
        assert reply.result == 0, f"{resource} {request_type}: {reply.json}"
        return reply


@pytest.fixture(scope="module")
def uvm():
    with module_vm(Uvm, "lcow-e2e-",
                   missing_prereqs(KERNEL, INITRD, BACKEND, HOST_TOOLS)) as u:
        yield u


def test_boot_entropy_log_negotiate_within_bound(uvm):
    m = uvm.vm.marks
    assert uvm.vm.entropy_sent == 512
    # hcsshim's order: entropy accepted and written, log accepted, then bridge.
    assert m["entropy"] <= m["bridge"] and m["log"] <= m["bridge"], m
    assert m["negotiated"] < BOOT_BOUND, m
    reply = uvm.negotiated.json
    assert reply["Version"] == 4
    caps = reply["Capabilities"]
    assert caps["RuntimeOsType"] == "Linux"
    assert {"Major": 2, "Minor": 1} in caps["SupportedSchemaVersions"]
    assert isinstance(caps["GuestDefinedCapabilities"], dict)
    # The log stream carries the gcs's own start-up lines as JSON, with
    # what init's boot steps took (bench-vm's split of the boot).
    e = uvm.vm.log.wait_for(lambda e: e["msg"] == "GCS started", timeout=10)
    steps = dict(kv.split("=") for kv in e["initStepsUs"].split(","))
    assert list(steps)[0] == "mounts", e
    # The cgroups, lo and the tools are set up in the background ("+"),
    # the tools beside the modules (this kernel has loop and squashfs built
    # in: nothing is deferred), and all of them are joined before the gcs
    # starts.
    order = ["+cgroups_setup", "+loopback_up", "+tools_mount", "modules_load",
             "join_modules", "+tools_mount_deferred", "entropy_seed", "join_gcs"]
    assert [s for s in steps if s in order] == order, e
    for step in order:
        assert steps[step].isdigit(), e


def test_time_sync_without_a_hyperv_clock_says_so(uvm):
    """QEMU gives no Hyper-V PTP clock: the gcs logs why chronyd does not run
    (the reference would exit) and serves on; the image has the chronyd it
    would run."""
    e = uvm.vm.log.wait_for(lambda e: "time sync not started" in e["msg"], timeout=10)
    assert e["level"] == "warning", e
    assert "PTP clock" in e["msg"], e
    code, out, err = uvm.sh("/sbin/chronyd -v")
    assert code == 0, err
    assert "+REFCLOCK" in out and "chronyd (chrony) version" in out, out


def test_init_loaded_the_virtio_vsock_module(uvm):
    """The virtio vsock transport is a module (kernel-config/lcow.config), and
    the command line has no initcall_blacklist: init loaded it because the
    virtio-vsock device is there, its dependency first, before the entropy
    dial. The boot working at all shows vsock works; this shows how."""
    code, out, err = uvm.sh("cat /proc/modules; echo @@; dmesg; echo @@; cat /proc/cmdline; "
                            "echo @@; zcat /proc/config.gz | grep VIRTIO_VSOCKETS")
    assert code == 0, err
    modules, dmesg, cmdline, config = out.split("@@\n")
    live = {line.split()[0]: line.split() for line in modules.splitlines()}
    assert set(live) == {"vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common"}, \
        modules
    # (No "used by" column to check: without MODULE_UNLOAD it reads "-".)
    assert all(fields[4] == "Live" for fields in live.values()), modules
    assert "initcall_blacklist" not in cmdline, cmdline
    assert "CONFIG_VIRTIO_VSOCKETS=m" in config.split(), config
    lines = dmesg.splitlines()

    def at(record):
        """The line number of init's kmsg record (dmesg adds a time prefix)."""
        found = [i for i, line in enumerate(lines) if line.endswith("init: " + record)]
        assert found, f"{record!r} not in dmesg:\n" + dmesg[-3000:]
        return found[0]
    assert (at("modules: loaded vmw_vsock_virtio_transport_common")
            < at("modules: loaded vmw_vsock_virtio_transport")
            < at("entropy: added 512 bytes from port 1")), dmesg[-3000:]
    assert "init: modules: 2 loaded, 0 failed in 1 pass(es)" in uvm.vm.console_text()


def test_cgroup2_is_mounted_favoring_dynamic_modifications(uvm):
    """init mounts cgroup2 with favordynmods (Linux 6.0+): moving a task
    between cgroups (the gcs at start-up, each container) then waits for no
    RCU grace period."""
    fields = uvm.mounts()["/sys/fs/cgroup"]
    assert fields[2] == "cgroup2", fields
    assert "favordynmods" in fields[3].split(","), fields


def test_cold_tools_run_from_the_squashfs(uvm):
    """The tools an idle guest never runs (runc, busybox, mke2fs, chronyd)
    are not unpacked into the initramfs: /init mounted the initrd's xz
    squashfs on /lib/lcow/tools from a loop device, and they run from there
    (issue 17). The rootfs itself holds only their compressed image."""
    code, out, err = uvm.sh("grep ' /lib/lcow/tools ' /proc/mounts; echo @@; "
                            "for f in /usr/bin/runc /bin/busybox /sbin/mke2fs /sbin/chronyd; do "
                            "stat -f -c %T $(readlink -f $f); done; echo @@; "
                            "stat -f -c %T /bin/gcs; dmesg | grep 'init: tools:'")
    assert code == 0, err
    mount, types, rest = out.split("@@\n")
    dev, mp, fstype, opts = mount.split()[:4]
    assert (mp, fstype) == ("/lib/lcow/tools", "squashfs") and dev.startswith("/dev/loop"), mount
    assert "ro" in opts.split(","), mount
    assert types.split() == ["squashfs"] * 4, types
    assert rest.split()[0] in ("tmpfs", "ramfs"), rest
    assert f"tools: /lib/lcow/tools.squashfs mounted on /lib/lcow/tools from {dev}" in rest


def test_uvm_process_stdin_stdout(uvm):
    data = os.urandom(256 * 1024)
    proc = uvm.host.execute(["cat"], stdin=True, stdout=True)
    writer = threading.Thread(target=lambda: (proc.stdin.sendall(data), proc.close_stdin()),
                              daemon=True)
    writer.start()
    out = read_all(proc.stdout)
    writer.join(30)
    proc.close()
    assert out == data
    assert proc.wait().json["ExitCode"] == 0
    code, out, err = uvm.sh("echo out; echo err >&2; read line; echo got $line; exit 7",
                            stdin=b"typed\n")
    assert (code, out, err) == (7, "out\ngot typed\n", "err\n")


def test_scsi_read_only_disk(uvm):
    mp = "/run/mounts/scsi/m10"
    settings = {"MountPath": mp, "Lun": LUN_RO, "ReadOnly": True, "Options": ["ro"]}
    uvm.modify("MappedVirtualDisk", settings)
    entry = uvm.mounts()[mp]
    assert entry[2] == "ext4" and "ro" in entry[3].split(","), entry
    code, out, err = uvm.sh(f"cat {mp}/ro.txt && ! touch {mp}/new 2>/dev/null")
    assert (code, out) == (0, "read-only disk\n"), err
    uvm.modify("MappedVirtualDisk", settings, "Remove")
    assert mp not in uvm.mounts()
    assert uvm.sh(f"test -e {mp}")[0] != 0


def test_scsi_read_write_disk(uvm):
    mp = "/run/mounts/scsi/m11"
    settings = {"MountPath": mp, "Lun": LUN_RW}
    uvm.modify("MappedVirtualDisk", settings)
    entry = uvm.mounts()[mp]
    assert entry[2] == "ext4" and "rw" in entry[3].split(","), entry
    code, out, err = uvm.sh(f"cat {mp}/host.txt && echo from the guest > {mp}/guest.txt")
    assert (code, out) == (0, "made on the host\n"), err
    uvm.modify("MappedVirtualDisk", settings, "Remove")
    uvm.modify("SCSIDevice", {"Lun": LUN_RW}, "Remove")
    assert uvm.sh(f"test -e /sys/bus/scsi/devices/0:0:0:{LUN_RW}")[0] != 0
    # Unmounted in the guest, so everything is in the image file.
    assert debugfs_cat(uvm.images[LUN_RW], "guest.txt") == "from the guest\n"


def test_scsi_blank_scratch_formatted(uvm):
    mp = "/run/gcs/c/e2e-scratch"
    settings = {"MountPath": mp, "Lun": LUN_BLANK, "EnsureFilesystem": True,
                "Filesystem": "ext4"}
    uvm.modify("MappedVirtualDisk", settings)
    entry = uvm.mounts()[mp]
    assert entry[2] == "ext4" and "rw" in entry[3].split(","), entry
    code, _, err = uvm.sh(f"echo scratch > {mp}/s.txt")
    assert code == 0, err
    uvm.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_BLANK}, "Remove")
    image = uvm.images[LUN_BLANK]
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert debugfs_cat(image, "s.txt") == "scratch\n"


def test_vpmem_whole_device_without_mapping_info(uvm):
    mp = "/run/layers/p0"
    settings = {"DeviceNumber": 0, "MountPath": mp}
    uvm.modify("VPMemDevice", settings)
    entry = uvm.mounts()[mp]
    assert entry[0] == "/dev/pmem0" and "ro" in entry[3].split(","), entry
    code, out, err = uvm.sh(f"cat {mp}/layer0.txt")
    assert (code, out) == (0, "layer 0\n"), err
    uvm.modify("VPMemDevice", settings, "Remove")
    assert mp not in uvm.mounts()


def test_vpmem_mapped_layer_with_mapping_info(uvm):
    off, size = PMEM_LAYERS[1]
    mp = f"/run/layers/p0-{off}-{size}"
    settings = {"DeviceNumber": 0, "MountPath": mp,
                "MappingInfo": {"DeviceOffsetInBytes": off, "DeviceSizeInBytes": size}}
    uvm.modify("VPMemDevice", settings)
    entry = uvm.mounts()[mp]
    dm = f"/dev/mapper/dm-linear-pmem0-{off}-{size}"
    assert entry[0] == dm and "ro" in entry[3].split(","), entry
    code, out, err = uvm.sh(f"cat {mp}/layer1.txt; test ! -e {mp}/layer0.txt")
    assert (code, out) == (0, "layer 1\n"), err
    uvm.modify("VPMemDevice", settings, "Remove")
    assert mp not in uvm.mounts()
    assert uvm.sh(f"test -e {dm}")[0] != 0


def test_plan9_share_both_ways(uvm):
    if uvm.diod is None:
        pytest.skip("no diod (mk/packages lists it; run mk/setup.sh)")
    with open(os.path.join(uvm.share, "host.txt"), "w") as f:
        f.write("from the host\n")
    mp = "/run/gcs/c/e2e/mounts/m0"
    settings = {"MountPath": mp, "Port": 564, "ShareName": uvm.share}
    uvm.modify("MappedDirectory", settings)
    assert uvm.mounts()[mp][2] == "9p"
    assert uvm.diod.connections == 1  # one vsock connection per mount, through the backend
    code, out, err = uvm.sh(f"cat {mp}/host.txt && echo from the guest > {mp}/guest.txt")
    assert (code, out) == (0, "from the host\n"), err
    with open(os.path.join(uvm.share, "guest.txt")) as f:
        assert f.read() == "from the guest\n"
    with open(os.path.join(uvm.share, "later.txt"), "w") as f:
        f.write("written while mounted\n")
    code, out, err = uvm.sh(f"cat {mp}/later.txt")
    assert (code, out) == (0, "written while mounted\n"), err
    uvm.modify("MappedDirectory", settings, "Remove")
    assert mp not in uvm.mounts()
    # Read-only: the guest cannot write.
    ro = dict(settings, MountPath="/run/gcs/c/e2e/mounts/m1", ReadOnly=True)
    uvm.modify("MappedDirectory", ro)
    code, _, _ = uvm.sh(f"echo x > {ro['MountPath']}/nope.txt")
    assert code != 0 and not os.path.exists(os.path.join(uvm.share, "nope.txt"))
    uvm.modify("MappedDirectory", ro, "Remove")


def test_busybox_container(uvm):
    c = lcow_ops.Container(uvm.host, "e2e-busybox", LUN_LAYER, LUN_SCRATCH, layer_index=20)
    for step in (c.attach_layer, c.attach_scratch, c.combine_layers):
        reply = step()
        assert reply.result == 0, reply.json
    reply = c.create(["/bin/sh", "-c", "echo hello from lcow-guest; echo to stderr >&2; "
                      "cat /etc/hostname 2>/dev/null || hostname"])
    if lcow_ops.not_implemented(reply):
        for step in (c.remove_layers, c.detach_scratch, c.detach_layer):
            assert step().result == 0
        pytest.skip(f"Create: the gcs answered E_NOTIMPL ({reply.error})")
    assert reply.result == 0, reply.json
    assert c.start().result == 0
    reply, proc = c.execute_init()
    assert reply.result == 0, reply.json
    wait_id = c.send_wait(proc.pid)
    box = {}
    t = threading.Thread(target=lambda: box.update(err=read_all(proc.stderr)), daemon=True)
    t.start()
    out = read_all(proc.stdout)
    t.join(60)
    proc.close()
    assert out == b"hello from lcow-guest\nlcow\n"
    assert box["err"] == b"to stderr\n"
    wait = uvm.host.bridge.wait_reply(wait_id, timeout=60)
    assert wait.result == 0 and wait.json["ExitCode"] == 0, wait.json
    note = uvm.host.bridge.wait_notification(timeout=30)
    assert note.json["ContainerId"] == c.cid
    for step in (c.remove_layers, c.detach_scratch, lambda: c.unplug(LUN_SCRATCH),
                 c.detach_layer, lambda: c.unplug(LUN_LAYER), c.delete_state):
        reply = step()
        assert reply.result == 0, reply.json
    mounts = uvm.mounts()
    assert not [m for m in mounts if m.startswith(c.bundle) or m == c.layer_path], mounts


def test_log_stream_is_json_throughout(uvm):
    """Every line the gcs wrote on port 109 during the cases above parsed as
    hcsshim's log parser needs (any other byte stops its parsing)."""
    uvm.sh("true")
    log = uvm.vm.log
    assert log.bad == [], log.bad[:5]
    assert len(log.entries) > 20


def test_shutdown_graceful_powers_the_vm_off():
    missing = missing_prereqs(KERNEL, INITRD, BACKEND, HOST_TOOLS)
    if missing:
        pytest.skip("no " + ", ".join(missing))
    vm = LcowVM(KERNEL, INITRD, BACKEND)
    try:
        vm.start()
        host = UvmHost(vm)
        host.bridge = vm.accept_bridge(BOOT_BOUND)
        host.bridge.negotiate()
        reply = lcow_ops.shutdown_uvm(host)
        if reply is not None and lcow_ops.not_implemented(reply):
            pytest.skip(f"ShutdownGraceful on the UVM: the gcs answered E_NOTIMPL "
                        f"({reply.error})")
        assert reply is None or reply.result == 0, reply.json
        rc = vm.wait_exit(30)
        assert rc == 0, f"QEMU still running or failed ({rc})\n" + vm.diagnostics()
        assert "init: powering off" in vm.console_text() or "Power down" in vm.console_text()
        assert host.bridge.closed_by_guest(5)
    finally:
        pids = [p.pid for p in (vm.qemu, vm.backend) if p is not None]
        vm.close()
    # Nothing left behind: QEMU and the backend reaped, sockets and files gone.
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), pid
    assert not os.path.exists(vm.dir)
