"""Run the guest image under QEMU for tests and benchmarks.

Always TCG (`-accel tcg`: this machine's /dev/kvm cannot run guests), a serial
console on the process's stdio, no default devices, `-no-reboot` so a guest
reboot or panic ends QEMU. Every run is bounded by a timeout; on timeout or
error the whole QEMU process group is killed and reaped, so no test leaves a
process behind.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


class Run:
    """A finished (or killed) QEMU run: its console text, exit code, timing."""

    def __init__(self, output, returncode, timed_out, elapsed, marks):
        self.output = output
        self.returncode = returncode
        self.timed_out = timed_out
        self.elapsed = elapsed
        self.marks = marks  # {pattern: seconds after launch when first seen}

    def lines(self):
        return [l.rstrip("\r") for l in self.output.split("\n")]


def base_args(memory=512, cpus=2):
    return [QEMU, "-accel", "tcg", "-m", str(memory), "-smp", str(cpus),
            "-nodefaults", "-display", "none", "-serial", "stdio",
            "-no-reboot", "-nic", "none"]


def direct_args(kernel, initrd=None, append="", **kw):
    args = base_args(**kw) + ["-kernel", kernel]
    if initrd:
        args += ["-initrd", initrd]
    return args + ["-append", append]


class Firmware:
    """OVMF with a private writable copy of the variable store."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lcow-ovmf-")
        self.vars = os.path.join(self.dir, "vars.fd")
        shutil.copyfile(OVMF_VARS, self.vars)

    def args(self):
        return ["-machine", "q35",
                "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}"]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run(args, timeout, marks=(), send=None):
    """Run QEMU until it exits or `timeout` seconds pass.

    marks: regular expressions whose first appearance in the console output is
    timed (seconds since launch). send: optional (regex, text) pairs; when a
    regex first matches the output, text is written to the serial console.
    """
    start = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    out = bytearray()
    seen = {}
    pending = list(send or [])
    timed_out = False
    try:
        fd = proc.stdout.fileno()
        while True:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                out += chunk
                now = time.monotonic() - start
                text = out.decode("utf-8", "replace")
                for pat in marks:
                    if pat not in seen and re.search(pat, text):
                        seen[pat] = now
                while pending and re.search(pending[0][0], text):
                    proc.stdin.write(pending.pop(0)[1].encode())
                    proc.stdin.flush()
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # Drain what QEMU wrote before it went away.
        rest = proc.stdout.read() or b""
        out += rest
        proc.stdout.close()
        try:
            proc.stdin.close()
        except BrokenPipeError:  # QEMU went away with typed input unread
            pass
    elapsed = time.monotonic() - start
    return Run(out.decode("utf-8", "replace"), proc.returncode, timed_out, elapsed, seen)
