"""Shared pytest setup for lcow-guest.

Every test reaches build products through LCOW_OUT (set by `make check`), and
no test may ever touch the build machine's own vsock: LCOW_FORBID_VSOCK makes
our binaries refuse AF_VSOCK outright.
"""
import contextlib
import os
import shutil
import sys
import tempfile

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("LCOW_OUT", os.path.join(TOP, "build", "musl"))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
os.environ["LCOW_FORBID_VSOCK"] = "1"

# What the VM tests boot: the image `make image` wrote, and the backend.
IMAGE = os.environ.get("LCOW_IMAGE_OUT", os.path.join(TOP, "out"))
KERNEL = os.environ.get("LCOW_KERNEL_VM", os.path.join(IMAGE, "vmlinux"))
INITRD = os.path.join(IMAGE, "initrd.img")
BACKEND = os.path.join(OUT, "vsock-backend")


def out_path(*parts):
    return os.path.join(OUT, *parts)


@pytest.fixture
def out():
    return OUT


@contextlib.contextmanager
def module_vm(make, prefix, missing=()):
    """The VM of a test module: skipped when something it needs is missing
    (lcow_vm.missing_prereqs), else make(workdir) in a fresh directory,
    started; its VM is closed and the directory removed afterwards."""
    if missing:
        pytest.skip("no " + ", ".join(missing))
    work = tempfile.mkdtemp(prefix=prefix)
    u = None
    try:
        u = make(work)
        u.start()
        yield u
    finally:
        if u is not None:
            u.vm.close()
        shutil.rmtree(work, ignore_errors=True)


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")


def pytest_unconfigure(config):
    # The closing line CI reads: "N passed, N failed[, N skipped]".
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    stats = reporter.stats
    count = lambda key: len([r for r in stats.get(key, []) if getattr(r, "when", "call") != "teardown" or key == "error"])
    passed = count("passed")
    failed = count("failed") + len(stats.get("error", []))
    skipped = count("skipped")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    reporter.write_line(line)
