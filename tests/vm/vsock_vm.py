"""Host-side harness for the vsock backend: runs host/vsock-backend, boots the
project's kernel under QEMU (always -accel tcg) with the vsock-test initrd,
reads the guest's "@@ " result lines from the serial console, and serves the
unix sockets the guest connects to. Standard library only.

Used by tests/integration/test_vsock_backend.py and tests/vm/vsock_bench.py.
Everything started here is stopped by close(), bounded by timeouts.
VSOCK_VM_CMDLINE replaces the guest's kernel options (default
"console=ttyS0 quiet panic=-1"), e.g. to see its boot messages.
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zlib

QEMU = "qemu-system-x86_64"
MEM = "256M"


def qemu_args(kernel, initrd, vu_socket, append, serial, mem=MEM, reboot=False, cpus=1):
    """The QEMU command line for a guest with vhost-user-vsock-pci.

    vhost-user needs the guest memory in a shared memfd; the device's guest
    CID comes from the backend (it has no guest-cid property)."""
    args = [
        QEMU, "-accel", "tcg", "-m", mem, "-smp", str(cpus),
        "-nodefaults", "-no-user-config", "-display", "none",
        "-object", f"memory-backend-memfd,id=mem,size={mem},share=on",
        "-machine", "q35,memory-backend=mem",
        "-kernel", kernel, "-initrd", initrd, "-append", append,
        "-serial", f"file:{serial}",
        "-chardev", f"socket,id=vsock,path={vu_socket}",
        "-device", "vhost-user-vsock-pci,chardev=vsock",
    ]
    if not reboot:
        args.append("-no-reboot")
    return args


def parse_result(line):
    """'@@ send port=5 bytes=7 ...' -> ('send', {'port': '5', 'bytes': '7'})."""
    words = line.split()
    fields = {}
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            fields[k] = v
    return words[0], fields


class UnixServer:
    """Listens on a unix socket and runs handler(conn) in a thread per
    connection; counts connections and the most that were open at once."""

    def __init__(self, path, handler, backlog=128, accepting=True):
        self.path = path
        self.handler = handler
        self.accepting = threading.Event()
        if accepting:
            self.accepting.set()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(backlog)
        self.lock = threading.Lock()
        self.open = 0
        self.max_open = 0
        self.accepted = 0
        self.results = []
        self.errors = []
        self.threads = []
        self.stopping = False
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()

    def _accept_loop(self):
        while not self.stopping:
            if not self.accepting.wait(0.1):
                continue
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open += 1
                self.max_open = max(self.max_open, self.open)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        try:
            conn.settimeout(60)
            result = self.handler(conn)
            with self.lock:
                self.results.append(result)
        except Exception as e:  # reported by the test, not lost in a thread
            with self.lock:
                self.errors.append(repr(e))
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def wait_results(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.results) + len(self.errors) >= n:
                    return list(self.results)
            time.sleep(0.02)
        with self.lock:
            return list(self.results)

    def close(self):
        self.stopping = True
        self.acceptor.join(timeout=5)
        self.sock.close()
        for t in self.threads:
            t.join(timeout=5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---- connection handlers (run in UnixServer threads) ----

def sink(conn):
    """Reads to EOF; returns (bytes, crc32)."""
    n, crc = 0, 0
    while True:
        b = conn.recv(1 << 20)
        if not b:
            return n, crc
        n += len(b)
        crc = zlib.crc32(b, crc)


def timed_sink(conn):
    """sink() plus the seconds from the first byte to EOF."""
    b = conn.recv(1 << 20)
    t0 = time.monotonic()
    n, crc = len(b), zlib.crc32(b)
    while b:
        b = conn.recv(1 << 20)
        n += len(b)
        crc = zlib.crc32(b, crc)
    return n, crc, time.monotonic() - t0


def echo(conn):
    """Echoes to EOF; returns (bytes, crc32) of what went through."""
    n, crc = 0, 0
    while True:
        b = conn.recv(1 << 16)
        if not b:
            return n, crc
        n += len(b)
        crc = zlib.crc32(b, crc)
        conn.sendall(b)


def source(data):
    def handler(conn):
        conn.sendall(data)
        return len(data), zlib.crc32(data)
    return handler


def initrd_with_modules(initrd, kernel, workdir):
    """initrd followed by a newc cpio of the kernel's modules tree
    (<kernel's dir>/modules/lib/modules/<release>, from `make kernel`): the
    kernel unpacks concatenated archives in order, and the guest loads the
    virtio vsock transport from there. The initrd alone when the kernel has
    no such tree (everything built in)."""
    tree = os.path.join(os.path.dirname(os.path.abspath(kernel)), "modules")
    if not os.path.isdir(os.path.join(tree, "lib", "modules")):
        return initrd
    names = subprocess.run(["find", "lib"], cwd=tree, capture_output=True, text=True,
                           check=True).stdout
    combined = os.path.join(workdir, "initrd+modules.img")
    with open(combined, "wb") as out:
        with open(initrd, "rb") as f:
            shutil.copyfileobj(f, out)
        out.write(b"\0" * (-out.tell() % 4))  # the next archive starts 4-aligned
        out.flush()
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree,
                       input=names.encode(), stdout=out, check=True)
    return combined


class VsockVM:
    """One backend plus one QEMU guest running the vsock-test ops."""

    def __init__(self, out, kernel, ops, backend_args=(), reboot=False, verbose=False):
        self.out = out
        self.kernel = kernel
        self.dir = tempfile.mkdtemp(prefix="vsk", dir="/tmp")
        self.vu_socket = os.path.join(self.dir, "vu.sock")
        self.prefix = os.path.join(self.dir, "v")
        self.serial = os.path.join(self.dir, "serial.log")
        self.backend_log = os.path.join(self.dir, "backend.log")
        self.ops = ops
        self.backend_args = list(backend_args) + (["--verbose"] if verbose else [])
        self.reboot = reboot
        self.backend = None
        self.qemu = None
        self.servers = []
        self.seen = 0

    # -- lifecycle --

    def serve(self, port, handler, **kw):
        srv = UnixServer(f"{self.prefix}_{port}", handler, **kw)
        self.servers.append(srv)
        return srv

    def start_backend(self):
        log = open(self.backend_log, "wb")
        self.backend = subprocess.Popen(
            [os.path.join(self.out, "vsock-backend"), "--socket", self.vu_socket,
             "--uds-prefix", self.prefix] + self.backend_args,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while not os.path.exists(self.vu_socket):
            if self.backend.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("backend did not start:\n" + self.backend_output())
            time.sleep(0.01)

    def start_qemu(self):
        append = os.environ.get("VSOCK_VM_CMDLINE", "console=ttyS0 quiet panic=-1") + " -- " + self.ops
        initrd = initrd_with_modules(os.path.join(self.out, "vm", "vsock-test.initrd"),
                                     self.kernel, self.dir)
        args = qemu_args(self.kernel, initrd, self.vu_socket, append, self.serial,
                         reboot=self.reboot)
        self.qemu = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "qemu.log"), "wb"))

    def start(self):
        self.start_backend()
        self.start_qemu()
        return self

    def wait_qemu(self, timeout):
        try:
            return self.qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_backend(self, timeout):
        try:
            return self.backend.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        for proc in (self.qemu, self.backend):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for srv in self.servers:
            srv.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- guest output --

    def serial_text(self):
        try:
            with open(self.serial, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def backend_output(self):
        try:
            with open(self.backend_log, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def result_lines(self):
        # QEMU may be halfway through writing the last line: complete lines only.
        lines = self.serial_text().split("\n")[:-1]
        return [l[3:].strip() for l in lines if l.startswith("@@ ")]

    def wait_for(self, pattern, timeout):
        """Waits for a result line matching pattern (a regex) after the
        last one returned; returns (op, fields)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            lines = self.result_lines()
            for i in range(self.seen, len(lines)):
                if rx.search(lines[i]):
                    self.seen = i + 1
                    return parse_result(lines[i])
            if time.monotonic() > deadline:
                raise TimeoutError(f"no line matching {pattern!r} in {timeout}s\n"
                                   + self.diagnostics())
            if self.qemu.poll() is not None and not rx.search(self.serial_text()):
                # QEMU is gone: one last look, then fail.
                lines = self.result_lines()
                if not any(rx.search(l) for l in lines[self.seen:]):
                    raise RuntimeError(f"QEMU exited ({self.qemu.returncode}) before "
                                       f"{pattern!r}\n" + self.diagnostics())
            time.sleep(0.02)

    def diagnostics(self):
        try:
            with open(os.path.join(self.dir, "qemu.log"), errors="replace") as f:
                qemu_log = f.read()
        except FileNotFoundError:
            qemu_log = ""
        return ("--- serial ---\n" + self.serial_text()[-4000:] +
                "\n--- backend ---\n" + self.backend_output()[-4000:] +
                "\n--- qemu ---\n" + qemu_log[-2000:])

    # -- host-initiated connections --

    def connect(self, port, timeout=10):
        """Hybrid connect to a guest listener: returns (socket, reply line)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.prefix)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                break
            line += b
        return s, line.decode(errors="replace")
