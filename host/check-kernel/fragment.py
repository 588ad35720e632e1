"""kernel-config/lcow.config read as the list of what LCOW needs from a
kernel: capabilities (`# @cap ID NEED: TITLE`), the options each one sets,
and for options a kernel may build as modules, the module's name
(`# @module NAME [device]` on the line before). The same file is the
fragment our kernel is built from, so the requirements a vendor is checked
against and the kernel we ship cannot drift apart. Standard library only.
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FRAGMENT = os.path.join(TOP, "kernel-config", "lcow.config")

# Who needs a capability (see the fragment's header).
NEEDS = ("required", "hyperv", "qemu", "optional", "build")
# A failure of these makes check-kernel exit non-zero: LCOW needs them.
# (qemu: virtio is what QEMU offers; a kernel without it cannot be probed,
# which the boot row then shows.)
FAILS_CHECK = ("required", "hyperv")

CAP_RE = re.compile(r"^# @cap (\w+) (\w+): (.+)$")
MODULE_RE = re.compile(r"^# @module ([\w-]+)( device)?$")
SET_RE = re.compile(r"^(CONFIG_\w+)=(.*)$")
UNSET_RE = re.compile(r"^# (CONFIG_\w+) is not set$")


class Option:
    def __init__(self, name, value, module=None, device=False, why=""):
        self.name = name
        self.value = value          # "y", "m", a number or string; None: must be unset
        self.module = module        # module name when built as =m
        self.device = device        # /init loads it when its device is present
        self.why = why              # the comment lines just above it

    def line(self):
        return f"# {self.name} is not set" if self.value is None else f"{self.name}={self.value}"


class Capability:
    def __init__(self, cid, need, title):
        self.id = cid
        self.need = need
        self.title = title
        self.options = []


class FragmentError(Exception):
    pass


def parse(path=FRAGMENT):
    """[Capability] in the fragment's order. Every option must belong to a
    capability, every @module must annotate an option, names are unique."""
    caps, seen = [], set()
    cap, module, why = None, None, []
    with open(path) as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        where = f"{path}:{n}"
        m = CAP_RE.match(line)
        if m:
            if m.group(2) not in NEEDS:
                raise FragmentError(f"{where}: need {m.group(2)!r} is not one of {NEEDS}")
            if any(c.id == m.group(1) for c in caps):
                raise FragmentError(f"{where}: capability {m.group(1)} twice")
            cap = Capability(m.group(1), m.group(2), m.group(3))
            caps.append(cap)
            module, why = None, []
            continue
        m = MODULE_RE.match(line)
        if m:
            module = (m.group(1), bool(m.group(2)))
            continue
        if line.startswith("# @"):
            raise FragmentError(f"{where}: unknown annotation {line!r}")
        m = SET_RE.match(line) or UNSET_RE.match(line)
        if m:
            name = m.group(1)
            value = m.group(2) if SET_RE.match(line) else None
            if cap is None:
                raise FragmentError(f"{where}: {name} comes before any @cap")
            if name in seen:
                raise FragmentError(f"{where}: {name} twice")
            seen.add(name)
            cap.options.append(Option(name, value, module[0] if module else None,
                                      module[1] if module else False, " ".join(why)))
            module, why = None, []
            continue
        if module is not None:
            raise FragmentError(f"{where}: @module must be right above its option")
        if line.startswith("# ") and cap is not None:
            why.append(line[2:].strip())
        elif not line.strip():
            why = []
    return caps


def table_markdown(caps=None):
    """The README's table of what LCOW needs from a kernel, one row per
    capability (build-only rows left out)."""
    caps = caps if caps is not None else parse()
    rows = ["| capability | needed by | options (module when built as =m) |",
            "|---|---|---|"]
    for c in caps:
        if c.need == "build":
            continue
        opts = ", ".join(f"`{o.name[7:]}`" + (f" ({o.module})" if o.module else "")
                         for o in c.options)
        rows.append(f"| **{c.id}**: {c.title} | {c.need} | {opts} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table_markdown(), end="")
