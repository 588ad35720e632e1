#!/usr/bin/env python3
"""Checks the gcs's layering (CONTRIBUTING.md, "Layers"):

- every #include of a gcs folder's header is allowed by gcs/gcs.mk's
  GCS_USES_<folder> table (a folder may always include its own headers);
- a private header (*internal.h) is included only from its own folder;
- no file outside gcs/bridge and gcs/handlers mentions `struct request`,
  the wire's request, or includes a header of those two folders;
- every gcs source file lives in a folder of the table (or is one of the
  top-level files that assemble the layers).

Usage: lint_layers.py [TOP]   (TOP: the source tree, default: this checkout)
Prints one line per violation and exits 1 when there is any."""
import os
import re
import sys

TOP = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GCS = os.path.join(TOP, "gcs")
WIRE = {"bridge", "handlers"}
# They build the program from the layers: main.c starts the bridge,
# testhooks.c is a test-only notification source; options/flags are the
# command line.
TOP_FILES = {"main.c", "testhooks.c", "options.c", "options.h", "flags.c", "flags.h", "gcs.h"}
TOP_ASSEMBLERS = {"main.c", "testhooks.c"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
REQUEST = re.compile(r"\bstruct\s+request\b")


def uses_table():
    text = open(os.path.join(GCS, "gcs.mk")).read()
    table = {}
    for m in re.finditer(r"^GCS_USES_(\w+)\s*:=[ \t]*(.*)$", text, re.M):
        table[m.group(1)] = set(m.group(2).split())
    return table


def sources():
    for dirpath, _, names in os.walk(GCS):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(dirpath, n), GCS)


def check(table):
    problems = []
    folders = set(table)
    for rel in sources():
        parts = rel.split(os.sep)
        folder = parts[0] if len(parts) > 1 else None
        where = "gcs/" + rel.replace(os.sep, "/")
        if folder is None and rel not in TOP_FILES:
            problems.append(f"{where}: a new top-level file; put it in the folder of its layer")
            continue
        if folder is not None and (len(parts) != 2 or folder not in folders):
            problems.append(f"{where}: not in a folder of the GCS_USES table (gcs/gcs.mk)")
            continue
        text = open(os.path.join(GCS, rel), errors="replace").read()
        if folder not in WIRE and rel not in TOP_ASSEMBLERS and REQUEST.search(text):
            problems.append(f"{where}: mentions struct request outside gcs/bridge and gcs/handlers")
        for inc in INCLUDE.findall(text):
            if "/" not in inc:
                continue
            target, header = inc.split("/", 1)
            if target not in folders or rel in TOP_ASSEMBLERS or target == folder:
                continue
            if folder is None:
                if target in WIRE:
                    problems.append(f"{where}: includes {inc}, a header of the wire layers")
                continue
            if target not in table[folder]:
                problems.append(f"{where}: includes {inc}, but {folder}/ may include only "
                                f"{', '.join(sorted(table[folder])) or 'its own headers'} "
                                f"(GCS_USES_{folder} in gcs/gcs.mk)")
            elif header.endswith("internal.h"):
                problems.append(f"{where}: includes {inc}, a private header of {target}/")
    return problems


def main():
    table = uses_table()
    if not table:
        print("lint_layers: no GCS_USES_<folder> table in gcs/gcs.mk")
        return 1
    problems = check(table)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
