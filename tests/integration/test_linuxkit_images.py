"""The LinuxKit images (issue 15): out/linuxkit/*.oci.tar, which `make image`
writes (mk/linuxkit_images.py) for `linuxkit cache import`, and linuxkit.yml,
which names them.

Without a `linuxkit` binary, every tarball is read back as LinuxKit v1.2.0
reads it (index.json -> manifest -> config -> layer, every sha256 and size
checked, the docker.io/... reference its cache looks up), and what the three
images hold is compared with out/initrd.img: together they are its files,
byte for byte. With `linuxkit` on PATH, `make check-linuxkit` imports them,
builds, and boots the result through `make run`'s script. That `make image`
twice gives the same tarballs is test_image.py's reproducibility test.
"""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from conftest import TOP
from test_image import IMAGE, by_name, kernel_release, read_cpio, read_initrd, runc_closure

SCRIPT = os.path.join(TOP, "mk", "linuxkit_images.py")
LINUXKIT_DIR = os.path.join(IMAGE, "linuxkit")
NAMES = ("kernel", "init", "runc")
REGISTRY = "docker.io/lcow-guest"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
# The initrd's device node: archive.py adds it, LinuxKit drops any image's
# dev/console (moby/image.go `exclude`) and the kernel's built-in initramfs
# has one.
NOT_IN_IMAGES = {"dev/console"}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def need_image():
    if not os.path.exists(os.path.join(IMAGE, "initrd.img")):
        pytest.skip(f"no image in {IMAGE}: `make image` (make check builds it)")


def tarball(name):
    need_image()
    path = os.path.join(LINUXKIT_DIR, f"{name}.oci.tar")
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: `make image` writes it (make linuxkit-images)")
    return path


# ---- reading an OCI image-layout tarball back ---------------------------------

def check_blob(blobs, desc, media_type):
    """The blob a descriptor names, after checking its type, digest and size."""
    assert desc["mediaType"] == media_type, desc
    hexd = desc["digest"].removeprefix("sha256:")
    assert hexd in blobs, f"{desc['digest']} is not in blobs/sha256/"
    assert len(blobs[hexd]) == desc["size"], f"{desc['digest']}: size {desc['size']} is wrong"
    return blobs[hexd]


def read_layout(path):
    """{refs: {reference: manifest digest}, config, layer (uncompressed
    bytes)} of a tarball, checking it as LinuxKit's cache import and build
    (go-containerregistry's validate.Image) would."""
    files, blobs = {}, {}
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            assert not m.name.startswith(("/", "./")), f"{m.name}: LinuxKit matches bare names"
            if m.isdir():
                assert m.name in ("blobs", "blobs/sha256"), m.name
                continue
            assert m.isfile(), m.name
            data = tar.extractfile(m).read()
            match = re.fullmatch(r"blobs/sha256/([0-9a-f]{64})", m.name)
            if match:
                assert hashlib.sha256(data).hexdigest() == match.group(1), f"{m.name}: bad digest"
                blobs[match.group(1)] = data
            else:
                files[m.name] = data
    assert set(files) == {"oci-layout", "index.json"}, set(files)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2, index
    refs, used = {}, set()
    for desc in index["manifests"]:
        raw = check_blob(blobs, desc, MANIFEST_TYPE)
        assert desc.get("platform") == {"architecture": "amd64", "os": "linux"}, desc
        ref = desc["annotations"]["io.containerd.image.name"]
        assert desc["annotations"]["org.opencontainers.image.ref.name"] == ref.split(":")[-1]
        refs[ref] = desc["digest"]
        used.add(desc["digest"])
    assert len(used) == 1, f"the references name different manifests: {refs}"
    manifest = json.loads(raw)
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MANIFEST_TYPE
    config = json.loads(check_blob(blobs, manifest["config"], CONFIG_TYPE))
    assert len(manifest["layers"]) == 1, manifest["layers"]
    layer = gzip.decompress(check_blob(blobs, manifest["layers"][0], LAYER_TYPE))
    assert (config["architecture"], config["os"]) == ("amd64", "linux"), config
    assert config["rootfs"] == {"type": "layers", "diff_ids": [sha256(layer)]}, config["rootfs"]
    referenced = {d["digest"][7:] for d in [manifest["config"]] + manifest["layers"]}
    assert set(blobs) == referenced | {next(iter(used))[7:]}, "blobs nothing refers to"
    return dict(refs=refs, config=config, layer=layer)


def layer_entries(layer):
    """{name: entry} of a layer tar, in the shape read_cpio gives, checking
    what validate.Image and LinuxKit's ImageTar rely on."""
    entries = {}
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        for m in tar.getmembers():
            assert not m.name.startswith(("/", "./")), m.name
            assert m.name not in entries, f"duplicate {m.name}: validate.Image refuses it"
            assert (m.uid, m.gid) == (0, 0), m.name
            assert m.isdir() or m.isfile() or m.issym(), m.name
            kind = stat.S_IFDIR if m.isdir() else stat.S_IFLNK if m.issym() else stat.S_IFREG
            data = (m.linkname.encode() if m.issym()
                    else tar.extractfile(m).read() if m.isfile() else b"")
            entries[m.name] = dict(name=m.name, mode=kind | (m.mode if not m.issym() else 0o777),
                                   mtime=m.mtime, data=data)
    return entries


def image(name):
    """read_layout of out/linuxkit/<name>.oci.tar, with its version tag checked:
    the two references, <version>-<layer digest> and latest."""
    lay = read_layout(tarball(name))
    tags = {r.split(":")[-1] for r in lay["refs"]}
    assert {r.rsplit(":", 1)[0] for r in lay["refs"]} == {f"{REGISTRY}/{name}"}, lay["refs"]
    assert "latest" in tags and len(tags) == 2, tags
    version = (tags - {"latest"}).pop()
    assert version.endswith("-" + sha256(lay["layer"])[7:19]), version
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", version), version
    lay["version"] = version
    lay["entries"] = layer_entries(lay["layer"])
    return lay


@pytest.fixture(scope="module")
def initrd():
    need_image()
    return by_name(read_initrd(os.path.join(IMAGE, "initrd.img")))


def same_entry(got, want, where):
    """Type, permissions and contents (target for a link) as in the initrd."""
    assert stat.S_IFMT(got["mode"]) == stat.S_IFMT(want["mode"]), where
    if not stat.S_ISLNK(got["mode"]):
        assert stat.S_IMODE(got["mode"]) == stat.S_IMODE(want["mode"]), where
    assert got["data"] == want["data"], f"{where} differs from out/initrd.img"


# ---- the three images ---------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_tarball_is_an_oci_layout_linuxkit_imports(name):
    image(name)


def test_kernel_image_holds_kernel_config_and_modules_tar(initrd):
    kernel = image("kernel")
    files = kernel["entries"]
    assert set(files) == {"kernel", "kernel.tar", "kernel.config"}, set(files)
    for f in ("kernel", "kernel.config"):
        with open(os.path.join(IMAGE, f), "rb") as src:
            assert files[f]["data"] == src.read(), f"/{f} is not out/{f}"
    release = kernel_release(os.path.join(IMAGE, "kernel"))
    assert kernel["version"].startswith(release + "-"), kernel["version"]
    modules = layer_entries(files["kernel.tar"]["data"])
    want = {n for n in initrd if n == "lib" or n == "lib/modules" or n.startswith("lib/modules/")}
    assert set(modules) == want, set(modules) ^ want
    assert f"lib/modules/{release}/modules.dep" in modules, "no modules tree"
    for n, e in modules.items():
        same_entry(e, initrd[n], f"kernel.tar: {n}")


def test_runc_image_is_debian_runc_and_its_libraries(initrd):
    runc = image("runc")
    files = runc["entries"]
    regular = {n for n, e in files.items() if not stat.S_ISDIR(e["mode"])}
    want = {"usr/bin/runc"} | {lib.lstrip("/") for lib in runc_closure()}
    assert regular == want, regular ^ want
    for n, e in files.items():
        same_entry(e, initrd[n], f"runc image: {n}")
    m = re.search(r"runc version (\S+?)(\+|\s)", subprocess.run(
        ["runc", "--version"], capture_output=True, text=True).stdout)
    assert m and runc["version"].startswith(m.group(1) + "-"), runc["version"]


def test_init_image_is_the_initrd_without_kernel_and_runc_files(initrd):
    """Together the images hold exactly the initrd's entries; init holds
    every one the kernel's tar and the runc image do not (directories are
    its skeleton, shared), with the initrd's times."""
    kernel = layer_entries(image("kernel")["entries"]["kernel.tar"]["data"])
    runc, init = image("runc")["entries"], image("init")["entries"]
    union = set(kernel) | set(runc) | set(init)
    want = set(initrd) - NOT_IN_IMAGES
    assert union == want, f"missing: {sorted(want - union)}, extra: {sorted(union - want)}"
    for n, e in init.items():
        same_entry(e, initrd[n], f"init image: {n}")
        assert e["mtime"] == initrd[n]["mtime"], n
    owned = {n for n in set(kernel) | set(runc) if not stat.S_ISDIR(initrd[n]["mode"])}
    assert not owned & set(init), sorted(owned & set(init))
    assert not any(n.startswith("lib/modules") for n in init)
    for n in ("init", "bin/vsockexec", "bin/gcs", "bin/busybox", "bin/sh", "sbin/mke2fs",
              "sbin/mkfs.ext4", "sbin/udhcpc", "sbin/udhcpc_config.script", "etc/passwd",
              "info/gcs.commit", "info/image.name", "tmp", "sys/fs/cgroup"):
        assert n in init, f"/{n} missing from the init image"
    # The stripped gcs (mkrootfs strips), not the 1.9 MB build output.
    assert b".symtab" not in init["bin/gcs"]["data"], "/bin/gcs is not stripped"
    commit = initrd["info/gcs.commit"]["data"].decode().strip()
    config = image("init")["config"]
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == commit


def test_kernel_and_runc_tags_do_not_move_with_commits():
    """Nothing of the commit in them: time 0, so the same kernel and runc
    keep their tags (and digests) from one commit to the next."""
    for name in ("kernel", "runc"):
        lay = image(name)
        assert {e["mtime"] for e in lay["entries"].values()} == {0}, name
        assert lay["config"]["created"] == "1970-01-01T00:00:00Z", name
        assert "org.opencontainers.image.revision" not in lay["config"]["config"]["Labels"]


def test_writing_again_gives_the_same_bytes(tmp_path):
    """The script run twice on out/ writes what `make image` wrote."""
    tarball("kernel")
    for run in ("a", "b"):
        r = subprocess.run([sys.executable, SCRIPT, IMAGE, str(tmp_path / run)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    for name in NAMES:
        with open(tarball(name), "rb") as f:
            made = f.read()
        for run in ("a", "b"):
            assert (tmp_path / run / f"{name}.oci.tar").read_bytes() == made, (name, run)


# ---- the script on a small made-up image ------------------------------------

def fake_image(tmp_path, with_runc=True):
    """An image directory as make image leaves it, tiny: a bzImage header
    saying 9.9.9, a stage with a module, a 'runc' and an /init."""
    d = tmp_path / "img"
    stage = d / "rootfs"
    for sub in ("lib/modules/9.9.9", "usr/bin", "lib64", "etc"):
        (stage / sub).mkdir(parents=True)
    (stage / "lib/modules/9.9.9/modules.dep").write_text("")
    (stage / "usr/bin/runc").write_text("#!/bin/sh\necho runc version 1.2.3+x\n")
    (stage / "lib64/ld.so").write_text("loader")
    (stage / "init").write_text("init")
    (stage / "etc/hosts").write_text("127.0.0.1 localhost\n")
    os.chmod(stage / "usr/bin/runc", 0o755)
    head = bytearray(0x300)
    head[0x20E:0x210] = (0x280 - 0x200).to_bytes(2, "little")
    head[0x280:0x290] = b"9.9.9 (fake)\0"
    (d / "kernel").write_bytes(bytes(head))
    (d / "kernel.config").write_text("CONFIG_X=y\n")
    (d / "rootfs-runc.list").write_text("usr/bin/runc\nlib64/ld.so\n" if with_runc else "")
    return d


def layer_names(path):
    lay = read_layout(str(path))
    return set(layer_entries(lay["layer"])), lay


def test_script_splits_a_stage(tmp_path):
    d = fake_image(tmp_path)
    out = tmp_path / "lk"
    r = subprocess.run([sys.executable, SCRIPT, str(d), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    runc, lay = layer_names(out / "runc.oci.tar")
    assert runc == {"usr", "usr/bin", "usr/bin/runc", "lib64", "lib64/ld.so"}, runc
    assert any(ref.startswith(f"{REGISTRY}/runc:1.2.3-") for ref in lay["refs"]), lay["refs"]
    init, lay = layer_names(out / "init.oci.tar")
    assert init == {"init", "etc", "etc/hosts", "lib", "usr", "usr/bin", "lib64"}, init
    kernel, lay = layer_names(out / "kernel.oci.tar")
    assert any(ref.startswith(f"{REGISTRY}/kernel:9.9.9-") for ref in lay["refs"]), lay["refs"]
    tar = layer_entries(layer_entries(lay["layer"])["kernel.tar"]["data"])
    assert set(tar) == {"lib", "lib/modules", "lib/modules/9.9.9",
                        "lib/modules/9.9.9/modules.dep"}, set(tar)


def test_script_without_runc_removes_a_stale_runc_image(tmp_path):
    out = tmp_path / "lk"
    out.mkdir()
    (out / "runc.oci.tar").write_text("an older build")
    d = fake_image(tmp_path, with_runc=False)
    r = subprocess.run([sys.executable, SCRIPT, str(d), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "no runc image" in r.stderr
    assert sorted(os.listdir(out)) == ["init.oci.tar", "kernel.oci.tar"]


def test_script_refuses_a_runc_list_the_stage_lacks(tmp_path):
    d = fake_image(tmp_path)
    (d / "rootfs-runc.list").write_text("usr/bin/runc\nlib/libgone.so\n")
    r = subprocess.run([sys.executable, SCRIPT, str(d), str(tmp_path / "lk")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "lib/libgone.so" in r.stderr, r.stderr


# ---- linuxkit.yml -------------------------------------------------------------

# LinuxKit's schema (src/cmd/linuxkit/moby/schema.go): unknown keys are
# rejected.
LK_TOP = {"kernel", "init", "onboot", "onshutdown", "services", "files", "volumes", "trust"}
LK_KERNEL = {"image", "cmdline", "binary", "tar", "ucode"}


def linuxkit_yml():
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(TOP, "linuxkit.yml")) as f:
        text = f.read()
    return text, yaml.safe_load(text)


def expand(ref):
    """util.ReferenceExpand: the name LinuxKit's cache is searched for."""
    return ref if ref.count("/") >= 2 else f"docker.io/{ref}"


def test_linuxkit_yml_names_only_our_images():
    _, doc = linuxkit_yml()
    assert set(doc) <= LK_TOP, set(doc) - LK_TOP
    assert set(doc) == {"kernel", "init"}, "no files, services or onboot: the images hold it all"
    assert set(doc["kernel"]) <= LK_KERNEL, set(doc["kernel"]) - LK_KERNEL
    assert doc["kernel"].get("tar", "kernel.tar") == "kernel.tar", "the modules left out"
    names = [doc["kernel"]["image"]] + doc["init"]
    assert [expand(n) for n in names] == [f"{REGISTRY}/{n}:latest" for n in NAMES], names


def test_linuxkit_yml_names_what_the_tarballs_carry():
    _, doc = linuxkit_yml()
    carried = set()
    for name in NAMES:
        carried |= set(image(name)["refs"])
    for ref in [doc["kernel"]["image"]] + doc["init"]:
        assert expand(ref) in carried, f"{ref}: no tarball in out/linuxkit carries it"


def commands(text):
    """The linuxkit command lines in a text, continuation lines joined and
    comment marks and indentation dropped."""
    text = re.sub(r"\\\n[#\s]*", " ", text)
    return [re.sub(r"\s+", " ", line.lstrip("# ")).strip()
            for line in text.splitlines() if re.match(r"^[#\s]*linuxkit ", line)]


def test_linuxkit_yml_and_readme_give_the_offline_commands():
    text, _ = linuxkit_yml()
    lines = commands(text)
    assert any(l.startswith("linuxkit cache import --cache ") for l in lines), lines
    build = [l for l in lines if l.startswith("linuxkit build ")]
    assert build, lines
    for flag in ("--cache ", "--format kernel+initrd", "--no-sbom"):
        assert flag in build[0], build[0]
    assert not re.search(r"(^|\s)-(name|format|dir)\b", text), "LinuxKit >= 1.2 has no -name"
    with open(os.path.join(TOP, "README.md")) as f:
        readme = commands(f.read())
    for line in lines:
        assert line in readme, f"README lacks `{line}`"


# ---- with LinuxKit itself -----------------------------------------------------

def test_make_check_linuxkit_boots_what_linuxkit_built(tmp_path):
    """linuxkit cache import, linuxkit build, then make run's script on its
    kernel and initrd: the busybox container prints its line. The initrd
    LinuxKit wrote holds the files of ours."""
    if not shutil.which("linuxkit"):
        pytest.skip("no linuxkit on PATH (make check-linuxkit needs LinuxKit's CLI)")
    need_image()
    build = tmp_path / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", TOP, "--no-print-directory", "check-linuxkit",
                        f"IMAGE_OUT={IMAGE}", f"LINUXKIT_BUILD_DIR={build}"],
                       capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "hello from lcow-guest" in r.stdout, r.stdout[-4000:]
    theirs = {e["name"].rstrip("/") for e in read_cpio(str(build / "lcow-initrd.img"))}
    ours = set(by_name(read_initrd(os.path.join(IMAGE, "initrd.img")))) - NOT_IN_IMAGES
    assert ours <= theirs, sorted(ours - theirs)
