"""Replays a host flow (tests/hostflows/*.json) against a real gcs and
checks every message back as the hcsshim version named by the flow would
parse it (tests/lib/hcsshim_host.py). README.md in this directory describes
the flow format; in short a flow is

    {"name", "hcsshim" (whose parse rules apply), "sources", "command",
     "request_base" (merged into every request after ContainerId),
     "devices" (disks, VPMem layers, NICs the host attaches),
     "steps": [request | await | host action | loop]}

and this module runs it in one of two environments:

  OffVmEnv  the gcs on this machine over its unix transport, with the
            storage rig of tests/lib/storage_host.py (fake sysfs and /dev,
            loop devices), the container confinement of
            tests/lib/container_host.py (cgroup prefix, private runc root),
            veth pairs for NICs;
  VmEnv     the image under QEMU (tests/vm/lcow_vm.py) with the flow's disks
            as virtio-scsi LUNs and its VPMem layers in one virtio-pmem device.

Paths the host sends below /run and /sys are written ${RUN} and ${SYS} in
the data; OffVmEnv maps them into its private directory, VmEnv to /run and
/sys. Every other byte of every request is the host's. A step the
environment cannot perform (dm-linear on VPMem, a VMBus NIC under QEMU)
carries its reason in the data and is replaced as the data says or skipped;
the skips are reported, never silent.
"""
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
for _d in (os.path.join(TOP, "tests", "lib"), os.path.join(TOP, "tests", "vm")):
    if _d not in sys.path:
        sys.path.insert(0, _d)

import hcsshim_host  # noqa: E402
from hcsshim_host import HostBridge, HostKilled, RPC_NAMES, field, go_marshal  # noqa: E402

FLOW_DIR = HERE
MiB = 1 << 20
REPLY_TIMEOUT = 120  # seconds; hcsshim's own is 300 (bridgeFailureTimeout)


class FlowFailure(AssertionError):
    pass


class FlowReport(FlowFailure):
    """A FlowFailure with the flow's context (last steps, gcs log) added."""


class StepSkipped(Exception):
    pass


def load_flows(names=None):
    flows = []
    for fn in sorted(os.listdir(FLOW_DIR)):
        if fn.endswith(".json"):
            with open(os.path.join(FLOW_DIR, fn)) as f:
                flow = json.load(f)
            flow["_file"] = fn
            if names is None or flow["name"] in names:
                flows.append(flow)
    return flows


# -- substitution -------------------------------------------------------------------------

VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def subst(value, variables):
    """${NAME} in strings (a string that is only ${NAME} takes the value's
    type), and {"$json": x} -> the string json.Marshal(x) (anyInString)."""
    if isinstance(value, str):
        whole = VAR_RE.fullmatch(value)
        if whole:
            return lookup(variables, whole.group(1))
        return VAR_RE.sub(lambda m: str(lookup(variables, m.group(1))), value)
    if isinstance(value, list):
        return [subst(v, variables) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$json"}:
            return go_marshal(subst(value["$json"], variables))
        return {k: subst(v, variables) for k, v in value.items()}
    return value


def lookup(variables, name):
    if name not in variables:
        raise FlowFailure(f"${{{name}}} is not defined at this point of the flow")
    return variables[name]


def drop_paths(step, pointers):
    """A copy of step without the members named by JSON pointers
    ("/body/ContainerConfig/$json/OciSpecification/process/oomScoreAdj")."""
    step = copy.deepcopy(step)
    for pointer in pointers:
        parts = pointer.strip("/").split("/")
        node = step
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node.pop(parts[-1], None)
    return step


CAPS = {"CAP_SYS_RESOURCE": 24, "CAP_SYS_ADMIN": 21, "CAP_NET_ADMIN": 12}


def has_cap(name):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAPS[name] & 1)
    return False


def hresult(text):
    return int(text, 16) if isinstance(text, str) else int(text) & 0xFFFFFFFF


# -- images the host attaches -------------------------------------------------------------

PAUSE = """#!/bin/sh
# Stands in for the pause binary: sleeps until SIGTERM/SIGINT, then exits 0.
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait; done
"""


def layer_tree(root, kind):
    """A read-only layer's files: busybox (the applets as symlinks), the
    directories runc mounts onto, passwd/group; 'pause' adds /pause."""
    from lcow_vm import _busybox_tree
    _busybox_tree(root)
    for d in ("proc", "sys", "dev", "etc", "tmp", "root", "run"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    if kind == "pause":
        path = os.path.join(root, "pause")
        with open(path, "w") as f:
            f.write(PAUSE)
        os.chmod(path, 0o755)
    return root


def make_image(path, spec):
    """spec: {"kind": "layer", "tree": "busybox"|"pause", "mib": 8} (ext4 of
    exactly that size, as tar2ext4 writes a layer VHD; with "verity": true
    followed by a dm-verity superblock and tree, as tar2ext4
    --append-dm-verity writes it), {"kind": "blank",
    "mib": N} (a new scratch VHD), {"kind": "scratch-ext4", "mib": N} (a
    scratch formatted as `runhcs create-scratch` formats it)."""
    kind, mib = spec["kind"], spec["mib"]
    if kind == "layer":
        stage = path + ".d"
        layer_tree(stage, spec["tree"])
        try:
            subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", stage,
                            path, f"{mib}M"], check=True, capture_output=True)
        finally:
            shutil.rmtree(stage)
        if spec.get("verity"):
            from storage_host import append_verity
            append_verity(path, mib * MiB)
    elif kind == "blank":
        with open(path, "wb") as f:
            f.truncate(mib * MiB)
    elif kind == "scratch-ext4":
        with open(path, "wb") as f:
            f.truncate(mib * MiB)
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-E", "lazy_itable_init=0,nodiscard",
                        "-O", "^has_journal,sparse_super2,^resize_inode", path],
                       check=True, capture_output=True)
    else:
        raise FlowFailure(f"unknown image kind {kind}")
    return path


def image_variables(images, flow):
    """${<device>_VERITY}: the VerityInfo an hcsshim v0.11 host reads from
    each verity layer's VHD (internal/uvm/vpmem.go readVeritySuperBlock)."""
    from storage_host import host_verity_info
    return {f"{name}_VERITY": host_verity_info(images[name])
            for name, dev in flow.get("devices", {}).items()
            if dev.get("image", {}).get("verity")}


def ext4_features(image):
    r = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    for line in r.stdout.splitlines():
        if line.startswith("Filesystem features:"):
            return set(line.split(":", 1)[1].split())
    return set()


def debugfs_ls(image, path):
    r = subprocess.run(["debugfs", "-R", f"ls -l {path}", image], capture_output=True,
                       text=True)
    return r.stdout if r.returncode == 0 and "File not found" not in r.stderr else None


def gcs_log_tail(lines, n=20):
    """The gcs's own last log lines (off-VM it also forwards this machine's
    kernel messages, which say nothing about the flow)."""
    own = [line[:400].rstrip("\n") + "\n" for line in lines if '"source":"kmsg"' not in line]
    return "".join(own[-n:])


# -- environments ------------------------------------------------------------------------------

class Env:
    """What the runner needs from where the gcs runs."""
    offvm = False
    name = "?"

    def variables(self):
        raise NotImplementedError

    def start(self):
        """Starts the guest; returns the accepted bridge socket."""
        raise NotImplementedError

    def listen(self, port):
        raise NotImplementedError

    def drop(self, listener):
        raise NotImplementedError

    def attach(self, name, device):
        pass

    def lacks(self, cap):
        """True when the replacement of a step applies here: always when it
        names no capability, else when this environment lacks it."""
        return cap is None or not has_cap(cap)

    def detach(self, name, device):
        pass

    def image_path(self, name):
        raise NotImplementedError

    def log_lines_bad(self):
        return []

    def log_text(self):
        return ""

    def close(self):
        return []


class OffVmEnv(Env):
    """The gcs binary on this machine (see the module doc)."""
    offvm = True
    name = "off-VM"

    def __init__(self, gcs_binary, flow):
        from storage_host import Rig
        from container_host import ContainerEnv
        self.flow = flow
        self.rig = Rig(host_of={0: 0, 1: 1, 2: 2, 3: 3}, prefix="lcow-flow-")
        self.images = {}
        self.veths = []
        self.sysfs_nics = []
        # A network namespace that plays the UVM's: NICs are plugged into
        # it and the gcs runs in it (a flow whose NICs stay there).
        self.netns = f"lhfuvm{os.getpid() % 10000}" if flow.get("uvm_netns") else None
        # The guest's own roots (gcs/storage/config.c, gcs/containers/runtime.c)
        # moved below run/: no more lenient off-VM than in the VM.
        under = lambda *names: ":".join(os.path.join(self.rig.run, n) for n in names)  # noqa
        self.cenv = ContainerEnv(gcs_binary, extra_env={
            "LCOW_SYSFS_ROOT": self.rig.sys, "LCOW_DEV_ROOT": self.rig.dev,
            "LCOW_STORAGE_EXTRA_ROOTS": under("gcs/c", "gcs/pods", "mounts", "layers",
                                              "drivers"),
            "LCOW_BUNDLE_ROOTS": under("gcs/c", "gcs/pods"),
            "LCOW_SCRATCH_ROOTS": under("mounts"),
            "LCOW_STORAGE_DEVICE_TIMEOUT_MS": "5000"})
        self.gcs = None
        for name, dev in flow.get("devices", {}).items():
            if "image" in dev:
                self.images[name] = make_image(os.path.join(self.rig.img, name + ".img"),
                                               dev["image"])

    def variables(self):
        return {"RUN": self.rig.run, "SYS": self.rig.sys,
                **image_variables(self.images, self.flow)}

    def uts_wrapper(self):
        """The gcs in its own UTS namespace named as a UVM is named: no host
        sets a hostname, so the kernel's "(none)" is what the gcs finds.
        unshare and the shells exec, so the gcs keeps the wrapper's pid."""
        path = os.path.join(self.rig.dir, "gcs-uts")
        netns = f"nsenter --net=/run/netns/{self.netns} -- " if self.netns else ""
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\nexec {netns}unshare --uts -- /bin/sh -c "
                    "'echo \"(none)\" > /proc/sys/kernel/hostname && exec \"$0\" \"$@\"' "
                    f"{self.cenv.binary} \"$@\"\n")
        os.chmod(path, 0o755)
        return path

    def start(self):
        from gcs_host import GcsProcess
        if self.netns:
            r = subprocess.run(["ip", "netns", "add", self.netns], capture_output=True,
                               text=True)
            if r.returncode != 0:
                self.netns = None
                raise FlowFailure(f"cannot create the UVM's network namespace: "
                                  f"{r.stderr.strip()}")
        self.gcs = GcsProcess(self.uts_wrapper(), env=self.cenv.env)
        self.cenv.gcs = self.gcs
        return self.gcs.bridge_listener.accept(10)

    def listen(self, port):
        return self.gcs.listen(port)

    def drop(self, lst):
        lst.close()
        if lst in self.gcs.listeners:
            self.gcs.listeners.remove(lst)

    def image_path(self, name):
        return self.images[name]

    def attach(self, name, dev):
        if "scsi" in dev:
            controller, lun = dev["scsi"]
            n = self.rig.attach(self.images[name])
            self.rig.node(f"loop{n}", n)
            addr = self.rig.plug(controller, lun, n)
            with open(os.path.join(addr, "delete"), "w"):
                pass  # the gcs writes "1\n" here to unplug (SCSIDevice Remove)
            dev["_addr"] = addr
        elif "nic" in dev:
            self._plug_nic(name, dev)

    def _plug_nic(self, name, dev):
        tag = f"lhf{os.getpid() % 10000}{len(self.veths)}"
        inner, outer = tag + "c", tag + "h"
        run = lambda *a: subprocess.run(list(a), capture_output=True, text=True)  # noqa: E731
        r = run("ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
        if r.returncode != 0:
            raise StepSkipped(f"cannot create a veth pair for NIC {name}: {r.stderr.strip()}")
        self.veths.append((inner, outer))
        if dev.get("host_address"):
            run("ip", "addr", "add", dev["host_address"], "dev", outer)
        run("ip", "link", "set", outer, "up")
        if self.netns:
            run("ip", "link", "set", inner, "netns", self.netns)
        nic_dir = os.path.join(self.rig.sys, "bus", "vmbus", "devices", dev["nic"].lower(),
                               "net", inner)
        os.makedirs(nic_dir)
        dev["_ifname"] = inner

    def init_pid(self, cid):
        r = subprocess.run(["runc", "--root", self.cenv.runc_root, "state", cid],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise FlowFailure(f"runc state {cid}: {r.stderr.strip()}")
        return json.loads(r.stdout)["pid"]

    def netns_inode(self, cid):
        """The network namespace of container cid's init (None: the gcs's)."""
        pid = self.gcs.proc.pid if cid is None else self.init_pid(cid)
        return os.stat(f"/proc/{pid}/ns/net").st_ino

    def ip_json(self, cid, *args):
        """`ip -j ARGS` in the network namespace of container cid's init."""
        pid = self.init_pid(cid)
        r = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-j", *args],
                           capture_output=True, text=True)
        if r.returncode != 0 and ("table does not exist" in r.stderr or
                                  "not supported" in r.stderr):
            return []  # an empty table, or no IPv6 in this kernel
        if r.returncode != 0:
            raise FlowFailure(f"ip {' '.join(args)} in {cid}: {r.stderr.strip()}")
        return json.loads(r.stdout or "[]")

    def detach(self, name, dev):
        addr = dev.pop("_addr", None)
        if addr:
            shutil.rmtree(addr, ignore_errors=True)

    def log_lines_bad(self):
        return self.gcs.log.bad if self.gcs else []

    def log_text(self):
        return gcs_log_tail(self.gcs.log.lines) if self.gcs else ""

    def close(self):
        """Stops the gcs and removes everything (the host's HCS terminate):
        runc containers and their processes, cgroups, mounts, loop devices,
        veth pairs. Returns what had to be removed."""
        left = list(self.cenv.close())
        left += [f"mount {m}" for m in self.rig.cleanup()]
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
            # The namespace's end of each pair goes with it, asynchronously.
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and any(
                    os.path.exists(f"/sys/class/net/{o}") for _, o in self.veths):
                time.sleep(0.05)
        for inner, outer in self.veths:
            for ifname in (outer, inner):
                if os.path.exists(f"/sys/class/net/{ifname}"):
                    subprocess.run(["ip", "link", "del", ifname], capture_output=True)
                    left.append(f"veth {ifname}")
        return left


class VmEnv(Env):
    """The image under QEMU: SCSI devices become virtio-scsi LUNs (controller
    0 only, attached at boot: the host attaches before it sends the guest
    request), VPMem layers are packed into one virtio-pmem device at their
    offsets (device 0)."""
    name = "VM"

    def __init__(self, kernel, initrd, backend, flow, work):
        from lcow_vm import LcowVM
        self.flow = flow
        self.work = work
        self.images = {}
        disks, layers = [], []
        for name, dev in flow.get("devices", {}).items():
            if "image" in dev:
                self.images[name] = make_image(os.path.join(work, name + ".img"), dev["image"])
            if "scsi" in dev:
                controller, lun = dev["scsi"]
                if controller != 0:
                    raise FlowFailure("the VM has one SCSI controller (0)")
                disks.append((lun, self.images[name], dev["image"]["kind"] == "layer"))
            elif "vpmem" in dev:
                layers.append((dev["offset"], self.images[name]))
        pmem = self._pmem(layers) if layers else None
        self.vm = LcowVM(kernel, initrd, backend, disks=disks, pmem=pmem)

    def _pmem(self, layers):
        end = max(off + os.path.getsize(path) for off, path in layers)
        size = max(32 * MiB, (end + 2 * MiB - 1) // (2 * MiB) * (2 * MiB))
        pmem = os.path.join(self.work, "pmem.img")
        with open(pmem, "wb") as out:
            out.truncate(size)
            for off, path in layers:
                out.seek(off)
                with open(path, "rb") as f:
                    shutil.copyfileobj(f, out)
        return pmem

    def variables(self):
        return {"RUN": "/run", "SYS": "/sys", **image_variables(self.images, self.flow)}

    def lacks(self, cap):
        return cap is None  # the guest's root has every capability

    def start(self):
        self.vm.start()
        return self.vm.accept_bridge(120).sock

    def listen(self, port):
        return self.vm.listen(port)

    def drop(self, lst):
        self.vm.drop(lst)

    def image_path(self, name):
        return self.images[name]

    def log_lines_bad(self):
        return self.vm.log.bad if self.vm.log else []

    def log_text(self):
        return (gcs_log_tail(self.vm.log.lines) if self.vm.log else "") + \
            "--- console ---\n" + self.vm.console_text()[-1000:]

    def close(self):
        self.vm.close()  # HCS terminate: QEMU is killed
        return []


# -- processes the host started -------------------------------------------------------------

class HostProcess:
    """The host end of one process's stdio (the shim's ioChannels)."""

    def __init__(self, name):
        self.name = name
        self.listeners = {}
        self.conns = {}
        self.pid = None

    def close(self, stream=None):
        for s in ([stream] if stream else list(self.conns)):
            conn = self.conns.pop(s, None)
            if conn is not None:
                conn.close()


def read_to_eof(conn, timeout):
    conn.settimeout(timeout)
    chunks = []
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
    except socket.timeout:
        raise FlowFailure(f"no EOF within {timeout} s; read so far {b''.join(chunks)[-300:]!r}")
    finally:
        conn.settimeout(None)


def check_text(what, data, want, variables):
    """want: a string (exact), {"regex": r}, {"capture": NAME, "strip": bool}."""
    text = data.decode("utf-8", "replace")
    if want is None:
        return
    if isinstance(want, str):
        if text != subst(want, variables):
            raise FlowFailure(f"{what}: got {text!r}, want {subst(want, variables)!r}")
        return
    if "regex" in want and not re.search(want["regex"], text, re.S):
        raise FlowFailure(f"{what}: {text!r} does not match {want['regex']!r}")
    if "contains" in want and subst(want["contains"], variables) not in text:
        raise FlowFailure(f"{what}: {text!r} does not contain {want['contains']!r}")
    if "capture" in want:
        variables[want["capture"]] = text.strip() if want.get("strip") else text


# -- the runner ---------------------------------------------------------------------------------

class Runner:
    def __init__(self, flow, env, log=None):
        self.flow = copy.deepcopy(flow)
        self.env = env
        self.vars = {}
        self.bridge = None
        self.pending = {}     # step id -> (msg id, rpc, expect, request)
        self.replies = {}     # step id -> Reply
        self.procs = {}
        self.skipped = []     # (step, reason)
        self.transcript = []
        self.log = log or (lambda line: None)
        self.terminated = False

    # -- reporting --
    def note(self, text):
        self.transcript.append(text)
        self.log(text)

    def fail(self, text):
        tail = "\n".join(line[:300] for line in self.transcript[-15:])
        raise FlowReport(f"{self.flow['name']} ({self.env.name}): {text}\n--- last steps ---\n"
                          f"{tail}\n--- gcs log ---\n{self.env.log_text()}")

    # -- running --
    def run(self):
        self.vars.update(self.env.variables())
        try:
            sock = self.env.start()
            self.bridge = HostBridge(sock, self.flow["hcsshim"])
            self.steps(self.flow["steps"])
            if not self.terminated:
                self.quiet(0.3)
            if self.bridge.spec:
                self.fail("specification rules broken:\n  " + "\n  ".join(self.bridge.spec))
        except HostKilled as e:
            self.fail(f"hcsshim {self.flow['hcsshim']} would kill the bridge: {e}")
        except FlowReport:
            raise
        except FlowFailure as e:
            self.fail(str(e))
        except (EOFError, ConnectionError, TimeoutError) as e:
            self.fail(f"{type(e).__name__}: {e}")
        finally:
            for p in self.procs.values():
                p.close()
                for lst in p.listeners.values():
                    self.env.drop(lst)
                p.listeners = {}
        return self

    def quiet(self, seconds):
        """Whatever the guest still sends goes through the host's rules."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.bridge.recv(max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                break

    def steps(self, steps):
        for step in steps:
            if not self.applies(step):
                continue
            where = "offvm" if self.env.offvm else "vm"
            alt = step.get(where)
            if alt is not None and self.env.lacks(alt.get("if_missing_cap")):
                if "skip" in alt:
                    self.skipped.append((self.describe(step), alt["skip"]))
                    self.note(f"   skip {self.describe(step)}: {alt['skip']}")
                    if "instead" in alt:
                        self.steps(alt["instead"])
                    continue
                if "drop" in alt:
                    step = drop_paths(step, alt["drop"])
                    self.skipped.append((self.describe(step), "sent without " +
                                         ", ".join(alt["drop"]) + ": " + alt["reason"]))
                    self.note(f"   changed {self.describe(step)}: {alt['reason']}")
            try:
                if "send" in step:
                    self.request(step)
                elif "await" in step:
                    self.await_reply(step)
                elif "host" in step:
                    self.host_action(step)
                elif "loop" in step:
                    self.loop(step["loop"])
                else:
                    raise FlowFailure(f"unknown step {step}")
            except StepSkipped as e:
                self.skipped.append((self.describe(step), str(e)))
                self.note(f"   skip {self.describe(step)}: {e}")

    @staticmethod
    def describe(step):
        if "send" in step:
            res = ""
            req = step.get("body", {}).get("Request")
            if isinstance(req, dict):
                res = f" {req.get('ResourceType')} {req.get('RequestType')}"
            return f"{step.get('id', '')} {step['send']}{res}".strip()
        if "host" in step:
            return f"host {step['host']}"
        return json.dumps(step)[:80]

    def applies(self, step):
        cond = step.get("when")
        if not cond:
            return True
        reply = self.replies.get(cond["step"])
        if reply is None:
            return False
        result = reply.result
        if "result_in" in cond:
            return result in {hresult(x) for x in cond["result_in"]}
        if "result_not_in" in cond:
            return result not in {hresult(x) for x in cond["result_not_in"]}
        raise FlowFailure(f"bad condition {cond}")

    # -- requests --
    def build(self, step):
        body = subst(step.get("body", {}), self.vars)
        base = subst(self.flow.get("request_base", {}), self.vars)
        msg = {"ContainerId": body.pop("ContainerId")}
        msg.update(base)
        msg.update(body)
        return msg

    def request(self, step):
        rpc = RPC_NAMES[step["send"]]
        msg = self.build(step)
        msg_id = self.bridge.send_request(rpc, msg)
        self.note(f"-> {msg_id} {self.describe(step)} {go_marshal(msg, False)[:200]}")
        sid = step.get("id", f"#{msg_id}")
        self.pending[sid] = (msg_id, rpc, step.get("expect", {}), msg)
        if not step.get("async"):
            self.await_reply({"await": sid, "timeout": step.get("timeout")})

    def await_reply(self, step):
        sid = step["await"]
        if sid not in self.pending:
            raise FlowFailure(f"await {sid}: no such request sent")
        msg_id, rpc, expect, msg = self.pending.pop(sid)
        expect = dict(expect, **step.get("expect", {}))
        timeout = step.get("timeout") or expect.get("timeout") or REPLY_TIMEOUT
        try:
            reply = self.bridge.wait_reply(msg_id, timeout)
        except TimeoutError:
            raise FlowFailure(f"no reply to {sid} (id {msg_id}) within {timeout} s")
        self.replies[sid] = reply
        self.note(f"<- {msg_id} {sid} {reply.raw[:240]!r}")
        self.check(sid, rpc, expect, reply, msg)

    def check(self, sid, rpc, expect, reply, msg):
        result = reply.result
        tolerate = expect.get("tolerate", [])
        if result != 0:
            if tolerate == "any" or result in {hresult(x) for x in tolerate}:
                self.note(f"   {sid}: {result:#010x} tolerated by the host "
                          f"({expect.get('why_tolerated', 'see the flow')})")
            else:
                why = expect.get("fatal", "the host fails the operation")
                raise FlowFailure(f"{sid} failed with {result:#010x} "
                                  f"({reply.error!r}); for hcsshim {self.flow['hcsshim']} "
                                  f"that is fatal: {why}")
            return
        for name, want in subst(expect.get("fields", {}), self.vars).items():
            got = field(reply.json, name)
            if got != want:
                raise FlowFailure(f"{sid}: {name} is {got!r}, want {want!r}")
        for cap in expect.get("capabilities", []):
            if not self.bridge.view.capability(cap):
                raise FlowFailure(f"{sid}: GuestDefinedCapabilities.{cap} is not true; the "
                                  "rest of this flow is what the host sends when it is")
        for var, name in expect.get("capture", {}).items():
            self.vars[var] = field(reply.json, name)
        props = expect.get("properties")
        if props:
            self.check_properties(sid, props, json.loads(field(reply.json, "Properties")))

    def check_properties(self, sid, want, props):
        pids = {p.get("ProcessId") for p in props.get("ProcessList") or []}
        for pid in subst(want.get("process_list_includes", []), self.vars):
            if pid not in pids:
                raise FlowFailure(f"{sid}: ProcessList {sorted(pids)} lacks pid {pid}")
        metrics = props.get("LCOWMetrics") or {}
        for path in want.get("metrics_nonzero", []):
            node = metrics
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if not node:
                raise FlowFailure(f"{sid}: LCOWMetrics.{path} is {node!r}; the shim's "
                                  f"consumers (CRI stats) read it")

    def loop(self, spec):
        until = spec["until"]
        for i in range(spec.get("max", 100)):
            self.steps(spec["steps"])
            reply = self.replies.get(until["step"])
            if reply is not None and field(reply.json, until["field"]) == until["equals"]:
                return
            time.sleep(spec.get("sleep_ms", 10) / 1000)
        raise FlowFailure(f"loop: {until} not reached after {spec.get('max', 100)} rounds")

    # -- host actions --
    def proc(self, name):
        return self.procs.setdefault(name, HostProcess(name))

    def host_action(self, step):
        action = step["host"]
        getattr(self, "do_" + action)(step)

    def device(self, name):
        return self.flow["devices"][name]

    def do_attach(self, step):
        self.env.attach(step["device"], self.device(step["device"]))
        self.note(f"   host: attach {step['device']}")

    def do_detach(self, step):
        self.env.detach(step["device"], self.device(step["device"]))
        self.note(f"   host: detach {step['device']}")

    def do_listen(self, step):
        p = self.proc(step["process"])
        for stream in ("stdin", "stdout", "stderr"):
            if stream in step:
                p.listeners[stream] = self.env.listen(step[stream])
        self.note(f"   host: listen {step['process']} "
                  f"{ {s: step[s] for s in ('stdin', 'stdout', 'stderr') if s in step} }")

    def do_accept(self, step):
        p = self.proc(step["process"])
        for stream, lst in list(p.listeners.items()):
            try:
                p.conns[stream] = lst.accept(timeout=30)
            except socket.timeout:
                raise FlowFailure(f"{step['process']}: the guest never dialled {stream}")
            self.env.drop(lst)
            del p.listeners[stream]

    def do_write(self, step):
        data = subst(step["data"], self.vars).encode()
        self.proc(step["process"]).conns["stdin"].sendall(data)

    def do_close_write(self, step):
        self.proc(step["process"]).conns["stdin"].shutdown(socket.SHUT_WR)

    def do_read_until(self, step):
        from uvm_process import read_until
        conn = self.proc(step["process"]).conns[step.get("stream", "stdout")]
        try:
            data = read_until(conn, subst(step["text"], self.vars).encode(),
                              step.get("timeout", 30))
        except (TimeoutError, EOFError) as e:
            raise FlowFailure(f"{step['process']}: {e}")
        self.note(f"   host: read {data[-120:]!r}")

    def do_drain(self, step):
        """stdout and stderr read to EOF at the same time (the shim's relay
        goroutines), each closed at its EOF (CloseStdout/CloseStderr)."""
        p = self.proc(step["process"])
        box = {}
        timeout = step.get("timeout", 60)

        def reader(stream):
            try:
                box[stream] = read_to_eof(p.conns[stream], timeout)
            except FlowFailure as e:
                box[stream] = e
            p.close(stream)

        threads = [threading.Thread(target=reader, args=(s,), daemon=True)
                   for s in ("stdout", "stderr") if s in p.conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + 5)
        for stream in ("stdout", "stderr"):
            got = box.get(stream)
            if isinstance(got, FlowFailure):
                raise FlowFailure(f"{p.name} {stream}: {got}")
            if got is not None:
                self.note(f"   host: {p.name} {stream} {got[:200]!r}")
                check_text(f"{p.name} {stream}", got, step.get(stream), self.vars)

    def do_close(self, step):
        """Process.Close: the host closes every stdio connection."""
        self.proc(step["process"]).close()

    def do_notification(self, step):
        cid = subst(step["ContainerId"], self.vars)
        deadline = time.monotonic() + step.get("timeout", 30)
        while True:
            for n in self.bridge.notifications:
                if field(n.json, "ContainerId") == cid:
                    self.bridge.notifications.remove(n)
                    self.note(f"<- notification {n.raw[:200]!r}")
                    want = subst(step.get("fields", {}), self.vars)
                    for name, value in want.items():
                        if field(n.json, name) != value:
                            raise FlowFailure(f"notification for {cid}: {name} is "
                                              f"{field(n.json, name)!r}, want {value!r}")
                    self.kill_running(cid, n.running)
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                raise FlowFailure(f"no container notification for {cid!r}")
            try:
                self.bridge.recv(left)
            except TimeoutError:
                pass

    def do_no_reply(self, step):
        """The reply to an outstanding request must not come within ms."""
        msg_id = self.pending[step["step"]][0]
        deadline = time.monotonic() + step["ms"] / 1000
        while time.monotonic() < deadline:
            if msg_id in self.bridge.replies:
                raise FlowFailure(f"{step['step']} was answered early: "
                                  f"{self.bridge.replies[msg_id].raw[:200]!r}")
            try:
                self.bridge.recv(max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                break
        if msg_id in self.bridge.replies:
            raise FlowFailure(f"{step['step']} was answered early")

    def kill_running(self, cid, pids):
        """The host's reaction to a container notification: each process of
        that container whose wait was still unanswered when it arrived is
        killed (Process.Kill: SignalProcess without Options); whatever the
        guest answers is tolerated (Process.Signal treats 0x80070490 as
        'not delivered')."""
        for pid in pids:
            msg = {"ContainerId": cid}
            msg.update(subst(self.flow.get("request_base", {}), self.vars))
            msg["ProcessId"] = pid
            msg_id = self.bridge.send_request(hcsshim_host.SIGNAL_PROCESS, msg)
            self.note(f"-> {msg_id} SignalProcess (hcsExec.waitForContainerExit kills pid {pid}, "
                      f"still running for the shim when {cid} was reported gone)")
            reply = self.bridge.wait_reply(msg_id, REPLY_TIMEOUT)
            self.note(f"<- {msg_id} {reply.raw[:200]!r} (any result is tolerated)")

    def do_sleep(self, step):
        time.sleep(step["ms"] / 1000)

    def do_terminate(self, step):
        """HCS terminates the UVM: no bridge message; the connection drops."""
        self.quiet(0.3)
        if self.bridge.notifications:
            extra = [n.raw[:200] for n in self.bridge.notifications]
            raise FlowFailure(f"notifications the flow did not expect: {extra}")
        self.bridge.close()
        self.terminated = True
        self.note("   host: terminate (HCS); the bridge is closed")

    def do_populate(self, step):
        """Off-VM stand-in for a VPMem layer: the layer's files at the path
        the guest would have mounted it."""
        path = subst(step["path"], self.vars)
        layer_tree(path, self.device(step["device"])["image"]["tree"])

    def do_rmtree(self, step):
        shutil.rmtree(subst(step["path"], self.vars), ignore_errors=True)

    def do_check_image(self, step):
        image = self.env.image_path(step["device"])
        feats = ext4_features(image)
        if feats is None:
            raise FlowFailure(f"{step['device']}: no ext4 file system on the disk")
        missing = set(step.get("features", [])) - feats
        present = set(step.get("no_features", [])) & feats
        if missing or present:
            raise FlowFailure(f"{step['device']}: ext4 features {sorted(feats)}: missing "
                              f"{sorted(missing)}, unwanted {sorted(present)}")
        for path in step.get("paths", []):
            if debugfs_ls(image, subst(path, self.vars)) is None:
                raise FlowFailure(f"{step['device']}: {path} is not on the disk")
        self.note(f"   host: {step['device']} holds ext4 with {sorted(feats)[:12]}..."
                  f"{' and ' + ', '.join(step['paths']) if step.get('paths') else ''}")

    def do_check_path(self, step):
        """A path as the host can see it (off-VM only: the guest's files are
        this machine's)."""
        if not self.env.offvm:
            raise StepSkipped("the guest's file system is not visible from the host")
        path = subst(step["path"], self.vars)
        if step.get("exists", True) != os.path.exists(path):
            raise FlowFailure(f"{path} {'is missing' if step.get('exists', True) else 'exists'}")
        if "content" in step:
            with open(path) as f:
                got = f.read()
            if got != subst(step["content"], self.vars):
                raise FlowFailure(f"{path}: {got!r}")
        self.note(f"   host: checked {path}")

    def do_check_routes(self, step):
        """Off-VM: whether a container shares the UVM's (the gcs's) network
        namespace (`uvm_netns`), the routes with a gateway in each table
        named and the policy rules (all but the kernel's 0, 32766, 32767) in
        its network namespace, as `ip -j` shows them; a NIC is named by its
        device and a metric of null is none."""
        if not self.env.offvm:
            raise StepSkipped("the NIC steps run off-VM only")
        cid = subst(step["ContainerId"], self.vars)
        if "uvm_netns" in step:
            same = self.env.netns_inode(cid) == self.env.netns_inode(None)
            if same != step["uvm_netns"]:
                raise FlowFailure(f"{cid} is {'' if same else 'not '}in the UVM's (the "
                                  "gcs's) network namespace")
        ifname = lambda name: self.device(name)["_ifname"]  # noqa: E731
        for table, want in step.get("routes", {}).items():
            got = sorted((r.get("dst"), r.get("gateway"), r.get("dev"), r.get("metric"))
                         for r in self.env.ip_json(cid, "route", "show", "table", table)
                         if r.get("gateway"))
            exp = sorted((w["dst"], w["gateway"], ifname(w["device"]), w["metric"])
                         for w in want)
            if got != exp:
                raise FlowFailure(f"{cid}: routes via a gateway in table {table}: {got}, "
                                  f"expected {exp}")
        if "rules" in step:
            got = sorted((r.get("priority"), r.get("src"), r.get("table"))
                         for fam in ("-4", "-6")
                         for r in self.env.ip_json(cid, fam, "rule")
                         if r.get("priority") not in (0, 32766, 32767))
            exp = sorted((w["priority"], w["src"], w["table"]) for w in step["rules"])
            if got != exp:
                raise FlowFailure(f"{cid}: rules {got}, expected {exp}")
        self.note(f"   host: network namespace of {cid[:12]}... as the reference leaves it")

    def do_unplugged(self, step):
        """Off-VM: the gcs wrote 1 to the SCSI device's delete file."""
        dev = self.device(step["device"])
        addr = dev.get("_addr")
        if not self.env.offvm or addr is None:
            raise StepSkipped("only the off-VM fake sysfs records the unplug")
        with open(os.path.join(addr, "delete")) as f:
            if f.read() != "1\n":
                raise FlowFailure(f"{step['device']} was not unplugged by the guest")
        self.note(f"   host: the guest unplugged {step['device']}")


def run_flow(flow, env, log=None):
    runner = Runner(flow, env, log)
    try:
        runner.run()
    finally:
        runner.leftovers = env.close()
    return runner


def replay(flow, env, where):
    """run_flow for a test: None when the flow passed, else why it failed (a
    reply the host would not take, or gcs log lines its parser stops at).
    Prints what was skipped `where` (off-VM, in the VM) and what the host's
    terminate left for the environment to remove."""
    try:
        result = run_flow(flow, env)
    except FlowFailure as e:
        return str(e)
    for step, why in result.skipped:
        print(f"skipped {where}: {step}: {why}")
    if result.leftovers:
        print("removed after the host's terminate:", result.leftovers)
    bad = env.log_lines_bad()
    if bad:
        return "non-JSON gcs log lines (the host's log parser stops):\n" + "".join(bad[:5])
    return None


def show(flow):
    """The flow as the host puts it on the wire (in a UVM: ${RUN} = /run);
    values captured from replies stay ${NAME}."""
    class Keep(dict):
        def __missing__(self, key):
            return "${" + key + "}"

    variables = Keep(RUN="/run", SYS="/sys")
    global lookup
    saved, lookup = lookup, (lambda v, name: v[name])
    try:
        def walk(steps, depth=0):
            pad = "  " * depth
            for step in steps:
                if "send" in step:
                    body = subst(step.get("body", {}), variables)
                    msg = {"ContainerId": body.pop("ContainerId")}
                    msg.update(subst(flow.get("request_base", {}), variables))
                    msg.update(body)
                    tag = " (async)" if step.get("async") else ""
                    when = f" when {step['when']}" if "when" in step else ""
                    print(f"{pad}{step.get('id', '')}: {step['send']}{tag}{when}\n{pad}  "
                          f"{go_marshal(msg, escape_html=False)}")
                elif "await" in step:
                    print(f"{pad}await {step['await']}")
                elif "loop" in step:
                    print(f"{pad}loop until {step['loop']['until']}:")
                    walk(step["loop"]["steps"], depth + 1)
                else:
                    print(f"{pad}host {json.dumps(step)}")
        walk(flow["steps"])
    finally:
        lookup = saved


if __name__ == "__main__":
    # python3 tests/hostflows/runner.py <flow name>...: the requests on the wire.
    for f in load_flows(sys.argv[1:] or None):
        print(f"== {f['name']} ({f['hcsshim']}): {f['command']}")
        show(f)
