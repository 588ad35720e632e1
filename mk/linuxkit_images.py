#!/usr/bin/env python3
"""The images linuxkit.yml names, as OCI image-layout tarballs.

    linuxkit_images.py IMAGE_DIR OUT_DIR

From what `make image` left in IMAGE_DIR (kernel, kernel.config, the staged
tree rootfs/ that initrd.img was made of, and rootfs-runc.list, what
mkrootfs.sh placed for runc) writes into OUT_DIR one tarball per image, each
one `linuxkit cache import` loads without a registry:

    kernel.oci.tar  docker.io/lcow-guest/kernel:<release>-<digest>
                    /kernel (bzImage), /kernel.tar (the staged lib/modules
                    tree), /kernel.config
    runc.oci.tar    docker.io/lcow-guest/runc:<runc version>-<digest>
                    Debian's runc and the libraries and loader it needs
    init.oci.tar    docker.io/lcow-guest/init:<gcs commit>-<digest>
                    everything else in the staged tree: /init, vsockexec,
                    gcs, busybox, mke2fs, the skeleton, /info

So LinuxKit's initrd holds the same files as initrd.img: the stage is split,
never listed again. <digest> is the start of the sha256 of the image's
uncompressed layer. Each tarball also tags its image `latest`, the tag
linuxkit.yml names, so the yml needs no edit per build; the version tag pins.

LinuxKit v1.2.0 reads these as follows (src/cmd/linuxkit): cache/write.go
ImageLoad takes the tar's blobs/sha256/<hex> and index.json, and names each
manifest by its io.containerd.image.name annotation, which build looks up
as docker.io/<repo>:<tag>; layout images' layers are always gunzipped
(go-containerregistry partial/compressed.go), so layers are gzip'd;
moby/build.go's kernel filter wants entries named exactly `kernel` and
`kernel.tar` and appends the latter's entries to the initrd as they are.

Reproducible: entries sorted and owned by 0:0, one mtime per image (0 for
kernel and runc, the stage's for init: see build()), gzip without name or
time, JSON with sorted keys; the same inputs give the same bytes.
"""
import gzip
import hashlib
import io
import json
import os
import re
import stat
import struct
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "image"))
import archive  # noqa: E402  (the initrd's own tree walk and tar writer)

REGISTRY = "docker.io/lcow-guest"
ALIAS = "latest"
ARCH = "amd64"  # the kernel is an x86-64 bzImage
MODULES = "lib/modules"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
NAMES = ("kernel", "init", "runc")


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def gzipped(data):
    # filename="" and mtime=0: nothing of the build machine or the time.
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def descriptor(media_type, data, **extra):
    return dict(mediaType=media_type, digest=digest(data), size=len(data), **extra)


def tag_safe(text):
    """Text as the start of a registry tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, 128
    at most): cut to 100 so that -<digest> always fits."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text).lstrip(".-")[:100] or "unknown"


# ---- what goes into each image --------------------------------------------

def kernel_release(path):
    """The release in a bzImage's setup header (kernel_version field)."""
    with open(path, "rb") as f:
        head = f.read(0x10000)
    at = 0x200 + struct.unpack_from("<H", head, 0x20E)[0]
    return head[at:at + 256].split(b"\0")[0].decode().split()[0]


def runc_version(stage):
    """`runc --version`'s upstream version, "unknown" if it cannot say."""
    try:
        out = subprocess.run([os.path.join(stage, "usr/bin/runc"), "--version"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    m = re.search(r"^runc version ([0-9][^+\s]*)", out, re.M)
    return m.group(1) if m else "unknown"


def gcs_commit(stage):
    """/info/gcs.commit, as `git describe --always --dirty` wrote it."""
    try:
        with open(os.path.join(stage, "info", "gcs.commit")) as f:
            return f.read().strip() or "unknown"
    except OSError:
        return "unknown"


def short_commit(commit):
    """A full hash cut to 12 digits, -dirty kept; anything else as it is."""
    if re.match(r"[0-9a-f]{40}", commit):
        return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    return commit


def read_list(path):
    with open(path) as f:
        return {line.strip() for line in f if line.strip()}


def parents(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def split_stage(entries, runc_files):
    """(modules, runc, init): the stage's entries by the image that carries
    them. Directories stay in init (the skeleton) except the modules tree;
    runc's and the modules' also get their parent directories, which the
    initrd must create before their files."""
    by_path = {e.path: e for e in entries}
    modules, runc, init = [], [], []
    for e in entries:
        if e.path == MODULES or e.path.startswith(MODULES + "/"):
            modules.append(e)
        elif e.path in runc_files:
            runc.append(e)
        else:
            init.append(e)
    missing = runc_files - {e.path for e in runc}
    if missing:
        sys.exit(f"linuxkit_images: {sorted(missing)} listed for runc but not in the stage")
    return (with_parents(modules, by_path), with_parents(runc, by_path), init)


def with_parents(entries, by_path):
    paths = {e.path for e in entries}
    for e in entries:
        paths.update(parents(e.path))
    # Component-wise order puts parents first, as archive.walk does.
    return [by_path[p] for p in sorted(paths, key=lambda p: p.split("/"))]


def regular(path, data):
    return archive.Entry(path, stat.S_IFREG | 0o644, data)


# ---- OCI image layout -------------------------------------------------------

def image_config(diff_id, epoch, labels):
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    return canonical({
        "architecture": ARCH,
        "os": "linux",
        "created": created,
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "mk/linuxkit_images.py"}],
    })


def oci_layout(repo, version, layer_tar, epoch, labels):
    """(reference, tarball bytes) of a one-layer image tagged
    <version>-<digest> and latest."""
    diff_id = digest(layer_tar)
    tag = f"{tag_safe(version)}-{diff_id[7:19]}"
    ref = f"{REGISTRY}/{repo}:{tag}"
    labels = dict(labels, **{"org.opencontainers.image.version": tag})
    layer = gzipped(layer_tar)
    config = image_config(diff_id, epoch, labels)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, config),
        "layers": [descriptor(LAYER_TYPE, layer)],
    })
    # ref.name is the tag (OCI image layout); io.containerd.image.name the
    # full reference, which is what LinuxKit's cache import records.
    index = canonical({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [
            descriptor(MANIFEST_TYPE, manifest,
                       platform={"architecture": ARCH, "os": "linux"},
                       annotations={"io.containerd.image.name": f"{REGISTRY}/{repo}:{t}",
                                    "org.opencontainers.image.ref.name": t})
            for t in (tag, ALIAS)],
    })
    blobs = {digest(b)[7:]: b for b in (layer, config, manifest)}
    return ref, layout_tar(index, blobs, epoch)


def layout_tar(index, blobs, epoch):
    """The image-layout directory as a tar: names without ./ (LinuxKit
    matches blobs/sha256/<hex> exactly)."""
    files = [("oci-layout", canonical({"imageLayoutVersion": "1.0.0"})), ("index.json", index)]
    files += [(f"blobs/sha256/{h}", blobs[h]) for h in sorted(blobs)]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            tar.addfile(tar_info(d, tarfile.DIRTYPE, 0o755, epoch))
        for name, data in files:
            ti = tar_info(name, tarfile.REGTYPE, 0o644, epoch)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def tar_info(name, kind, mode, epoch):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = kind, mode, epoch
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


# ---- the images -------------------------------------------------------------

def kernel_image(image_dir, modules):
    """/kernel, /kernel.config and /kernel.tar (the modules tree)."""
    files = []
    for name in ("kernel", "kernel.config"):
        with open(os.path.join(image_dir, name), "rb") as f:
            files.append(regular(name, f.read()))
    files.append(regular("kernel.tar", archive.tar_bytes(modules, 0)))
    release = kernel_release(os.path.join(image_dir, "kernel"))
    return oci_layout("kernel", release, archive.tar_bytes(files, 0), 0, {})


def build(image_dir):
    """{name: (reference, tarball bytes)} for the images the inputs allow.

    The kernel and runc images hold nothing of our commit: time 0 and no
    revision label keep their tags the same from one commit to the next
    while the kernel and Debian's runc stay the same. The init image takes
    the stage's one mtime (mkrootfs.sh touches every entry with
    SOURCE_DATE_EPOCH), so its files carry the initrd's times."""
    stage = os.path.join(image_dir, "rootfs")
    epoch = int(os.lstat(stage).st_mtime)
    runc_files = read_list(os.path.join(image_dir, "rootfs-runc.list"))
    modules, runc, init = split_stage(archive.walk(stage, []), runc_files)
    commit = gcs_commit(stage)
    images = {"kernel": kernel_image(image_dir, modules)}
    images["init"] = oci_layout("init", short_commit(commit), archive.tar_bytes(init, epoch),
                                epoch, {"org.opencontainers.image.revision": commit})
    if runc:
        images["runc"] = oci_layout("runc", runc_version(stage), archive.tar_bytes(runc, 0), 0, {})
    else:
        print("linuxkit_images: warning: no runc in the image: no runc image", file=sys.stderr)
    return images


# ---- main -------------------------------------------------------------------

def write(out_dir, images):
    os.makedirs(out_dir, exist_ok=True)
    for name in NAMES:
        path = os.path.join(out_dir, f"{name}.oci.tar")
        if name not in images:
            if os.path.exists(path):
                os.unlink(path)  # never leave an image of an older build
            continue
        ref, data = images[name]
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        print(f"  {os.path.basename(path):15} {len(data):10} bytes  {ref}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    image_dir, out_dir = sys.argv[1:]
    for need in ("kernel", "kernel.config", "rootfs", "rootfs-runc.list"):
        if not os.path.exists(os.path.join(image_dir, need)):
            sys.exit(f"linuxkit_images: {image_dir}/{need} missing: run `make image`")
    print(f"linuxkit images: {out_dir} (linuxkit cache import --cache DIR <file>)")
    write(out_dir, build(image_dir))


if __name__ == "__main__":
    main()
