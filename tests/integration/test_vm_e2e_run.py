"""`make run`'s script (host/run/run.py) end to end: it boots the image,
prints the boot events and the gcs log readably, runs `uname -a` in the UVM,
runs the user's command in a busybox container (or says that containers are
not available yet, when the gcs answers Create with E_NOTIMPL), shuts the VM
down so that QEMU exits by itself."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BACKEND, IMAGE, TOP

RUN = os.path.join(TOP, "host", "run", "run.py")


def test_make_run_script():
    need = [p for p in (os.path.join(IMAGE, "vmlinux"), os.path.join(IMAGE, "initrd.img"),
                        BACKEND, "/bin/busybox") if not os.path.exists(p)]
    if need or not shutil.which("qemu-system-x86_64"):
        pytest.skip("no " + ", ".join(need or ["qemu-system-x86_64"]))
    env = dict(os.environ, LCOW_RUN_CMD="echo lcow-$((6*7)) in $(hostname)")
    r = subprocess.run(["/usr/bin/python3", RUN, "--out", IMAGE, "--backend", BACKEND],
                       capture_output=True, text=True, timeout=300, env=env)
    out = r.stdout
    assert r.returncode == 0, out[-4000:] + r.stderr[-2000:]
    # Boot events, in hcsshim's order, each printed as it happens.
    events = [out.index(s) for s in ("entropy: 512 bytes served", "log: vsockexec connected",
                                     "bridge: the gcs dialled", "bridge: negotiated protocol 4")]
    assert events == sorted(events), out
    # The gcs log, readable: "gcs | HH:MM:SS.mmm level msg fields".
    assert re.search(r"gcs \| \d\d:\d\d:\d\d\.\d{3} info +GCS started +pid=\d+", out), out
    assert "(not JSON)" not in out
    # uname -a ran in the guest: its kernel, not the build machine's.
    m = re.search(r"\|\s+Linux \S+ (\S+) ", out)
    assert m and m.group(1) != os.uname().release, out
    assert "uname exited with 0" in out
    # The container ran the user's command, or the gcs said it cannot yet.
    if "containers are not available yet" in out:
        assert "Create with E_NOTIMPL" in out
    else:
        assert re.search(r"\| lcow-42 in lcow$", out, re.M), out
        assert "container init exited with 0" in out
    assert "QEMU exited by itself with status 0" in out
