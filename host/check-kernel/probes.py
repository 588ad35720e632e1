"""The probes of `make check-kernel`: a kernel booted under QEMU with our
release initrd (plus its modules), driven through the bridge with the
operations a host performs, one probe per capability of
kernel-config/lcow.config. Each probe returns a Result; a probe never
raises: what went wrong is its detail. Standard library only; the VM, the
bridge and the host operations are tests/vm's and tests/lib's.
"""
import json
import os
import re
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
import sys  # noqa: E402
sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

import lcow_ops  # noqa: E402
from gcs_host import NULL_GUID, Msg  # noqa: E402
from lcow_vm import KERNEL_OPTIONS, Diod, LcowVM, blank_disk, busybox_layer, cmdline  # noqa: E402
from uvm_process import UvmHost, read_all, read_until  # noqa: E402
from storage_host import host_verity_info, pmem_image, verity_format  # noqa: E402

MiB = 1 << 20
LUN_LAYER, LUN_SCRATCH, LUN_BLANK, LUN_OOM, LUN_CRYPT, LUN_XFS = 1, 2, 3, 4, 5, 6
PMEM_LAYERS = [(0, 4 * MiB), (4198400, 8 * MiB)]  # page-, not MiB-aligned
# A layer made by veritysetup (tar2ext4 --append-dm-verity's layout) after them.
VERITY_AT, VERITY_FS, VERITY_IMAGE = 16 * MiB, 4 * MiB, 5 * MiB
VERITY_TEXT = "verity layer\n"
PMEM_SIZE = 24 * MiB
MARKER = b"LCOW-CHECK-KERNEL-PLAINTEXT-7f3e"
LIMITS = {"memory": {"limit": 64 * MiB}, "cpu": {"shares": 512, "quota": 50000,
                                                 "period": 100000},
          "pids": {"limit": 64}}
# Refuses mkdir with EPERM, allows the rest: what a profile does to a container.
SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": 1}]}


class Result:
    def __init__(self, verdict, detail, seconds=0.0):
        self.verdict = verdict    # "pass", "fail" or "skip" (not probed, and why)
        self.detail = detail
        self.seconds = seconds

    def json(self):
        return {"verdict": self.verdict, "detail": self.detail,
                "seconds": round(self.seconds, 2)}


class ProbeFailed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise ProbeFailed(what)


def ok(reply, what):
    if reply.result != 0:
        raise ProbeFailed(f"{what}: HRESULT {reply.result & 0xffffffff:#010x} {reply.error}")
    return reply


def add_verity_layer(pmem, work):
    """The VerityInfo of a verity layer written at VERITY_AT, or None
    without veritysetup on this machine."""
    if not shutil.which("veritysetup", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        return None
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    layer = os.path.join(work, "verity.vhd")
    verity_format(layer, {"verity.txt": VERITY_TEXT}, VERITY_FS, VERITY_IMAGE)
    info = host_verity_info(layer)
    with open(layer, "rb") as src, open(pmem, "r+b") as dst:
        dst.seek(VERITY_AT)
        dst.write(src.read())
    os.unlink(layer)
    return info


class Guest:
    """One VM with the image and the kernel under test, negotiated."""

    def __init__(self, kernel, initrd, backend, work, say, extra_options="", disks=(),
                 pmem=None, boot_timeout=180):
        self.say = say
        self.work = work
        self.share = None
        options = KERNEL_OPTIONS + (" " + extra_options if extra_options else "")
        self.vm = LcowVM(kernel, initrd, backend, append=cmdline(options), disks=disks,
                         pmem=pmem, boot_timeout=boot_timeout, on_mark=self._mark)
        self.host = UvmHost(self.vm)
        self.diod = None
        self.boot_seconds = None

    def _mark(self, name, seconds):
        if name in ("entropy", "log", "bridge"):
            self.say(f"  {name} after {seconds:.1f}s")

    def start(self, with_share=False):
        self.vm.start()
        if with_share and os.path.exists(Diod.PATH):
            self.share = os.path.join(self.work, "share")
            os.makedirs(self.share, exist_ok=True)
            self.diod = Diod(self.vm, self.share)
        self.host.bridge = self.vm.accept_bridge()
        self.host.bridge.negotiate()
        self.vm.mark("negotiated")
        self.boot_seconds = self.vm.marks["negotiated"]

    def sh(self, script, timeout=60):
        return self.host.sh(script, timeout=timeout)

    def mounts(self):
        code, out, err = self.sh("cat /proc/mounts")
        expect(code == 0, f"cat /proc/mounts: {err}")
        return {line.split()[1]: line.split() for line in out.splitlines()}

    def modify(self, resource, settings, request_type="Add"):
        return ok(lcow_ops.modify(self.host, resource, settings, request_type),
                  f"{resource} {request_type}")

    def close(self):
        self.vm.close()


def run_probe(fn, *args):
    t = time.monotonic()
    try:
        detail = fn(*args)
        return Result("pass", detail, time.monotonic() - t)
    except ProbeFailed as e:
        return Result("fail", str(e), time.monotonic() - t)
    except (AssertionError, TimeoutError, EOFError, ConnectionError, RuntimeError, OSError,
            KeyError, ValueError) as e:
        return Result("fail", f"{type(e).__name__}: {str(e)[:300]}", time.monotonic() - t)


# -- the probes ------------------------------------------------------------------------

def probe_vsock(g):
    code, out, err = g.sh("cat /proc/modules; ls /sys/bus/virtio/drivers")
    expect(code == 0, err)
    loaded = [line.split()[0] for line in out.splitlines() if " Live " in line]
    transport = "vmw_vsock_virtio_transport" + (
        " (module)" if "vmw_vsock_virtio_transport" in loaded else " (built in)")
    return f"bridge, log and entropy over virtio vsock; transport {transport}"


def probe_scsi(g, images):
    mp = "/run/gcs/c/probe-scsi"
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_BLANK,
                                   "EnsureFilesystem": True, "Filesystem": "ext4"})
    entry = g.mounts().get(mp)
    expect(entry and entry[2] == "ext4", f"{mp} not mounted ext4: {entry}")
    code, _, err = g.sh(f"echo probe > {mp}/probe.txt && sync")
    expect(code == 0, f"write on the formatted disk: {err}")
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_BLANK}, "Remove")
    g.modify("SCSIDevice", {"Lun": LUN_BLANK}, "Remove")
    fsck = subprocess.run(["e2fsck", "-fn", images[LUN_BLANK]], capture_output=True, text=True)
    expect(fsck.returncode == 0, "e2fsck on the host: " + fsck.stdout[-300:])
    cat = subprocess.run(["debugfs", "-R", "cat /probe.txt", images[LUN_BLANK]],
                         capture_output=True, text=True)
    expect(cat.stdout == "probe\n", f"the file written in the guest: {cat.stdout!r}")
    return (f"LUN {LUN_BLANK} attached, formatted ext4 by the gcs (EnsureFilesystem), "
            "written, unplugged; e2fsck clean on the host")


def probe_vpmem(g):
    mp = "/run/layers/p0"
    settings = {"DeviceNumber": 0, "MountPath": mp}
    g.modify("VPMemDevice", settings)
    entry = g.mounts().get(mp)
    expect(entry and entry[0] == "/dev/pmem0", f"whole device: {entry}")
    code, out, _ = g.sh(f"cat {mp}/layer0.txt")
    expect((code, out) == (0, "layer 0\n"), f"layer 0 read back {out!r}")
    g.modify("VPMemDevice", settings, "Remove")
    return "/dev/pmem0 mounted read-only as a layer (ext4 over DAX-capable pmem)"


def probe_dm(g):
    off, size = PMEM_LAYERS[1]
    mp = f"/run/layers/p0-{off}-{size}"
    settings = {"DeviceNumber": 0, "MountPath": mp,
                "MappingInfo": {"DeviceOffsetInBytes": off, "DeviceSizeInBytes": size}}
    g.modify("VPMemDevice", settings)
    entry = g.mounts().get(mp)
    dm = f"/dev/mapper/dm-linear-pmem0-{off}-{size}"
    expect(entry and entry[0] == dm, f"mapped layer: {entry}")
    code, out, _ = g.sh(f"cat {mp}/layer1.txt")
    expect((code, out) == (0, "layer 1\n"), f"layer 1 read back {out!r}")
    g.modify("VPMemDevice", settings, "Remove")
    return f"a layer at offset {off} of /dev/pmem0 mounted through dm-linear ({dm})"


def probe_plan9(g):
    if g.diod is None:
        return None
    with open(os.path.join(g.share, "host.txt"), "w") as f:
        f.write("from the host\n")
    mp = "/run/gcs/c/probe/mounts/m0"
    settings = {"MountPath": mp, "Port": 564, "ShareName": g.share}
    g.modify("MappedDirectory", settings)
    entry = g.mounts().get(mp)
    expect(entry and entry[2] == "9p", f"{mp}: {entry}")
    code, out, err = g.sh(f"cat {mp}/host.txt && echo from the guest > {mp}/guest.txt")
    expect((code, out) == (0, "from the host\n"), f"read/write over 9P: {out!r} {err}")
    with open(os.path.join(g.share, "guest.txt")) as f:
        expect(f.read() == "from the guest\n", "the guest's file on the host")
    g.modify("MappedDirectory", settings, "Remove")
    return "a share served by diod over vsock port 564 mounted (9P, fd transport), both ways"


CONTAINER_SCRIPT = (
    "echo pid=$$; hostname; for n in net pid mnt uts ipc; do echo ns $n $(readlink "
    "/proc/self/ns/$n); done; if mkdir /tmp/probe-dir 2>/dev/null; then echo mkdir=allowed; "
    "else echo mkdir=denied; fi; echo ready; exec sleep 120")


def container_properties(g, cid):
    reply = g.host.bridge.request(Msg.GET_PROPERTIES, {
        "ContainerId": cid, "ActivityId": NULL_GUID,
        "Query": json.dumps({"PropertyTypes": ["Statistics"]})}, timeout=60)
    ok(reply, "GetProperties Statistics")
    return json.loads(reply.json["Properties"])


def create(c, args, resources, seccomp=None):
    spec = lcow_ops.oci_spec(args, c.rootfs)
    spec["linux"]["resources"] = resources
    if seccomp:
        spec["linux"]["seccomp"] = seccomp
    config = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": c.bundle,
              "OciSpecification": spec, "ScratchDirPath": c.scratch_dir}
    return c.host.bridge.request(Msg.CREATE, {
        "ContainerId": c.cid, "ActivityId": NULL_GUID,
        "ContainerConfig": json.dumps(config)}, timeout=lcow_ops.RPC_TIMEOUT)


def wait_note(g, cid, timeout):
    """The next exit notification for container cid (others are dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        note = g.host.bridge.wait_notification(timeout=max(deadline - time.monotonic(), 0.1))
        if note.json.get("ContainerId") == cid:
            return note.json


def cgroup_files(g, cid, names):
    """{file: content} of the container's cgroup directory (v2) or
    directories (v1: one per controller), found by its id."""
    code, out, err = g.sh(
        f"for d in $(find /sys/fs/cgroup -type d -name {cid}); do for f in {' '.join(names)}; "
        f"do test -f $d/$f && echo \"$f=$(cat $d/$f)\"; done; done; true")
    expect(code == 0, f"reading the container's cgroup: {err}")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def probe_container(g, limits_files):
    """overlay + namespaces + seccomp + cgroup limits + statistics: one
    container, as hcsshim creates it (§4.2), then torn down. Returns
    {capability: Result} for the rows it covers."""
    res = {}
    t = time.monotonic()
    c = lcow_ops.Container(g.host, "probe-limits", LUN_LAYER, LUN_SCRATCH)
    try:
        ok(c.attach_layer(), "MappedVirtualDisk (layer)")
        ok(c.attach_scratch(), "MappedVirtualDisk (scratch)")
        ok(c.combine_layers(), "CombinedLayers")
        entry = g.mounts().get(c.rootfs)
        expect(entry and entry[2] == "overlay", f"container root: {entry}")
        res["overlay"] = Result("pass", f"CombinedLayers mounted overlay at {c.rootfs}",
                                time.monotonic() - t)
    except ProbeFailed as e:
        res["overlay"] = Result("fail", str(e), time.monotonic() - t)
        return res, None
    t = time.monotonic()
    try:
        ok(create(c, ["/bin/sh", "-c", CONTAINER_SCRIPT], LIMITS, SECCOMP), "Create")
        ok(c.start(), "Start")
        reply, proc = c.execute_init()
        ok(reply, "ExecuteProcess (container init)")
        out = read_until(proc.stdout, b"ready\n", timeout=60).decode(errors="replace")
        code, uvm, _ = g.sh("for n in net pid mnt uts ipc; do echo ns $n "
                            "$(readlink /proc/self/ns/$n); done")
        host_ns = set(uvm.splitlines())
        mine = [line for line in out.splitlines() if line.startswith("ns ")]
        shared = [line for line in mine if line in host_ns]
        if len(mine) == 5 and not shared and "pid=1" in out.split():
            res["namespaces"] = Result("pass", "the container has its own net, pid (it is "
                                       "pid 1), mnt, uts and ipc namespaces", 0)
        else:
            res["namespaces"] = Result("fail", f"namespaces shared with the UVM: {shared} "
                                       f"(container said {out!r})", 0)
        res["syscalls"] = Result("pass", "runc created and started a container; its "
                                 "shell ran", 0)
        if "mkdir=denied" in out:
            res["seccomp"] = Result("pass", "a profile refusing mkdir(2) with EPERM was "
                                    "enforced in the container", 0)
        else:
            res["seccomp"] = Result("fail", f"mkdir was not refused: {out!r}", 0)
        files = cgroup_files(g, c.cid, limits_files)
        stats = container_properties(g, c.cid)
        lim = stats.get("LCOWMetrics", {}).get("memory", {}).get("usage", {}).get("limit")
        res["_limits"] = (files, lim)
        wait_id = c.send_wait(proc.pid)
        ok(c.shutdown(forced=True), "ShutdownForced")
        proc.close()
        g.host.bridge.wait_reply(wait_id, timeout=60)
        wait_note(g, c.cid, 30)
        for step, what in ((c.remove_layers, "CombinedLayers Remove"),
                           (c.detach_scratch, "MappedVirtualDisk Remove (scratch)"),
                           (c.delete_state, "DeleteContainerState")):
            ok(step(), what)
    except (ProbeFailed, TimeoutError, EOFError, ConnectionError, KeyError, ValueError) as e:
        for cap in ("syscalls", "namespaces", "seccomp"):
            res.setdefault(cap, Result("fail", f"container: {str(e)[:300]}", 0))
        res.setdefault("_limits", ({}, None))
        res["_error"] = str(e)[:300]
    for r in res.values():
        if isinstance(r, Result) and r.seconds == 0:
            r.seconds = time.monotonic() - t
    return res, c


def probe_oom(g, c_layer):
    """A container whose memory limit is below what it allocates: killed,
    exit 137, and the gcs says OOMKilled in the exit notification."""
    c = lcow_ops.Container(g.host, "probe-oom", LUN_LAYER, LUN_OOM)
    ok(c.attach_scratch(), "MappedVirtualDisk (scratch)")
    ok(c.combine_layers(), "CombinedLayers")
    ok(create(c, ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"],
              {"memory": {"limit": 32 * MiB, "swap": 32 * MiB}}), "Create")
    ok(c.start(), "Start")
    reply, proc = c.execute_init()
    ok(reply, "ExecuteProcess")
    wait_id = c.send_wait(proc.pid)
    read_all(proc.stdout)
    proc.close()
    code = g.host.bridge.wait_reply(wait_id, timeout=120).json["ExitCode"]
    note = wait_note(g, c.cid, 30)
    info = json.loads(note.get("ResultInfo") or "{}")
    for step, what in ((c.remove_layers, "CombinedLayers Remove"),
                       (c.detach_scratch, "MappedVirtualDisk Remove (scratch)"),
                       (c.delete_state, "DeleteContainerState")):
        ok(step(), what)
    expect(code == 137, f"exit code {code}, not 137")
    expect(info.get("Reason") == "OOMKilled", f"exit notification {note}")
    return "dd of 128 MiB under a 32 MiB limit: OOM-killed (137), notification says OOMKilled"


def probe_network(g):
    # busybox ip names a veth's peer itself (vethN): found by its @link.
    code, out, err = g.sh(
        "unshare -n sleep 60 </dev/null >/dev/null 2>&1 & p=$!; sleep 0.3; "
        "ip link add name lcowprobe type veth && "
        "peer=$(ip -o link show | sed -n 's/^[0-9]*: \\([^@]*\\)@lcowprobe.*/\\1/p') && "
        "ip link set $peer netns $p && nsenter -t $p -n ip link set $peer up && "
        "nsenter -t $p -n ip addr add 10.99.0.2/24 dev $peer && "
        "ip link add name lcowbr type bridge && ip link set lcowprobe master lcowbr && "
        "ip link set lcowbr up && ip link set lcowprobe up && "
        "ip addr add 10.99.0.1/24 dev lcowbr && ping -c 1 -W 5 10.99.0.2 >/dev/null && "
        "echo pinged; kill $p; ip link del lcowbr 2>/dev/null; ip link del lcowprobe 2>/dev/null; "
        "true")
    expect(code == 0 and "pinged" in out, f"veth/bridge/netns: exit {code} {out!r} {err.strip()}")
    return ("a veth pair with one end in a new network namespace, the other on a bridge; "
            "ping across")


def probe_netfilter(g):
    """What CNI's iptables rules use, without an iptables binary in the image:
    the match and target lists the kernel registers, conntrack's and bridge
    netfilter's sysctls; the filter and nat tables are made lazily per
    namespace on first use in 6.1, so for those the module must be loaded
    (/proc/modules) or built in (modules.builtin)."""
    code, out, err = g.sh(
        "cat /proc/net/ip_tables_matches /proc/net/ip_tables_targets 2>&1; "
        "test -e /proc/sys/net/netfilter/nf_conntrack_max && echo nf_conntrack; "
        "test -e /proc/sys/net/bridge/bridge-nf-call-iptables && echo br_netfilter; "
        "b=/lib/modules/$(uname -r)/modules.builtin; for t in iptable_filter iptable_nat nf_nat; "
        "do if grep -q \"^$t \" /proc/modules || grep -q \"/$t.ko$\" $b 2>/dev/null; then "
        "echo $t; fi; done")
    words = set(out.split())
    want = {"conntrack", "addrtype", "MASQUERADE", "iptable_filter", "iptable_nat",
            "nf_conntrack", "nf_nat", "br_netfilter"}
    missing = sorted(want - words)
    expect(not missing, f"not registered: {', '.join(missing)}")
    return ("matches conntrack and addrtype and target MASQUERADE registered; conntrack and "
            "bridge netfilter up; filter and nat tables, NAT present")


def probe_ptp(g):
    code, out, _ = g.sh("test -d /sys/class/ptp && echo class; ls /sys/class/ptp")
    expect("class" in out.split(), "no /sys/class/ptp: the PTP core is missing")
    clocks = out.split()[1:]
    return ("the PTP class is registered" + (f" ({', '.join(clocks)})" if clocks else "") +
            "; QEMU has no Hyper-V clock, so chronyd is not started")


def probe_hugetlbfs(g):
    code, out, _ = g.sh("grep -w hugetlbfs /proc/filesystems")
    expect(code == 0, "hugetlbfs is not in /proc/filesystems")
    return "hugetlbfs is a registered filesystem"


def probe_verity(g, info):
    if info is None:
        return None
    mp = f"/run/layers/p0-{VERITY_AT}-{VERITY_IMAGE}"
    settings = {"MountPath": mp, "VerityInfo": info, "DeviceNumber": 0,
                "MappingInfo": {"DeviceOffsetInBytes": VERITY_AT,
                                "DeviceSizeInBytes": VERITY_IMAGE}}
    g.modify("VPMemDevice", settings)
    entry = g.mounts().get(mp)
    expect(entry and "dm-verity" in entry[0], f"verity layer: {entry}")
    code, out, _ = g.sh(f"cat {mp}/verity.txt")
    expect((code, out) == (0, VERITY_TEXT), f"the verity layer read back {out!r}")
    g.modify("VPMemDevice", settings, "Remove")
    return (f"a layer with VerityInfo (veritysetup's tree, {info['Algorithm']}) mounted "
            f"through dm-verity ({entry[0]}) and read")


def probe_crypt(g, images):
    """Encrypted scratch as hcsshim v0.14 sends it; the host then finds no
    plaintext on the disk."""
    mp = "/run/gcs/c/probe-crypt"
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_CRYPT, "Encrypted": True,
                                   "EnsureFilesystem": True, "Filesystem": "xfs"})
    entry = g.mounts().get(mp)
    expect(entry and "dm-crypt" in entry[0], f"encrypted scratch: {entry}")
    code, _, err = g.sh(f"i=0; while [ $i -lt 1024 ]; do echo {MARKER.decode()}; i=$((i+1)); "
                        f"done > {mp}/secret && sync")
    expect(code == 0, f"writing on the encrypted scratch: {err}")
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_CRYPT}, "Remove")
    with open(images[LUN_CRYPT], "rb") as f:
        raw = f.read()
    expect(MARKER not in raw, "the plaintext is on the disk")
    return f"an Encrypted scratch mounted through dm-crypt ({entry[0]}); no plaintext on the disk"


def xfs_disk(path):
    """An xfs file system made on the host (xfs's smallest, 300 MiB, sparse),
    or None without mkfs.xfs."""
    if not shutil.which("mkfs.xfs"):
        return None
    with open(path, "wb") as f:
        f.truncate(300 * 1024 * 1024)
    subprocess.run(["mkfs.xfs", "-q", path], check=True)
    return path


def probe_xfs(g, images):
    """An xfs disk a host attaches: mounted read-write, written, then
    read-only (no log replay)."""
    if LUN_XFS not in images:
        return None
    mp = "/run/mounts/scsi/probe-xfs"
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_XFS})
    entry = g.mounts().get(mp)
    expect(entry and entry[2] == "xfs", f"{mp} not mounted xfs: {entry}")
    code, _, err = g.sh(f"echo probe > {mp}/probe.txt && sync")
    expect(code == 0, f"write on the xfs disk: {err}")
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_XFS}, "Remove")
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_XFS, "ReadOnly": True})
    code, out, _ = g.sh(f"cat {mp}/probe.txt")
    expect((code, out) == (0, "probe\n"), f"read back read-only: {out!r}")
    g.modify("MappedVirtualDisk", {"MountPath": mp, "Lun": LUN_XFS, "ReadOnly": True}, "Remove")
    return f"LUN {LUN_XFS} (mkfs.xfs on the host) mounted xfs, written, read back read-only"


def probe_vmtests(g):
    code, out, err = g.sh("test -c /dev/loop-control && losetup -f")
    expect(code == 0 and out.startswith("/dev/loop"), f"no loop devices: {err.strip()}")
    return f"loop devices available (first free: {out.strip()})"


def probe_squashfs(g):
    code, out, _ = g.sh("grep ' /lib/lcow/tools ' /proc/mounts; readlink /usr/bin/runc")
    expect(code == 0 and " squashfs " in out,
           "/init did not mount /lib/lcow/tools.squashfs (dmesg: 'init: tools:')")
    return "/init mounted the initrd's tools from a loop device: " + out.split()[0]


def probe_virtio(g):
    code, out, _ = g.sh("ls /sys/bus/virtio/drivers")
    have = set(out.split())
    want = {"virtio_scsi", "virtio_pmem", "vmw_vsock_virtio_transport"}
    missing = sorted(want - have)
    expect(not missing, f"virtio drivers missing: {', '.join(missing)}")
    return "virtio drivers bound: " + ", ".join(sorted(have))


def probe_limits_v2(files, limit):
    want = {"memory.max": str(64 * MiB), "pids.max": "64", "cpu.max": "50000 100000"}
    bad = {k: files.get(k) for k, v in want.items() if files.get(k) != v}
    expect(not bad, f"cgroup v2 files differ from the limits: {bad}")
    expect(limit == 64 * MiB, f"Statistics memory limit {limit}")
    return "v2: memory.max, pids.max, cpu.max as asked; Statistics report the limit"


def probe_limits_v1(files, limit):
    want = {"memory.limit_in_bytes": str(64 * MiB), "pids.max": "64",
            "cpu.cfs_quota_us": "50000", "cpu.shares": "512"}
    bad = {k: files.get(k) for k, v in want.items() if files.get(k) != v}
    expect(not bad, f"cgroup v1 files differ from the limits: {bad}")
    expect(limit == 64 * MiB, f"Statistics memory limit {limit}")
    return "v1: memory, pids and cpu limits as asked; Statistics report the limit"


def shutdown(g):
    reply = lcow_ops.shutdown_uvm(g.host)
    expect(reply is None or reply.result == 0, f"ShutdownGraceful: {reply and reply.json}")
    rc = g.vm.wait_exit(60)
    expect(rc is not None, "QEMU still running 60 s after ShutdownGraceful")


def modules_summary(console):
    m = re.search(r"init: modules: (\d+) loaded, (\d+) failed", console)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def run_all(kernel, initrd, backend, work, say):
    """Boots twice (cgroup v2, then v1) and probes. Returns ({capability id:
    Result}, {figure: seconds})."""
    results, figures = {}, {}
    images = {LUN_LAYER: busybox_layer(os.path.join(work, "layer.img")),
              LUN_SCRATCH: blank_disk(os.path.join(work, "scratch.img"), 64),
              LUN_BLANK: blank_disk(os.path.join(work, "blank.img"), 32),
              LUN_OOM: blank_disk(os.path.join(work, "oom.img"), 64),
              LUN_CRYPT: blank_disk(os.path.join(work, "crypt.img"), 64)}
    xfs = xfs_disk(os.path.join(work, "xfs.img"))
    if xfs:
        images[LUN_XFS] = xfs
    disks = [(lun, path, lun == LUN_LAYER) for lun, path in images.items()]
    say("booting (cgroup v2) ...")
    pmem = pmem_image(os.path.join(work, "pmem.img"), PMEM_SIZE, PMEM_LAYERS)
    verity = add_verity_layer(pmem, work)
    g = Guest(kernel, initrd, backend, work, say, disks=disks, pmem=pmem)
    try:
        t = time.monotonic()
        try:
            g.start(with_share=True)
        except (RuntimeError, TimeoutError, OSError, EOFError) as e:
            results["boot"] = Result("fail", str(e).splitlines()[0] + " (console: " +
                                     g.vm.console_text()[-600:].replace("\n", " | ") + ")",
                                     time.monotonic() - t)
            return results, figures
        loaded, failed = modules_summary(g.vm.console_text())
        code, out, _ = g.sh("dmesg | grep 'init: modules: loading'")
        bad = re.findall(r"init: modules: loading (\S+): ([^(]+)", out)
        bad_text = ("; failed: " + ", ".join(f"{m} ({e.strip()})" for m, e in bad)) if bad else ""
        figures["boot_v2"] = g.boot_seconds
        results["boot"] = Result("pass", f"bridge negotiated {g.boot_seconds:.1f}s after QEMU "
                                 f"started; init loaded {loaded} module(s), {failed} failed{bad_text}",
                                 g.boot_seconds)
        steps = [("vsock", probe_vsock, (g,)), ("virtio", probe_virtio, (g,)),
                 ("scsi", probe_scsi, (g, images)), ("vpmem", probe_vpmem, (g,)),
                 ("dm", probe_dm, (g,)), ("plan9", probe_plan9, (g,)),
                 ("network", probe_network, (g,)), ("netfilter", probe_netfilter, (g,)),
                 ("ptp", probe_ptp, (g,)), ("hugetlbfs", probe_hugetlbfs, (g,)),
                 ("verity", probe_verity, (g, verity)), ("crypt", probe_crypt, (g, images)),
                 ("xfs", probe_xfs, (g, images)),
                 ("vmtests", probe_vmtests, (g,)), ("squashfs", probe_squashfs, (g,))]
        for cap, fn, args in steps:
            say(f"probe {cap} ...")
            r = run_probe(fn, *args)
            if r.verdict == "pass" and r.detail is None:
                tool = {"plan9": "diod", "xfs": "mkfs.xfs"}.get(cap, "veritysetup")
                r = Result("skip", f"no {tool} on this machine (mk/packages lists it)")
            results[cap] = r
            say(f"  {cap}: {r.verdict} ({r.seconds:.1f}s) {r.detail}")
        results["ext4"] = (Result("pass", "the scratch formatted and the layers mounted "
                                  "are ext4", 0) if results["scsi"].verdict == "pass"
                           else Result("fail", "see scsi", 0))
        say("probe overlay, namespaces, seccomp, cgroups (a container with limits) ...")
        cres, c = probe_container(g, ["memory.max", "pids.max", "cpu.max"])
        v2_files, v2_limit = cres.pop("_limits", ({}, None))
        cerr = cres.pop("_error", None)
        results.update(cres)
        v2 = (run_probe(probe_limits_v2, v2_files, v2_limit) if cerr is None
              else Result("fail", f"container: {cerr}"))
        say(f"  container: v2 limits {v2.verdict}: {v2.detail}")
        say("probe OOM ...")
        oom = run_probe(probe_oom, g, c) if cerr is None else Result("fail", "no container")
        say(f"  oom: {oom.verdict}: {oom.detail}")
        r = run_probe(shutdown, g)
        if r.verdict != "pass":
            results["boot"] = Result("fail", "shutdown: " + r.detail, results["boot"].seconds)
    finally:
        g.close()
    say("booting again with hcsshim.cgroup=v1 ...")
    g1 = Guest(kernel, initrd, backend, work, say, extra_options="hcsshim.cgroup=v1",
               disks=[(LUN_LAYER, images[LUN_LAYER], True),
                      (LUN_SCRATCH, blank_disk(os.path.join(work, "scratch1.img"), 64), False)])
    try:
        try:
            g1.start()
            figures["boot_v1"] = g1.boot_seconds
            cres, _ = probe_container(g1, ["memory.limit_in_bytes", "pids.max",
                                           "cpu.cfs_quota_us", "cpu.shares"])
            files, limit = cres.get("_limits", ({}, None))
            v1 = (run_probe(probe_limits_v1, files, limit) if "_error" not in cres
                  else Result("fail", f"container: {cres['_error']}"))
            run_probe(shutdown, g1)
        except (RuntimeError, TimeoutError, OSError, EOFError) as e:
            v1 = Result("fail", f"v1 boot: {str(e).splitlines()[0]}")
    finally:
        g1.close()
    say(f"  container: v1 limits {v1.verdict}: {v1.detail}")
    parts = [v2, oom, v1]
    verdict = "pass" if all(p.verdict == "pass" for p in parts) else "fail"
    results["cgroups"] = Result(verdict, "; ".join(
        ("" if p.verdict == "pass" else "FAILED ") + p.detail for p in parts),
        sum(p.seconds for p in parts))
    return results, figures
