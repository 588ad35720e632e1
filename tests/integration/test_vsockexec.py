"""vsockexec over the unix transport (LCOW_TRANSPORT=unix:<prefix>): "port P"
is the unix socket <prefix>_P, on which these tests listen as the host would.
LCOW_FORBID_VSOCK (set by conftest) keeps AF_VSOCK out of reach."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import OUT

VSOCKEXEC = os.path.join(OUT, "vsockexec")
PROBE = os.path.join(OUT, "tests", "helpers", "init_probe")


@pytest.fixture
def prefix():
    d = tempfile.mkdtemp(prefix="lcow-vx-")
    try:
        yield os.path.join(d, "hv")
    finally:
        shutil.rmtree(d)


def _env(prefix, **extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LCOW_FORBID_VSOCK": "1"}
    if prefix:
        env["LCOW_TRANSPORT"] = f"unix:{prefix}"
    env.update(extra)
    return env


def _listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    return s


def _recv_all(conn, timeout=20):
    conn.settimeout(timeout)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk


def _accept(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.accept()[0]
    except socket.timeout:
        return None


def _probe_fds(text):
    return dict(m.groups() for m in re.finditer(r"probe:fd=(\d) (\S+)", text))


def test_each_stream_lands_on_its_port(prefix):
    socks = {p: _listen(f"{prefix}_{p}") for p in (5, 6, 7)}
    proc = subprocess.Popen([VSOCKEXEC, "-i", "5", "-o", "6", "-e", "7", PROBE,
                             "echo-io", "report", "exit", "3"], env=_env(prefix),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        conns = {p: _accept(s, 10) for p, s in socks.items()}
        assert all(conns.values()), conns
        conns[5].sendall(b"hello\n")
        out = _recv_all(conns[6]).decode()
        err = _recv_all(conns[7]).decode()
        assert proc.wait(20) == 3  # exec keeps the program's own status
        for p, s in socks.items():
            assert _accept(s, 0.2) is None, f"a second connection to port {p}"
    finally:
        proc.kill()
        proc.wait()
        for s in socks.values():
            s.close()
    assert out.startswith("out:hello\n")
    assert err == "err:hello\n"
    fds = _probe_fds(out)
    assert all(fds[n].startswith("socket:") for n in "012")
    assert len({fds["0"], fds["1"], fds["2"]}) == 3
    # Nothing went to the original stdout/stderr.
    assert proc.stdout.read() == b"" and proc.stderr.read() == b""


def test_streams_naming_one_port_share_one_connection(prefix):
    sock = _listen(f"{prefix}_6")
    proc = subprocess.Popen([VSOCKEXEC, "-o", "6", "-e", "6", PROBE, "report", "json",
                             "exit", "0"], env=_env(prefix), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE)
    try:
        conn = _accept(sock, 10)
        assert conn is not None
        data = _recv_all(conn).decode()
        assert proc.wait(20) == 0
        assert _accept(sock, 0.2) is None, "two connections for one port"
    finally:
        proc.kill()
        proc.wait()
        sock.close()
    fds = _probe_fds(data)
    assert fds["1"] == fds["2"] and fds["1"].startswith("socket:")
    assert not fds["0"].startswith("socket:")  # -i not given: stdin untouched
    assert '{"level":"info","msg":"probe"}\n' in data


def test_missing_listener_exits_1_without_running_the_program(prefix):
    marker = prefix + ".ran"
    proc = subprocess.run([VSOCKEXEC, "-e", "109", PROBE, "touch", marker],
                          env=_env(prefix), capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1
    assert f"connect {prefix}_109: No such file or directory" in proc.stderr
    assert not os.path.exists(marker)


def test_refused_connection_exits_1(prefix):
    s = _listen(f"{prefix}_109")
    s.close()  # the socket file stays, nobody listens: ECONNREFUSED
    proc = subprocess.run([VSOCKEXEC, "-e", "109", PROBE, "exit", "0"], env=_env(prefix),
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1
    assert "Connection refused" in proc.stderr


def test_vsock_is_refused_when_forbidden():
    proc = subprocess.run([VSOCKEXEC, "-e", "109", PROBE, "exit", "0"], env=_env(None),
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1
    assert "connect vsock:2:109: Operation not permitted" in proc.stderr


@pytest.mark.parametrize("args,message", [
    ([], "missing program argument"),
    (["-e", "109"], "missing program argument"),
    (["-e", "log", PROBE], "invalid port for -e: 'log'"),
    (["-o"], "option -o needs a port"),
    (["-z", PROBE], "unknown option -z"),
    (["-r", PROBE], "-r needs -o or -e"),
])
def test_bad_usage_exits_1(prefix, args, message):
    proc = subprocess.run([VSOCKEXEC, *args], env=_env(prefix), capture_output=True,
                          text=True, timeout=20)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "usage: vsockexec" in proc.stderr


def test_bad_transport_exits_1():
    proc = subprocess.run([VSOCKEXEC, "-e", "1", PROBE], env=_env(None, LCOW_TRANSPORT="tcp:x"),
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1
    assert "bad LCOW_TRANSPORT" in proc.stderr


def test_exec_failure_is_127(prefix):
    proc = subprocess.run([VSOCKEXEC, "/no/such/program"], env=_env(prefix),
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 127
    assert "exec /no/such/program: No such file or directory" in proc.stderr


def _lines(data):
    return [tuple(line.split()) for line in data.decode().splitlines() if line]


def test_relay_redials_until_the_host_comes_and_after_it_drops(prefix):
    """-r: the host is absent at first, then listens, then drops, then comes
    back; the program never notices and vsockexec exits with its status."""
    path = f"{prefix}_9"
    proc = subprocess.Popen([VSOCKEXEC, "-r", "-e", "9", PROBE, "lines", "60", "50", "exit",
                             "3"], env=_env(prefix), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        time.sleep(0.4)  # absent: vsockexec keeps redialling
        sock = _listen(path)
        start = time.monotonic()
        conn = _accept(sock, 5)
        assert conn is not None, "no redial once the host listens"
        assert time.monotonic() - start < 1.0
        time.sleep(0.6)
        conn.settimeout(5)
        first = conn.recv(65536)
        conn.close()  # the host drops the connection ...
        sock.close()
        os.unlink(path)
        time.sleep(0.4)  # ... and is absent for a while
        sock = _listen(path)
        conn = _accept(sock, 5)
        assert conn is not None, "no redial after the host dropped"
        second = _recv_all(conn)
        sock.close()
        assert proc.wait(20) == 3
    finally:
        proc.kill()
        proc.wait()
    first_lines, second_lines = _lines(first), _lines(second)
    assert first_lines and second_lines
    # Both of the program's streams are relayed, in order, to the one port.
    assert {k for k, _ in first_lines + second_lines} == {"out", "err"}
    assert ("out", "60") in second_lines and ("err", "60") in second_lines
    last_first = max(int(n) for _, n in first_lines)
    assert min(int(n) for _, n in second_lines) >= last_first
    assert b"redialling every 100 ms" in proc.stderr.read()


def test_relay_exits_with_128_plus_signal(prefix):
    sock = _listen(f"{prefix}_8")
    got = {}

    def serve():
        conn = _accept(sock, 10)
        got["data"] = _recv_all(conn) if conn else None

    t = threading.Thread(target=serve)
    t.start()
    try:
        proc = subprocess.run([VSOCKEXEC, "-r", "-o", "8", PROBE, "json", "kill",
                               str(int(signal.SIGTERM))], env=_env(prefix),
                              capture_output=True, timeout=20)
    finally:
        t.join(20)
        sock.close()
    assert proc.returncode == 128 + signal.SIGTERM
    assert got["data"] == b'{"level":"info","msg":"probe"}\n'


def test_relay_reports_exec_failure_to_the_host(prefix):
    sock = _listen(f"{prefix}_9")
    got = {}

    def serve():
        conn = _accept(sock, 10)
        got["data"] = _recv_all(conn) if conn else None

    t = threading.Thread(target=serve)
    t.start()
    try:
        proc = subprocess.run([VSOCKEXEC, "-r", "-e", "9", "/no/such/program"],
                              env=_env(prefix), capture_output=True, timeout=20)
    finally:
        t.join(20)
        sock.close()
    assert proc.returncode == 127
    assert b"exec /no/such/program: No such file or directory" in got["data"]


def test_relay_exits_when_the_program_does_even_without_a_host(prefix):
    start = time.monotonic()
    proc = subprocess.run([VSOCKEXEC, "-r", "-e", "9", PROBE, "json", "exit", "4"],
                          env=_env(prefix), capture_output=True, timeout=20)
    assert proc.returncode == 4
    assert time.monotonic() - start < 5
