"""The layering rule of the gcs (CONTRIBUTING.md, "Layers") is checked by
`make lint` through mk/lint_layers.py: the tree passes, and each kind of
violation planted in a copy of gcs/ is caught and named."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import TOP

LINT = os.path.join(TOP, "mk", "lint_layers.py")


def lint(top):
    return subprocess.run([sys.executable, LINT, top], capture_output=True, text=True)


def test_the_tree_is_layered():
    r = lint(TOP)
    assert r.returncode == 0, r.stdout


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(os.path.join(TOP, "gcs"), tmp_path / "gcs",
                    ignore=shutil.ignore_patterns("*.o", "*.d"))
    return tmp_path


def plant(tree, rel, text):
    path = tree / "gcs" / rel
    with open(path, "a") as f:
        f.write(text)


@pytest.mark.parametrize("rel,text,says", [
    ("storage/run.c", "\nstruct request *leak;\n", "mentions struct request"),
    ("process/uvm.c", '\n#include "handlers/pending.h"\n', "process/ may include only core"),
    ("containers/table.c", '\n#include "bridge/reply.h"\n', "includes bridge/reply.h"),
    ("storage/scsi.c", '\n#include "network/network.h"\n', "storage/ may include only core"),
    ("containers/exit.c", '\n#include "process/uvm_internal.h"\n', "a private header of process/"),
    ("options.c", '\n#include "bridge/request.h"\n', "a header of the wire layers"),
])
def test_a_violation_is_caught(tree, rel, text, says):
    before = set(lint(str(tree)).stdout.splitlines())
    plant(tree, rel, text)
    r = lint(str(tree))
    assert r.returncode == 1
    new = [line for line in r.stdout.splitlines() if line not in before]
    assert any(line.startswith(f"gcs/{rel}:") and says in line for line in new), r.stdout


def test_a_file_outside_the_folders_is_caught(tree):
    (tree / "gcs" / "stray.c").write_text("int stray;\n")
    (tree / "gcs" / "extra").mkdir()
    (tree / "gcs" / "extra" / "x.c").write_text("int x;\n")
    r = lint(str(tree))
    assert r.returncode == 1
    assert "gcs/stray.c: a new top-level file" in r.stdout
    assert "gcs/extra/x.c: not in a folder of the GCS_USES table" in r.stdout
