#!/usr/bin/python3
"""make check-kernel: does a kernel run LCOW, capability by capability?

    check_kernel.py --kernel bzImage [--vmlinux F] [--modules DIR] [--config F]
                    --out OUT --backend BIN [--json F] [--no-boot]
    check_kernel.py --table        the README's requirements table

1. Reads the kernel's configuration (CONFIG_IKCONFIG in the vmlinux or the
   bzImage, or --config) and checks it against kernel-config/lcow.config,
   grouped by the capabilities annotated there (fragment.py). An option
   built as a module counts when --modules provides that module.
2. Boots the kernel under QEMU (-accel tcg) with OUT/initrd.img plus, for a
   kernel with modules, the modules LCOW needs appended (modtree.py; /init
   loads them), and probes each capability through the bridge as a host
   would (probes.py).
3. Prints a table capability -> config verdict -> probe verdict -> what to
   change, writes it as JSON (--json, default OUT/check-kernel.json), and
   exits 1 when a capability LCOW needs (required, hyperv) fails, 2 on a
   usage error.
Standard library only.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import fragment  # noqa: E402
import modtree  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "vendor_kernel", os.path.join(TOP, "kernel-config", "vendor-kernel.py"))
vendor_kernel = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor_kernel)

_t0 = time.monotonic()


def say(text):
    print(f"[{time.monotonic() - _t0:6.1f}s] {text}", file=sys.stderr, flush=True)


# -- the configuration -------------------------------------------------------------------

def parse_config(text):
    """{CONFIG_X: value}; '# CONFIG_X is not set' becomes 'n'."""
    have = {}
    for line in text.splitlines():
        line = line.strip()
        m = fragment.SET_RE.match(line)
        if m:
            have[m.group(1)] = m.group(2)
            continue
        m = fragment.UNSET_RE.match(line)
        if m:
            have[m.group(1)] = "n"
    return have


def read_config(args, bz):
    """(config dict, where it came from)."""
    if args.config:
        with open(args.config, errors="replace") as f:
            return parse_config(f.read()), args.config
    elf = None
    if args.vmlinux:
        with open(args.vmlinux, "rb") as f:
            elf = f.read()
    text = vendor_kernel.extract_ikconfig(elf or b"")
    if text is None:
        elf = elf or vendor_kernel.extract_vmlinux(bz) or b""
        text = vendor_kernel.extract_ikconfig(elf) or vendor_kernel.extract_ikconfig(bz)
    if text is None:
        return None, None
    return parse_config(text.decode(errors="replace")), "IKCONFIG (embedded)"


def check_option(opt, have, tree):
    """(verdict, what the kernel has, note): pass, warn or fail."""
    got = have.get(opt.name, "n")
    if opt.value is None:
        return ("pass", got, "") if got == "n" else ("fail", got, "must not be set")
    if got == "m" and opt.value in ("y", "m"):
        if not opt.module:
            return "fail", got, "a module the fragment names no file for: build it in (=y)"
        if tree is None:
            return "fail", got, f"module {opt.module}: no MODULES= given"
        if not tree.has(opt.module):
            return "fail", got, f"module {opt.module}.ko is not in MODULES"
        how = "at device discovery" if opt.device else "at boot (modules.lcow)"
        return "pass", got, f"module {opt.module}, loaded by /init {how}"
    if opt.value == "m" and got == "y":
        return ("warn", got, "built in: on Hyper-V hosts that do not pass "
                "initcall_blacklist=virtio_vsock_init (hcsshim < v0.14) it takes the vsock "
                "transport from hv_sock; build it as a module")
    if got == opt.value:
        return "pass", got, ""
    return "fail", got, f"want {opt.value}"


def check_config(caps, have, tree, ours):
    rows = []
    for cap in caps:
        opts, worst = [], "pass"
        for opt in cap.options:
            verdict, got, note = check_option(opt, have, tree)
            opts.append({"option": opt.name, "want": opt.value or "n", "got": got,
                         "verdict": verdict, "note": note})
            if verdict == "fail" or (verdict == "warn" and worst == "pass"):
                worst = verdict
        if cap.need == "build" and not ours and worst != "pass":
            worst = "n/a"  # how ours is built; not asked of other kernels
        rows.append({"verdict": worst, "options": opts})
    return rows


def changes(cap, cfg):
    """The exact lines a vendor adds to their configuration."""
    out = []
    if cfg["verdict"] == "n/a":
        return out
    for o, opt in zip(cfg["options"], cap.options):
        if o["verdict"] == "pass":
            continue
        if o["verdict"] == "fail" and o["got"] == "m" and opt.module:
            out.append(f"{opt.line()} (or MODULES= with {opt.module}.ko)")
        elif o["verdict"] in ("fail", "warn"):
            out.append(opt.line())
    return out


def boot_initrd(kernel, base_initrd, dest, modules=None, config=None, vmlinux=None,
                log=say):
    """dest = base_initrd plus, with modules (a dir holding lib/modules/
    <release>), the modules LCOW needs from that tree. What check-kernel
    boots, and what make run boots for KERNEL=… MODULES=…. Returns the
    modtree summary, or None without modules. Raises ValueError when the
    kernel or its configuration cannot be read."""
    if not modules:
        shutil.copyfile(base_initrd, dest)
        return None
    with open(kernel, "rb") as f:
        bz = f.read()
    release = vendor_kernel.kernel_release(bz)
    if release is None:
        raise ValueError(f"{kernel}: not a bzImage (no setup header)")
    args = argparse.Namespace(config=config, vmlinux=vmlinux)
    have, _ = read_config(args, bz)
    if have is None:
        raise ValueError(f"{kernel} has no CONFIG_IKCONFIG: pass CONFIG=<its .config>")
    tree = modtree.ModuleTree(modules, release)
    try:
        info = modtree.vendor_initrd(base_initrd, fragment.parse(), have, tree, dest)
    finally:
        tree.close()
    log(f"initrd: {base_initrd} + {len(info['modules'])} modules "
        f"({info['files']} files with dependencies, {info['ko_bytes']} bytes, "
        f"{info['appended_bytes']} gzip'd) = {info['initrd_bytes']} bytes; loaded at boot: "
        f"{' '.join(info['boot_list']) or 'none'}")
    return info


# -- the report ------------------------------------------------------------------------

PROBE_NONE = {"hyperv": "not probed: QEMU has no VMBus",
              "vpci": "not probed: QEMU has no Hyper-V vPCI",
              "dminit": "not probed: needs a dm-mod.create= boot",
              "build": "-"}


def print_table(report, out=sys.stdout):
    rows = [("capability", "need", "config", "probe", "what to change / detail")]
    for c in report["capabilities"]:
        # The lines to change, then why a probe failed or was skipped.
        change = "; ".join(c["change"])
        detail = c["probe"]["detail"] if c["probe"]["verdict"] in ("fail", "skip") else ""
        text = change + (" | " if change and detail else "") + detail
        if c["config"]["verdict"] == "n/a":
            text = "differs from how ours is built (not needed): " + ", ".join(
                o["option"][7:] for o in c["config"]["options"] if o["verdict"] != "pass")
        rows.append((c["id"], c["need"], c["config"]["verdict"], c["probe"]["verdict"], text))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(r[i].ljust(w[i]) for i in range(4)) + "  " + r[4], file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel")
    ap.add_argument("--vmlinux")
    ap.add_argument("--modules")
    ap.add_argument("--config")
    ap.add_argument("--out", default=os.path.join(TOP, "out"))
    ap.add_argument("--backend")
    ap.add_argument("--json")
    ap.add_argument("--ours", action="store_true",
                    help="the kernel is ours: the build-only options are checked too")
    ap.add_argument("--no-boot", action="store_true", help="configuration only")
    ap.add_argument("--table", action="store_true", help="print the README table")
    args = ap.parse_args()
    caps = fragment.parse()
    if args.table:
        print(fragment.table_markdown(caps), end="")
        return 0
    if not args.kernel or (not args.no_boot and not args.backend):
        ap.print_usage(sys.stderr)
        return 2
    with open(args.kernel, "rb") as f:
        bz = f.read()
    release = vendor_kernel.kernel_release(bz)
    if release is None:
        print(f"check-kernel: {args.kernel}: not a bzImage (no setup header)", file=sys.stderr)
        return 2
    have, source = read_config(args, bz)
    if have is None:
        print(f"check-kernel: {args.kernel} has no CONFIG_IKCONFIG: pass CONFIG=<its .config>",
              file=sys.stderr)
        return 2
    say(f"kernel {args.kernel} (release {release}); configuration from {source}")
    tree = None
    try:
        if args.modules:
            tree = modtree.ModuleTree(args.modules, release)
            say(f"modules from {tree.root}: {len(tree.deps)} modules")
        cfg = check_config(caps, have, tree, args.ours)
        report = {"kernel": os.path.abspath(args.kernel), "release": release,
                  "config_source": source,
                  "modules_dir": tree.root if tree else None, "capabilities": []}
        probes, figures, initrd_info = {}, {}, None
        if not args.no_boot:
            work = tempfile.mkdtemp(prefix="lcow-check-kernel-")
            try:
                initrd = os.path.join(work, "initrd.img")
                base = os.path.join(args.out, "initrd.img")
                initrd_info = boot_initrd(args.kernel, base, initrd, args.modules, args.config,
                                          args.vmlinux)
                import probes as probes_mod
                t = time.monotonic()
                probes, figures = probes_mod.run_all(args.kernel, initrd, args.backend, work, say)
                figures["probes_total"] = time.monotonic() - t
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if tree is not None:
            tree.close()
    failed = []
    for cap, c in zip(caps, cfg):
        if args.no_boot:
            probe = {"verdict": "-", "detail": "not booted (--no-boot)", "seconds": 0}
        elif cap.id in probes:
            probe = probes[cap.id].json()
        elif "boot" in probes and probes["boot"].verdict == "fail" and cap.need != "build" \
                and cap.id not in PROBE_NONE:
            probe = {"verdict": "fail", "detail": "the kernel did not boot to the bridge",
                     "seconds": 0}
        else:
            probe = {"verdict": "skip" if cap.id in PROBE_NONE and cap.id != "build" else "-",
                     "detail": PROBE_NONE.get(cap.id, "-"), "seconds": 0}
        row = {"id": cap.id, "need": cap.need, "title": cap.title, "config": c,
               "probe": probe, "change": changes(cap, c)}
        report["capabilities"].append(row)
        if cap.need in fragment.FAILS_CHECK and (c["verdict"] == "fail" or
                                                 probe["verdict"] == "fail"):
            failed.append(cap.id)
        if cap.need == "build" and args.ours and c["verdict"] == "fail":
            failed.append(cap.id)
    report["initrd"] = initrd_info
    report["figures"] = {k: round(v, 2) for k, v in figures.items()}
    report["failed"] = failed
    report["ok"] = not failed
    path = args.json or os.path.join(args.out, "check-kernel.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"check-kernel: {args.kernel} ({release})")
    print_table(report)
    took = time.monotonic() - _t0
    if failed:
        print(f"check-kernel: FAILED: {', '.join(failed)} (report: {path}; {took:.0f}s)")
        return 1
    print(f"check-kernel: LCOW runs on this kernel (report: {path}; {took:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
