"""Processes in the utility VM, driven as hcsshim drives them (spec §3.4 case
1, §3.5-3.7): ExecuteProcess on the null container id with stdio ports the
host listens on, WaitForProcess, SignalProcess, ResizeConsole; plus what the
tests need to look at the gcs from outside (its children, zombies, fds) and
to leave nothing behind.

    host = UvmHost(gcs)                 # a started GcsProcess
    host.connect()
    p = host.execute(["/bin/busybox", "echo", "hi"], stdout=True)
    assert p.read_stdout() == b"hi\\n"
    assert p.wait().json["ExitCode"] == 0
    host.close()                        # kills what is left, stops the gcs
"""
import json
import os
import signal
import socket
import threading
import time

from gcs_host import HR, NULL_GUID, Msg

INFINITE = 0xFFFFFFFF
FIRST_STDIO_PORT = 0x40000001


def read_all(conn, limit=None):
    """Every byte up to EOF."""
    chunks = []
    total = 0
    while True:
        data = conn.recv(1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        total += len(data)
        if limit is not None and total > limit:
            raise AssertionError(f"more than {limit} bytes")


def read_until(conn, needle, timeout=10):
    """Bytes read until `needle` shows up (the rest stays unread)."""
    deadline = time.monotonic() + timeout
    data = b""
    while needle not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{needle!r} not seen; got {data[-300:]!r}")
        conn.settimeout(left)
        try:
            chunk = conn.recv(65536)
        finally:
            conn.settimeout(None)
        if not chunk:
            raise EOFError(f"EOF before {needle!r}; got {data[-300:]!r}")
        data += chunk
    return data


class UvmProcess:
    """One started process: its pid and the host ends of its stdio."""

    def __init__(self, host, pid, conns):
        self.host = host
        self.pid = pid
        self.stdin, self.stdout, self.stderr = conns

    def read_stdout(self):
        data = read_all(self.stdout)
        self.stdout.close()
        return data

    def read_stderr(self):
        data = read_all(self.stderr)
        self.stderr.close()
        return data

    def close_stdin(self):
        self.stdin.shutdown(socket.SHUT_WR)

    def wait(self, timeout_ms=INFINITE, timeout=30):
        return self.host.wait(self.pid, timeout_ms, timeout)

    def signal(self, sig=None):
        return self.host.signal(self.pid, sig)

    def resize(self, height, width):
        return self.host.request(Msg.RESIZE_CONSOLE, ProcessId=self.pid, Height=height,
                                 Width=width)

    def close(self):
        for c in (self.stdin, self.stdout, self.stderr):
            if c is not None:
                c.close()


class UvmHost:
    """The host side of UVM processes on one gcs (a gcs_host.GcsProcess)."""

    def __init__(self, gcs):
        self.gcs = gcs
        self.bridge = None
        self.next_port = FIRST_STDIO_PORT
        self.lock = threading.Lock()

    def connect(self):
        self.bridge = self.gcs.accept_bridge()
        self.bridge.negotiate()
        return self

    @property
    def gcs_pid(self):
        return self.gcs.proc.pid

    def ports(self, n):
        with self.lock:
            first = self.next_port
            self.next_port += n
        return list(range(first, first + n))

    def request(self, msg_type, timeout=30, **fields):
        body = {"ContainerId": NULL_GUID, "ActivityId": NULL_GUID, **fields}
        return self.bridge.request(msg_type, body, timeout=timeout)

    # -- ExecuteProcess --------------------------------------------------------
    def execute_request(self, args=None, command_line=None, stdin=False, stdout=False,
                        stderr=False, console=False, env=None, cwd=None, console_size=None,
                        listen=True, container_id=NULL_GUID, **params):
        """Sends ExecuteProcess; returns (request id, [listener or None] * 3).
        With listen=False nobody listens on the ports (a refused dial); with
        a container_id (and OciProcess= in params) it runs in that container."""
        p = dict(params)
        if args is not None:
            p["CommandArgs"] = list(args)
        if command_line is not None:
            p["CommandLine"] = command_line
        if env is not None:
            p["Environment"] = env
        if cwd is not None:
            p["WorkingDirectory"] = cwd
        if console:
            p["EmulateConsole"] = True
        if console_size is not None:
            p["ConsoleSize"] = list(console_size)
        wanted = (stdin, stdout, stderr)
        relay = {}
        listeners = [None, None, None]
        for i, (name, want) in enumerate(zip(("StdIn", "StdOut", "StdErr"), wanted)):
            if not want:
                continue
            p[f"Create{name}Pipe"] = True
            port = self.ports(1)[0]
            relay[name] = port
            if listen:
                listeners[i] = self.gcs.listen(port)
        settings = {"ProcessParameters": json.dumps(p)}
        if relay:
            settings["VsockStdioRelaySettings"] = relay
        msg_id = self.bridge.send(Msg.EXECUTE_PROCESS, {
            "ContainerId": container_id, "ActivityId": NULL_GUID, "Settings": settings})
        return msg_id, listeners

    def finish_execute(self, msg_id, listeners, timeout=30):
        """The reply and, on success, the UvmProcess with accepted stdio."""
        reply = self.bridge.wait_reply(msg_id, timeout)
        conns = [None, None, None]
        if reply.result == 0:
            for i, lst in enumerate(listeners):
                if lst is not None:
                    conns[i] = lst.accept(timeout)
        for lst in listeners:
            if lst is not None:
                self.drop_listener(lst)
        if reply.result != 0:
            return reply, None
        return reply, UvmProcess(self, reply.json["ProcessId"], conns)

    def execute(self, args=None, **kw):
        """Starts a process and returns it; fails the test on an error reply."""
        reply, proc = self.finish_execute(*self.execute_request(args, **kw))
        assert reply.result == 0, reply.json
        return proc

    def sh(self, script, stdin=None, timeout=60):
        """Runs sh -c script; returns (exit code, stdout, stderr) as text."""
        proc = self.execute(["/bin/sh", "-c", script], stdin=stdin is not None,
                            stdout=True, stderr=True)
        if stdin is not None:
            proc.stdin.sendall(stdin)
            proc.close_stdin()
        box = {}
        t = threading.Thread(target=lambda: box.update(err=read_all(proc.stderr)), daemon=True)
        t.start()
        out = read_all(proc.stdout)
        t.join(timeout)
        proc.close()
        code = proc.wait(timeout=timeout).json["ExitCode"]
        return code, out.decode(errors="replace"), box.get("err", b"").decode(errors="replace")

    def try_execute(self, args=None, **kw):
        """The error reply of an ExecuteProcess expected to fail."""
        reply, proc = self.finish_execute(*self.execute_request(args, **kw))
        if proc is not None:
            proc.close()
        return reply

    def drop_listener(self, lst):
        lst.close()
        self.gcs.listeners.remove(lst)

    # -- WaitForProcess, SignalProcess -------------------------------------------
    def send_wait(self, pid, timeout_ms=INFINITE):
        return self.bridge.send(Msg.WAIT_FOR_PROCESS, {
            "ContainerId": NULL_GUID, "ActivityId": NULL_GUID, "ProcessId": pid,
            "TimeoutInMs": timeout_ms})

    def wait(self, pid, timeout_ms=INFINITE, timeout=30):
        return self.bridge.wait_reply(self.send_wait(pid, timeout_ms), timeout)

    def signal(self, pid, sig=None):
        fields = {"ProcessId": pid}
        if sig is not None:
            fields["Options"] = {"Signal": int(sig)}
        return self.request(Msg.SIGNAL_PROCESS, **fields)

    def process_list(self):
        reply = self.request(Msg.GET_PROPERTIES,
                             Query=json.dumps({"PropertyTypes": ["ProcessList"]}))
        assert reply.result == 0, reply.json
        props = json.loads(reply.json["Properties"])
        return sorted(p["ProcessId"] for p in props.get("ProcessList", []))

    # -- the gcs seen from outside -------------------------------------------------
    def children(self):
        return proc_children(self.gcs_pid)

    def zombies(self):
        return [pid for pid in self.children() if proc_state(pid) == "Z"]

    def fds(self):
        return proc_fds(self.gcs_pid)

    def settle(self, baseline_fds, timeout=10):
        """Waits until the gcs has no children and is back to baseline_fds
        open fds; returns (children, fds) as last seen."""
        deadline = time.monotonic() + timeout
        while True:
            kids, fds = self.children(), self.fds()
            if (not kids and len(fds) <= len(baseline_fds)) or time.monotonic() > deadline:
                return kids, fds
            time.sleep(0.05)

    def close(self):
        """Kills every process the gcs still has (with their process groups),
        then stops the gcs."""
        kill_tree(self.gcs_pid)
        if self.bridge is not None:
            self.bridge.close()
        return self.gcs.stop()


def proc_children(pid):
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            pass
    return sorted(set(kids))


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def proc_fds(pid):
    """{fd: target} of a process."""
    out = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            pass
    return out


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def kill_tree(pid):
    """SIGKILL to every descendant of pid (each UVM process leads its own
    session and process group: the whole group goes)."""
    for _ in range(20):
        kids = proc_children(pid)
        if not kids:
            return
        for kid in kids:
            for grandkid in proc_children(kid):
                _kill(-grandkid)
                _kill(grandkid)
            _kill(-kid)
            _kill(kid)
        time.sleep(0.05)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["HR", "INFINITE", "UvmHost", "UvmProcess", "read_all", "read_until",
           "proc_children", "proc_fds", "proc_rss_kib", "proc_state", "kill_tree"]
