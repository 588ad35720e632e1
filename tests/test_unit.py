"""Runs every case of every C unit-test binary (tests/unit/test_*.c) as one
pytest test; a case exiting 77 is a skip with the reason it printed."""
import glob
import os
import subprocess

import pytest

from conftest import OUT

SKIP_EXIT = 77


def _cases():
    for binary in sorted(glob.glob(os.path.join(OUT, "tests", "test_*"))):
        if not os.access(binary, os.X_OK):
            continue
        names = subprocess.run([binary, "--list"], capture_output=True, text=True,
                               check=True).stdout.split()
        for name in names:
            yield pytest.param(binary, name, id=f"{os.path.basename(binary)}::{name}")


@pytest.mark.parametrize("binary,case", list(_cases()))
def test_c_unit(binary, case):
    proc = subprocess.run([binary, case], capture_output=True, text=True, timeout=120)
    if proc.returncode == SKIP_EXIT:
        pytest.skip(proc.stdout.strip().removeprefix("SKIP: ") or "skipped")
    assert proc.returncode == 0, f"{case} failed:\n{proc.stdout}{proc.stderr}"
