"""The host side of the LCOW bridge, for tests (Python standard library only).

It plays hcsshim: it listens on the unix sockets "<prefix>_<port>" that a gcs
started with ``-transport unix:<prefix>`` dials (the bridge port 0x40000000,
stdio ports 0x40000001..., 9P), frames messages (16-byte little-endian header
{u32 Type, u32 Size, u64 ID} + JSON), negotiates, sends requests, matches
replies by ID, collects notifications, and reads the gcs log stream line by
line as JSON.

Typical use::

    with GcsProcess(binary) as gcs:
        bridge = gcs.accept_bridge()
        bridge.negotiate()
        reply = bridge.request(Msg.GET_PROPERTIES, {"ContainerId": NULL_GUID,
                                                    "Query": ""})
        assert reply.result == 0

A process started with stdio (later issues)::

    out = gcs.listen(0x40000001)
    bridge.request(Msg.EXECUTE_PROCESS, {... "StdOut": 0x40000001 ...})
    conn = out.accept()
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

HEADER = struct.Struct("<IIQ")
HEADER_SIZE = HEADER.size
MAX_GUEST_MESSAGE = 65536
BRIDGE_PORT = 0x40000000
NULL_GUID = "00000000-0000-0000-0000-000000000000"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
LEVELS = {"trace", "debug", "info", "warning", "error", "fatal", "panic"}


class Msg:
    """Request identifiers (bridge-protocol.md §2.3)."""
    CREATE = 0x10100101
    START = 0x10100201
    SHUTDOWN_GRACEFUL = 0x10100301
    SHUTDOWN_FORCED = 0x10100401
    EXECUTE_PROCESS = 0x10100501
    WAIT_FOR_PROCESS = 0x10100601
    SIGNAL_PROCESS = 0x10100701
    RESIZE_CONSOLE = 0x10100801
    GET_PROPERTIES = 0x10100901
    MODIFY_SETTINGS = 0x10100A01
    NEGOTIATE_PROTOCOL = 0x10100B01
    DUMP_STACKS = 0x10100C01
    DELETE_CONTAINER_STATE = 0x10100D01
    UPDATE_CONTAINER = 0x10100E01
    LIFECYCLE_NOTIFICATION = 0x10100F01
    MODIFY_SERVICE_SETTINGS = 0x10200101
    CONTAINER_NOTIFICATION = 0x30100101


class HR:
    """HRESULTs as unsigned 32-bit values (§2.7)."""
    E_NOTIMPL = 0x80004001
    E_FAIL = 0x80004005
    NOT_FOUND = 0x80070490
    INVALID_ARG = 0x80070057
    WAIT_TIMEOUT = 0xC0370109
    UNSUPPORTED_PROTOCOL = 0xC037010C
    INVALID_JSON = 0xC037010D
    SYSTEM_NOT_FOUND = 0xC037010E
    SYSTEM_EXISTS = 0xC037010F
    SYSTEM_STOPPED = 0xC0370110
    INVALID_STATE = 0x80370105


def response_type(request_type):
    return 0x20000000 | (request_type & 0x0FFFFFFF)


def frame(msg_type, msg_id, body):
    """Header + body. A dict body is encoded as Go's json.Encoder does
    (compact, with a trailing newline counted in Size)."""
    if isinstance(body, dict):
        body = (json.dumps(body, separators=(",", ":")) + "\n").encode()
    elif isinstance(body, str):
        body = body.encode()
    return HEADER.pack(msg_type, HEADER_SIZE + len(body), msg_id) + body


class ProtocolError(AssertionError):
    """The guest broke a rule that would make hcsshim drop the bridge."""


class Message:
    """One message from the guest, already checked against the host's rules:
    Size within [16, 65536], type nibble 2 or 3, a JSON object body."""

    def __init__(self, msg_type, size, msg_id, body):
        self.type = msg_type
        self.size = size
        self.id = msg_id
        self.raw = body
        if not HEADER_SIZE <= size <= MAX_GUEST_MESSAGE:
            raise ProtocolError(f"guest message Size {size} out of range")
        if msg_type >> 28 not in (2, 3):
            raise ProtocolError(f"guest message type {msg_type:#x}")
        try:
            self.json = json.loads(body)
        except ValueError as e:
            raise ProtocolError(f"guest body is not JSON: {e}: {body[:200]!r}")
        if not isinstance(self.json, dict):
            raise ProtocolError("guest body is not a JSON object")
        if "ActivityId" in self.json and not GUID_RE.match(str(self.json["ActivityId"])):
            raise ProtocolError(f"ActivityId {self.json['ActivityId']!r} is not a GUID")
        if self.is_response and "Result" not in self.json:
            raise ProtocolError("response without Result")

    @property
    def is_response(self):
        return self.type >> 28 == 2

    @property
    def is_notification(self):
        return self.type == Msg.CONTAINER_NOTIFICATION

    @property
    def result(self):
        """Result as an unsigned HRESULT (0 on success)."""
        return self.json["Result"] & 0xFFFFFFFF

    @property
    def error(self):
        return self.json.get("ErrorMessage", "")

    def __repr__(self):
        return f"Message(type={self.type:#x}, id={self.id}, body={self.raw[:300]!r})"


class Listener:
    """The host end of one port: a unix socket "<prefix>_<port>" the guest
    dials (the guest never listens)."""

    def __init__(self, prefix, port):
        self.path = f"{prefix}_{port}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)

    def accept(self, timeout=10):
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        conn.settimeout(None)
        return conn

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class BridgeConnection:
    """One accepted bridge connection: requests out, replies matched by ID."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.next_id = 0
        self.replies = {}        # id -> Message, received but not yet asked for
        self.order = []          # ids of responses in arrival order
        self.notifications = []  # Messages of type 0x30100101
        self.outstanding = set()

    # -- sending ---------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, msg_type, body, msg_id=None):
        if msg_id is None:
            msg_id = self.next_id
            self.next_id += 1
        self.outstanding.add(msg_id)
        self.send_raw(frame(msg_type, msg_id, body))
        return msg_id

    # -- receiving -------------------------------------------------------
    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no message from the guest ({len(self.buf)} bytes buffered)")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            finally:
                self.sock.settimeout(None)
            if not chunk:
                raise EOFError("the guest closed the bridge")
            self.buf += chunk

    def recv(self, timeout=10):
        """The next message from the guest, whatever it is."""
        deadline = time.monotonic() + timeout
        self._fill(HEADER_SIZE, deadline)
        msg_type, size, msg_id = HEADER.unpack_from(self.buf)
        if not HEADER_SIZE <= size <= MAX_GUEST_MESSAGE:
            raise ProtocolError(f"guest message Size {size} out of range")
        self._fill(size, deadline)
        body, self.buf = self.buf[HEADER_SIZE:size], self.buf[size:]
        msg = Message(msg_type, size, msg_id, body)
        if msg.is_notification:
            if msg_id != 0:
                raise ProtocolError(f"notification with ID {msg_id}")
            self.notifications.append(msg)
        elif msg.is_response:
            if msg_id not in self.outstanding:
                raise ProtocolError(f"response to unknown or answered ID {msg_id}")
            self.outstanding.discard(msg_id)
            self.replies[msg_id] = msg
            self.order.append(msg_id)
        else:
            raise ProtocolError(f"unexpected message type {msg_type:#x}")
        return msg

    def wait_reply(self, msg_id, timeout=10):
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies:
            self.recv(max(deadline - time.monotonic(), 0.001))
        return self.replies.pop(msg_id)

    def wait_notification(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.notifications:
            self.recv(max(deadline - time.monotonic(), 0.001))
        return self.notifications.pop(0)

    def request(self, msg_type, body, timeout=10, expect_type=True):
        msg_id = self.send(msg_type, body)
        reply = self.wait_reply(msg_id, timeout)
        if expect_type and reply.type != response_type(msg_type):
            raise ProtocolError(f"reply type {reply.type:#x} to request {msg_type:#x}")
        return reply

    def negotiate(self, minimum=4, maximum=4):
        reply = self.request(Msg.NEGOTIATE_PROTOCOL, {
            "ContainerId": "", "ActivityId": NULL_GUID,
            "MinimumVersion": minimum, "MaximumVersion": maximum})
        if reply.result != 0:
            raise AssertionError(f"negotiation failed: {reply.json}")
        return reply

    def silent(self, timeout=0.3):
        """True when the guest sends nothing for `timeout` seconds."""
        try:
            self.recv(timeout)
        except TimeoutError:
            return True
        return False

    def closed_by_guest(self, timeout=5):
        """True when the guest closes the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv(max(deadline - time.monotonic(), 0.001))
        except EOFError:
            return True
        except (TimeoutError, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


class LogStream:
    """Reads the gcs log (its stderr) line by line on a thread; every line
    must be a JSON object with time/level/msg as hcsshim's parser expects."""

    def __init__(self, pipe, json_mode=True):
        self.pipe = pipe
        self.json_mode = json_mode
        self.lines = []     # raw lines (str)
        self.entries = []   # parsed JSON objects
        self.bad = []       # lines that are not valid log JSON
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _check(self, line):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        if not TIME_RE.match(str(obj.get("time", ""))):
            return None
        if obj.get("level") not in LEVELS or not isinstance(obj.get("msg"), str) or not obj["msg"]:
            return None
        return obj

    def _run(self):
        for raw in iter(self.pipe.readline, b""):
            try:
                line, utf8 = raw.decode("utf-8"), True
            except UnicodeDecodeError:  # hcsshim's parser would choke
                line, utf8 = raw.decode("utf-8", "replace"), False
            with self.cond:
                self.lines.append(line)
                if not line.endswith("\n") or not utf8:
                    self.bad.append(line)
                elif self.json_mode:
                    obj = self._check(line)
                    if obj is None:
                        self.bad.append(line)
                    else:
                        self.entries.append(obj)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    eof = False

    def wait_for(self, predicate, timeout=10):
        """The first entry for which predicate(entry) is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.entries:
                    if predicate(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise TimeoutError("log entry not found; last lines:\n" +
                                       "".join(self.lines[-20:]))
                self.cond.wait(left)

    def join(self, timeout=5):
        self.thread.join(timeout)


class GcsProcess:
    """Runs a gcs binary dialling unix sockets in a private temporary
    directory; listens on the bridge port first, as the host does. Stopping
    kills the process and removes every socket."""

    def __init__(self, binary, args=(), env=None, pass_fds=(), json_log=True,
                 v4=True, listen_bridge=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, transport=True):
        self.dir = tempfile.mkdtemp(prefix="lcow-bridge-")
        self.prefix = os.path.join(self.dir, "v")
        self.listeners = []
        self.bridge_listener = self.listen(BRIDGE_PORT) if listen_bridge else None
        argv = [binary]
        if v4:
            argv.append("-v4")
        if json_log:
            argv += ["-log-format", "json"]
        argv += ["-loglevel", "debug"]
        if transport:
            argv += ["-transport", f"unix:{self.prefix}"]
        argv += list(args)
        full_env = dict(os.environ)
        full_env["LCOW_FORBID_VSOCK"] = "1"
        # Should this machine have a Hyper-V PTP clock, the gcs must not run
        # a real chronyd on it: a stand-in, and files in our own directory.
        full_env["LCOW_CHRONYD"] = "/bin/false"
        full_env["LCOW_CHRONYD_DIR"] = self.dir
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                     stderr=subprocess.PIPE, env=full_env,
                                     pass_fds=pass_fds)
        self.log = LogStream(self.proc.stderr, json_mode=json_log)

    def listen(self, port):
        lst = Listener(self.prefix, port)
        self.listeners.append(lst)
        return lst

    def accept_bridge(self, timeout=10):
        return BridgeConnection(self.bridge_listener.accept(timeout))

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the gcs; returns its exit status (negative: signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.join()
        self.proc.stderr.close()
        for lst in self.listeners:
            lst.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
