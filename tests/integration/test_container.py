"""Containers end to end (spec §3.2-3.9, §3.12, §3.14, §4.2, §6): the real
gcs runs real runc on busybox root file systems, driven through the host
library over the unix transport, as hcsshim drives it.

Every test gets its own gcs confined by tests/lib/container_host.py: cgroups
below a private prefix, runc state and bundles in a temporary directory.
At the end the environment must hold no runc container, no process in its
cgroups and no cgroup (ContainerEnv.close() removes and reports leftovers),
and the gcs log must have stayed JSON."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import OUT, require_root
from container_host import (ACTIVITY, HR, Msg, ContainerEnv, cgroup_dirs, exec_process,
                            mount_count, proc_children, proc_fds)
from uvm_process import read_all, read_until

GCS = os.path.join(OUT, "gcs")
MiB = 1 << 20


def need_runtime():
    require_root()
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("needs /bin/busybox (busybox-static)")
    if not any(os.access(os.path.join(d, "runc"), os.X_OK)
               for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin")):
        pytest.skip("needs runc")
    if not os.path.isdir("/sys/fs/cgroup/memory") and \
            not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("needs a cgroup memory controller")


@pytest.fixture
def env():
    need_runtime()
    e = ContainerEnv(GCS)
    try:
        yield e
    finally:
        leftovers = e.close()
    assert leftovers == [], f"left behind: {leftovers}"
    assert cgroup_dirs(e.cgroup_prefix) == []


@pytest.fixture
def host(env):
    h = env.start()
    yield h
    assert not env.gcs.log.bad, "non-JSON log lines:\n" + "".join(env.gcs.log.bad[:5])


def sh(script):
    return ["/bin/sh", "-c", script]


def assert_gone(c):
    """After DeleteContainerState: no runc state, bundle, cgroup."""
    assert c.id not in c.host.env.runc_containers()
    assert not os.path.exists(c.bundle)
    assert not os.path.exists(c.cgroup_dir())


def run_to_end(host, c, want_code=0):
    """Start with stdout/stderr, collect them, wait, take the notification."""
    p = c.start(stdout=True, stderr=True)
    err = []
    t = threading.Thread(target=lambda: err.append(p.read_stderr()))
    t.start()
    out = p.read_stdout()
    t.join()
    code = p.wait_code()
    note = host.notification()
    assert code == want_code, (out, err)
    return out, err[0], note


# -- running ---------------------------------------------------------------------------

def test_echo_hello_and_the_notification_follows_the_wait(host):
    c = host.container("echo1", ["/bin/echo", "hello"])
    c.must_create()
    assert os.path.exists(os.path.join(c.bundle, "config.json"))
    p = c.start(stdout=True, stderr=True)
    assert p.read_stdout() == b"hello\n"
    assert p.read_stderr() == b""
    # Two waits on the init: both answered, and the notification comes only
    # after the first reply (§3.14: the wait response first).
    w1 = host.bridge.send(Msg.WAIT_FOR_PROCESS, {"ContainerId": c.id, "ProcessId": p.pid,
                                                 "TimeoutInMs": 0xFFFFFFFF})
    first = host.bridge.recv(30)
    assert first.is_response and first.id == w1, first
    assert first.json["ExitCode"] == 0
    note = host.notification()
    assert note.json == {"ContainerId": c.id, "ActivityId": ACTIVITY,
                         "Type": "UnexpectedExit", "Operation": "None", "Result": 0}
    # The init stays queryable while the container exists.
    assert p.wait_code() == 0
    assert c.delete().result == 0
    assert_gone(c)
    assert host.no_notification(0.5)


def test_request_log_lines_say_how_long_runc_took(host):
    """Each container request that ran runc logs runc's wall time (runc_us)
    beside its total (us): both there, runc's part within the total; a
    request that ran no runc has no runc_us. A wait logs the time it waited
    for the process instead (process_us)."""
    c = host.container("timed1", ["/bin/true"])
    ids = {"Create": c.must_create().id}
    p = c.start()
    ids["WaitForProcess"] = host.bridge.request(Msg.WAIT_FOR_PROCESS, {
        "ContainerId": c.id, "ProcessId": p.pid, "TimeoutInMs": 0xFFFFFFFF}).id
    host.notification()
    ids["GetProperties"] = c.properties("ProcessList")[0].id
    ids["DeleteContainerState"] = c.delete().id
    log = host.gcs.log

    def done(rid):
        return log.wait_for(lambda e: e.get("msg") == "request done" and e.get("id") == rid)

    for name in ("Create", "GetProperties", "DeleteContainerState"):
        e = done(ids[name])
        assert isinstance(e.get("runc_us"), int) and isinstance(e.get("us"), int), (name, e)
        assert 0 < e["runc_us"] <= e["us"], (name, e)
        assert e["ms"] == e["us"] // 1000, (name, e)
    start = log.wait_for(lambda e: e.get("msg") == "request done" and
                         e.get("type") == "ExecuteProcess" and e.get("cid") == c.id)
    assert 0 < start["runc_us"] <= start["us"], start
    wait = done(ids["WaitForProcess"])
    assert "runc_us" not in wait and wait["us"] >= 0, wait
    assert 0 <= wait["process_us"] <= wait["us"], wait


def test_config_json_keeps_what_the_guest_does_not_change(host):
    c = host.container("keep1", ["/bin/true"])
    c.spec["x-extension"] = {"big": 18446744073709551615, "neg": -1, "float": 1.5,
                             "text": "\u00fc/\\\"", "list": [None, True, {}]}
    c.spec["annotations"] = {"org.example/a": "b"}
    c.spec["process"]["env"].append("ODD=a=b c")
    c.must_create()
    with open(os.path.join(c.bundle, "config.json")) as f:
        text = f.read()
    assert "18446744073709551615" in text
    written = json.loads(text)
    sent = c.spec
    # What the guest sets: cgroupsPath, the /etc bind mounts it adds.
    assert written["linux"]["cgroupsPath"] == f"{host.env.cgroup_prefix}/pods/keep1"
    assert written["mounts"][:len(sent["mounts"])] == sent["mounts"]
    assert {m["destination"] for m in written["mounts"][len(sent["mounts"]):]} == \
        {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}
    for key in set(sent) | set(written):
        if key not in ("mounts", "linux"):
            assert written.get(key) == sent.get(key), key
    for key in set(sent["linux"]) | set(written["linux"]):
        if key != "cgroupsPath":
            assert written["linux"].get(key) == sent["linux"].get(key), key
    run_to_end(host, c)
    assert c.delete().result == 0


def test_exit_code_3_reaches_wait_and_notification(host):
    c = host.container("exit3", sh("echo out; echo err >&2; exit 3"))
    c.must_create()
    out, err, note = run_to_end(host, c, 3)
    assert (out, err) == (b"out\n", b"err\n")
    assert note.json["Result"] == 3 and note.json["Type"] == "UnexpectedExit"
    assert c.delete().result == 0


def test_id_under_a_named_user(host):
    c = host.container("user1", ["/bin/id"], user="alice")
    c.must_create()
    out, _, _ = run_to_end(host, c)
    text = out.decode()
    assert text.startswith("uid=1000(alice) gid=1000(alice)"), text
    assert "10(wheel)" in text and "50(staff)" in text, text
    assert c.delete().result == 0


def test_unknown_user_fails_create_with_the_files_searched(host):
    c = host.container("user2", ["/bin/id"], user="mallory")
    reply = c.create()
    assert reply.result == HR.INVALID_ARG, reply.json
    assert "mallory" in reply.error and "passwd" in reply.error
    assert host.no_notification(0.5)


def test_environment_and_a_missing_working_directory(host):
    c = host.container("envcwd", sh('echo "$FOO|$BAR"; pwd'), env=["FOO=bar baz", "BAR="],
                       cwd="/work/dir")
    c.must_create()
    # WORKDIR: created in the rootfs when the image lacks it.
    assert os.path.isdir(os.path.join(c.rootfs, "work", "dir"))
    out, _, _ = run_to_end(host, c)
    assert out == b"bar baz|\n/work/dir\n"
    assert c.delete().result == 0


def test_read_only_rootfs_refuses_writes(host):
    c = host.container("ro1", sh("touch /newfile"), readonly=True)
    c.must_create()
    out, err, note = run_to_end(host, c, 1)
    assert b"Read-only file system" in err, err
    assert not os.path.exists(os.path.join(c.rootfs, "newfile"))
    assert note.json["Result"] == 1
    assert c.delete().result == 0


def test_shared_pid_namespace_init_exit_kills_the_rest(host):
    """Without a pid namespace of its own the container's other processes
    outlive its init and hold its stdout: runc kill --all ends them before
    the wait is answered (§6.3), or the wait would never come."""
    c = host.container("sharedpid", sh("sleep 300 & echo $! > /tmp/bg; echo started"))
    c.spec["linux"]["namespaces"] = [n for n in c.spec["linux"]["namespaces"]
                                     if n["type"] != "pid"]
    c.must_create()
    out, _, note = run_to_end(host, c)
    assert out == b"started\n"
    with open(os.path.join(c.rootfs, "tmp", "bg")) as f:
        bg = int(f.read())  # a pid of the UVM's namespace
    assert not os.path.exists(f"/proc/{bg}") or \
        open(f"/proc/{bg}/stat").read().split()[2] == "Z"
    assert note.json["Result"] == 0
    assert c.delete().result == 0


def test_unrequested_stdin_reads_eof(host):
    c = host.container("noin", sh('read x; echo "eof:[$x]:$?"'))
    c.must_create()
    out, _, _ = run_to_end(host, c)
    assert out == b"eof:[]:1\n"
    assert c.delete().result == 0


def test_stdin_reaches_the_init_and_its_eof_too(host):
    c = host.container("cat1", ["/bin/cat"])
    c.must_create()
    p = c.start(stdin=True, stdout=True)
    p.stdin.sendall(b"line one\nline two\n")
    p.close_stdin()
    assert p.read_stdout() == b"line one\nline two\n"
    assert p.wait_code() == 0
    host.notification()
    p.close()
    assert c.delete().result == 0


def test_memory_and_cpu_settings_reach_the_cgroup_and_can_change(host):
    res = {"memory": {"limit": 64 * MiB}, "cpu": {"shares": 512, "quota": 50000,
                                                  "period": 100000}}
    c = host.container("lim1", sh("echo up; exec sleep 300"), resources=res)
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"up\n")
    v1 = os.path.isdir("/sys/fs/cgroup/memory")
    if v1:
        with open(os.path.join(c.cgroup_dir("memory"), "memory.limit_in_bytes")) as f:
            assert int(f.read()) == 64 * MiB
        with open(os.path.join(c.cgroup_dir("cpu"), "cpu.shares")) as f:
            assert int(f.read()) == 512
        with open(os.path.join(c.cgroup_dir("cpu"), "cpu.cfs_quota_us")) as f:
            assert int(f.read()) == 50000
    _, props = c.properties("Statistics")
    assert props["LCOWMetrics"]["memory"]["usage"]["limit"] == 64 * MiB
    # ContainerConstraints: runc update.
    reply = host.request(Msg.MODIFY_SETTINGS, c.id, Request={
        "RequestType": "Update", "ResourceType": "ContainerConstraints",
        "Settings": {"Windows": {}, "Linux": {"memory": {"limit": 128 * MiB}}}})
    assert reply.result == 0, reply.json
    _, props = c.properties("Statistics")
    assert props["LCOWMetrics"]["memory"]["usage"]["limit"] == 128 * MiB
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    assert host.notification().json["Type"] == "ForcedExit"
    p.close()
    assert c.delete().result == 0
    assert_gone(c)


# -- signals and shutdown -------------------------------------------------------------------

TRAP = ('trap "echo got-{name}; exit {code}" {name}; echo ready; '
        'while :; do sleep 0.05; done')


@pytest.mark.parametrize("sig,name,code,exit_type", [
    (signal.SIGTERM, "TERM", 42, "GracefulExit"),
    (signal.SIGUSR1, "USR1", 43, "UnexpectedExit"),
    (signal.SIGHUP, "HUP", 44, "UnexpectedExit"),
    (36, "36", 45, "UnexpectedExit"),  # a realtime signal
])
def test_signal_reaches_a_trapping_shell(host, sig, name, code, exit_type):
    c = host.container(f"sig{int(sig)}", sh(TRAP.format(name=name, code=code)))
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    assert p.signal(sig).result == 0
    assert p.read_stdout() == f"got-{name}\n".encode()
    assert p.wait_code() == code
    note = host.notification()
    assert note.json["Type"] == exit_type and note.json["Result"] == code
    assert c.delete().result == 0


@pytest.mark.parametrize("options", [None, {}])
def test_signal_without_a_number_is_sigkill(host, options):
    c = host.container("kill0", sh("echo ready; exec sleep 300"))
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    fields = {"ProcessId": p.pid}
    if options is not None:
        fields["Options"] = options
    assert host.request(Msg.SIGNAL_PROCESS, c.id, **fields).result == 0
    assert p.wait_code() == 137
    assert host.notification().json["Type"] == "ForcedExit"
    assert c.delete().result == 0


def test_shutdown_graceful_runs_the_trap_and_forced_kills(host):
    g = host.container("sdg", sh(TRAP.format(name="TERM", code=0)))
    f = host.container("sdf", sh("echo ready; exec sleep 300"))
    g.must_create()
    f.must_create()
    pg, pf = g.start(stdout=True), f.start(stdout=True)
    read_until(pg.stdout, b"ready\n")
    read_until(pf.stdout, b"ready\n")
    assert g.shutdown().result == 0
    assert pg.wait_code() == 0
    assert f.shutdown(forced=True).result == 0
    assert pf.wait_code() == 137
    types = {n.json["ContainerId"]: n.json["Type"] for n in
             (host.notification(), host.notification())}
    assert types == {g.id: "GracefulExit", f.id: "ForcedExit"}
    for c in (g, f):
        assert c.delete().result == 0


def test_kill_and_delete_of_a_container_whose_init_exited(host):
    c = host.container("gone1", ["/bin/true"])
    c.must_create()
    p = c.start()
    assert p.wait_code() == 0
    assert host.notification().json["Type"] == "UnexpectedExit"
    # runc says "not running": 0xC0370110, which the host logs and ignores.
    for forced in (False, True):
        reply = c.shutdown(forced)
        assert reply.result == HR.SYSTEM_STOPPED, reply.json
    assert p.signal(signal.SIGKILL).result == HR.NOT_FOUND
    _, props = c.properties("ProcessList")
    assert props.get("ProcessList", []) == []
    assert c.delete().result == 0
    assert_gone(c)
    for reply in (c.delete(), c.shutdown(), c.shutdown(True), c.properties("ProcessList")[0],
                  host.wait(c.id, p.pid)):
        assert reply.result == HR.SYSTEM_NOT_FOUND, reply.json
    assert host.no_notification(0.5)


def test_delete_removes_the_scratch_and_never_crosses_a_mount(host):
    scratch = os.path.join(host.env.dir, "c", "scr1-scratch", "scr1")
    os.makedirs(os.path.join(scratch, "upper", "deep"))
    c = host.container("scr1", ["/bin/true"], scratch=scratch)
    c.must_create()
    run_to_end(host, c)
    # Something still mounted in the bundle (in the VM: a layer the host
    # has not removed) must survive the delete, which then reports it.
    mnt = os.path.join(c.bundle, "still-mounted")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", mnt], check=True)
    try:
        with open(os.path.join(mnt, "precious"), "w") as f:
            f.write("keep me")
        reply = c.delete()
        assert reply.result == HR.E_FAIL and "mounted" in reply.error, reply.json
        with open(os.path.join(mnt, "precious")) as f:
            assert f.read() == "keep me"
    finally:
        subprocess.run(["umount", mnt], check=True)
    assert not os.path.exists(scratch)
    # Forgotten all the same (§3.12).
    assert c.delete().result == HR.SYSTEM_NOT_FOUND
    assert c.id not in host.env.runc_containers()


def test_poststop_hook_still_finds_the_bundle(host):
    """runc delete runs poststop hooks, which may read the bundle: with
    hooks, the bundle is removed only after runc delete (without, both run
    at once)."""
    out = os.path.join(host.env.dir, "hook.out")
    c = host.container("hook1", ["/bin/true"])
    c.spec["hooks"] = {"poststop": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"cat {c.bundle}/hostname > {out}"]}]}
    c.must_create()
    run_to_end(host, c)
    assert c.delete().result == 0
    with open(out) as f:
        assert f.read().strip() == "lcowctr"
    assert_gone(c)


def test_created_container_killed_before_start_notifies_once(host):
    c = host.container("never1", ["/bin/true"])
    c.must_create()
    assert c.shutdown(forced=True).result == 0
    note = host.notification()
    assert note.json["Type"] == "ForcedExit" and note.json["Result"] == 137
    reply, _ = c.execute()
    assert reply.result == HR.INVALID_STATE, reply.json
    assert c.delete().result == 0
    assert_gone(c)
    assert host.no_notification(0.5)


def test_delete_of_a_created_container_kills_its_init_and_notifies_nothing(host):
    c = host.container("never2", ["/bin/true"])
    c.must_create()
    assert c.delete().result == 0
    assert_gone(c)
    assert host.no_notification(1.0)


def test_delete_of_a_running_container_is_refused(host):
    c = host.container("busy1", sh("echo ready; exec sleep 300"))
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    assert c.delete().result == HR.INVALID_STATE
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    host.notification()
    assert c.delete().result == 0


# -- exec, tty, stats ------------------------------------------------------------------------

def test_exec_into_a_running_container(host):
    c = host.container("exec1", sh("echo up; exec sleep 300"), user="alice")
    c.must_create()
    init = c.start(stdout=True)
    read_until(init.stdout, b"up\n")
    # The container's user and rlimits are inherited; stdout and stderr apart.
    e = c.exec(exec_process(sh("id -un; ulimit -n; echo err >&2; exit 5")),
               stdout=True, stderr=True)
    assert e.pid != init.pid
    assert e.read_stdout() == b"alice\n777\n"
    assert e.read_stderr() == b"err\n"
    assert e.wait_code() == 5
    # Forgotten after its first answered wait.
    assert e.wait().result == HR.NOT_FOUND
    assert e.signal(signal.SIGTERM).result == HR.NOT_FOUND
    # A user of its own, and stdin.
    e2 = c.exec(exec_process(sh("id -un; cat"), user="bob"), stdin=True, stdout=True)
    e2.stdin.sendall(b"piped\n")
    e2.close_stdin()
    assert e2.read_stdout() == b"bob\npiped\n"
    assert e2.wait_code() == 0
    # ProcessList sees the init and a running exec.
    e3 = c.exec(exec_process(sh("echo ok; exec sleep 300")), stdout=True)
    read_until(e3.stdout, b"ok\n")
    _, props = c.properties("ProcessList")
    pids = {p["ProcessId"] for p in props["ProcessList"]}
    assert {init.pid, e3.pid} <= pids, pids
    assert e3.signal(signal.SIGKILL).result == 0
    assert e3.wait_code() == 137
    # A failing exec carries runc's error text.
    reply, _ = c.execute(exec_process(["/bin/no-such-program"]))
    assert reply.result == HR.E_FAIL and "no-such-program" in reply.error, reply.json
    assert c.shutdown(forced=True).result == 0
    assert init.wait_code() == 137
    host.notification()
    for p in (init, e, e2, e3):
        p.close()
    assert c.delete().result == 0


def sleeping_container(host, cid):
    """A started container whose init said "up" and sleeps: (container, init)."""
    c = host.container(cid, sh("echo up >/dev/stdout; exec sleep 300"))
    c.must_create()
    init = c.start(stdout=True)
    read_until(init.stdout, b"up\n")
    return c, init


def test_exec_stdio_are_pipes_and_the_wait_follows_its_output(host):
    # A container process's stdio are pipes, as the Go guest's relay gives
    # them: a socket cannot be opened again, so `>/dev/stdout` (images link
    # their logs there) would fail with ENXIO. The init wrote "up" that way
    # (sleeping_container); its wait still comes after every byte, a
    # background job's included, and the EOF.
    c, init = sleeping_container(host, "exec2")
    e = c.exec(exec_process(sh("for i in 0 1 2; do readlink /proc/$$/fd/$i; done; "
                               "echo out >/dev/stdout; echo err >/dev/stderr")),
               stdin=True, stdout=True, stderr=True)
    out = e.read_stdout().split()
    links = out[:3]
    assert len(links) == 3 and all(x.startswith(b"pipe:[") for x in links), out
    assert len(set(links)) == 3, links
    assert out[3:] == [b"out"], out
    assert e.wait_code() == 0
    assert e.read_stderr() == b"err\n"
    e2 = c.exec(exec_process(sh("(sleep 1; echo late) & echo early")), stdout=True)
    t0 = time.monotonic()
    assert e2.wait_code() == 0
    assert time.monotonic() - t0 > 0.8
    e2.stdout.settimeout(1.0)
    assert read_all(e2.stdout) == b"early\nlate\n"
    assert c.shutdown(forced=True).result == 0
    assert init.wait_code() == 137
    host.notification()
    for p in (init, e, e2):
        p.close()
    assert c.delete().result == 0


def test_tty_container_with_resize(host):
    c = host.container("tty1", sh('tty; stty size; read x; stty size; echo "[$x]"'),
                       terminal=True, console_size=(24, 80))
    c.must_create()
    p = c.start(stdin=True, stdout=True, stderr=True)
    # A console has no separate stderr: the host reads EOF on it.
    assert p.read_stderr() == b""
    out = read_until(p.stdout, b"24 80")
    assert b"/dev/" in out
    assert p.resize(40, 120).result == 0
    p.stdin.sendall(b"go\n")
    out = read_until(p.stdout, b"[go]")
    assert b"40 120" in out, out
    assert p.wait_code() == 0
    host.notification()
    # The console is gone with the process: a late resize does nothing.
    assert p.resize(50, 100).result == 0
    p.close()
    assert c.delete().result == 0


def test_exec_with_a_terminal_and_resize_of_a_pipe_process(host):
    c, init = sleeping_container(host, "tty2")
    assert init.resize(10, 10).result == HR.E_FAIL  # no console
    e = c.exec(exec_process(sh("[ -t 0 ] && [ -t 1 ] && echo on-a-tty"), terminal=True),
               stdout=True)
    assert b"on-a-tty" in e.read_stdout()
    assert e.wait_code() == 0
    assert c.shutdown(forced=True).result == 0
    assert init.wait_code() == 137
    host.notification()
    init.close()
    assert c.delete().result == 0


def test_stats_while_a_process_burns_cpu(host):
    c = host.container("burn1", sh("echo go; while :; do :; done"),
                       resources={"memory": {"limit": 256 * MiB}})
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"go\n")
    r1, s1 = c.properties("Statistics", "ProcessList")
    time.sleep(0.5)
    r2, s2 = c.properties("Statistics", "ProcessList")
    assert r2.size <= 65536
    m1, m2 = s1["LCOWMetrics"], s2["LCOWMetrics"]
    burnt = m2["cpu"]["usage"]["total"] - m1["cpu"]["usage"]["total"]
    assert burnt > 200_000_000, burnt  # at least 0.2 s of CPU in 0.5 s
    assert m2["memory"]["usage"]["usage"] > 0
    assert m2["memory"]["usage"]["limit"] == 256 * MiB
    assert m2["pids"]["current"] >= 1
    assert p.pid in {x["ProcessId"] for x in s2["ProcessList"]}
    # Unknown property types are ignored.
    reply, props = c.properties("Nonsense")
    assert reply.result == 0 and props == {}
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    host.notification()
    p.close()
    assert c.delete().result == 0


def test_a_huge_process_list_is_cut_to_fit_the_message_limit(host):
    n = 1700
    c = host.container("many", sh(f"i=0; while [ $i -lt {n} ]; do sleep 300 & i=$((i+1)); done; "
                                  "echo spawned; wait"))
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"spawned\n", timeout=120)
    reply, props = c.properties("ProcessList", "Statistics")
    assert reply.result == 0, reply.error
    assert reply.size <= 65536
    assert len(props["ProcessList"]) == 1500  # PROPS_MAX_PIDS
    assert props["LCOWMetrics"]["pids"]["current"] == n + 1
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    host.notification()
    p.close()
    assert c.delete().result == 0


# -- OOM --------------------------------------------------------------------------------------

def test_oom_kill_reports_137_and_says_oom(host):
    c = host.container("oom1", ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=256M",
                                "count=1"],
                       resources={"memory": {"limit": 64 * MiB, "swap": 64 * MiB}})
    c.must_create()
    p = c.start(stdout=True, stderr=True)
    p.read_stderr()
    p.read_stdout()
    assert p.wait_code() == 137
    note = host.notification()
    assert note.json["Result"] == 137 and note.json["Type"] == "UnexpectedExit"
    info = json.loads(note.json["ResultInfo"])
    assert info["Reason"] == "OOMKilled" and info["OOMKillCount"] >= 1
    # The log says which container.
    log = host.env.gcs.log
    log.wait_for(lambda e: e.get("cid") == c.id and e["msg"].startswith("OOM in container"))
    log.wait_for(lambda e: e.get("cid") == c.id and "OOM-killed" in e["msg"])
    _, props = c.properties("Statistics")
    assert props["LCOWMetrics"]["memory_oom_control"]["oom_kill"] >= 1
    assert c.delete().result == 0


def test_no_oom_no_result_info(host):
    c = host.container("nooom", ["/bin/true"], resources={"memory": {"limit": 64 * MiB}})
    c.must_create()
    _, _, note = run_to_end(host, c)
    assert "ResultInfo" not in note.json
    assert c.delete().result == 0


# -- create errors and the state machine --------------------------------------------------------

def test_duplicate_create_is_refused_and_the_first_lives_on(host):
    c = host.container("dup1", ["/bin/echo", "first"])
    c.must_create()
    again = host.container("dup1", spec=c.spec, bundle=c.bundle)
    reply = again.create()
    assert reply.result == HR.SYSTEM_EXISTS, reply.json
    out, _, note = run_to_end(host, c)
    assert out == b"first\n"
    assert note.json["ContainerId"] == c.id
    assert host.no_notification(0.5)  # exactly one
    assert c.delete().result == 0


def test_failed_create_bad_rootfs_errors_and_never_notifies(host):
    c = host.container("bad1", ["/bin/true"])
    c.spec["root"]["path"] = os.path.join(c.bundle, "no-such-rootfs")
    reply = c.create()
    assert reply.result != 0
    assert "no-such-rootfs" in reply.error, reply.error
    assert reply.json["ErrorRecords"][0]["Message"] == reply.error
    assert host.no_notification(1.5)
    assert c.delete().result == HR.SYSTEM_NOT_FOUND
    assert c.id not in host.env.runc_containers()
    # The id is free again.
    c.spec["root"]["path"] = c.rootfs
    c.must_create()
    run_to_end(host, c)
    assert c.delete().result == 0


@pytest.mark.parametrize("schema", [(2, 0), (1, 9), (0, 0)])
def test_schema_version_below_2_1_is_invalid_json(host, schema):
    c = host.container("schema1", ["/bin/true"])
    reply = c.create(schema=schema)
    assert reply.result == HR.INVALID_JSON, reply.json
    assert c.id not in host.env.runc_containers()


def test_bundle_outside_the_allowed_roots_is_refused(host):
    c = host.container("root1", ["/bin/true"])
    c.bundle = "/var/tmp/not-a-bundle-root/root1"
    reply = c.create()
    assert reply.result == HR.INVALID_ARG, reply.json
    assert "allowed" in reply.error


def test_requests_while_creating_are_invalid_state(host):
    c = host.container("busy2", ["/bin/true"])
    create_id = c.send_create()
    # Handled on the loop while runc create runs in a worker.
    replies = [host.bridge.wait_reply(host.bridge.send(t, {"ContainerId": c.id, **body}))
               for t, body in ((Msg.GET_PROPERTIES, {"Query": ""}),
                               (Msg.DELETE_CONTAINER_STATE, {}),
                               (Msg.SHUTDOWN_FORCED, {}))]
    assert [r.result for r in replies] == [HR.INVALID_STATE] * 3, [r.json for r in replies]
    assert host.bridge.wait_reply(create_id, 60).result == 0
    run_to_end(host, c)
    assert c.delete().result == 0


def test_second_start_and_unknown_pids(host):
    c = host.container("twice", sh("echo up; exec sleep 300"))
    c.must_create()
    p = c.start(stdout=True)
    read_until(p.stdout, b"up\n")
    reply, _ = c.execute()
    assert reply.result == HR.INVALID_STATE
    assert host.wait(c.id, 999999).result == HR.NOT_FOUND
    assert host.signal(c.id, 999999, 15).result == HR.NOT_FOUND
    assert host.request(Msg.SIGNAL_PROCESS, c.id, ProcessId=p.pid,
                        Options={"Signal": 99}).result == HR.INVALID_ARG
    reply = host.wait(c.id, p.pid, timeout_ms=50)
    assert reply.result == HR.WAIT_TIMEOUT
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    host.notification()
    p.close()
    assert c.delete().result == 0


def test_unknown_container_is_system_not_found(host):
    for t, body in ((Msg.WAIT_FOR_PROCESS, {"ProcessId": 1, "TimeoutInMs": 0}),
                    (Msg.SIGNAL_PROCESS, {"ProcessId": 1}),
                    (Msg.RESIZE_CONSOLE, {"ProcessId": 1, "Height": 1, "Width": 1}),
                    (Msg.SHUTDOWN_GRACEFUL, {}), (Msg.SHUTDOWN_FORCED, {}),
                    (Msg.DELETE_CONTAINER_STATE, {}), (Msg.GET_PROPERTIES, {"Query": ""}),
                    (Msg.EXECUTE_PROCESS, {"Settings": {"ProcessParameters": "{}"}})):
        reply = host.request(t, "no-such-container", **body)
        assert reply.result == HR.SYSTEM_NOT_FOUND, (hex(t), reply.json)


# -- layouts: CRI pods, the v0.11 parent, the parent's limit ----------------------------------

def test_cri_sandbox_and_workload_share_the_pod(host):
    sb = host.container("sb1", sh("echo ready; exec sleep 300"), hostname="pod1",
                        resources={"memory": {"limit": 256 * MiB}},
                        annotations={"io.kubernetes.cri.container-type": "sandbox",
                                     "io.kubernetes.cri.sandbox-id": "sb1",
                                     "io.microsoft.cri.skip-pod-networking": "true"})
    sb.must_create()
    ps = sb.start(stdout=True)
    read_until(ps.stdout, b"ready\n")
    w = host.container("w1", sh("cat /etc/hostname"), hostname="",
                       annotations={"io.kubernetes.cri.container-type": "container",
                                    "io.kubernetes.cri.sandbox-id": "sb1"})
    del w.spec["hostname"]
    w.spec["linux"]["namespaces"] = [
        {"type": "pid"}, {"type": "mount"},
        {"type": "network", "path": f"/proc/{ps.pid}/ns/net"},
        {"type": "uts", "path": f"/proc/{ps.pid}/ns/uts"}]
    w.must_create()
    pod = os.path.join("/sys/fs/cgroup/memory", host.env.cgroup_prefix.lstrip("/"), "pods", "sb1")
    if os.path.isdir("/sys/fs/cgroup/memory"):
        assert os.path.isdir(os.path.join(pod, "w1")) and os.path.isdir(os.path.join(pod, "sb1"))
        with open(os.path.join(pod, "memory.limit_in_bytes")) as f:
            assert int(f.read()) == 256 * MiB
    out, _, _ = run_to_end(host, w)
    assert out == b"pod1\n"
    assert w.delete().result == 0
    assert sb.shutdown(forced=True).result == 0
    assert ps.wait_code() == 137
    host.notification()
    ps.close()
    assert sb.delete().result == 0
    assert not os.path.exists(pod)


SANDBOX_ANN = {"io.kubernetes.cri.container-type": "sandbox",
               "io.kubernetes.cri.sandbox-id": "sb1",
               "io.microsoft.cri.skip-pod-networking": "true"}


def workload_ann(sbid="sb1"):
    return {"io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.sandbox-id": sbid}


def start_sandbox(host):
    sb = host.container("sb1", sh("echo ready; exec sleep 300"), hostname="pod1",
                        annotations=SANDBOX_ANN)
    sb.must_create()
    ps = sb.start(stdout=True)
    read_until(ps.stdout, b"ready\n")
    return sb, ps


def stop_sandbox(host, sb, ps):
    assert sb.shutdown(forced=True).result == 0
    assert ps.wait_code() == 137
    host.notification()
    ps.close()
    assert sb.delete().result == 0


def workload(host, cid, args, pid, mounts=()):
    w = host.container(cid, args, hostname="", annotations=workload_ann())
    del w.spec["hostname"]
    w.spec["linux"]["namespaces"] = [
        {"type": "pid"}, {"type": "mount"},
        {"type": "network", "path": f"/proc/{pid}/ns/net"},
        {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]
    w.spec["mounts"] = w.spec.get("mounts", []) + list(mounts)
    return w


def test_sandbox_volumes_are_made_and_shared_between_workloads(host):
    # A pod volume (hcsshim passes "sandbox://<sub>" through unchanged,
    # internal/hcsoci/resources_lcow.go): the first workload writes, the
    # second reads. The source did not exist before the first Create.
    sb, ps = start_sandbox(host)
    vol = {"destination": "/vol", "type": "bind", "source": "sandbox://volumes/shared",
           "options": ["rbind", "rw"]}
    tmp = {"destination": "/tmp/t", "type": "bind", "source": "sandbox-tmp://t1",
           "options": ["rbind", "rw"]}
    w1 = workload(host, "w1", sh("echo from-w1 >/vol/f; echo t >/tmp/t/g"), ps.pid, [vol, tmp])
    w1.must_create()
    # runc got binds of the checked sources (issue 18 item 2); they are gone
    # from the gcs's namespace once runc has mounted, and the volume stays.
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        assert os.path.join(w1.bundle, "sources") not in f.read()
    out, _, _ = run_to_end(host, w1)
    made = os.path.join(sb.bundle, "sandboxMounts", "volumes", "shared")
    assert os.stat(made).st_mode & 0o777 == 0o777
    w2 = workload(host, "w2", sh("cat /vol/f /tmp/t/g"), ps.pid, [vol, tmp])
    w2.must_create()
    out, _, _ = run_to_end(host, w2)
    assert out == b"from-w1\nt\n"
    assert w1.delete().result == 0 and w2.delete().result == 0
    assert os.path.exists(os.path.join(made, "f"))  # deleting a workload kept the volume
    stop_sandbox(host, sb, ps)


def mounts_below(path):
    with open("/proc/self/mountinfo", errors="surrogateescape") as f:
        return [line.split()[4] for line in f
                if line.split()[4] == path or line.split()[4].startswith(path + "/")]


def privileged(w):
    """What containerd sends for a privileged CRI container, as far as the
    guest is concerned: every capability, no seccomp, the annotation."""
    caps = ["CAP_SYS_ADMIN", "CAP_MKNOD", "CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SETGID",
            "CAP_CHOWN", "CAP_FOWNER", "CAP_KILL"]
    w.spec["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    w.spec["process"]["noNewPrivileges"] = False
    w.spec["annotations"]["io.microsoft.virtualmachine.lcow.privileged"] = "true"
    w.spec["linux"].pop("maskedPaths", None)
    w.spec["linux"].pop("readonlyPaths", None)
    w.spec["mounts"] = [m for m in w.spec["mounts"] if m["destination"] != "/sys"]
    return w


def test_bidirectional_volume_mount_reaches_the_other_workload(host):
    # Kubernetes mountPropagation: Bidirectional (containerd: the mount gets
    # "rshared" and the rootfs rshared propagation) needs the pod volume on
    # a shared mount (the reference: sandboxMounts made rshared). A mount
    # one workload makes inside it appears in the UVM and in a second
    # workload (HostToContainer: rslave); the sandbox's Delete unmounts it.
    sb, ps = start_sandbox(host)
    volumes = os.path.join(sb.bundle, "sandboxMounts")
    assert volumes in mounts_below(volumes)
    w1 = privileged(workload(
        host, "w1", sh("mkdir -p /shared/m && mount -t tmpfs none /shared/m && "
                       "echo across > /shared/m/f"), ps.pid,
        [{"destination": "/shared", "type": "bind", "source": "sandbox://bidir",
          "options": ["rbind", "rshared"]}]))
    w1.spec["linux"]["rootfsPropagation"] = "rshared"
    w1.must_create()
    run_to_end(host, w1)
    inner = os.path.join(volumes, "bidir", "m")
    assert inner in mounts_below(volumes), mounts_below(volumes)
    w2 = workload(host, "w2", sh("cat /shared/m/f"), ps.pid,
                  [{"destination": "/shared", "type": "bind", "source": "sandbox://bidir",
                    "options": ["rbind", "rslave"]}])
    w2.must_create()
    assert inner in mounts_below(volumes)  # releasing w2's source unmounted nothing
    out, _, _ = run_to_end(host, w2)
    assert out == b"across\n"
    assert w1.delete().result == 0 and w2.delete().result == 0
    stop_sandbox(host, sb, ps)
    assert mounts_below(sb.bundle) == []
    assert not os.path.exists(sb.bundle)


def test_privileged_workload_sees_uvm_devices_and_listed_devices_are_resolved(host):
    sb, ps = start_sandbox(host)
    # /dev is the container's own tmpfs: a device node there exists only
    # because the gcs listed it (the host's /dev/loop-control, say).
    node = next((d for d in ("/dev/loop-control", "/dev/fuse", "/dev/net/tun")
                 if os.path.exists(d)), None)
    if node is None:
        stop_sandbox(host, sb, ps)
        pytest.skip("no /dev/loop-control, /dev/fuse or /dev/net/tun on this machine")
    st = os.stat(node)
    w1 = privileged(workload(host, "w1", sh(f"ls -ln {node}"), ps.pid))
    w1.must_create()
    out, _, _ = run_to_end(host, w1)
    assert f"{os.major(st.st_rdev)}, {os.minor(st.st_rdev)}".encode() in out, out
    # Not privileged: the listed node, with the UVM's numbers (the host's
    # are wrong on purpose), readable through its device rule.
    w2 = workload(host, "w2", sh("ls -ln /dev/null && head -c 3 /dev/zero | wc -c"), ps.pid)
    w2.spec["linux"]["devices"] = [{"path": "/dev/null", "type": "b", "major": 9, "minor": 9}]
    w2.must_create()
    out, _, _ = run_to_end(host, w2)
    assert b"1,   3" in out or b"1, 3" in out, out
    # A path the UVM has no device at: a clear error, nothing created.
    w3 = workload(host, "w3", ["/bin/true"], ps.pid)
    w3.spec["linux"]["devices"] = [{"path": "/dev/lcow-nonesuch", "type": "c", "major": 1,
                                    "minor": 1}]
    reply = w3.create()
    assert reply.result != 0
    assert "/dev/lcow-nonesuch: no such device in the UVM" in reply.error, reply.error
    assert "w3" not in host.env.runc_containers()
    assert w1.delete().result == 0 and w2.delete().result == 0
    stop_sandbox(host, sb, ps)


def test_hugepages_volume_is_a_hugetlbfs_mount(host):
    sb, ps = start_sandbox(host)
    w = workload(host, "w1", sh("grep ' /hp ' /proc/mounts"), ps.pid,
                 [{"destination": "/hp", "type": "bind", "source": "hugepages://2M/hp1",
                   "options": ["rbind", "rw"]}])
    reply = w.create()
    if reply.result != 0 and "hugetlbfs" in reply.error:
        stop_sandbox(host, sb, ps)
        pytest.skip(f"no 2M hugetlbfs here: {reply.error}")
    assert reply.result == 0, reply.error
    out, _, _ = run_to_end(host, w)
    assert b"hugetlbfs" in out and b"pagesize=2M" in out, out
    assert w.delete().result == 0
    stop_sandbox(host, sb, ps)
    assert mounts_below(sb.bundle) == []


def test_a_symlink_planted_in_a_sandbox_volume_is_not_followed(host):
    sb, ps = start_sandbox(host)
    outside = os.path.join(host.env.dir, "outside")
    os.makedirs(outside)
    os.symlink(outside, os.path.join(sb.bundle, "sandboxMounts", "evil"))
    w = workload(host, "w1", ["/bin/true"], ps.pid,
                 [{"destination": "/x", "type": "bind", "source": "sandbox://evil/sub",
                   "options": ["rbind"]}])
    reply = w.create()
    assert reply.result != 0
    assert "sandbox://evil/sub" in reply.error and "not followed" in reply.error, reply.error
    assert os.listdir(outside) == []
    assert "w1" not in host.env.runc_containers()
    stop_sandbox(host, sb, ps)


BAD_MOUNT = {"destination": "/d", "type": "bind", "source": "/no/such/lcow/source",
             "options": ["rbind"]}


@pytest.mark.parametrize("kind", ["standalone", "sandbox", "workload"])
def test_a_failed_create_can_be_retried_with_its_id(host, kind):
    # runc create fails; the id must be free again (the reference forgets it
    # on any Create error, hcsv2/uvm.go CreateContainer), in the gcs and in
    # runc, and a corrected retry with the same id must work.
    sb = ps = None
    if kind == "workload":
        sb, ps = start_sandbox(host)
        c = workload(host, "c1", ["/bin/true"], ps.pid, [BAD_MOUNT])
    else:
        ann = dict(SANDBOX_ANN, **{"io.kubernetes.cri.sandbox-id": "c1"}) \
            if kind == "sandbox" else {}
        c = host.container("c1", ["/bin/true"], annotations=ann)
        c.spec["mounts"].append(BAD_MOUNT)
    for _ in range(2):
        reply = c.create()
        assert reply.result == HR.E_FAIL, reply.json
        assert "/no/such/lcow/source" in reply.error
        assert "c1" not in host.env.runc_containers()
        assert c.delete().result == HR.SYSTEM_NOT_FOUND
    if kind == "sandbox":
        assert not [d for d in cgroup_dirs(host.env.cgroup_prefix) if "c1" in d]
    c.spec["mounts"].remove(BAD_MOUNT)
    c.must_create()
    run_to_end(host, c)
    assert c.delete().result == 0
    if sb:
        stop_sandbox(host, sb, ps)


def test_workload_without_its_sandbox_is_refused(host):
    w = host.container("orphan", ["/bin/true"],
                       annotations={"io.kubernetes.cri.container-type": "container",
                                    "io.kubernetes.cri.sandbox-id": "nosuchsandbox"})
    reply = w.create()
    assert reply.result == HR.SYSTEM_NOT_FOUND, reply.json


def memory_limit(prefix, parent):
    path = os.path.join("/sys/fs/cgroup/memory", prefix.lstrip("/"), parent,
                        "memory.limit_in_bytes")
    with open(path) as f:
        return int(f.read())


def set_memory_limit(prefix, parent, value):
    path = os.path.join("/sys/fs/cgroup/memory", prefix.lstrip("/"), parent,
                        "memory.limit_in_bytes")
    with open(path, "w") as f:
        f.write(str(value))


def expected_parent_limit(reserve):
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    return total_kib * 1024 - reserve


def close_to(limit, want):
    return abs(limit - want) < 2 * MiB  # the kernel rounds to pages


def test_containers_parent_hint(host):
    c = host.container("v011", ["/bin/true"], cgroups_path="/containers/v011")
    c.must_create()
    if os.path.isdir("/sys/fs/cgroup/memory"):
        prefix = host.env.cgroup_prefix
        base = os.path.join("/sys/fs/cgroup/memory", prefix.lstrip("/"))
        assert os.path.isdir(os.path.join(base, "containers", "v011"))
        assert not os.path.exists(os.path.join(base, "pods", "v011"))
        for parent in ("pods", "containers"):
            assert close_to(memory_limit(prefix, parent), expected_parent_limit(75 * MiB))
        # The gcs moved itself into <prefix>/gcs.
        with open(os.path.join(base, "gcs", "cgroup.procs")) as f:
            assert host.env.gcs.proc.pid in [int(x) for x in f.read().split()]
    run_to_end(host, c)
    assert c.delete().result == 0


def test_parent_limit_follows_the_reserve_and_is_refreshed(env):
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        pytest.skip("reads the v1 memory hierarchy")
    env.env["LCOW_CGROUP_REFRESH_MS"] = "300"
    host = env.start(args=["-root-mem-reserve-bytes", str(100 * MiB)])
    prefix = env.cgroup_prefix
    want = expected_parent_limit(100 * MiB)
    assert close_to(memory_limit(prefix, "pods"), want)
    # As if memory had been hot-added: the periodic refresh rewrites it.
    set_memory_limit(prefix, "pods", 512 * MiB)
    deadline = time.monotonic() + 10
    while not close_to(memory_limit(prefix, "pods"), want) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert close_to(memory_limit(prefix, "pods"), want)
    # And PodCgroupMemoryLimit does at once (Update only).
    env.gcs.stop()  # no refresh timer racing with the request below
    env.env["LCOW_CGROUP_REFRESH_MS"] = "600000"
    host = env.start()
    set_memory_limit(prefix, "pods", 512 * MiB)
    reply = host.uvm.request(Msg.MODIFY_SETTINGS, Request={
        "RequestType": "Add", "ResourceType": "PodCgroupMemoryLimit"})
    assert reply.result == HR.E_FAIL and "Update" in reply.error
    assert memory_limit(prefix, "pods") == 512 * MiB
    reply = host.uvm.request(Msg.MODIFY_SETTINGS, Request={
        "RequestType": "Update", "ResourceType": "PodCgroupMemoryLimit"})
    assert reply.result == 0, reply.json
    assert close_to(memory_limit(prefix, "pods"), expected_parent_limit(75 * MiB))


# -- leaks ---------------------------------------------------------------------------------------

def test_50_containers_leave_no_mounts_cgroups_fds_or_processes(host, env):
    def one(i):
        c = host.container(f"loop{i}", ["/bin/echo", str(i)])
        c.must_create()
        out, _, note = run_to_end(host, c)
        assert out == f"{i}\n".encode() and note.json["ContainerId"] == c.id
        assert c.delete().result == 0

    one("warm")  # runc creates the parent in every hierarchy once
    gcs_pid = env.gcs.proc.pid
    base = dict(mounts=mount_count(), cgroups=sorted(cgroup_dirs(env.cgroup_prefix)),
                fds=sorted(proc_fds(gcs_pid)), kids=proc_children(gcs_pid),
                runc=env.runc_containers(), bundles=sorted(os.listdir(os.path.join(env.dir, "c"))))
    for i in range(50):
        one(i)
    deadline = time.monotonic() + 10
    while True:
        now = dict(mounts=mount_count(), cgroups=sorted(cgroup_dirs(env.cgroup_prefix)),
                   fds=sorted(proc_fds(gcs_pid)), kids=proc_children(gcs_pid),
                   runc=env.runc_containers(),
                   bundles=sorted(os.listdir(os.path.join(env.dir, "c"))))
        if now == base or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert now == base
    assert base["kids"] == [] and base["runc"] == [] and base["bundles"] == []
    reply = host.uvm.request(Msg.DUMP_STACKS)
    assert "containers: 0" in reply.json["GuestStacks"]


@pytest.mark.parametrize("plant,says", [
    ("fifo", "is not a regular file"),
    ("sparse", "is larger than 16 MiB"),
])
def test_a_planted_passwd_fails_create_and_the_gcs_keeps_serving(host, plant, says):
    # What a container can leave at its /etc/passwd (issue 18): a FIFO used
    # to block a worker in open() for good, a sparse file to be read to the
    # end of memory. Ten at once would have taken every worker.
    cs = [host.container(f"plant{plant}{i}", ["/bin/id"], user="alice") for i in range(10)]
    for c in cs:
        passwd = os.path.join(c.rootfs, "etc", "passwd")
        os.unlink(passwd)
        if plant == "fifo":
            os.mkfifo(passwd)
        else:
            with open(passwd, "wb") as f:
                f.truncate(64 << 30)
    ids = [c.send_create() for c in cs]
    for c, rid in zip(cs, ids):
        reply = host.bridge.wait_reply(rid, 20)
        assert reply.result == HR.INVALID_ARG, reply.json
        assert says in reply.error and "passwd" in reply.error, reply.error
    ok = host.container(f"after{plant}", ["/bin/true"])
    ok.must_create()
    run_to_end(host, ok)
    assert ok.delete().result == 0


@pytest.mark.parametrize("cid", ["-rf", "--help", ".hidden"])
def test_an_id_runc_or_a_path_could_misread_is_refused(host, cid):
    # issue 18: "Create -rf" used to run `runc create ... -rf`.
    c = host.container(cid, ["/bin/true"])
    reply = c.create()
    assert reply.result == HR.INVALID_ARG, reply.json
    assert f'invalid container id "{cid}"' in reply.error, reply.error
    assert host.no_notification(0.2)
    ok = host.container("afterbadid", ["/bin/true"])
    ok.must_create()
    run_to_end(host, ok)
    assert ok.delete().result == 0


def test_a_second_spelling_of_a_key_the_gcs_checks_is_refused(host):
    # issue 18: runc's Go decoder matches keys case-insensitively, last one
    # winning; a "Mounts" the gcs never read would have bind-mounted the
    # UVM's /etc into the container.
    c = host.container("casevar", ["/bin/true"])
    c.spec["Mounts"] = [{"destination": "/uvm-etc", "source": "/etc", "type": "bind",
                         "options": ["rbind", "rw"]}]
    reply = c.create()
    assert reply.result == HR.INVALID_ARG, reply.json
    assert 'key "Mounts"' in reply.error and '"mounts"' in reply.error, reply.error
    assert host.no_notification(0.2)
    ok = host.container("aftercasevar", ["/bin/true"])
    ok.must_create()
    run_to_end(host, ok)
    assert ok.delete().result == 0
