"""The libFuzzer target (make fuzz) builds and replays the seed corpus
(tests/fuzz/corpus/bridge) without a crash, leak or sanitizer report."""
import os
import subprocess

import pytest

from conftest import OUT, TOP

FUZZER = os.path.join(os.path.dirname(OUT), "fuzz", "fuzz_bridge")
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus", "bridge")


def test_seed_corpus_replays_cleanly():
    if not os.access(FUZZER, os.X_OK):
        pytest.skip(f"{FUZZER} not built (make fuzz-build)")
    seeds = os.listdir(CORPUS)
    assert seeds, "the seed corpus is empty"
    proc = subprocess.run([FUZZER, "-runs=0", CORPUS], capture_output=True, text=True,
                          timeout=300, cwd=os.path.dirname(FUZZER))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ERROR: AddressSanitizer" not in proc.stderr
    assert "runtime error:" not in proc.stderr
    assert f"#{len(seeds) + 1}\tDONE" in proc.stderr, proc.stderr[-2000:]
