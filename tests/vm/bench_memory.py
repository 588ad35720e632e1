#!/usr/bin/python3
"""bench_memory.py: the idle guest's used memory and where it goes, in the
two ways hcsshim boots the image, and its growth over container cycles
(make bench-memory; issue 17 item 2). Figures, not a test.

  used     MemTotal - MemAvailable from the guest's /proc/meminfo, read by a
           UVM process (busybox cat) right after the bridge is negotiated
  boots    initrd: out/vmlinux + out/initrd.img (the rootfs is the
           initramfs, in RAM); vpmem: out/vmlinux with root=/dev/pmem0 on a
           virtio-pmem device backed by a copy of out/rootfs.vhd (without
           its footer), hcsshim's `root=/dev/pmem0 ro rootwait init=/init`
  breakdown
           what is allocated and cannot be reclaimed (tmpfs files, process
           memory, unreclaimable slab, kernel stacks, page tables, per-cpu
           areas, vmalloc), what MemAvailable holds back by its formula (the
           zones' watermark reserve, and part of the page cache and
           reclaimable slab), the kernel's "Memory:" boot line, the biggest
           files in RAM and the processes' RSS
  cycles   --cycles N busybox containers (CombinedLayers, Create, Start,
           ExecuteProcess of `true`, WaitForProcess, the exit notification,
           CombinedLayers Remove, DeleteContainerState) in the initrd boot,
           their layer a read-only SCSI disk attached once and their bundle
           on /run's tmpfs; used memory before and after (after a warm-up),
           raw and after `echo 3 > drop_caches`, with the meminfo and slab
           caches that moved
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lcow_ops  # noqa: E402
from lcow_vm import KERNEL_OPTIONS, MEM, LcowVM, busybox_layer, cmdline  # noqa: E402
from uvm_process import UvmHost, read_all  # noqa: E402

KiB = 1024
LAYER_LUN = 1
VPMEM_OPTIONS = "root=/dev/pmem0 ro rootwait init=/init " + KERNEL_OPTIONS

# Everything but meminfo, in one process (meminfo is read first, alone, so
# that this shell is not in it).
DETAILS = r"""
echo @@zoneinfo; cat /proc/zoneinfo
echo @@status; grep -H -E '^(Name|VmRSS|RssAnon|RssFile|RssShmem):' /proc/[0-9]*/status 2>/dev/null
echo @@slabinfo; cat /proc/slabinfo 2>/dev/null
echo @@dmesg; dmesg | grep -E 'Memory:|hash table entries|percpu:|Freeing|log_buf|Trying to unpack'
echo @@vmallocinfo; cat /proc/vmallocinfo 2>/dev/null
echo @@mounts; cat /proc/mounts
echo @@df; df -k
echo @@counts
echo "cgroups $(find /sys/fs/cgroup -type d | wc -l)"
sed 's/^/cgroup_/' /sys/fs/cgroup/cgroup.stat 2>/dev/null
echo "mounts $(wc -l < /proc/mounts)"
echo "run_kib $(du -s -k /run | cut -f1)"
echo "tasks $(ls -d /proc/[0-9]* | wc -l)"
echo "gcs_fds $(ls /proc/$(pidof gcs)/fd | wc -l)"
grep -E '^(VmRSS|VmData|RssAnon)' /proc/$(pidof gcs)/status | tr -d ':' | sed 's/^/gcs_/; s/ kB//'
echo @@du; du -x -k -a / 2>/dev/null
"""


def sh(host, script, timeout=120):
    code, out, err = host.sh(script, timeout=timeout)
    if code != 0:
        raise SystemExit(f"bench-memory: `{script.strip()[:60]}` exited {code}: {err[-500:]}")
    return out


def meminfo(host):
    """/proc/meminfo in KiB, read by one busybox cat."""
    proc = host.execute(["/bin/cat", "/proc/meminfo"], stdout=True)
    text = read_all(proc.stdout).decode()
    proc.close()
    proc.wait()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(\S+):\s+(\d+)", text, re.M)}


def used(mi):
    return mi["MemTotal"] - mi["MemAvailable"]


def sections(text):
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("@@"):
            name = line[2:]
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def reserve_kib(zoneinfo):
    """The kernel's totalreserve_pages (highest lowmem_reserve + high
    watermark per zone) and the sum of the low watermarks, in KiB: what
    si_mem_available() takes off MemAvailable whatever is in use."""
    reserve = low = 0
    zone = None
    for line in zoneinfo:
        w = line.split()
        if line.startswith("Node"):
            zone = {"managed": 0}
        elif zone is None or not w:
            continue
        elif w[0] in ("low", "high", "managed") and len(w) == 2:
            zone[w[0]] = int(w[1])
        elif w[0] == "protection:":
            prot = [int(x) for x in re.findall(r"\d+", line)]
            if zone.get("managed"):
                reserve += min(max(prot) + zone["high"], zone["managed"])
                low += zone["low"]
    return reserve * 4, low * 4


def pcp_kib(zoneinfo):
    """Free pages parked on the per-cpu lists: not in MemFree, so they count
    as used; up to a few MiB, and different at every reading."""
    return sum(int(m.group(1)) for m in (re.match(r"\s+count:\s+(\d+)", l) for l in zoneinfo)
               if m) * 4


def slabs(lines):
    """{cache: KiB in use} from /proc/slabinfo (slabs x pages per slab)."""
    out = {}
    for line in lines:
        w = line.split()
        if len(w) > 14 and w[0] not in ("#", "slabinfo") and not line.startswith("#"):
            pages_per_slab = int(w[5])
            num_slabs = int(w[14])
            out[w[0]] = num_slabs * pages_per_slab * 4
    return out


def processes(lines):
    procs = {}
    for line in lines:
        m = re.match(r"/proc/(\d+)/status:(\w+):\s+(.*)", line)
        if m:
            procs.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    out = []
    for pid, p in sorted(procs.items()):
        if "VmRSS" in p:
            kib = lambda k: int(p.get(k, "0 kB").split()[0])  # noqa: E731
            out.append((pid, p["Name"], kib("VmRSS"), kib("RssAnon"), kib("RssFile"),
                        kib("RssShmem")))
    return out


def breakdown(mi, details):
    """[(item, KiB)] that add up to MemTotal - MemAvailable."""
    s = sections(details)
    reserve, low = reserve_kib(s.get("zoneinfo", []))
    file_pages = mi["Active(file)"] + mi["Inactive(file)"]
    reclaimable = mi.get("KReclaimable", mi["SReclaimable"])
    held = min(file_pages // 2, low) + min(reclaimable // 2, low)
    allocated = mi["MemTotal"] - mi["MemFree"] - file_pages - reclaimable
    items = [("tmpfs/initramfs files (Shmem)", mi["Shmem"]),
             ("process anonymous memory (AnonPages)", mi["AnonPages"]),
             ("slab, unreclaimable (SUnreclaim)", mi["SUnreclaim"]),
             ("kernel stacks (KernelStack)", mi["KernelStack"]),
             ("page tables (PageTables)", mi["PageTables"]),
             ("per-cpu areas (Percpu)", mi["Percpu"]),
             ("vmalloc (VmallocUsed)", mi["VmallocUsed"])]
    items.append(("free pages on per-cpu lists (pcp)", pcp_kib(s.get("zoneinfo", []))))
    named = sum(k for _, k in items)
    items.append(("other kernel allocations (rest)", allocated - named))
    items.append(("watermark reserve (MemAvailable formula)", reserve))
    items.append(("page cache + reclaimable slab held back", held))
    items.append(("(check: MemFree off the formula)",
                  used(mi) - allocated - reserve - held))
    return items


def mib(kib):
    return f"{kib / KiB:6.2f}"


def report(kind, mi, details, top=12):
    s = sections(details)
    print(f"bench-memory: {kind} boot: used {mib(used(mi))} MiB "
          f"(MemTotal {mib(mi['MemTotal'])}, MemFree {mib(mi['MemFree'])}, "
          f"MemAvailable {mib(mi['MemAvailable'])} MiB)")
    for name, kib in breakdown(mi, details):
        print(f"  {name:44s} {mib(kib)} MiB")
    keys = ("Buffers", "Cached", "Shmem", "Slab", "SReclaimable", "SUnreclaim", "KernelStack",
            "PageTables", "Percpu", "AnonPages", "Mapped", "VmallocUsed")
    print("  meminfo: " + ", ".join(f"{k} {mi.get(k, 0)}" for k in keys) + " (KiB)")
    for line in s.get("dmesg", []):
        if "Memory:" in line or "hash table" in line or "percpu:" in line:
            print("  dmesg: " + re.sub(r"^\[[^]]*\]\s*", "", line))
    print("  processes (RSS anon/file/shmem KiB):")
    for pid, name, rss, anon, fil, shm in processes(s.get("status", [])):
        print(f"    {pid:5d} {name:12s} {rss:6d}  {anon}/{fil}/{shm}")
    sl = sorted(slabs(s.get("slabinfo", [])).items(), key=lambda kv: -kv[1])
    if sl:
        print("  largest slab caches (KiB): " +
              ", ".join(f"{n} {k}" for n, k in sl[:top]))
    vm = {}
    for line in s.get("vmallocinfo", []):
        m = re.search(r" pages=(\d+) ", line)
        w = line.split()
        if m and len(w) > 2:
            vm[w[2].split("+")[0]] = vm.get(w[2].split("+")[0], 0) + int(m.group(1)) * 4
    if vm:
        print("  largest vmalloc users (KiB): " + ", ".join(
            f"{n} {k}" for n, k in sorted(vm.items(), key=lambda kv: -kv[1])[:top]))
    mounts = [line.split() for line in s.get("mounts", [])]
    root = next((m for m in mounts if m[1] == "/"), None)
    ram_fs = [l for l in s.get("df", [])[1:] if l.split()[0] in ("rootfs", "tmpfs", "none")]
    print("  df (tmpfs): " + "; ".join(" ".join(l.split()[i] for i in (5, 2)) + " KiB"
                                       for l in ram_fs if len(l.split()) >= 6))
    if root is not None and root[2] in ("rootfs", "tmpfs", "ramfs"):
        files = []
        for line in s.get("du", []):
            w = line.split(None, 1)
            if len(w) == 2 and w[0].isdigit():
                files.append((int(w[0]), w[1]))
        leaves = [(k, p) for k, p in files if not any(q.startswith(p + "/") for _, q in files)]
        print("  rootfs in RAM, largest files (KiB): " + ", ".join(
            f"{p} {k}" for k, p in sorted(leaves, key=lambda x: -x[0])[:top]))


def snapshot(host, drop=False):
    if drop:
        sh(host, "sync; echo 3 > /proc/sys/vm/drop_caches")
    mi = meminfo(host)
    return mi, sh(host, DETAILS)


class Boot:
    def __init__(self, out, backend, kind, work, layer=None, mem=MEM):
        self.kind = kind
        kernel = os.path.join(out, "vmlinux")
        disks = [(LAYER_LUN, layer, True)] if layer else ()
        if kind == "initrd":
            self.vm = LcowVM(kernel, os.path.join(out, "initrd.img"), backend, disks=disks,
                             mem=mem)
        else:
            # virtio-pmem maps whole 2 MiB blocks: the ext4 without the
            # 512-byte VHD footer (22 MiB today).
            pmem = os.path.join(work, "rootfs.pmem")
            shutil.copyfile(os.path.join(out, "rootfs.vhd"), pmem)
            size = os.path.getsize(pmem) - 512
            os.truncate(pmem, size - size % (2 << 20) + (2 << 20 if size % (2 << 20) else 0))
            self.vm = LcowVM(kernel, None, backend, disks=disks, pmem=pmem, mem=mem,
                             append=cmdline(options=VPMEM_OPTIONS))
        self.host = UvmHost(self.vm)

    def __enter__(self):
        self.vm.start()
        self.host.bridge = self.vm.accept_bridge(180)
        self.host.bridge.negotiate()
        return self

    def __exit__(self, *exc):
        self.vm.close()


def cycle(host, n):
    cid = f"mem{n}"
    c = lcow_ops.Container(host, cid, LAYER_LUN, None)
    c.layer_path = "/run/mounts/scsi/bench"
    c.scratch_dir = f"{c.bundle}/scratch"
    checks = [("CombinedLayers", c.combine_layers()),
              ("Create", c.create(["/bin/true"])), ("Start", c.start())]
    for what, reply in checks:
        if reply.result != 0:
            raise SystemExit(f"bench-memory: cycle {n}: {what}: {reply.json}")
    reply, proc = c.execute_init(stdout=False, stderr=False)
    if reply.result != 0:
        raise SystemExit(f"bench-memory: cycle {n}: ExecuteProcess: {reply.json}")
    wait = host.bridge.wait_reply(c.send_wait(proc.pid), timeout=120)
    if wait.result != 0 or wait.json.get("ExitCode") != 0:
        raise SystemExit(f"bench-memory: cycle {n}: wait: {wait.json}")
    host.bridge.wait_notification(timeout=60)
    for what, step in (("CombinedLayers Remove", c.remove_layers),
                       ("DeleteContainerState", c.delete_state)):
        reply = step()
        if reply.result != 0:
            raise SystemExit(f"bench-memory: cycle {n}: {what}: {reply.json}")


def diff(before, after, top=10):
    keys = sorted(set(before) | set(after), key=lambda k: -abs(after.get(k, 0) -
                                                             before.get(k, 0)))
    return ", ".join(f"{k} {after.get(k, 0) - before.get(k, 0):+d}" for k in keys[:top]
                     if after.get(k, 0) != before.get(k, 0))


def cycles(boot, count, warmup):
    host = boot.host
    reply = lcow_ops.modify(host, "MappedVirtualDisk", {
        "MountPath": "/run/mounts/scsi/bench", "Lun": LAYER_LUN, "ReadOnly": True,
        "Options": ["ro"]})
    if reply.result != 0:
        raise SystemExit(f"bench-memory: layer: {reply.json}")
    for n in range(warmup):
        cycle(host, n)
    base = meminfo(host)
    base_drop, base_details = snapshot(host, drop=True)
    t0 = time.monotonic()
    marks = []
    for n in range(count):
        cycle(host, warmup + n)
        if (n + 1) % 25 == 0 and n + 1 < count:
            mi, d = snapshot(host, drop=True)
            marks.append((n + 1, used(mi) - pcp_kib(sections(d).get("zoneinfo", [])),
                          mi["SUnreclaim"], mi["Percpu"]))
    seconds = time.monotonic() - t0
    after = meminfo(host)
    after_drop, after_details = snapshot(host, drop=True)
    grow = used(after) - used(base)
    pcp = [pcp_kib(sections(d).get("zoneinfo", [])) for d in (base_details, after_details)]
    grow_drop = used(after_drop) - pcp[1] - (used(base_drop) - pcp[0])
    print(f"bench-memory: {count} container cycles after {warmup} warm-up "
          f"({seconds / count:.2f} s each, {boot.kind} boot):")
    print(f"  used {mib(used(base))} -> {mib(used(after))} MiB: {grow:+d} KiB, "
          f"{grow * KiB / count:+.0f} B per cycle")
    print(f"  after drop_caches, without the per-cpu free lists "
          f"{mib(used(base_drop) - pcp[0])} -> {mib(used(after_drop) - pcp[1])} MiB: "
          f"{grow_drop:+d} KiB, {grow_drop * KiB / count:+.0f} B per cycle")
    if marks:
        print("  along the way (cycle: used as above, SUnreclaim, Percpu, KiB): " + ", ".join(
            f"{n}: {u} {su} {pc}" for n, u, su, pc in marks))
    print("  meminfo moved (KiB, after drop_caches): " + diff(
        *({k: v for k, v in m.items() if not k.startswith("DirectMap")}
          for m in (base_drop, after_drop)), 16))
    cb, ca = ({w[0]: int(w[1]) for w in map(str.split, sections(d).get("counts", []))
               if len(w) == 2 and w[1].isdigit()} for d in (base_details, after_details))
    print("  counts moved: " + (diff(cb, ca) or "none") + " (" +
          ", ".join(f"{k} {v}" for k, v in sorted(ca.items())) + ")")
    sb, sa = (slabs(sections(d).get("slabinfo", [])) for d in (base_details, after_details))
    print("  slab caches moved (KiB): " + diff(sb, sa))
    pb, pa = ({name: rss for _, name, rss, *_ in processes(sections(d).get("status", []))}
              for d in (base_details, after_details))
    print("  process RSS moved (KiB): " + (diff(pb, pa) or "none"))
    return grow, grow_drop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--boots", default="initrd,vpmem")
    ap.add_argument("--mem", default=MEM, help="guest RAM (QEMU -m; hcsshim's default: 1024M)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="lcow-benchmem-")
    try:
        layer = busybox_layer(os.path.join(work, "layer.img")) if a.cycles else None
        for kind in a.boots.split(","):
            with Boot(a.out, a.backend, kind, work, layer if kind == "initrd" else None,
                      a.mem) as b:
                time.sleep(1)  # the gcs's start-up work (time sync, cgroups) settles
                mi, details = snapshot(b.host)
                report(f"{kind} ({a.mem})", mi, details)
                if kind == "initrd" and a.cycles:
                    cycles(b, a.cycles, a.warmup)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
