"""/init as PID 1, off-VM.

Each test builds a scratch root (init, vsockexec, busybox and the probe
helper), and runs init as PID 1 of new PID, mount and network namespaces
chrooted there (tests/helpers/nsrun). The probe, started by init, reports
what it sees; init's power-off ends the PID namespace with SIGINT, which nsrun
records. The namespaces die with init, so nothing stays mounted; the fixture
checks that and removes the root. Needs root.

init writes to /dev/kmsg (the machine's kernel log); tests read their own
records back from it. Choosing cgroup v2 makes init enable the root cgroup's
controllers, which is machine-wide: every boot restores the machine's
cgroup.subtree_control afterwards.
"""
import contextlib
import ctypes
import os
import platform
import re
import resource
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from conftest import OUT, require_root

INIT = os.path.join(OUT, "init")
VSOCKEXEC = os.path.join(OUT, "vsockexec")
PROBE = os.path.join(OUT, "tests", "helpers", "init_probe")
NSRUN = os.path.join(OUT, "tests", "helpers", "nsrun")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
CHILD_PATH = "PATH=/sbin:/usr/sbin:/bin:/usr/bin"
POWER_OFF = ("signaled", 2)  # reboot(RB_POWER_OFF) by init of a PID namespace
CAP_SYS_RESOURCE = 24


def _is_static(path):
    """True when the ELF file has no program interpreter (PT_INTERP)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack("<I", f.read(4))
            if p_type == 3:
                return False
    return True


def _has_cap(cap):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def _mounts_under(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        return [line for line in f if line.split()[4].startswith(path + "/")
                or line.split()[4] == path]


@pytest.fixture
def root():
    require_root()
    for binary in (INIT, VSOCKEXEC, PROBE, NSRUN):
        if not os.path.exists(binary):
            pytest.fail(f"{binary} is not built")
    for binary in (INIT, VSOCKEXEC, PROBE):
        if not _is_static(binary):
            pytest.skip(f"{os.path.basename(binary)} is dynamically linked (sanitizer "
                        "build); the chroot has no libc")
    if not os.path.exists(BUSYBOX) or not _is_static(BUSYBOX):
        pytest.skip("needs a static busybox (busybox-static)")
    top = tempfile.mkdtemp(prefix="lcow-init-")
    try:
        for d in ("bin", "dev", "proc", "sys", "run", "tmp", "etc", "var"):
            os.mkdir(os.path.join(top, d))
        shutil.copy(INIT, os.path.join(top, "init"))
        shutil.copy(VSOCKEXEC, os.path.join(top, "bin", "vsockexec"))
        shutil.copy(PROBE, os.path.join(top, "probe"))
        shutil.copy(BUSYBOX, os.path.join(top, "bin", "busybox"))
        for applet in ("sh", "sleep", "cat", "echo", "ls"):
            os.symlink("busybox", os.path.join(top, "bin", applet))
        os.symlink("/probe", os.path.join(top, "bin", "gcs"))
        with open(os.path.join(top, "etc", "hostname"), "w") as f:
            f.write("lower\n")
        yield top
    finally:
        left = _mounts_under(top)
        shutil.rmtree(top, ignore_errors=True)
        assert not left, f"mounts left behind: {left}"


# --- the machine's cgroup2 root ------------------------------------------

def _host_cgroup2():
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if post.split()[0] == "cgroup2":
                return pre.split()[4]
    return None


@contextlib.contextmanager
def _restore_subtree_control():
    """Undoes what init enables in the (machine-wide) root cgroup."""
    mnt = _host_cgroup2()
    path = mnt and os.path.join(mnt, "cgroup.subtree_control")
    before = set(open(path).read().split()) if path else set()
    try:
        yield
    finally:
        if path:
            for ctrl in set(open(path).read().split()) - before:
                with open(path, "w") as f:
                    f.write(f"-{ctrl}")


def _bpf_device_query_errno(cgroup_dir):
    """BPF_PROG_QUERY for BPF_CGROUP_DEVICE on cgroup_dir: 0 or the errno."""
    nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
    if nr is None:
        pytest.skip(f"no bpf syscall number for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        attr = (ctypes.c_ubyte * 128)()
        struct.pack_into("<II", attr, 0, fd, 6)  # target_fd, BPF_CGROUP_DEVICE
        r = libc.syscall(ctypes.c_long(nr), ctypes.c_int(16), attr,  # BPF_PROG_QUERY
                         ctypes.c_uint(len(attr)))
        return 0 if r == 0 else ctypes.get_errno()
    finally:
        os.close(fd)


# --- running init ---------------------------------------------------------

class Kmsg:
    """The kernel log records written while the context is open."""

    def __enter__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def records(self):
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except BrokenPipeError:  # overwritten while we read: go on
                continue
            out.append(rec.decode(errors="replace").split(";", 1)[-1].strip())


class Boot:
    def __init__(self, proc, status, kmsg):
        self.stdout = proc.stdout.decode(errors="replace")
        self.stderr = proc.stderr.decode(errors="replace")
        self.status = status
        self.kmsg = kmsg
        self.probe = {}
        for line in self.stdout.splitlines():
            if line.startswith("probe:"):
                key, _, value = line[6:].partition("=")
                value = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value)
                self.probe.setdefault(key, []).append(value)

    def one(self, key):
        assert key in self.probe, f"probe reported no {key}:\n{self.stdout}\n{self.stderr}"
        return self.probe[key][0]

    def mounts(self):
        """Mount point -> (fstype, per-mount options, source, super options)."""
        table = {}
        for line in self.probe.get("mount", []):
            pre, _, post = line.partition(" - ")
            pre, post = pre.split(), post.split()
            table[pre[4]] = (post[0], set(pre[5].split(",")), post[1], set(post[2].split(",")))
        return table

    def __repr__(self):
        return f"status={self.status}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def boot(top, args, stdin=b"", env=None, timeout=30, close_stdin=False):
    status_path = os.path.join(top, "nsrun.status")
    full_env = {"LCOW_FORBID_VSOCK": "1"} if env is None else env
    kwargs = {}
    if close_stdin:
        kwargs["pass_fds"] = ()
        kwargs["stdin"] = subprocess.DEVNULL
        kwargs["preexec_fn"] = lambda: os.close(0)
    else:
        kwargs["input"] = stdin
    with Kmsg() as kmsg, _restore_subtree_control():
        proc = subprocess.run([NSRUN, "--net", "--status", status_path, top, "/init", *args],
                              capture_output=True, env=full_env, timeout=timeout, **kwargs)
        records = kmsg.records()
    assert proc.returncode == 0, f"nsrun failed: {proc.stderr.decode()}"
    with open(status_path) as f:
        kind, code = f.read().split()
    os.unlink(status_path)
    return Boot(proc, (kind, int(code)), records)


class Listener:
    """A host-side unix socket standing for a vsock port: it accepts one
    connection and either sends `send` (entropy) or collects what comes."""

    def __init__(self, path, send=None, hold=False):
        self.path, self.send, self.hold = path, send, hold
        self.connections = 0
        self.data = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(20)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.connections += 1
        with conn:
            if self.send is not None:  # an entropy source: send, then hang up
                conn.sendall(self.send)
                if self.hold:  # ... or hold the line like a broken host
                    time.sleep(7)
                return
            conn.settimeout(20)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.data += chunk

    def close(self):
        self.sock.close()
        self.thread.join(25)
        os.unlink(self.path)


# --- tests ----------------------------------------------------------------

def test_refuses_to_run_unless_pid_1():
    # Safe on the machine itself: the PID check precedes everything else.
    proc = subprocess.run([INIT, "/bin/true"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1
    assert "must run as PID 1" in proc.stderr


def test_bad_arguments_outside_pid_1_exit_2():
    proc = subprocess.run([INIT, "-e", "0", "/bin/true"], capture_output=True, text=True,
                          timeout=10)
    assert proc.returncode == 2
    assert "invalid entropy port '0'" in proc.stderr
    assert "usage: init" in proc.stderr


def test_mount_table(root):
    b = boot(root, ["/probe", "report", "exit", "7"])
    assert b.status == POWER_OFF, b
    m = b.mounts()
    expected = {
        "/dev": ("devtmpfs", {"nosuid", "noexec"}),
        "/proc": ("proc", {"nosuid", "nodev", "noexec"}),
        "/run": ("tmpfs", {"nosuid", "nodev", "noexec"}),
        "/tmp": ("tmpfs", {"nosuid", "nodev", "noexec"}),
        "/dev/shm": ("tmpfs", {"nosuid", "nodev", "noexec"}),
        "/dev/pts": ("devpts", {"nosuid", "noexec"}),
        "/sys": ("sysfs", {"nosuid", "nodev", "noexec"}),
    }
    for point, (fstype, flags) in expected.items():
        assert point in m, f"{point} not mounted: {b}"
        assert m[point][0] == fstype, (point, m[point])
        assert flags <= m[point][1], (point, m[point])
    assert "mode=755" in m["/run"][3]
    assert m["/dev/shm"][2] == "shm"
    assert "/sys/fs/cgroup" in m
    # No -w: /etc and /var stay the root's own.
    assert "/etc" not in m and "/var" not in m and "/run/over" not in m
    assert "primary child /probe exited with status 7" in b.stderr
    assert "powering off (exit status 7)" in b.stderr


def test_child_process_state(root):
    b = boot(root, ["/probe", "report", "exit", "0"])
    assert b.status == POWER_OFF, b
    pid = b.one("pid")
    assert b.one("ppid") == "1"
    assert b.one("sid") == pid, "the child must lead its own session"
    assert b.one("pgid") == pid
    assert b.one("sigblk") == "0000000000000000", "init's blocked signals leaked"
    # init itself blocks every signal it can (all but SIGKILL and SIGSTOP).
    blocked = int(b.one("init_sigblk"), 16)
    for sig in range(1, 32):
        if sig not in (9, 19):
            assert blocked >> (sig - 1) & 1, f"init does not block signal {sig}"
    # stdio is init's own (here the test's pipes; in the VM the console).
    fds = dict(v.split(" ", 1) for v in b.probe["fd"])
    assert all(fds[n].startswith("pipe:") for n in "012"), fds
    soft, hard = (int(x) for x in b.one("nofile").split())
    assert soft == 1024
    if _has_cap(CAP_SYS_RESOURCE):
        assert hard == 1024 * 1024
    else:  # this machine withholds CAP_SYS_RESOURCE: the hard limit cannot rise
        assert hard == resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        assert "raise_nofile: Operation not permitted" in b.stderr


def test_loopback_up_for_ipv4_and_ipv6(root):
    b = boot(root, ["/probe", "report", "exit", "0"])
    assert b.status == POWER_OFF, b
    assert int(b.one("lo_flags"), 16) & 0x1, "lo is not IFF_UP"
    assert b.one("lo4") == "ok"
    if os.path.exists("/proc/net/if_inet6"):
        assert b.one("lo6") == "ok"


def without_boot_stamp(env):
    """The child's environment minus init's start stamp and step times
    (lib/boottime.h), which must be there: nanoseconds of CLOCK_BOOTTIME,
    not after now, and "mounts=<us>,<step>=<us>,..."."""
    stamps = [e for e in env if e.startswith("LCOW_INIT_STARTED_NS=")]
    assert len(stamps) == 1, env
    ns = int(stamps[0].split("=", 1)[1])
    assert 0 < ns <= time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    steps = [e for e in env if e.startswith("LCOW_INIT_STEPS_US=")]
    assert len(steps) == 1, env
    times = [kv.split("=") for kv in steps[0].split("=", 1)[1].split(",")]
    assert times[0][0] == "mounts" and all(v.isdigit() for _, v in times), steps
    return [e for e in env if e not in stamps + steps]


def test_environment_is_path_and_the_boot_stamp_only(root):
    env = {"HOME": "/", "TERM": "linux", "FOO": "bar"}
    b = boot(root, ["/probe", "report", "exit", "0"], env=env)
    assert b.status == POWER_OFF, b
    assert without_boot_stamp(b.probe["env"]) == [CHILD_PATH]


def test_environment_passes_the_test_transport_variables(root):
    env = {"HOME": "/", "LCOW_FORBID_VSOCK": "1", "LCOW_TRANSPORT": "unix:/hv"}
    b = boot(root, ["/probe", "report", "exit", "0"], env=env)
    assert sorted(without_boot_stamp(b.probe["env"])) == sorted(
        [CHILD_PATH, "LCOW_FORBID_VSOCK=1", "LCOW_TRANSPORT=unix:/hv"])


def test_orphan_is_reaped(root):
    b = boot(root, ["/probe", "orphan", "exit", "0"])
    assert b.status == POWER_OFF, b
    assert b.one("orphan") == "reaped"


def test_child_killed_by_signal(root):
    b = boot(root, ["/probe", "kill", "9"])
    assert b.status == POWER_OFF, b
    assert "primary child /probe killed by signal 9" in b.stderr
    assert "powering off (exit status 137)" in b.stderr


def test_exec_failure_is_status_127(root):
    b = boot(root, ["/no/such/program", "arg"])
    assert b.status == POWER_OFF, b
    assert "exec /no/such/program: No such file or directory" in b.stderr
    assert "primary child /no/such/program exited with status 127" in b.stderr


def test_cgroup_default_mode_follows_the_kernel(root):
    mnt = _host_cgroup2()
    if mnt is None:
        pytest.skip("no cgroup2 mount on this machine to probe BPF and restore through")
    err = _bpf_device_query_errno(mnt)
    expect_v2 = err in (0, 1)  # 0 or EPERM: BPF device control exists
    b = boot(root, ["/probe", "report", "exit", "0"])
    assert b.status == POWER_OFF, b
    fstype = b.mounts()["/sys/fs/cgroup"][0]
    if expect_v2:
        assert fstype == "cgroup2", b
        assert "init: cgroup: using v2" in b.kmsg
        # Every controller the root has is delegated to its children.
        controllers = set(" ".join(b.probe["cg_controllers"]).split())
        subtree = set(" ".join(b.probe.get("cg_subtree", [])).split())
        assert controllers == subtree
    else:
        assert fstype == "tmpfs", b
        assert any("BPF device control unusable" in r for r in b.kmsg), b.kmsg


def _enabled_controllers():
    with open("/proc/cgroups") as f:
        return {line.split()[0] for line in f
                if not line.startswith("#") and line.split()[3] == "1"}


def test_cgroup_v1_when_forced_on_the_command_line(root):
    with open(os.path.join(root, "cmdline"), "w") as f:
        f.write("initrd=/initrd.img hcsshim.cgroup=v1 panic=-1 -- -e 1 /bin/gcs\n")
    env = {"LCOW_FORBID_VSOCK": "1", "LCOW_INIT_CMDLINE": "/cmdline"}
    b = boot(root, ["/probe", "report", "exit", "0"], env=env)
    assert b.status == POWER_OFF, b
    m = b.mounts()
    assert m["/sys/fs/cgroup"][0] == "tmpfs" and m["/sys/fs/cgroup"][2] == "cgroup_root"
    assert "init: cgroup: hcsshim.cgroup=v1 on the kernel command line" in b.kmsg
    mounted = {p.rsplit("/", 1)[1]: v for p, v in m.items()
               if p.startswith("/sys/fs/cgroup/")}
    enabled = _enabled_controllers()
    for name, (fstype, flags, _, sopts) in mounted.items():
        assert fstype == "cgroup" and name in sopts, (name, fstype, sopts)
        assert {"nosuid", "nodev", "noexec"} <= flags
    # A controller this machine already co-mounts with another cannot be
    # mounted alone; init says so and goes on. All others must be there.
    refused = {n for n in enabled if f"cgroup v1: mount /sys/fs/cgroup/{n}:" in b.stderr}
    assert set(mounted) == enabled - refused, b
    assert mounted, "no v1 controller mounted"


def test_cgroup_token_after_double_dash_does_not_force_v1(root):
    mnt = _host_cgroup2()
    if mnt is None or _bpf_device_query_errno(mnt) not in (0, 1):
        pytest.skip("cgroup v2 with BPF device control is not available here")
    with open(os.path.join(root, "cmdline"), "w") as f:
        f.write("quiet -- sh -c hcsshim.cgroup=v1\n")
    env = {"LCOW_FORBID_VSOCK": "1", "LCOW_INIT_CMDLINE": "/cmdline"}
    b = boot(root, ["/probe", "report", "exit", "0"], env=env)
    assert b.mounts()["/sys/fs/cgroup"][0] == "cgroup2", b


def test_writable_overlays(root):
    b = boot(root, ["-w", "/probe", "touch", "/etc/new", "touch", "/var/new",
                    "waitfor", "/etc/new", "waitfor", "/var/new", "report", "exit", "0"])
    assert b.status == POWER_OFF, b
    m = b.mounts()
    assert m["/run/over"][0] == "tmpfs" and "size=" in " ".join(m["/run/over"][3])
    for point in ("/etc", "/var"):
        fstype, flags, _, sopts = m[point]
        assert fstype == "overlay"
        assert f"lowerdir={point}" in sopts
        assert f"upperdir=/run/over{point}/upper" in sopts
        assert f"workdir=/run/over{point}/work" in sopts
    assert "noexec" in m["/etc"][1]
    assert "noexec" not in m["/var"][1], "/var must allow exec"
    assert b.probe["waitfor"] == ["/etc/new found", "/var/new found"]
    # The writes went to the tmpfs upper layers, not to the root's own dirs.
    assert os.listdir(os.path.join(root, "etc")) == ["hostname"]
    assert os.listdir(os.path.join(root, "var")) == []


def test_debug_shell_becomes_the_primary_child(root):
    script = (b"while [ ! -e /run/probe.done ]; do sleep 0.05; done\n"
              b"sleep 0.3\necho SHELL-OUTLIVED-THE-CHILD\nexit 5\n")
    b = boot(root, ["-d", "/bin/sh", "/probe", "touch", "/run/probe.done", "exit", "3"],
             stdin=script)
    assert b.status == POWER_OFF, b
    assert "SHELL-OUTLIVED-THE-CHILD" in b.stdout
    assert re.search(r"child \d+ exited with status 3", b.stderr), b
    assert "primary child /bin/sh exited with status 5" in b.stderr


def test_no_arguments_is_the_lcow_v1_default(root):
    script = b"while [ ! -e /run/gcs.done ]; do sleep 0.05; done\nexit 4\n"
    b = boot(root, [], stdin=script)
    assert b.status == POWER_OFF, b
    assert b.probe["argv"] == ["/bin/gcs", "-loglevel", "debug", "-logfile=/run/gcs/gcs.log"]
    assert "primary child /bin/sh exited with status 4" in b.stderr


def test_hcsshim_command_line_with_vsockexec_and_entropy(root):
    entropy = Listener(os.path.join(root, "hv_1"), send=os.urandom(512))
    logs = Listener(os.path.join(root, "hv_109"))
    try:
        env = {"LCOW_FORBID_VSOCK": "1", "LCOW_TRANSPORT": "unix:/hv"}
        b = boot(root, ["-e", "1", "/bin/vsockexec", "-e", "109", "/bin/gcs", "-v4",
                        "-log-format", "json", "-loglevel", "debug"], env=env)
    finally:
        entropy.close()
        logs.close()
    assert b.status == POWER_OFF, b
    assert entropy.connections == 1
    assert "init: entropy: added 512 bytes from port 1" in b.kmsg
    assert b.probe["argv"] == ["/bin/gcs", "-v4", "-log-format", "json", "-loglevel", "debug"]
    fds = dict(v.split(" ", 1) for v in b.probe["fd"])
    assert fds["2"].startswith("socket:"), fds  # stderr is the log connection
    assert fds["1"].startswith("pipe:"), fds  # stdout untouched
    assert logs.connections == 1
    assert logs.data == b'{"level":"info","msg":"gcs probe"}\n'
    assert "primary child /bin/vsockexec exited with status 0" in b.stderr


def test_console_form(root):
    logs = Listener(os.path.join(root, "hv_109"))
    entropy = Listener(os.path.join(root, "hv_1"), send=os.urandom(64))
    script = b"while [ ! -e /run/gcs.done ]; do sleep 0.05; done\necho CONSOLE-SHELL\nexit 0\n"
    try:
        env = {"LCOW_FORBID_VSOCK": "1", "LCOW_TRANSPORT": "unix:/hv"}
        b = boot(root, ["-e", "1", "sh", "-c",
                        "/bin/vsockexec -e 109 /bin/gcs -v4 -log-format json & exec sh"],
                 stdin=script, env=env)
    finally:
        logs.close()
        entropy.close()
    assert b.status == POWER_OFF, b
    assert "CONSOLE-SHELL" in b.stdout
    assert logs.data == b'{"level":"info","msg":"gcs probe"}\n'
    assert "primary child sh exited with status 0" in b.stderr


def test_debug_command_line_reaches_console_and_kmsg(root):
    marker = f"MARKER-{uuid.uuid4().hex[:12]}"
    b = boot(root, ["/bin/sh", "-c", f"echo {marker}; exit 3"])
    assert b.status == POWER_OFF, b
    assert marker in b.stdout.splitlines()
    assert f"init: starting /bin/sh -c echo {marker}; exit 3" in b.kmsg
    assert "init: primary child /bin/sh exited with status 3" in b.kmsg
    assert "init: powering off (exit status 3)" in b.kmsg


def test_closed_stdio_is_filled_from_dev_console(root):
    b = boot(root, ["/probe", "report", "exit", "0"], close_stdin=True)
    assert b.status == POWER_OFF, b
    fds = dict(v.split(" ", 1) for v in b.probe["fd"])
    assert fds["0"] == "/dev/console"
    assert fds["1"].startswith("pipe:")


def test_entropy_failure_is_not_fatal(root):
    env = {"LCOW_FORBID_VSOCK": "1", "LCOW_TRANSPORT": "unix:/hv"}
    b = boot(root, ["-e", "1", "/probe", "exit", "6"], env=env)
    assert b.status == POWER_OFF, b
    assert "entropy: connect /hv_1: No such file or directory" in b.stderr
    assert "step init_entropy_seed" in b.stderr and "(going on)" in b.stderr
    assert "primary child /probe exited with status 6" in b.stderr


def test_entropy_never_uses_vsock_when_forbidden(root):
    b = boot(root, ["-e", "1", "/probe", "exit", "0"])  # no LCOW_TRANSPORT
    assert b.status == POWER_OFF, b
    assert "entropy: connect vsock:2:1: Operation not permitted" in b.stderr


def test_entropy_from_a_host_that_never_closes_times_out(root):
    entropy = Listener(os.path.join(root, "hv_1"), send=os.urandom(100), hold=True)
    try:
        env = {"LCOW_FORBID_VSOCK": "1", "LCOW_TRANSPORT": "unix:/hv"}
        start = time.monotonic()
        b = boot(root, ["-e", "1", "/probe", "exit", "0"], env=env)
        elapsed = time.monotonic() - start
    finally:
        entropy.close()
    assert b.status == POWER_OFF, b
    assert "entropy: after 100 bytes" in b.stderr
    assert "primary child /probe exited with status 0" in b.stderr
    assert elapsed < 6.5


def test_missing_mount_point_is_fatal_and_powers_off(root):
    os.rmdir(os.path.join(root, "sys"))
    b = boot(root, ["/probe", "report", "exit", "0"])
    assert b.status == POWER_OFF, b
    assert "mount /sys: No such file or directory" in b.stderr
    assert "powering off (exit status 1)" in b.stderr
    assert not b.probe, "the child ran after a fatal boot error"


@pytest.mark.parametrize("args,message", [
    (["-e", "0", "/probe"], "invalid entropy port '0'"),
    (["-e"], "option -e needs an argument"),
    (["-x", "/probe"], "unknown option -x"),
    (["-w"], "no child command given"),
])
def test_bad_arguments_as_pid_1_power_off(root, args, message):
    b = boot(root, args)
    assert b.status == POWER_OFF, b
    assert message in b.stderr
    assert "powering off (exit status 2)" in b.stderr
    assert not b.probe
