"""The vhost-user vsock backend (host/vsock) under a real guest.

Each test starts host/vsock-backend, boots the project's kernel (out/vmlinux)
under QEMU (-accel tcg, vhost-user-vsock-pci) with the vsock-test initrd
(tests/vm/vsock_test.c as /init, the kernel's modules appended: its virtio
vsock transport is a module), and checks what the guest reports on the
serial console against what the host side saw on the unix sockets. No test
opens AF_VSOCK on the build machine: AF_VSOCK exists only inside the guest.
"""
import os
import re
import shutil
import socket
import sys
import threading
import time
import zlib

import pytest

from conftest import OUT, TOP

sys.path.insert(0, os.path.join(TOP, "tests", "vm"))
from vsock_vm import VsockVM, echo, parse_result, sink, source  # noqa: E402

KERNEL = os.path.join(TOP, "out", "vmlinux")
MiB = 1 << 20
EPIPE, ECONNRESET = 32, 104


@pytest.fixture
def vm_factory():
    if not os.path.exists(KERNEL):
        pytest.skip("out/vmlinux not built yet (make kernel)")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86 not installed (make setup)")
    for f in ("vsock-backend", "vm/vsock-test.initrd"):
        if not os.path.exists(os.path.join(OUT, f)):
            pytest.fail(f"{OUT}/{f} missing: build with make (make check builds it)")
    vms = []

    def make(ops, **kw):
        vm = VsockVM(OUT, KERNEL, ops, **kw)
        vms.append(vm)
        return vm

    yield make
    for vm in vms:
        vm.close()
        assert not os.path.exists(vm.dir)


def finish(vm, timeout=30):
    """The guest finished its ops, powered off, and the backend exited 0
    (QEMU gone) having removed both of its sockets."""
    vm.wait_for(r"^done$", timeout)
    assert vm.wait_qemu(20) == 0, vm.diagnostics()
    assert vm.wait_backend(10) == 0, vm.diagnostics()
    assert not os.path.exists(vm.vu_socket)
    assert not os.path.exists(vm.prefix)
    assert '"level":"error"' not in vm.backend_output(), vm.backend_output()


# A grant above the guest's own 256 KiB buffer: Linux caps its credit there
# and waits for a credit update that must still come.
@pytest.mark.parametrize("buf_args", [[], ["--buf-size", str(MiB)]],
                         ids=["default-credit", "1MiB-credit"])
def test_guest_to_host_stream(vm_factory, buf_args):
    vm = vm_factory("send 5000 %d" % (8 * MiB), backend_args=buf_args)
    srv = vm.serve(5000, sink)
    vm.start()
    # The kernel's virtio vsock transport is a module: the guest loaded it
    # and its dependency (tests/vm/vsock_test.c, with /init's coldplug).
    _, m = vm.wait_for(r"^modules ", 60)
    assert (m["loaded"], m["failed"], m["error"]) == ("2", "0", "0"), vm.diagnostics()
    _, f = vm.wait_for(r"^send port=5000 ", 60)
    assert (f["error"], f["bytes"], f["cid"]) == ("0", str(8 * MiB), "3")
    assert srv.wait_results(1, 10) == [(8 * MiB, int(f["crc"], 16))]
    finish(vm)


def test_host_to_guest_stream(vm_factory):
    data = os.urandom(8 * MiB)
    vm = vm_factory("recv 5001")
    vm.serve(5001, source(data))
    vm.start()
    _, f = vm.wait_for(r"^recv port=5001 ", 60)
    assert f["error"] == "0"
    assert (int(f["bytes"]), int(f["crc"], 16)) == (len(data), zlib.crc32(data))
    finish(vm)


def test_echo_both_directions_at_once(vm_factory):
    vm = vm_factory("echo 5002 1 %d" % (4 * MiB))
    srv = vm.serve(5002, echo)
    vm.start()
    _, f = vm.wait_for(r"^echo port=5002 conns=", 60)
    assert (f["ok"], f["bytes"], f["error"]) == ("1", str(4 * MiB), "0")
    assert [r[0] for r in srv.wait_results(1, 10)] == [4 * MiB]
    finish(vm)


def test_guest_cid_flag(vm_factory):
    vm = vm_factory("send 5003 4096", backend_args=["--guest-cid", "42"])
    srv = vm.serve(5003, sink)
    vm.start()
    _, f = vm.wait_for(r"^send port=5003 ", 30)
    assert (f.get("cid"), f["error"]) == ("42", "0"), vm.diagnostics()
    assert srv.wait_results(1, 10) == [(4096, int(f["crc"], 16))]
    finish(vm)


def test_connect_to_unserved_port_gets_econnreset(vm_factory):
    vm = vm_factory("refused 5004 + send 5005 65536")
    srv = vm.serve(5005, sink)
    vm.start()
    _, f = vm.wait_for(r"^refused port=5004 ", 30)
    assert (f["connected"], f["errno"]) == ("0", str(ECONNRESET))
    # The backend goes on serving other ports.
    _, f = vm.wait_for(r"^send port=5005 ", 30)
    assert srv.wait_results(1, 10) == [(65536, int(f["crc"], 16))]
    finish(vm)


def test_host_closes_midstream(vm_factory):
    def read_1mib_then_close(conn):
        got = 0
        while got < MiB:
            b = conn.recv(MiB - got)
            if not b:
                break
            got += len(b)
        return got

    vm = vm_factory("midclose 5006 %d + send 5007 65536" % (256 * MiB))
    srv = vm.serve(5006, read_1mib_then_close)
    after = vm.serve(5007, sink)
    vm.start()
    _, f = vm.wait_for(r"^midclose port=5006 ", 60)
    assert srv.wait_results(1, 10) == [MiB]
    # The guest's writes fail instead of hanging or going on forever.
    assert int(f["errno"]) in (EPIPE, ECONNRESET), f
    assert MiB <= int(f["written"]) < 256 * MiB
    _, f = vm.wait_for(r"^send port=5007 ", 30)
    assert after.wait_results(1, 10) == [(65536, int(f["crc"], 16))]
    finish(vm)


def test_64_concurrent_connections(vm_factory):
    vm = vm_factory("echo 5008 64 %d" % (256 * 1024))
    srv = vm.serve(5008, echo)
    vm.start()
    _, f = vm.wait_for(r"^echo port=5008 opened=", 60)
    assert f["opened"] == "64"
    _, f = vm.wait_for(r"^echo port=5008 conns=", 120)
    assert (f["ok"], f["error"]) == ("64", "0"), f
    results = srv.wait_results(64, 10)
    assert sorted(r[0] for r in results) == [256 * 1024] * 64
    assert srv.max_open == 64
    finish(vm, timeout=60)


def test_full_unix_backlog_is_retried(vm_factory):
    """A unix listener whose backlog is full makes connect() say EAGAIN: the
    backend retries instead of refusing (the listener accepts only 0.5 s
    after the guest started dialling)."""
    vm = vm_factory("echo 5012 6 65536")
    srv = vm.serve(5012, echo, backlog=1, accepting=False)
    vm.start()
    vm.wait_for(r"^echo port=5012 dialing", 30)
    time.sleep(0.5)
    srv.accepting.set()
    _, f = vm.wait_for(r"^echo port=5012 conns=", 60)
    assert (f["ok"], f["error"]) == ("6", "0"), f
    assert sorted(r[0] for r in srv.wait_results(6, 10)) == [65536] * 6
    finish(vm)


def test_small_credit_window(vm_factory):
    # A 4 KiB buf_alloc makes every packet wait for a credit update.
    vm = vm_factory("echo 5009 4 %d" % MiB, backend_args=["--buf-size", "4096"])
    srv = vm.serve(5009, echo)
    vm.start()
    _, f = vm.wait_for(r"^echo port=5009 conns=", 120)
    assert (f["ok"], f["error"]) == ("4", "0"), f
    assert sorted(r[0] for r in srv.wait_results(4, 10)) == [MiB] * 4
    finish(vm, timeout=60)


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def test_backpressure_to_slow_unix_reader(vm_factory):
    """A unix peer that stops reading stalls the guest's writes; the backend
    buffers at most the credit it granted."""
    paused = threading.Event()
    resume = threading.Event()

    def slow_sink(conn):
        n, crc = 0, 0
        while True:
            if n >= MiB and not paused.is_set():
                paused.set()
                resume.wait(30)
            b = conn.recv(min(65536, MiB - n) if n < MiB else 1 << 20)
            if not b:
                return n, crc
            n += len(b)
            crc = zlib.crc32(b, crc)

    total = 32 * MiB
    vm = vm_factory("send 5010 %d %d" % (total, 256 * 1024))
    srv = vm.serve(5010, slow_sink)
    vm.start()
    assert paused.wait(60), vm.diagnostics()
    time.sleep(3)
    progress = [int(f["bytes"]) for op, f in map(parse_result, vm.result_lines())
                if op == "progress"]
    anon = rss_anon_kib(vm.backend.pid)
    resume.set()
    written = max(progress or [0])
    # 1 MiB read + unix socket buffers + 256 KiB credit: far below 32 MiB.
    assert written <= 4 * MiB, (written, vm.diagnostics())
    assert anon < 16 * 1024, anon
    _, f = vm.wait_for(r"^send port=5010 ", 60)
    assert srv.wait_results(1, 10) == [(total, int(f["crc"], 16))]
    finish(vm)


def test_guest_not_overrun_by_fast_unix_writer(vm_factory):
    """A guest that stops reading gets no more than its buf_alloc; the unix
    writer blocks instead, and no byte is lost."""
    data = os.urandom(32 * MiB)
    sent = [0]

    def fast_source(conn):
        for off in range(0, len(data), 65536):
            conn.sendall(data[off:off + 65536])
            sent[0] = off + 65536
        return len(data)

    vm = vm_factory("recv 5011 %d 3000" % MiB)
    vm.serve(5011, fast_source)
    vm.start()
    vm.wait_for(r"^paused port=5011 bytes=%d" % MiB, 60)
    time.sleep(2)
    during_pause = sent[0]
    anon = rss_anon_kib(vm.backend.pid)
    assert during_pause <= 4 * MiB, (during_pause, vm.diagnostics())
    assert anon < 16 * 1024, anon
    vm.wait_for(r"^resumed port=5011", 10)
    _, f = vm.wait_for(r"^recv port=5011 ", 60)
    assert f["error"] == "0"
    assert (int(f["bytes"]), int(f["crc"], 16)) == (len(data), zlib.crc32(data))
    finish(vm)


def hybrid_echo(vm, port, data):
    """Connects to a guest listener through "<prefix>", streams data while
    reading the echo; returns (OK line, echoed bytes)."""
    s, line = vm.connect(port)
    try:
        if not line.startswith("OK "):
            return line, b""
        t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        t.start()
        chunks = []
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
        t.join(30)
        return line, b"".join(chunks)
    finally:
        s.close()


def test_host_connects_to_guest_listener(vm_factory):
    vm = vm_factory("listen 6000 3")
    vm.start()
    vm.wait_for(r"^listening port=6000", 30)

    # Nobody listens on 6001 in the guest: closed without an OK.
    s, line = vm.connect(6001)
    s.close()
    assert line == ""
    # Not a CONNECT line: closed.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(vm.prefix)
    s.sendall(b"HELLO 6000\n")
    assert s.recv(100) == b""
    s.close()

    datas = [os.urandom(MiB + i * 4099) for i in range(3)]
    results = [None] * 3

    def client(i):
        results[i] = hybrid_echo(vm, 6000, datas[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, (line, echoed) in enumerate(results):
        assert re.fullmatch(r"OK \d+\n", line), line
        assert len(echoed) == len(datas[i]) and zlib.crc32(echoed) == zlib.crc32(datas[i])
    _, f = vm.wait_for(r"^listen port=6000 conns=", 30)
    assert (f["conns"], f["bytes"]) == ("3", str(sum(map(len, datas))))
    finish(vm)


def test_connect_line_and_data_in_one_write(vm_factory):
    vm = vm_factory("listen 6002 1")
    vm.start()
    vm.wait_for(r"^listening port=6002", 30)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(vm.prefix)
    s.sendall(b"CONNECT 6002\npayload right behind the line")
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    s.close()
    assert re.fullmatch(rb"OK \d+\npayload right behind the line", got), got
    finish(vm)


def test_guest_reset_closes_its_connections(vm_factory):
    """A guest reboot stops the device: the backend closes the connections
    of the old guest and serves the new one."""
    state = {"n": 0, "first_eof": None}

    def hold(conn):
        assert conn.recv(6) == b"hello\n"
        state["n"] += 1
        if state["n"] == 1:
            conn.sendall(b"reboot\n")
            conn.settimeout(30)
            state["first_eof"] = conn.recv(1) == b""
        else:
            conn.sendall(b"close\n")
        return state["n"]

    vm = vm_factory("hold 7000", reboot=True)
    srv = vm.serve(7000, hold)
    vm.start()
    vm.wait_for(r"^hold port=7000 rebooting", 30)
    vm.wait_for(r"^hold port=7000 released", 60)
    assert sorted(srv.wait_results(2, 10)) == [1, 2]
    assert state["first_eof"] is True
    log = vm.backend_output()
    assert log.count('"device started"') == 2 and log.count('"device stopped"') >= 1, log
    finish(vm)


def test_qemu_killed_backend_exits_and_cleans_up(vm_factory):
    eof = threading.Event()

    def hold(conn):
        assert conn.recv(6) == b"hello\n"
        conn.sendall(b"keep\n")
        conn.settimeout(60)
        if conn.recv(1) == b"":
            eof.set()

    vm = vm_factory("hold 7001 + listen 6003 1")
    vm.serve(7001, hold)
    vm.start()
    vm.wait_for(r"^hold port=7001 kept", 30)
    vm.wait_for(r"^listening port=6003", 30)
    client, line = vm.connect(6003)
    assert line.startswith("OK ")
    client.sendall(b"ping")
    assert client.recv(4) == b"ping"

    vm.qemu.kill()
    vm.qemu.wait(10)
    assert vm.wait_backend(10) == 0, vm.diagnostics()
    assert not os.path.exists(vm.vu_socket) and not os.path.exists(vm.prefix)
    assert eof.wait(10), "the guest-initiated connection was not closed"
    assert client.recv(1) == b"", "the host-initiated connection was not closed"
    client.close()
    assert "QEMU disconnected" in vm.backend_output()


def test_backend_sigterm_removes_sockets(vm_factory):
    vm = vm_factory("")
    vm.start_backend()
    assert os.path.exists(vm.prefix)
    vm.backend.terminate()
    assert vm.wait_backend(10) == 0
    assert not os.path.exists(vm.vu_socket) and not os.path.exists(vm.prefix)
