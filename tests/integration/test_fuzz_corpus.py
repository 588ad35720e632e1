"""Every libFuzzer target (mk/fuzz.mk, tests/fuzz/fuzz_<target>.c) builds and
replays its seed corpus (tests/fuzz/corpus/<target>/) without a crash, leak
or sanitizer report, and without leaving files behind."""
import glob
import os
import subprocess

import pytest

from conftest import OUT, TOP

FUZZ_DIR = os.path.join(os.path.dirname(OUT), "fuzz")
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")
TARGETS = sorted(os.path.basename(p)[len("fuzz_"):-2]
                 for p in glob.glob(os.path.join(TOP, "tests", "fuzz", "fuzz_*.c")))


def test_every_target_has_seeds():
    assert TARGETS, "no fuzz targets found"
    for t in TARGETS:
        assert os.listdir(os.path.join(CORPUS, t)), f"the seed corpus of {t} is empty"


@pytest.mark.parametrize("target", TARGETS)
def test_seed_corpus_replays_cleanly(target, tmp_path):
    fuzzer = os.path.join(FUZZ_DIR, "fuzz_" + target)
    if not os.access(fuzzer, os.X_OK):
        pytest.skip(f"{fuzzer} not built (make fuzz-build)")
    corpus = os.path.join(CORPUS, target)
    seeds = os.listdir(corpus)
    before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    proc = subprocess.run([fuzzer, "-runs=0", f"-artifact_prefix={tmp_path}/", corpus],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ERROR: AddressSanitizer" not in proc.stderr
    assert "ERROR: LeakSanitizer" not in proc.stderr
    assert "runtime error:" not in proc.stderr
    # libFuzzer counts the empty input it runs first.
    assert f"#{len(seeds) + 1}\tDONE" in proc.stderr, proc.stderr[-2000:]
    assert not os.listdir(tmp_path), "the replay wrote artifacts"
    if os.path.isdir("/dev/shm"):
        left = {n for n in set(os.listdir("/dev/shm")) - before if n.startswith(f"lcow-fuzz-{target}-")}
        assert not left, f"{target} left {left} behind"
