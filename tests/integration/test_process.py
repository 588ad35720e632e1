"""Processes in the utility VM end to end (spec §3.4 case 1, §3.5-3.7, §3.9,
§6.3, §6.4): the real gcs, dialling the host library over the unix
transport, runs busybox commands; stdio goes through its relays.

Every test ends by killing what is left and stopping the gcs; the log must
have stayed JSON. Tests that look for leaks compare the gcs's children and
/proc/<gcs>/fd with a baseline taken after negotiation."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import OUT
from gcs_host import HR, GcsProcess, Msg
from uvm_process import (INFINITE, UvmHost, proc_rss_kib, read_all, read_until)

GCS = os.path.join(OUT, "gcs")
BB = "/bin/busybox"
KILLED = 0xFFFFFFFF  # Go's ExitCode() of -1: a UVM process killed by a signal


def need_busybox():
    if not os.access(BB, os.X_OK):
        pytest.skip("needs /bin/busybox (busybox-static)")


@pytest.fixture
def host():
    need_busybox()
    g = GcsProcess(GCS)
    h = UvmHost(g)
    try:
        h.connect()
        # Let the gcs finish starting up (kmsg reader, workers) before
        # anyone takes a baseline of its fds.
        h.request(0x10100C01)  # DumpStacks: a round trip
        yield h
    finally:
        h.close()
    assert not g.log.bad, "non-JSON log lines:\n" + "".join(g.log.bad[:5])


@pytest.fixture
def baseline(host):
    """The gcs's fds once it is idle; the test must end back there."""
    return host.fds()


def sh(script, *args):
    return [BB, "sh", "-c", script, "sh", *args]


def exit_code(reply):
    assert reply.result == 0, reply.json
    return reply.json["ExitCode"]


def assert_settled(host, baseline):
    kids, fds = host.settle(baseline)
    assert kids == [], f"gcs children left: {kids}"
    assert len(fds) <= len(baseline), \
        f"gcs fds leaked: {sorted(set(fds.items()) - set(baseline.items()))}"


# -- running and stdio -------------------------------------------------------------

def test_echo_round_trip(host, baseline):
    p = host.execute([BB, "echo", "hello", "world"], stdout=True)
    assert p.read_stdout() == b"hello world\n"
    assert exit_code(p.wait()) == 0
    assert_settled(host, baseline)


def test_cat_round_trip_and_stdin_eof(host, baseline):
    p = host.execute([BB, "cat"], stdin=True, stdout=True)
    p.stdin.sendall(b"line one\nline two\n")
    p.close_stdin()  # the host's EOF: cat must see its stdin end
    assert p.read_stdout() == b"line one\nline two\n"
    assert exit_code(p.wait()) == 0
    p.close()
    assert_settled(host, baseline)


def test_stdout_and_stderr_are_separate_streams(host):
    p = host.execute(sh("echo out; echo err >&2; echo out2"), stdout=True, stderr=True)
    err = []
    t = threading.Thread(target=lambda: err.append(p.read_stderr()))
    t.start()
    assert p.read_stdout() == b"out\nout2\n"
    t.join()
    assert err == [b"err\n"]
    assert exit_code(p.wait()) == 0


def test_100_mib_through_stdin_and_stdout_is_identical(host, baseline):
    size = 100 << 20
    p = host.execute([BB, "cat"], stdin=True, stdout=True)
    sent = hashlib.sha256()

    def feed():
        block = os.urandom(1 << 20)
        for i in range(size >> 20):
            chunk = bytes([i & 0xFF]) + block[1:]
            sent.update(chunk)
            p.stdin.sendall(chunk)
        p.close_stdin()

    t = threading.Thread(target=feed)
    t.start()
    got = hashlib.sha256()
    total = 0
    while True:
        data = p.stdout.recv(1 << 20)
        if not data:
            break
        got.update(data)
        total += len(data)
    t.join()
    assert total == size
    assert got.hexdigest() == sent.hexdigest()
    assert exit_code(p.wait()) == 0
    p.close()
    assert_settled(host, baseline)


def test_without_pipes_stdio_is_dev_null(host):
    p = host.execute(sh("for i in 0 1 2; do "
                        "[ \"$(readlink /proc/$$/fd/$i)\" = /dev/null ] || exit 1$i; done"))
    assert exit_code(p.wait()) == 0


# -- command, environment, working directory -------------------------------------------

def test_command_line_is_split_by_shell_word_rules(host):
    line = (BB + " sh -c 'printf \"%s|\" \"$@\"' sh plain 'single quoted' "
            "\"double \\\"quoted\\\"\" back\\ slash '' \"$HOME\"")
    p = host.execute(command_line=line, stdout=True)
    assert p.read_stdout() == b'plain|single quoted|double "quoted"|back slash||$HOME|'
    assert exit_code(p.wait()) == 0


def test_create_in_utility_vm_flag_on_the_null_id(host):
    # hcsshim's uvm.CreateProcess sets it along with the null container id.
    p = host.execute([BB, "echo", "uvm"], stdout=True, CreateInUtilityVM=True)
    assert p.read_stdout() == b"uvm\n"
    assert exit_code(p.wait()) == 0


def test_command_args_win_over_command_line(host):
    p = host.execute([BB, "echo", "args"], command_line="/bin/false", stdout=True)
    assert p.read_stdout() == b"args\n"
    assert exit_code(p.wait()) == 0


def test_environment_is_exactly_the_given_one(host):
    p = host.execute([BB, "env"], env={"A": "1", "B": "two words", "EMPTY": ""},
                     stdout=True)
    lines = sorted(p.read_stdout().decode().splitlines())
    # Nothing of the gcs's own environment (it has LCOW_FORBID_VSOCK, PATH...).
    assert lines == ["A=1", "B=two words", "EMPTY="]
    assert exit_code(p.wait()) == 0


def test_working_directory(host, tmp_path):
    p = host.execute([BB, "pwd"], cwd=str(tmp_path), stdout=True)
    assert p.read_stdout() == f"{tmp_path}\n".encode()
    assert exit_code(p.wait()) == 0


def test_missing_working_directory_is_a_clear_error(host, baseline):
    reply = host.try_execute([BB, "true"], cwd="/nonexistent-dir", stdout=True)
    assert reply.result == HR.E_FAIL
    assert "chdir /nonexistent-dir: No such file or directory" in reply.error
    assert_settled(host, baseline)


def test_bare_program_name_is_looked_up_on_the_gcs_path(host):
    # The request's PATH is the child's; argv[0] is resolved on the gcs's
    # PATH as the reference (Go's exec.LookPath) does.
    p = host.execute(["busybox", "sh", "-c", "echo $PATH"], env={"PATH": "/nonexistent"},
                     stdout=True)
    assert p.read_stdout() == b"/nonexistent\n"
    assert exit_code(p.wait()) == 0


def test_missing_binary_is_a_clear_error_and_leaves_nothing(host, baseline):
    reply = host.try_execute(["no-such-program-anywhere"], stdout=True, stdin=True)
    assert reply.result == HR.E_FAIL
    assert 'exec: "no-such-program-anywhere": executable file not found in $PATH' in reply.error
    reply = host.try_execute(["/nonexistent/program"], stdout=True)
    assert reply.result == HR.E_FAIL
    assert "exec /nonexistent/program: No such file or directory" in reply.error
    assert host.zombies() == []
    assert_settled(host, baseline)


@pytest.mark.parametrize("params", [
    {}, {"CommandLine": ""}, {"CommandLine": "   "}, {"CommandArgs": []},
    {"CommandArgs": [""]}])
def test_no_command_is_a_clear_error_not_a_crash(host, params):
    reply = host.try_execute(**params)
    assert reply.result == HR.INVALID_ARG, reply.json
    assert "no command" in reply.error
    # The gcs is still serving.
    assert exit_code(host.execute([BB, "true"]).wait()) == 0


def test_unterminated_quote_is_a_clear_error(host):
    reply = host.try_execute(command_line="echo 'oops")
    assert reply.result == HR.INVALID_ARG
    assert "CommandLine" in reply.error


# -- exit codes and waits -----------------------------------------------------------

@pytest.mark.parametrize("script,code", [
    ("exit 0", 0), ("exit 3", 3), ("exit 255", 255),
    ("kill -KILL $$", KILLED), ("kill -TERM $$", KILLED), ("kill -SEGV $$", KILLED)])
def test_exit_codes(host, script, code):
    assert exit_code(host.execute(sh(script)).wait()) == code


def test_process_that_exits_before_its_wait_is_kept_until_then(host):
    p = host.execute(sh("exit 9"))
    time.sleep(0.5)
    assert host.zombies() == []  # reaped at once, the status kept
    assert exit_code(p.wait()) == 9
    # Forgotten after the first answered wait.
    assert p.wait().result == HR.NOT_FOUND


def test_several_waiters_all_get_the_exit_code(host):
    p = host.execute(sh("sleep 0.3; exit 5"))
    ids = [host.send_wait(p.pid) for _ in range(4)]
    for i in ids:
        assert exit_code(host.bridge.wait_reply(i, 10)) == 5
    assert p.wait().result == HR.NOT_FOUND


def test_wait_log_line_counts_the_process_time_apart(host):
    """A WaitForProcess's log line says how long it waited for the process
    itself (process_us, up to the reaping): the rest of `us` is the gcs's.
    A wait sent after the process ended waited for nothing."""
    log = host.gcs.log

    def done(rid):
        return log.wait_for(lambda e: e.get("msg") == "request done" and e.get("id") == rid)

    p = host.execute(sh("sleep 0.3; exit 4"))
    wid = host.send_wait(p.pid)
    assert exit_code(host.bridge.wait_reply(wid, 10)) == 4
    e = done(wid)
    assert 250_000 <= e["process_us"] <= e["us"], e
    p = host.execute(sh("exit 6"))
    time.sleep(0.3)
    wid = host.send_wait(p.pid)
    assert exit_code(host.bridge.wait_reply(wid, 10)) == 6
    e = done(wid)
    assert e["process_us"] == 0, e


def test_wait_timeout_and_later_wait(host):
    p = host.execute([BB, "sleep", "30"])
    t0 = time.monotonic()
    reply = p.wait(timeout_ms=200)
    assert reply.result == HR.WAIT_TIMEOUT
    assert 0.15 < time.monotonic() - t0 < 5
    # A zero timeout is a probe.
    assert p.wait(timeout_ms=0).result == HR.WAIT_TIMEOUT
    # An infinite wait still gets the exit once the process is killed.
    wid = host.send_wait(p.pid)
    assert p.signal(signal.SIGKILL).result == 0
    assert exit_code(host.bridge.wait_reply(wid, 10)) == KILLED


def test_wait_on_unknown_pid_is_not_found(host):
    assert host.wait(1).result == HR.NOT_FOUND
    assert host.wait(0x7FFFFFF0).result == HR.NOT_FOUND
    assert host.wait(0xFFFFFFFE).result == HR.NOT_FOUND
    assert host.wait(os.getpid()).result == HR.NOT_FOUND


def test_other_requests_flow_while_a_wait_is_pending(host):
    p = host.execute([BB, "sleep", "30"])
    wid = host.send_wait(p.pid)
    for _ in range(3):
        assert exit_code(host.execute([BB, "true"]).wait()) == 0
    assert wid in host.bridge.outstanding
    p.signal()
    assert exit_code(host.bridge.wait_reply(wid, 10)) == KILLED


def test_wait_answers_only_after_the_output_is_delivered(host):
    # A background child keeps stdout open for a second after the shell
    # exits: the wait must wait for it, and once the reply is in, every byte
    # and the EOF must be readable at once (the host gives up 1 s after the
    # reply).
    p = host.execute(sh("(sleep 1; echo late) & echo early"), stdout=True)
    t0 = time.monotonic()
    assert exit_code(p.wait()) == 0
    assert time.monotonic() - t0 > 0.8
    p.stdout.settimeout(1.0)
    assert read_all(p.stdout) == b"early\nlate\n"


def test_wait_after_large_output_read_slowly(host):
    size = 8 << 20
    p = host.execute([BB, "dd", "if=/dev/zero", "bs=65536", f"count={size >> 16}"],
                     stdout=True)
    got = []
    eof_at = []

    def slow_reader():
        total = 0
        while True:
            data = p.stdout.recv(65536)
            if not data:
                eof_at.append(time.monotonic())
                break
            total += len(data)
            time.sleep(0.001)
        got.append(total)

    t = threading.Thread(target=slow_reader)
    t.start()
    reply = p.wait()
    replied_at = time.monotonic()
    t.join(10)
    assert exit_code(reply) == 0
    assert got == [size]
    assert eof_at[0] - replied_at < 1.0


# -- signals -------------------------------------------------------------------------

TRAPS = ("trap 'echo got-TERM; exit 71' TERM; trap 'echo got-INT; exit 72' INT; "
         "trap 'echo got-HUP; exit 73' HUP; trap 'echo got-USR1; exit 74' USR1; "
         "echo ready; while :; do sleep 0.05; done")


@pytest.mark.parametrize("sig,word,code", [
    (signal.SIGTERM, b"got-TERM", 71), (signal.SIGINT, b"got-INT", 72),
    (signal.SIGHUP, b"got-HUP", 73), (signal.SIGUSR1, b"got-USR1", 74)])
def test_signals_reach_a_trapping_shell(host, sig, word, code):
    p = host.execute(sh(TRAPS), stdout=True)
    read_until(p.stdout, b"ready\n")
    assert p.signal(sig).result == 0
    assert word in p.read_stdout()
    assert exit_code(p.wait()) == code


@pytest.mark.parametrize("options", [None, {}, {"Signal": 0}])
def test_missing_or_zero_signal_means_sigkill(host, options):
    p = host.execute(sh(TRAPS), stdout=True)
    read_until(p.stdout, b"ready\n")
    fields = {"ProcessId": p.pid}
    if options is not None:
        fields["Options"] = options
    assert host.request(0x10100701, **fields).result == 0
    out = p.read_stdout()
    assert b"got-" not in out  # nothing a trap could catch
    assert exit_code(p.wait()) == KILLED


def test_realtime_signal_is_delivered(host):
    p = host.execute(sh("echo ready; while :; do sleep 0.05; done"), stdout=True)
    read_until(p.stdout, b"ready\n")
    assert p.signal(40).result == 0  # default action: terminate
    assert exit_code(p.wait()) == KILLED


@pytest.mark.parametrize("sig", [-1, 65, 1000])
def test_invalid_signal_number_is_refused(host, sig):
    p = host.execute([BB, "sleep", "30"])
    reply = p.signal(sig)
    assert reply.result == HR.INVALID_ARG
    assert "invalid signal number" in reply.error
    assert p.wait(timeout_ms=100).result == HR.WAIT_TIMEOUT  # still running
    p.signal()
    assert exit_code(p.wait()) == KILLED


def test_signal_to_unknown_or_exited_process_is_not_found(host):
    # Only processes the gcs started: not one of ours, not the gcs itself.
    stranger = subprocess.Popen([BB, "sleep", "30"])
    try:
        assert host.signal(stranger.pid, signal.SIGKILL).result == HR.NOT_FOUND
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
    assert host.signal(host.gcs_pid, signal.SIGTERM).result == HR.NOT_FOUND
    p = host.execute(sh("exit 0"))
    time.sleep(0.3)
    assert p.signal(signal.SIGTERM).result == HR.NOT_FOUND  # exited, not yet waited
    assert exit_code(p.wait()) == 0
    assert host.gcs.proc.poll() is None


# -- console -----------------------------------------------------------------------------

def test_console_gets_a_controlling_tty_and_stty_size_follows_resize(host):
    p = host.execute(sh("tty; stty size; read x; stty size; echo \"[$x]\""), console=True,
                     console_size=(24, 80), stdin=True, stdout=True)
    out = read_until(p.stdout, b"24 80\r\n")
    assert b"/dev/pts/" in out
    assert p.resize(40, 120).result == 0
    p.stdin.sendall(b"go\n")
    rest = p.read_stdout()
    assert b"40 120\r\n" in rest
    assert b"[go]" in rest
    assert exit_code(p.wait()) == 0
    # After the exit the console is gone: a late resize is a harmless no-op.
    p.close()


def test_resize_on_a_running_console_reaches_the_shell(host):
    p = host.execute(sh("trap 'stty size' WINCH; echo ready; "
                        "while :; do sleep 0.05; done"), console=True, stdout=True)
    read_until(p.stdout, b"ready")
    assert p.resize(33, 99).result == 0
    read_until(p.stdout, b"33 99")
    p.signal()
    assert exit_code(p.wait()) == KILLED


def test_console_output_without_stdout_is_drained(host):
    # Nobody receives the output, yet the child must not block on a full
    # terminal: the gcs reads and drops it.
    p = host.execute(sh("yes | head -c 4000000; exit 4"), console=True)
    assert exit_code(p.wait(timeout=30)) == 4


def test_resize_errors(host):
    p = host.execute([BB, "sleep", "30"])
    reply = p.resize(10, 10)
    assert reply.result == HR.E_FAIL
    assert "has no console" in reply.error
    assert host.request(0x10100801, ProcessId=1, Height=1, Width=1).result == HR.NOT_FOUND
    c = host.execute([BB, "sleep", "30"], console=True)
    assert c.resize(70000, 10).result == HR.INVALID_ARG
    for proc in (p, c):
        proc.signal()
        assert exit_code(proc.wait()) == KILLED


def test_gcs_does_not_get_the_console_as_its_controlling_tty(host):
    p = host.execute([BB, "sleep", "30"], console=True)
    with open(f"/proc/{host.gcs_pid}/stat") as f:
        tty_nr = int(f.read().rsplit(")", 1)[1].split()[4])
    assert tty_nr == 0
    p.signal()
    assert exit_code(p.wait()) == KILLED
    assert host.gcs.proc.poll() is None  # the closing pty did not SIGHUP it


# -- process list, dump -----------------------------------------------------------------

def test_process_list_shows_running_uvm_processes(host):
    a = host.execute([BB, "sleep", "30"])
    b = host.execute([BB, "sleep", "30"])
    assert host.process_list() == sorted([a.pid, b.pid])
    a.signal()
    assert exit_code(a.wait()) == KILLED
    assert host.process_list() == [b.pid]
    dump = host.request(0x10100C01).json["GuestStacks"]
    assert f"pid {b.pid} {BB}: running" in dump
    b.signal()
    assert exit_code(b.wait()) == KILLED
    assert host.process_list() == []


# -- faults -----------------------------------------------------------------------------

def test_host_closing_stdout_early_gives_the_child_epipe_not_the_gcs(host, baseline):
    p = host.execute([BB, "yes"], stdout=True)
    read_until(p.stdout, b"y\ny\n")
    p.stdout.close()
    # yes dies of SIGPIPE (the gcs restored its default for the child).
    assert exit_code(p.wait()) == KILLED
    assert host.gcs.proc.poll() is None
    assert exit_code(host.execute([BB, "true"]).wait()) == 0
    p.close()
    assert_settled(host, baseline)


def test_host_closing_stdin_early_ends_the_childs_input(host):
    p = host.execute([BB, "cat"], stdin=True, stdout=True)
    p.stdin.sendall(b"partial")
    p.stdin.close()
    assert p.read_stdout() == b"partial"
    assert exit_code(p.wait()) == 0


def test_child_ignoring_sigpipe_gets_epipe(host):
    p = host.execute(sh("trap '' PIPE; echo ready; sleep 0.3; "
                        "while echo data; do :; done; echo \"write failed\" >&2; exit 6"),
                     stdout=True, stderr=True)
    read_until(p.stdout, b"ready\n")
    p.stdout.close()
    assert b"write failed" in p.read_stderr()
    assert exit_code(p.wait()) == 6


def test_flood_with_a_slow_reader_keeps_gcs_memory_bounded(host):
    size = 256 << 20
    p = host.execute([BB, "dd", "if=/dev/zero", "bs=65536", f"count={size >> 16}"],
                     stdout=True)
    rss0 = proc_rss_kib(host.gcs_pid)
    total = len(p.stdout.recv(65536))
    time.sleep(1.5)  # the child keeps writing; the gcs must stop reading
    rss1 = proc_rss_kib(host.gcs_pid)
    while True:
        data = p.stdout.recv(1 << 20)
        if not data:
            break
        total += len(data)
    assert total == size
    assert exit_code(p.wait()) == 0
    assert rss1 - rss0 < 4096, f"gcs RSS grew by {rss1 - rss0} KiB"


def test_dial_to_a_port_nobody_listens_on(host, baseline):
    reply = host.try_execute([BB, "sleep", "30"], stdin=True, stdout=True, listen=False)
    assert reply.result == HR.E_FAIL
    assert "stdin: dial" in reply.error
    assert host.children() == []
    assert_settled(host, baseline)


def test_orphans_are_reaped(host):
    p = host.execute(sh("sleep 0.2 & sleep 0.2 & exit 0"))
    assert exit_code(p.wait()) == 0
    deadline = time.monotonic() + 5
    while host.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host.children() == []


def test_200_concurrent_processes(host, baseline):
    n = 200
    pending = [host.execute_request(sh("read x; echo \"$x-$$\""), stdin=True, stdout=True)
               for _ in range(n)]
    procs = []
    for msg_id, listeners in pending:
        reply, p = host.finish_execute(msg_id, listeners, timeout=60)
        assert reply.result == 0, reply.json
        procs.append(p)
    assert len({p.pid for p in procs}) == n
    assert host.process_list() == sorted(p.pid for p in procs)
    waits = [host.send_wait(p.pid) for p in procs]
    for i, p in enumerate(procs):
        p.stdin.sendall(f"n{i}\n".encode())
        p.close_stdin()
    for i, p in enumerate(procs):
        assert p.read_stdout() == f"n{i}-{p.pid}\n".encode()
    for w in waits:
        assert exit_code(host.bridge.wait_reply(w, 60)) == 0
    for p in procs:
        p.close()
    assert host.zombies() == []
    assert host.process_list() == []
    assert_settled(host, baseline)


def test_gcs_shuts_down_cleanly_with_running_processes_and_pending_waits():
    need_busybox()
    g = GcsProcess(GCS)
    h = UvmHost(g)
    pids = []
    try:
        h.connect()
        for _ in range(3):
            p = h.execute(sh("echo started; sleep 30"), stdin=True, stdout=True)
            read_until(p.stdout, b"started")
            pids.append(p.pid)
            h.send_wait(p.pid)
        assert g.stop() == 0
        # Every pending wait was released through its cancel hook.
        assert not any("left pending at exit" in line for line in g.log.lines)
        assert not g.log.bad, "".join(g.log.bad[:5])
    finally:
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        h.close()


def test_thousands_of_waits_are_bounded_per_process_and_released_at_shutdown():
    # issue 18: 20,000 waits with decreasing timeouts stalled the loop, and
    # 50,000 took minutes to unlink at SIGTERM. Now: up to 1024 pending on
    # one process, a clear error beyond, and a prompt shutdown.
    need_busybox()
    g = GcsProcess(GCS)
    h = UvmHost(g)
    pid = None
    try:
        h.connect()
        p = h.execute(sh("echo started; sleep 60"), stdin=True, stdout=True)
        read_until(p.stdout, b"started")
        pid = p.pid
        ids = [h.send_wait(pid, 600000 - i) for i in range(3000)]
        # While the process runs, only the waits beyond the bound answer.
        for rid in ids[1024:]:
            reply = h.bridge.wait_reply(rid, 30)
            assert reply.result != 0
            assert "1024 waits are pending on process" in reply.error, reply.error
        assert h.request(Msg.DUMP_STACKS).result == 0  # the loop still serves
        assert g.stop() == 0
        assert not any("left pending at exit" in line for line in g.log.lines)
        assert not g.log.bad, "".join(g.log.bad[:5])
    finally:
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        h.close()
