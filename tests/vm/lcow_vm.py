"""The lcow-guest image booted under QEMU and driven as hcsshim drives a
utility VM (bridge-protocol.md §1.1, §4.1), from the build machine.

    vm = LcowVM(kernel, initrd, backend, disks=[...], pmem=...)
    vm.start()                    # listeners first, then backend, then QEMU
    bridge = vm.accept_bridge()   # after entropy (port 1) and log (port 109)
    bridge.negotiate()
    ...
    vm.close()                    # always: kills QEMU and the backend,
                                  # removes every socket and temp file

The guest dials vsock ports; the vhost-user backend (host/vsock,
`vsock-backend`) turns a dial of (CID 2, port P) into a connect to the unix
socket "<prefix>_<P>", the same convention the gcs's `-transport unix:` and
tests/lib/gcs_host.py use, so the host side here is tests/lib's Listener,
BridgeConnection and LogStream unchanged. The QEMU command line is
tests/vm/vsock_vm.py's qemu_args() (memfd shared memory, q35, -accel tcg,
vhost-user-vsock-pci) plus the devices a test asks for:

  disks   virtio-scsi LUNs on one virtio-scsi-pci adapter (id scsi0). The
          guest has no VMBus: the gcs maps SCSI controller 0 to the first
          virtio-scsi host (gcs/storage/scsi_device.c), so Controller 0 + Lun address them.
  pmem    one virtio-pmem device: /dev/pmem0 in the guest (VPMem device 0).

The kernel command line is hcsshim's (guest-image.md §3) for an initrd boot
with a console, without initcall_blacklist=virtio_vsock_init (the virtio
transport is the only one under QEMU) and without pci=off (virtio is PCI).
Standard library only.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, HERE)

from gcs_host import BRIDGE_PORT, BridgeConnection, Listener, LogStream  # noqa: E402
from vsock_vm import UnixServer, qemu_args  # noqa: E402

ENTROPY_PORT = 1
LOG_PORT = 109
ENTROPY_BYTES = 512
GCS_COMMAND = "/bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel debug"
# hcsshim's options for a console boot (guest-image.md §3), QEMU-adjusted.
KERNEL_OPTIONS = ("console=ttyS0 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 panic=-1 "
                  "quiet nr_cpus=2 brd.rd_nr=0 pmtmr=0")
MEM = "512M"


def cmdline(options=KERNEL_OPTIONS, gcs_command=GCS_COMMAND, entropy_port=ENTROPY_PORT):
    init_args = f"-e {entropy_port} " if entropy_port else ""
    return f"{options} -- {init_args}{gcs_command}"


def missing_prereqs(kernel, initrd, backend, tools=()):
    """What a VM test needs and this machine lacks: QEMU, the image
    (make image), the vsock backend (make), and host tools by name."""
    need = [("qemu-system-x86_64", shutil.which("qemu-system-x86_64")),
            (f"{kernel} (make image)", os.path.exists(kernel)),
            (f"{initrd} (make image)", os.path.exists(initrd)),
            (f"{backend} (make)", os.path.exists(backend))]
    need += [(t, os.path.exists(t) if t.startswith("/") else shutil.which(t)) for t in tools]
    return [what for what, ok in need if not ok]


def format_log(entry):
    """One gcs JSON log object as a line: time level msg key=value..."""
    t = str(entry.get("time", ""))
    short = t[11:23] if len(t) >= 23 else t
    fields = " ".join(f"{k}={json.dumps(v) if not isinstance(v, str) or ' ' in v else v}"
                      for k, v in entry.items() if k not in ("time", "level", "msg"))
    line = f"{short} {str(entry.get('level', '?')):7} {entry.get('msg', '')}"
    return line + ("  " + fields if fields else "")


class GuestLog(LogStream):
    """The gcs log stream (port 109): tests/lib's LogStream (every line must
    be a JSON object with time/level/msg), plus an optional echo of each line
    as it arrives."""

    def __init__(self, conn, echo=None):
        self.conn = conn
        self.echo = echo
        super().__init__(conn.makefile("rb"))

    def _check(self, line):
        obj = super()._check(line)
        if self.echo is not None:
            self.echo(format_log(obj) if obj is not None else "(not JSON) " + line.rstrip())
        return obj


class LcowVM:
    """One backend plus one QEMU running the image with the gcs."""

    def __init__(self, kernel, initrd, backend, *, append=None, mem=MEM, disks=(), pmem=None,
                 echo_console=None, echo_log=None, on_mark=None, boot_timeout=120,
                 entropy=True, cpus=1):
        """initrd: None boots without one (the command line then names a
        root device); disks: [(lun, path, read_only)] on virtio-scsi; pmem: a
        file for one virtio-pmem device; echo_*: callables taking one text line;
        on_mark(name, seconds) is called as each boot event happens; cpus:
        vCPUs (hcsshim gives a UVM two)."""
        self.kernel = kernel
        self.initrd = initrd
        self.backend_bin = backend
        self.append = append or cmdline(entropy_port=ENTROPY_PORT if entropy else 0)
        self.mem = mem
        self.cpus = cpus
        self.disks = list(disks)
        self.pmem = pmem
        self.echo_console = echo_console
        self.echo_log = echo_log
        self.on_mark = on_mark
        self.boot_timeout = boot_timeout
        self.dir = tempfile.mkdtemp(prefix="lcowvm", dir="/tmp")
        self.prefix = os.path.join(self.dir, "v")
        self.vu_socket = os.path.join(self.dir, "vu.sock")
        self.serial = os.path.join(self.dir, "serial.log")
        self.backend_log = os.path.join(self.dir, "backend.log")
        self.qemu_log = os.path.join(self.dir, "qemu.log")
        self.listeners = []
        self.closers = []        # callables run at close(), after QEMU is gone
        self.backend = None
        self.qemu = None
        self.log = None
        self.marks = {}          # event -> seconds after QEMU was launched
        self.t0 = None
        self.entropy_sent = 0
        self.errors = []
        self.stopping = threading.Event()
        self.threads = []
        self.bridge_listener = None
        self.log_ready = threading.Event()
        self.entropy_done = threading.Event()

    # -- timing ---------------------------------------------------------------
    def mark(self, name):
        if self.t0 is not None and name not in self.marks:
            self.marks[name] = time.monotonic() - self.t0
            if self.on_mark is not None:
                self.on_mark(name, self.marks[name])

    def elapsed(self):
        return 0.0 if self.t0 is None else time.monotonic() - self.t0

    # -- ports ----------------------------------------------------------------
    def listen(self, port):
        lst = Listener(self.prefix, port)
        self.listeners.append(lst)
        return lst

    def drop(self, lst):
        lst.close()
        if lst in self.listeners:
            self.listeners.remove(lst)

    def _thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _accept(self, lst):
        """One connection, or None once the VM is being stopped."""
        while not self.stopping.is_set():
            try:
                return lst.accept(timeout=0.2)
            except socket.timeout:
                continue
            except OSError:
                return None
        return None

    def _serve_entropy(self, lst):
        conn = self._accept(lst)
        if conn is None:
            return
        try:
            conn.sendall(os.urandom(ENTROPY_BYTES))
            self.entropy_sent = ENTROPY_BYTES
            self.mark("entropy")
        except OSError as e:
            self.errors.append(f"entropy: {e}")
        finally:
            conn.close()
            self.entropy_done.set()

    def _serve_log(self, lst):
        conn = self._accept(lst)
        if conn is None:
            return
        self.mark("log")
        self.log = GuestLog(conn, self.echo_log)
        self.log_ready.set()

    def _tail_console(self):
        pos = 0
        pending = b""
        while True:
            stopping = self.stopping.is_set() or (self.qemu and self.qemu.poll() is not None)
            try:
                with open(self.serial, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            pos += len(data)
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if self.echo_console is not None:
                    self.echo_console(line.decode("utf-8", "replace").rstrip("\r"))
            if stopping:
                if pending and self.echo_console is not None:
                    self.echo_console(pending.decode("utf-8", "replace"))
                return
            time.sleep(0.05)

    # -- lifecycle --------------------------------------------------------------
    def qemu_command(self):
        args = qemu_args(self.kernel, self.initrd, self.vu_socket, self.append, self.serial,
                         mem=self.mem, cpus=self.cpus)
        if self.initrd is None:
            # A disk root (root=/dev/pmem0 on the command line): no initramfs.
            i = args.index("-initrd")
            del args[i:i + 2]
        if self.pmem:
            # virtio-pmem is plugged into hotpluggable memory: slots + maxmem.
            i = args.index("-m")
            args[i + 1] = f"{self.mem},slots=2,maxmem=4G"
            size = os.path.getsize(self.pmem)
            args += ["-object", f"memory-backend-file,id=pm0,share=on,mem-path={self.pmem},"
                     f"size={size}", "-device", "virtio-pmem-pci,memdev=pm0,id=nv0"]
        if self.disks:
            args += ["-device", "virtio-scsi-pci,id=scsi0"]
            for lun, path, read_only in self.disks:
                ro = ",readonly=on" if read_only else ""
                args += ["-drive", f"file={path},if=none,format=raw,id=d{lun}{ro}",
                         "-device", f"scsi-hd,drive=d{lun},bus=scsi0.0,channel=0,scsi-id=0,"
                         f"lun={lun}"]
        return args

    def start(self):
        """Host listeners (entropy, log, bridge) first, as hcsshim creates
        them before starting the VM; then the backend; then QEMU."""
        try:
            if "-e 1 " in self.append:
                self._thread(self._serve_entropy, self.listen(ENTROPY_PORT))
            else:
                self.entropy_done.set()
            self._thread(self._serve_log, self.listen(LOG_PORT))
            self.bridge_listener = self.listen(BRIDGE_PORT)
            self._start_backend()
            self.t0 = time.monotonic()
            with open(self.qemu_log, "wb") as qlog:
                self.qemu = subprocess.Popen(self.qemu_command(), stdin=subprocess.DEVNULL,
                                             stdout=qlog, stderr=qlog, start_new_session=True)
            self._thread(self._tail_console)
        except BaseException:
            self.close()
            raise
        return self

    def _start_backend(self):
        with open(self.backend_log, "wb") as log:
            self.backend = subprocess.Popen(
                [self.backend_bin, "--socket", self.vu_socket, "--uds-prefix", self.prefix],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.vu_socket):
            if self.backend.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vsock-backend did not start:\n" + self._read(self.backend_log))
            time.sleep(0.01)

    def accept_bridge(self, timeout=None):
        """The gcs's bridge connection. Fails early when QEMU exits."""
        deadline = time.monotonic() + (timeout or self.boot_timeout)
        while True:
            try:
                conn = self.bridge_listener.accept(timeout=0.2)
                break
            except socket.timeout:
                pass
            if self.qemu.poll() is not None:
                raise RuntimeError(f"QEMU exited ({self.qemu.returncode}) before the gcs "
                                   "dialled the bridge\n" + self.diagnostics())
            if time.monotonic() > deadline:
                raise TimeoutError("no bridge connection\n" + self.diagnostics())
        self.mark("bridge")
        return BridgeConnection(conn)

    def wait_exit(self, timeout):
        """QEMU's exit status, or None if it is still running."""
        try:
            rc = self.qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.mark("qemu-exit")
        return rc

    def close(self):
        """Stops everything this VM started, bounded; idempotent."""
        self.stopping.set()
        for proc in (self.qemu, self.backend):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for t in self.threads:
            t.join(timeout=5)
        for fn in reversed(self.closers):
            fn()
        if self.log is not None:
            try:
                self.log.conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.log.conn.close()
            self.log.join()
            self.log.pipe.close()
        for lst in list(self.listeners):
            self.drop(lst)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- diagnostics --------------------------------------------------------------
    @staticmethod
    def _read(path):
        try:
            with open(path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def console_text(self):
        return self._read(self.serial)

    def diagnostics(self):
        log = "".join(self.log.lines[-30:]) if self.log else "(no log connection)\n"
        return ("--- console ---\n" + self.console_text()[-3000:] +
                "\n--- gcs log ---\n" + log +
                "--- backend ---\n" + self._read(self.backend_log)[-2000:] +
                "\n--- qemu ---\n" + self._read(self.qemu_log)[-1000:])


class Diod:
    """A 9P2000.L server for Plan 9 shares (MappedDirectory): the gcs dials
    vsock port 564 once per mount, the backend turns that into a connect to
    "<prefix>_564", and each connection gets its own `diod` serving `export`
    on that socket (--rfdno/--wfdno: no network). All users are squashed to
    root, so files the guest creates belong to root on the host. Stopped
    with the VM."""

    PATH = "/usr/sbin/diod"

    def __init__(self, vm, export, port=564):
        self.export = export
        self.procs = []
        self.lock = threading.Lock()
        self.log = os.path.join(vm.dir, f"diod-{port}.log")
        self.server = UnixServer(f"{vm.prefix}_{port}", self._serve)
        vm.closers.append(self.close)

    def _serve(self, conn):
        conn.setblocking(True)  # UnixServer set a timeout: diod wants a blocking fd
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                [self.PATH, "--foreground", "--rfdno", "0", "--wfdno", "0", "--no-auth",
                 "--allsquash", "--squashuser", "root", "--export", self.export,
                 "--logdest", "stderr", "--config-file", "/dev/null"],
                stdin=conn.fileno(), stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True)
        with self.lock:
            self.procs.append(proc)
        proc.wait()
        return proc.returncode

    @property
    def connections(self):
        return self.server.accepted

    def close(self):
        with self.lock:
            procs = list(self.procs)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.server.close()


# -- images made on the host ------------------------------------------------------

# The VM boots the release initrd as built: busybox (the shell and tools UVM
# processes run) is part of it, so what the tests boot is what a host boots.
# busybox-static on the build machine is still needed for container layers.
BUSYBOX = "/bin/busybox"


def _busybox_tree(root, bindir="bin"):
    """root/<bindir>/busybox plus a symlink per applet."""
    os.makedirs(os.path.join(root, bindir), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(root, bindir, "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for name in applets:
        if name == "busybox":
            continue
        os.symlink("busybox", os.path.join(root, bindir, name))


def busybox_layer(path, size_mib=16):
    """An ext4 image of a busybox root filesystem (mke2fs -d), as a read-only
    container layer: /bin/busybox with its applets and the directories runc
    mounts onto."""
    stage = path + ".d"
    _busybox_tree(stage)
    for d in ("proc", "sys", "dev", "etc", "tmp", "root"):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    with open(os.path.join(stage, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(stage, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    try:
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-d", stage, path,
                        f"{size_mib}M"], check=True, capture_output=True)
    finally:
        shutil.rmtree(stage)
    return path


def blank_disk(path, size_mib):
    """A sparse file with no filesystem (a new scratch disk)."""
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    return path
