"""A vendor kernel's modules, trimmed to what LCOW needs, as an initrd
fragment: `make check-kernel` and `make run KERNEL=… MODULES=…` append it
to our release initrd.img, so the kernel boots exactly our image plus its
own modules. Standard library only.

- which modules: every option of the fragment (fragment.py) the kernel's
  configuration sets to =m, by the module name the fragment gives, plus
  what those depend on (modules.dep);
- modules.lcow: the ones /init must load at boot whatever the devices
  (options without `device` in their @module annotation);
- the tree: lib/modules/<release>/ with those .ko files, modules.builtin*
  (so `modprobe` of a built-in name succeeds) and depmod's indexes for
  exactly this set, written as a gzip'd newc cpio.
"""
import gzip
import os
import shutil
import subprocess
import tempfile

import fragment


def norm(name):
    return name.replace("-", "_")


def module_name(path):
    base = os.path.basename(path)
    return base.split(".ko")[0]


class ModuleTree:
    """lib/modules/<release> of a vendor kernel: its modules.dep, made with
    depmod in a scratch copy of links when the tree has none (a package
    unpacked with dpkg -x ships without it)."""

    def __init__(self, moddir, release):
        self.release = release
        self.root = os.path.join(moddir, "lib", "modules", release)
        if not os.path.isdir(self.root):
            lib = os.path.join(moddir, "lib", "modules")
            have = os.listdir(lib) if os.path.isdir(lib) else []
            raise FileNotFoundError(f"{self.root} missing: MODULES= must hold "
                                    f"lib/modules/{release}/ (found: {', '.join(have) or 'nothing'})")
        self.scratch = None
        dep = os.path.join(self.root, "modules.dep")
        if not os.path.exists(dep):
            dep = self._depmod_links()
        self.deps = {}   # norm name -> (relative path, [relative paths of deps])
        with open(dep) as f:
            for line in f:
                if ":" not in line:
                    continue
                path, rest = line.split(":", 1)
                self.deps[norm(module_name(path))] = (path.strip(), rest.split())
        # Soft dependencies (modinfo softdep, e.g. ext4 and libcrc32c want
        # "crc32c", a crypto driver the kernel asks for by name at mount or
        # load time: without it ext4 mounts fail with ENOENT) and the exact
        # aliases that resolve them.
        self.softdeps, self.aliases = {}, {}
        where = os.path.dirname(dep)
        path = os.path.join(where, "modules.softdep")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    w = line.split()
                    if len(w) > 2 and w[0] == "softdep":
                        self.softdeps[norm(w[1])] = [x for x in w[2:] if not x.endswith(":")]
        path = os.path.join(where, "modules.alias")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 3 and w[0] == "alias" and not any(c in w[1] for c in "*?["):
                        self.aliases.setdefault(w[1], []).append(w[2])
        self.builtin = set()
        path = os.path.join(self.root, "modules.builtin")
        if os.path.exists(path):
            with open(path) as f:
                self.builtin = {norm(module_name(line.strip())) for line in f if line.strip()}

    def _depmod_links(self):
        self.scratch = tempfile.mkdtemp(prefix="lcow-depmod-")
        dest = os.path.join(self.scratch, "lib", "modules", self.release)
        try:
            os.makedirs(os.path.dirname(dest))
            subprocess.run(["cp", "-rs", os.path.abspath(self.root), dest], check=True)
            run_depmod(self.scratch, self.release)
        except BaseException:
            self.close()  # the caller never gets an object to close
            raise
        return os.path.join(dest, "modules.dep")

    def close(self):
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def has(self, name):
        return norm(name) in self.deps

    def resolve(self, name):
        """Modules providing name (a module name or an exact alias), the
        generic implementation first."""
        found = [name] if self.has(name) else []
        for m in self.aliases.get(name, []) + self.aliases.get("crypto-" + name, []):
            if self.has(m) and m not in found:
                found.append(m)
        return sorted(found, key=lambda m: (0 if "generic" in m else 1, m))

    def soft(self, names):
        """The modules the soft dependencies of names (and of what they
        depend on) resolve to: [(chosen, [all candidates])]."""
        out, seen = [], set()
        for path in self.closure(names):
            for want in self.softdeps.get(norm(module_name(path)), []):
                cands = self.resolve(want)
                if cands and cands[0] not in seen and norm(want) not in self.builtin:
                    seen.add(cands[0])
                    out.append((cands[0], cands))
        return out

    def closure(self, names):
        """The relative paths of names and everything they depend on."""
        paths = []
        for n in names:
            path, deps = self.deps[norm(n)]
            for p in deps + [path]:
                if p not in paths:
                    paths.append(p)
        return paths


def run_depmod(base, release):
    depmod = shutil.which("depmod") or "/sbin/depmod"
    r = subprocess.run([depmod, "-b", base, release], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"depmod -b {base} {release}: {r.stderr.strip()}")


def wanted(caps, config, tree):
    """(all module names, boot-list names): the modules of options the
    configuration builds as =m that the tree has, in the fragment's order."""
    mods, boot = [], []
    for cap in caps:
        if cap.need == "build":
            continue
        for opt in cap.options:
            if config.get(opt.name) != "m" or not opt.module or not tree.has(opt.module):
                continue
            if opt.module not in mods:
                mods.append(opt.module)
                if not opt.device:
                    boot.append(opt.module)
    # Soft dependencies: every candidate goes into the tree (modprobe may
    # pick the fastest), the generic one is loaded first at boot.
    pre = []
    for chosen, cands in tree.soft(mods):
        for m in cands:
            if m not in mods:
                mods.append(m)
        if chosen not in pre:
            pre.append(chosen)
    return mods, pre + [m for m in boot if m not in pre]


def build_tree(tree, mods, boot, dest):
    """dest/lib/modules/<release>/: the closure of mods, the built-in lists,
    modules.lcow, and depmod's indexes of that set. Returns the .ko paths."""
    root = os.path.join(dest, "lib", "modules", tree.release)
    os.makedirs(root)
    paths = tree.closure(mods)
    for rel in paths:
        os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
        shutil.copyfile(os.path.join(tree.root, rel), os.path.join(root, rel))
    for f in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        src = os.path.join(tree.root, f)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(root, f))
    with open(os.path.join(root, "modules.lcow"), "w") as f:
        f.write("# Loaded by /init at boot whatever the devices (make check-kernel,\n"
                "# from kernel-config/lcow.config's @module annotations)\n")
        f.writelines(m + "\n" for m in boot)
    run_depmod(dest, tree.release)
    return paths


def _cpio_entry(name, mode, data=b"", ino=0):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join(f"{v:08X}" for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def cpio_gz(src):
    """A gzip'd newc cpio of the tree under src (paths relative to it,
    owned by root, mtime 0, sorted)."""
    parts, ino = [], 1
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        if rel != ".":
            parts.append(_cpio_entry(rel, 0o40755, ino=ino))
            ino += 1
        for fn in sorted(filenames):
            with open(os.path.join(dirpath, fn), "rb") as f:
                data = f.read()
            name = fn if rel == "." else os.path.join(rel, fn)
            parts.append(_cpio_entry(name, 0o100644, data, ino=ino))
            ino += 1
    parts.append(_cpio_entry("TRAILER!!!", 0))
    return gzip.compress(b"".join(parts), compresslevel=6, mtime=0)


def vendor_initrd(base_initrd, caps, config, tree, dest_initrd):
    """Writes dest_initrd = base_initrd + the trimmed modules tree; returns
    a summary dict (modules, boot list, sizes)."""
    mods, boot = wanted(caps, config, tree)
    work = tempfile.mkdtemp(prefix="lcow-modtree-")
    try:
        paths = build_tree(tree, mods, boot, work) if mods else []
        with open(base_initrd, "rb") as f:
            base = f.read()
        extra = cpio_gz(work) if mods else b""
        with open(dest_initrd, "wb") as f:
            f.write(base + b"\0" * (-len(base) % 4) + extra)
        ko_bytes = sum(os.path.getsize(os.path.join(tree.root, p)) for p in paths)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"release": tree.release, "modules": mods, "boot_list": boot,
            "files": len(paths), "ko_bytes": ko_bytes, "appended_bytes": len(extra),
            "initrd_bytes": os.path.getsize(dest_initrd)}
