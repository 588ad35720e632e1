"""make check-kernel (issue 14) on two real kernels: ours, where every
capability must pass, and Debian bookworm's stock kernel (fetched into the
kernel cache by make check: kernel-config/debian-kernel.sh), whose report
must say row by row what its configuration and modules give, and which
must run the make run container with its modules loaded by /init.

The expectations on Debian's report are computed here from its own
config file and modules tree, with a rule written independently of the
tool's: y passes; m passes when the fragment names a module and the tree
has it; anything else fails, and the change is the fragment's line.
Standard library only; the VM runs are under QEMU -accel tcg.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

from conftest import OUT, TOP

sys.path.insert(0, os.path.join(TOP, "host", "check-kernel"))

import fragment  # noqa: E402

IMAGE = os.environ.get("LCOW_IMAGE_OUT", os.path.join(TOP, "out"))
BACKEND = os.path.join(OUT, "vsock-backend")
TOOL = os.path.join(TOP, "host", "check-kernel", "check_kernel.py")
RUN = os.path.join(TOP, "host", "run", "run.py")
# Capabilities QEMU cannot show: their probe is a skip with a reason.
NOT_PROBED = {"hyperv", "vpci", "dminit"}


def check_kernel(*args, timeout=600):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        r = subprocess.run(["/usr/bin/python3", TOOL, *args, "--out", IMAGE, "--json", path],
                           capture_output=True, text=True, timeout=timeout)
        report = None
        if os.path.getsize(path):
            with open(path) as f:
                report = json.load(f)
        return r, report
    finally:
        os.unlink(path)


def need_image():
    missing = [p for p in (os.path.join(IMAGE, "kernel"), os.path.join(IMAGE, "initrd.img"),
                           BACKEND) if not os.path.exists(p)]
    if missing:
        pytest.skip("no " + ", ".join(missing) + " (make image; make)")


def debian_dir():
    r = subprocess.run(["bash", os.path.join(TOP, "kernel-config", "debian-kernel.sh")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("Debian's kernel could not be fetched: " + r.stderr.strip()[-300:])
    d = r.stdout.strip()
    with open(os.path.join(d, "release")) as f:
        release = f.read().strip()
    return d, release


def config_of(path):
    have = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
            if m:
                have[m.group(1)] = m.group(2)
    return have


def module_files(moddir, release):
    names = set()
    for _, _, files in os.walk(os.path.join(moddir, "lib", "modules", release, "kernel")):
        names |= {f.split(".ko")[0].replace("-", "_") for f in files if ".ko" in f}
    return names


# -- the fragment and the README ------------------------------------------------------

def test_readme_table_is_the_fragments():
    """The README's requirements table is generated from the fragment
    (make check-kernel-table); they are one source, not two lists."""
    with open(os.path.join(TOP, "README.md")) as f:
        readme = f.read()
    table = fragment.table_markdown()
    assert table in readme, "README's table differs from `make check-kernel-table`:\n" + table


def test_every_option_serves_a_capability_and_names_its_module():
    caps = fragment.parse()
    needs = {c.id: c.need for c in caps}
    for want in ("boot", "vsock", "scsi", "vpmem", "dm", "verity", "crypt", "ext4", "overlay",
                 "plan9",
                 "cgroups", "namespaces", "seccomp", "network", "netfilter", "ptp", "vpci",
                 "hyperv"):
        assert want in needs, want
    names = [o.name for c in caps for o in c.options]
    assert len(names) == len(set(names))
    # What our build fails on (check-config.sh) is exactly the fragment's options.
    with open(fragment.FRAGMENT) as f:
        lines = re.findall(r"^(?:(CONFIG_\w+)=|# (CONFIG_\w+) is not set$)", f.read(), re.M)
    assert sorted(a or b for a, b in lines) == sorted(names)


def test_fragment_rejects_an_option_outside_a_capability(tmp_path):
    bad = tmp_path / "f.config"
    bad.write_text("CONFIG_X=y\n")
    with pytest.raises(fragment.FragmentError, match="before any @cap"):
        fragment.parse(str(bad))
    bad.write_text("# @cap a required: A\n# @module m\n\nCONFIG_X=y\n")
    with pytest.raises(fragment.FragmentError, match="right above"):
        fragment.parse(str(bad))


def test_module_names_match_debians_tree():
    """Every module the fragment names is the file a real kernel builds for
    that option: in Debian's tree, for every option Debian sets to m."""
    d, release = debian_dir()
    have = config_of(os.path.join(d, "boot", f"config-{release}"))
    files = module_files(d, release)
    wrong = [(o.name, o.module) for c in fragment.parse() if c.need != "build"
             for o in c.options if have.get(o.name) == "m"
             and (not o.module or o.module.replace("-", "_") not in files)]
    assert not wrong, wrong


# -- the configuration check alone ------------------------------------------------------

def test_config_rows_say_what_to_change(tmp_path):
    """A configuration missing ext4, with overlay as a module and no
    MODULES=, and the virtio vsock transport built in: fail with the exact
    lines, a warning for the transport; build-only differences are n/a."""
    need_image()
    ours = (tmp_path / "ours.config")
    r = subprocess.run(["/usr/bin/python3", TOOL, "--kernel", os.path.join(IMAGE, "kernel"),
                        "--modules", os.path.join(IMAGE, "modules"), "--no-boot",
                        "--json", str(tmp_path / "o.json"), "--out", IMAGE],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    base = json.load(open(tmp_path / "o.json"))
    have = {o["option"]: o["got"] for c in base["capabilities"] for o in c["config"]["options"]}
    have.update({"CONFIG_EXT4_FS": "n", "CONFIG_OVERLAY_FS": "m", "CONFIG_VIRTIO_VSOCKETS": "y",
                 "CONFIG_NR_CPUS": "8192"})
    ours.write_text("".join(f"{k}={v}\n" for k, v in have.items() if v != "n"))
    r, rep = check_kernel("--kernel", os.path.join(IMAGE, "kernel"), "--config", str(ours),
                          "--modules", os.path.join(IMAGE, "modules"), "--no-boot")
    assert r.returncode == 1, r.stdout
    rows = {c["id"]: c for c in rep["capabilities"]}
    assert rows["ext4"]["config"]["verdict"] == "fail"
    assert rows["ext4"]["change"] == ["CONFIG_EXT4_FS=y"]
    assert rows["overlay"]["change"] == ["CONFIG_OVERLAY_FS=y (or MODULES= with overlay.ko)"]
    assert rows["vsock"]["config"]["verdict"] == "warn"
    assert rows["vsock"]["change"] == ["CONFIG_VIRTIO_VSOCKETS=m"]
    assert rows["build"]["config"]["verdict"] == "n/a" and rows["build"]["change"] == []
    assert set(rep["failed"]) == {"ext4", "overlay"}
    assert "CONFIG_EXT4_FS=y" in r.stdout and "overlay" in r.stdout


# -- ours: everything passes ----------------------------------------------------------------

def test_our_kernel_passes_every_capability():
    need_image()
    r, rep = check_kernel("--ours", "--kernel", os.path.join(IMAGE, "kernel"), "--vmlinux",
                          os.path.join(IMAGE, "vmlinux"), "--modules",
                          os.path.join(IMAGE, "modules"), "--backend", BACKEND)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert rep["ok"] and rep["failed"] == []
    for c in rep["capabilities"]:
        assert c["config"]["verdict"] == "pass", c
        if c["need"] == "build":
            continue
        want = "skip" if c["id"] in NOT_PROBED else "pass"
        assert c["probe"]["verdict"] == want, c
        assert c["probe"]["detail"], c
    # Our kernel needs no module at boot: everything LCOW uses is built in.
    assert rep["initrd"]["boot_list"] == []
    assert "LCOW runs on this kernel" in r.stdout


# -- Debian's stock kernel: the truthful rows, and the container ----------------------------

@pytest.fixture(scope="module")
def debian_report():
    need_image()
    d, release = debian_dir()
    r, rep = check_kernel("--kernel", os.path.join(d, "boot", f"vmlinuz-{release}"),
                          "--config", os.path.join(d, "boot", f"config-{release}"),
                          "--modules", d, "--backend", BACKEND)
    assert rep is not None, r.stdout + r.stderr[-3000:]
    return d, release, r, rep


def test_debian_rows_follow_its_config_and_modules(debian_report):
    d, release, r, rep = debian_report
    have = config_of(os.path.join(d, "boot", f"config-{release}"))
    files = module_files(d, release)
    caps = {c.id: c for c in fragment.parse()}
    for row in rep["capabilities"]:
        cap = caps[row["id"]]
        verdicts = []
        for opt, got in zip(cap.options, row["config"]["options"]):
            value = have.get(opt.name, "n")
            assert got["got"] == value, (opt.name, got)
            if opt.value is None:
                want = "pass" if value == "n" else "fail"
            elif value == "m" and opt.value in ("y", "m"):
                ok = opt.module and opt.module.replace("-", "_") in files
                want = "pass" if ok else "fail"
            elif opt.value == "m" and value == "y":
                want = "warn"
            else:
                want = "pass" if value == opt.value else "fail"
            assert got["verdict"] == want, (opt.name, got)
            verdicts.append(want)
        if cap.need == "build":
            assert row["config"]["verdict"] in ("pass", "n/a")
            continue
        worst = "fail" if "fail" in verdicts else "warn" if "warn" in verdicts else "pass"
        assert row["config"]["verdict"] == worst, row
        assert row["change"] == [o.line() for o, v in zip(cap.options, verdicts)
                                 if v != "pass"], row
        # The table prints each row with its verdicts and the lines to change.
        line = next(l for l in r.stdout.splitlines() if l.startswith(row["id"] + " "))
        assert row["config"]["verdict"] in line and row["probe"]["verdict"] in line
        for change in row["change"]:
            assert change in line


def test_debian_probes_pass_where_modules_suffice(debian_report):
    """Debian builds what LCOW needs as modules; with them loaded by /init,
    every capability QEMU can show works, and the exit status says so."""
    d, release, r, rep = debian_report
    for row in rep["capabilities"]:
        if row["need"] == "build":
            continue
        if row["id"] in NOT_PROBED:
            assert row["probe"]["verdict"] == "skip" and row["probe"]["detail"], row
        else:
            assert row["probe"]["verdict"] == "pass", row
    failing = [row["id"] for row in rep["capabilities"]
               if row["need"] in ("required", "hyperv")
               and "fail" in (row["config"]["verdict"], row["probe"]["verdict"])]
    assert rep["failed"] == failing
    assert r.returncode == (1 if failing else 0), r.stdout
    # Only what LCOW needs went into the initrd, and init loaded it.
    info = rep["initrd"]
    assert info["release"] == release
    assert "overlay" in info["boot_list"] and "dm-mod" in info["boot_list"]
    assert "vmw_vsock_virtio_transport" not in info["boot_list"]  # a device's module
    assert info["appended_bytes"] < 8 * 1024 * 1024, info
    boot = next(row for row in rep["capabilities"] if row["id"] == "boot")
    assert re.search(r"init loaded \d+ module\(s\), 0 failed", boot["probe"]["detail"]), boot


def test_debian_kernel_runs_the_make_run_container():
    need_image()
    d, release = debian_dir()
    r = subprocess.run(["/usr/bin/python3", RUN, "--out", IMAGE, "--backend", BACKEND,
                        "--kernel", os.path.join(d, "boot", f"vmlinuz-{release}"),
                        "--config", os.path.join(d, "boot", f"config-{release}"),
                        "--modules", d], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:]
    assert f"Linux (none) {release} " in r.stdout
    assert "  | hello from lcow-guest" in r.stdout
    assert "QEMU exited by itself with status 0" in r.stdout
