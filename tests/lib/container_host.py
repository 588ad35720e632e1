"""Containers driven as hcsshim drives them (spec §3.2-3.9, §3.12, §3.14, §4.2),
against a real gcs running real runc, confined to private places:

    env = ContainerEnv(gcs_binary)       # temp dir, cgroup prefix, runc root
    host = env.start()                   # the gcs, negotiated
    c = host.container("c1", ["/bin/echo", "hi"])   # bundle with a busybox rootfs
    assert c.create().result == 0
    p = c.start(stdout=True)
    assert p.read_stdout() == b"hi\\n"
    assert p.wait_code() == 0
    assert host.notification().json["Type"] == "UnexpectedExit"
    assert c.delete().result == 0
    env.close()                          # stops the gcs, checks and cleans up

Confinement: the gcs gets LCOW_CGROUP_PREFIX (its /gcs and /pods cgroups
live below /lcow-ct-<pid>-<n> in every hierarchy), LCOW_RUNC_ROOT and
LCOW_RUNC_TMP_DIR inside the temporary directory, and LCOW_BUNDLE_ROOTS
naming the temporary directory, where the bundles are. close() removes what
a failed test may have left (runc containers, their processes, cgroups) and
says what it had to remove.
"""
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from gcs_host import GcsProcess, HR, Msg, NULL_GUID
from uvm_process import INFINITE, kill_tree, proc_children, proc_fds, read_all

BUSYBOX = "/bin/busybox"
CGROUP_ROOT = "/sys/fs/cgroup"
ACTIVITY = "6a1ce5b2-7c1e-4f43-9d35-0f0b1a2c3d4e"
APPLETS = ["sh", "echo", "cat", "id", "env", "pwd", "touch", "sleep", "true", "false", "dd",
           "stty", "yes", "ls", "kill", "head", "tr", "wc", "hostname", "ps", "mkdir"]
_counter = itertools.count()

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
          "bob:x:1001:1001::/tmp:/bin/sh\n")
GROUP = "root:x:0:\nwheel:x:10:alice\nstaff:x:50:alice,bob\nalice:x:1000:\nbob:x:1001:\n"


def make_rootfs(path):
    """A minimal busybox root file system (Debian's busybox-static)."""
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "home/alice"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(path, "bin", a))
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write(GROUP)
    os.chmod(os.path.join(path, "tmp"), 0o1777)


def mount_points_below(path):
    """Mount points strictly below path, from /proc/self/mountinfo."""
    # surrogateescape: a mount point may hold any bytes (a fuzzer's, say).
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return [p for p in points if p.startswith(path.rstrip("/") + "/")]


def oci_spec(rootfs, args, env=None, cwd="/", user=None, terminal=False, readonly=False,
             resources=None, annotations=None, hostname="lcowctr", console_size=None,
             rlimits=None, cgroups_path=""):
    """An OCI spec shaped as hcsshim's createLCOWSpec sends it: no hooks,
    linux.cgroupsPath empty (the guest picks it), no windows section."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
            "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID"]
    process = {
        "terminal": terminal,
        "user": {"uid": 0, "gid": 0},
        "args": list(args),
        "env": ["PATH=/bin"] + list(env or []),
        "cwd": cwd,
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        "rlimits": rlimits if rlimits is not None else
        [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 777}],
        "noNewPrivileges": True,
    }
    if user is not None:
        process["user"]["username"] = user
    if console_size is not None:
        process["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    spec = {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": rootfs, "readonly": readonly},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    if resources is not None:
        spec["linux"]["resources"] = resources
    if annotations:
        spec["annotations"] = dict(annotations)
    return spec


def exec_process(args, env=None, cwd="/", user=None, terminal=False):
    """An OciProcess for ExecuteProcess (§3.4 case 3)."""
    p = {"terminal": terminal, "args": list(args), "env": ["PATH=/bin"] + list(env or []),
         "cwd": cwd, "user": {"uid": 0, "gid": 0}}
    if user is not None:
        p["user"]["username"] = user
    return p


def read_exact_eof(conn, timeout=30):
    conn.settimeout(timeout)
    try:
        return read_all(conn)
    finally:
        conn.settimeout(None)


class CProc:
    """A started container process: pid and the host ends of its stdio."""

    def __init__(self, container, pid, conns):
        self.container = container
        self.pid = pid
        self.stdin, self.stdout, self.stderr = conns

    def read_stdout(self, timeout=30):
        data = read_exact_eof(self.stdout, timeout)
        self.stdout.close()
        return data

    def read_stderr(self, timeout=30):
        data = read_exact_eof(self.stderr, timeout)
        self.stderr.close()
        return data

    def close_stdin(self):
        self.stdin.shutdown(socket.SHUT_WR)

    def wait(self, timeout_ms=INFINITE, timeout=60):
        return self.container.host.wait(self.container.id, self.pid, timeout_ms, timeout)

    def wait_code(self, timeout=60):
        reply = self.wait(timeout=timeout)
        assert reply.result == 0, reply.json
        return reply.json["ExitCode"]

    def signal(self, sig=None):
        return self.container.host.signal(self.container.id, self.pid, sig)

    def resize(self, height, width):
        return self.container.host.request(Msg.RESIZE_CONSOLE, self.container.id,
                                           ProcessId=self.pid, Height=height, Width=width)

    def close(self):
        for c in (self.stdin, self.stdout, self.stderr):
            if c is not None:
                c.close()


class Container:
    """A bundle under the environment's directory and its requests."""

    def __init__(self, host, cid, spec_kw, bundle=None, scratch=None, spec=None):
        self.host = host
        self.id = cid
        self.bundle = bundle or os.path.join(host.env.dir, "c", cid)
        self.rootfs = os.path.join(self.bundle, "rootfs")
        self.scratch = scratch
        if spec is None:
            make_rootfs(self.rootfs)
            spec = oci_spec(self.rootfs, **spec_kw)
        self.spec = spec

    def config(self, schema=(2, 1)):
        cfg = {"SchemaVersion": {"Major": schema[0], "Minor": schema[1]},
               "OciBundlePath": self.bundle, "OciSpecification": self.spec}
        if self.scratch:
            cfg["ScratchDirPath"] = self.scratch
        return cfg

    def send_create(self, schema=(2, 1)):
        return self.host.bridge.send(Msg.CREATE, {
            "ContainerId": self.id, "ActivityId": ACTIVITY,
            "ContainerConfig": json.dumps(self.config(schema))})

    def create(self, schema=(2, 1), timeout=60):
        return self.host.bridge.wait_reply(self.send_create(schema), timeout)

    def must_create(self):
        reply = self.create()
        assert reply.result == 0, reply.json
        return reply

    def execute(self, process=None, stdin=False, stdout=False, stderr=False, listen=True,
                timeout=60):
        """ExecuteProcess: the init without `process`, else an exec. Returns
        (reply, CProc or None)."""
        params = {}
        if process is not None:
            params["OciProcess"] = process
        relay, listeners = {}, [None, None, None]
        for i, (name, want) in enumerate(zip(("StdIn", "StdOut", "StdErr"),
                                             (stdin, stdout, stderr))):
            if not want:
                continue
            params[f"Create{name}Pipe"] = True
            port = self.host.uvm.ports(1)[0]
            relay[name] = port
            if listen:
                listeners[i] = self.host.gcs.listen(port)
        settings = {"ProcessParameters": json.dumps(params)}
        if relay:
            settings["VsockStdioRelaySettings"] = relay
        msg_id = self.host.bridge.send(Msg.EXECUTE_PROCESS, {
            "ContainerId": self.id, "ActivityId": NULL_GUID, "Settings": settings})
        reply = self.host.bridge.wait_reply(msg_id, timeout)
        conns = [None, None, None]
        if reply.result == 0:
            for i, lst in enumerate(listeners):
                if lst is not None:
                    conns[i] = lst.accept(timeout)
        for lst in listeners:
            if lst is not None:
                self.host.uvm.drop_listener(lst)
        if reply.result != 0:
            return reply, None
        return reply, CProc(self, reply.json["ProcessId"], conns)

    def start(self, **kw):
        reply, proc = self.execute(None, **kw)
        assert reply.result == 0, reply.json
        return proc

    def exec(self, process, **kw):
        reply, proc = self.execute(process, **kw)
        assert reply.result == 0, reply.json
        return proc

    def shutdown(self, forced=False):
        return self.host.request(Msg.SHUTDOWN_FORCED if forced else Msg.SHUTDOWN_GRACEFUL,
                                 self.id)

    def delete(self):
        return self.host.request(Msg.DELETE_CONTAINER_STATE, self.id)

    def properties(self, *types):
        reply = self.host.request(Msg.GET_PROPERTIES, self.id,
                                  Query=json.dumps({"PropertyTypes": list(types)}))
        return reply, (json.loads(reply.json["Properties"]) if reply.result == 0 else None)

    def cgroup_dir(self, controller="memory"):
        return os.path.join(CGROUP_ROOT, controller, self.host.env.cgroup_prefix.lstrip("/"),
                            "pods", self.id)


class ContainerHost:
    """The host side of containers on one gcs."""

    def __init__(self, env, gcs, uvm):
        self.env = env
        self.gcs = gcs
        self.uvm = uvm

    @property
    def bridge(self):
        return self.uvm.bridge

    def request(self, msg_type, cid, timeout=60, **fields):
        body = {"ContainerId": cid, "ActivityId": NULL_GUID, **fields}
        return self.bridge.request(msg_type, body, timeout=timeout)

    def container(self, cid, args=None, bundle=None, scratch=None, spec=None, **spec_kw):
        return Container(self, cid, dict(spec_kw, args=args or ["/bin/true"]), bundle, scratch,
                         spec)

    def wait(self, cid, pid, timeout_ms=INFINITE, timeout=60):
        msg_id = self.bridge.send(Msg.WAIT_FOR_PROCESS, {
            "ContainerId": cid, "ActivityId": NULL_GUID, "ProcessId": pid,
            "TimeoutInMs": timeout_ms})
        return self.bridge.wait_reply(msg_id, timeout)

    def signal(self, cid, pid, sig=None):
        fields = {"ProcessId": pid}
        if sig is not None:
            fields["Options"] = {"Signal": int(sig)}
        return self.request(Msg.SIGNAL_PROCESS, cid, **fields)

    def notification(self, timeout=30):
        return self.bridge.wait_notification(timeout)

    def no_notification(self, seconds=1.0):
        """True when no notification arrives within `seconds` (replies that
        come meanwhile are kept for wait_reply)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.bridge.notifications:
                return False
            try:
                self.bridge.recv(max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                break
        return not self.bridge.notifications


def cgroup_hierarchies():
    """The v1 hierarchies (or the v2 root) below CGROUP_ROOT."""
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return []
    out = []
    for m in mounts:
        if m[2] in ("cgroup", "cgroup2") and m[1].startswith(CGROUP_ROOT):
            out.append(m[1])
    return out


def cgroup_dirs(prefix):
    """Every cgroup directory at or below prefix, in every hierarchy."""
    found = []
    for h in cgroup_hierarchies():
        top = os.path.join(h, prefix.lstrip("/"))
        for root, dirs, _ in os.walk(top):
            found.append(root)
    return found


def remove_cgroups(prefix):
    """rmdir the prefix's cgroups, deepest first (processes must be gone)."""
    left = []
    for h in cgroup_hierarchies():
        top = os.path.join(h, prefix.lstrip("/"))
        for root, dirs, _ in sorted(os.walk(top, topdown=False), key=lambda t: -len(t[0])):
            for attempt in range(50):
                try:
                    os.rmdir(root)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                left.append(root)
    return left


def cgroup_procs(prefix):
    pids = set()
    for d in cgroup_dirs(prefix):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids.update(int(x) for x in f.read().split())
        except OSError:
            pass
    return sorted(pids)


def mount_count():
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        return sum(1 for _ in f)


class ContainerEnv:
    """A temporary directory, a cgroup prefix and a runc root for one gcs,
    and the cleanup of all of them."""

    def __init__(self, binary, extra_env=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="lcow-ct-")
        os.chmod(self.dir, 0o755)
        self.cgroup_prefix = f"/lcow-ct-{os.getpid()}-{next(_counter)}"
        self.runc_root = os.path.join(self.dir, "runc")
        self.runc_tmp = os.path.join(self.dir, "calls")
        self.env = {
            "LCOW_CGROUP_PREFIX": self.cgroup_prefix,
            "LCOW_RUNC_ROOT": self.runc_root,
            "LCOW_RUNC_TMP_DIR": self.runc_tmp,
            "LCOW_BUNDLE_ROOTS": self.dir,
        }
        self.env.update(extra_env or {})
        self.gcs = None
        self.host = None
        self.leftovers = []

    def start(self, args=()):
        self.gcs = GcsProcess(self.binary, args=args, env=self.env)
        from uvm_process import UvmHost
        uvm = UvmHost(self.gcs)
        uvm.connect()
        uvm.request(Msg.DUMP_STACKS)  # a round trip: start-up is over
        self.host = ContainerHost(self, self.gcs, uvm)
        return self.host

    def runc_containers(self):
        try:
            return sorted(os.listdir(self.runc_root))
        except FileNotFoundError:
            return []

    def _runc(self, *args):
        return subprocess.run(["runc", "--root", self.runc_root, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self):
        """Stops the gcs; removes leftovers, recording what there was in
        self.leftovers (a test that expects a clean end asserts it empty)."""
        if self.host is not None:
            if self.host.uvm.bridge is not None:
                self.host.uvm.bridge.close()
        if self.gcs is not None:
            kill_tree_of(self.gcs.proc.pid)
            self.gcs.stop()
        for cid in self.runc_containers():
            self.leftovers.append(f"runc container {cid}")
            self._runc("delete", "--force", cid)
        for pid in cgroup_procs(self.cgroup_prefix):
            self.leftovers.append(f"process {pid} in our cgroups")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        left = remove_cgroups(self.cgroup_prefix)
        self.leftovers += [f"cgroup {d} could not be removed" for d in left]
        # Mounts left below the test's directory (a pod's volumes after a
        # failed test) are detached first: rmtree must not reach through one.
        for mp in sorted(mount_points_below(self.dir), key=len, reverse=True):
            self.leftovers.append(f"mount {mp}")
            subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.leftovers


def kill_tree_of(pid):
    """The gcs's leftover children (container inits it adopted) die with it."""
    kill_tree(pid)


__all__ = ["ACTIVITY", "BUSYBOX", "CProc", "Container", "ContainerEnv", "ContainerHost",
           "HR", "INFINITE", "Msg", "NULL_GUID", "cgroup_dirs", "exec_process", "make_rootfs",
           "mount_count", "oci_spec", "proc_children", "proc_fds"]
