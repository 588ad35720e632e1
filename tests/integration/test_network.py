"""Networking (spec §3.10.6, §3.2 step 6, §6.1, §6.8) through the real gcs
and runc: a veth pair stands for the NIC HCS hot-plugs; a fake sysfs
(LCOW_SYSFS_ROOT) says which interface belongs to which NIC id. The gcs
moves the container end into the container's network namespace and
configures it; the host end stays here, so the container can be pinged.

Everything made here is removed in `finally`: the veth pair (the container
end disappears with the container's namespace, the host end with it or by
`ip link del`), the fake sysfs, the containers (ContainerEnv.close())."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import OUT, require_root
from container_host import HR, Msg, NULL_GUID, ContainerEnv, cgroup_dirs, exec_process
from uvm_process import read_until

GCS = os.path.join(OUT, "gcs")
NS = "D3A3C4F6-1111-4222-8333-A00000000001"
NIC = "6F1C2E1A-2222-4333-8444-B00000000002"
SUBNET = "10.213.47"


def need_runtime():
    require_root()
    if not os.access("/bin/busybox", os.X_OK):
        pytest.skip("needs /bin/busybox (busybox-static)")
    if not shutil.which("runc"):
        pytest.skip("needs runc")
    if not shutil.which("ip"):
        pytest.skip("needs ip (iproute2) to make veth pairs")
    if not os.path.isdir("/sys/fs/cgroup/memory") and \
            not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("needs a cgroup memory controller")


def sh(script):
    return ["/bin/sh", "-c", script]


def run(*args, check=True):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=check)


class Veth:
    """A veth pair: `inner` is the NIC handed to the gcs, `outer` stays in
    this namespace with SUBNET.1/24."""

    def __init__(self, tag, subnet=SUBNET):
        base = f"lcn{os.getpid() % 100000}{tag}"
        self.inner, self.outer = base + "c", base + "h"
        run("ip", "link", "add", self.inner, "type", "veth", "peer", "name", self.outer)
        run("ip", "addr", "add", f"{subnet}.1/24", "dev", self.outer)
        run("ip", "link", "set", self.outer, "up")

    def exists(self, name):
        return os.path.exists(f"/sys/class/net/{name}")

    def close(self):
        for name in (self.outer, self.inner):
            if self.exists(name):
                run("ip", "link", "del", name, check=False)


@pytest.fixture
def net():
    need_runtime()
    if run("ip", "link", "add", "lcnprobe0", "type", "veth", "peer", "name", "lcnprobe1",
           check=False).returncode != 0:
        pytest.skip("cannot create veth pairs")
    run("ip", "link", "del", "lcnprobe0", check=False)
    sysfs = tempfile.mkdtemp(prefix="lcow-sysfs-")
    env = ContainerEnv(GCS, extra_env={"LCOW_SYSFS_ROOT": sysfs})
    pairs = []
    try:
        host = env.start()
        yield host, sysfs, pairs
        assert not env.gcs.log.bad, "non-JSON log lines:\n" + "".join(env.gcs.log.bad[:5])
    finally:
        leftovers = env.close()
        for p in pairs:
            p.close()
        shutil.rmtree(sysfs, ignore_errors=True)
    assert leftovers == [], f"left behind: {leftovers}"
    assert cgroup_dirs(env.cgroup_prefix) == []
    assert not any(p.exists(p.inner) or p.exists(p.outer) for p in pairs)


def plug(sysfs, nic, ifname):
    """What the kernel shows once HCS has hot-plugged the NIC."""
    os.makedirs(os.path.join(sysfs, "bus/vmbus/devices", nic.lower(), "net", ifname))


def modify(host, request_type, settings, timeout=30):
    return host.request(Msg.MODIFY_SETTINGS, NULL_GUID, timeout=timeout,
                        Request={"ResourceType": "Network", "RequestType": request_type,
                                 "Settings": settings})


def head_adapter(ns=NS, nic=NIC):
    return {"NamespaceID": ns, "ID": nic, "MacAddress": "00-15-5D-12-34-56",
            "DNSSuffix": "svc.cluster.local,cluster.local",
            "DNSServerList": f"{SUBNET}.10,{SUBNET}.11", "EncapOverhead": 50,
            "IPConfigs": [{"IPAddress": f"{SUBNET}.2", "PrefixLength": 24}],
            "Routes": [{"NextHop": f"{SUBNET}.1", "DestinationPrefix": "0.0.0.0/0"},
                       {"NextHop": "0.0.0.0", "DestinationPrefix": "0.0.0.0/0"}]}


def v011_adapter(ns, nic):
    return {"NamespaceID": ns, "ID": nic, "IPAddress": f"{SUBNET}.3", "PrefixLength": 24,
            "GatewayAddress": f"{SUBNET}.1", "DNSServerList": f"{SUBNET}.12",
            "EncapOverhead": 100}


def netns_container(host, cid, ns, script, **kw):
    c = host.container(cid, sh(script), **kw)
    c.spec["windows"] = {"network": {"networkNamespace": ns}}
    for applet in ("ip", "ping", "route", "grep"):
        os.symlink("busybox", os.path.join(c.rootfs, "bin", applet))
    return c


def ping(addr):
    return run("busybox", "ping", "-c", "1", "-W", "3", addr, check=False)


def stop(host, c, p):
    assert c.shutdown(forced=True).result == 0
    assert p.wait_code() == 137
    host.notification()
    p.close()
    assert c.delete().result == 0


def test_nic_added_before_create_is_moved_and_configured(net):
    host, sysfs, pairs = net
    v = Veth("a")
    pairs.append(v)
    plug(sysfs, NIC, v.inner)
    r = modify(host, "Add", head_adapter())
    assert r.result == 0, r.json
    assert v.exists(v.inner)  # recorded, not moved: no container owns the namespace
    c = netns_container(host, "net1", NS.lower(), (
        f"cat /sys/class/net/{v.inner}/mtu; ip addr show {v.inner}; ip route; "
        "cat /etc/resolv.conf; echo ready; exec sleep 300"))
    assert c.create().result == 0
    assert not v.exists(v.inner)  # in the container's namespace now
    p = c.start(stdout=True)
    out = read_until(p.stdout, b"ready\n").decode()
    lines = out.splitlines()
    assert lines[0] == "1450", out
    assert f"inet {SUBNET}.2/24" in out
    assert "state UP" in out or ",UP" in out, out
    assert f"default via {SUBNET}.1 dev {v.inner}" in out
    assert "search svc.cluster.local cluster.local\n" in out
    assert f"nameserver {SUBNET}.10\nnameserver {SUBNET}.11\n" in out
    r = ping(f"{SUBNET}.2")
    assert r.returncode == 0, r.stdout
    stop(host, c, p)
    # The namespace died with the container, and the pair with it.
    deadline = time.monotonic() + 5
    while v.exists(v.outer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not v.exists(v.outer)
    assert modify(host, "Remove", {"NamespaceID": NS, "ID": NIC}).result == 0


def test_nic_added_after_create_moves_at_once_v011_shape(net):
    host, sysfs, pairs = net
    ns, nic = NS.replace("A00", "A01"), NIC.replace("B00", "B01")
    v = Veth("b")
    pairs.append(v)
    plug(sysfs, nic, v.inner)
    c = netns_container(host, "net2", ns, "echo ready; exec sleep 300")
    assert c.create().result == 0
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    assert v.exists(v.inner)
    r = modify(host, "Add", v011_adapter(ns.lower(), nic))
    assert r.result == 0, r.json
    assert not v.exists(v.inner)
    e = c.exec(exec_process(sh(f"cat /sys/class/net/{v.inner}/mtu; ip addr show {v.inner}; "
                               "ip route")), stdout=True)
    out = e.read_stdout().decode()
    assert e.wait_code() == 0
    e.close()
    assert out.splitlines()[0] == "1400", out
    assert f"inet {SUBNET}.3/24" in out
    assert f"default via {SUBNET}.1 dev {v.inner}" in out and "metric 1" in out, out
    assert ping(f"{SUBNET}.3").returncode == 0
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_duplicate_add_fails_and_remove_is_tolerant(net):
    host, sysfs, _ = net
    nic = NIC.replace("B00", "B02")
    plug(sysfs, nic, "eth9")
    assert modify(host, "Add", head_adapter(nic=nic)).result == 0
    stacks = host.request(Msg.DUMP_STACKS, NULL_GUID).json["GuestStacks"]
    assert f"NIC {nic.lower()} ifname=eth9" in stacks, stacks
    r = modify(host, "Add", head_adapter(nic=nic.lower()))
    assert r.result != 0 and nic.lower() in r.json["ErrorMessage"], r.json
    assert modify(host, "Remove", {"NamespaceID": NS, "ID": nic}).result == 0
    assert modify(host, "Remove", {"NamespaceID": NS, "ID": nic}).result == 0
    assert modify(host, "Remove", {"NamespaceID": "0000-1111", "ID": nic}).result == 0
    assert modify(host, "Add", head_adapter(nic=nic)).result == 0
    assert modify(host, "Remove", {"NamespaceID": NS, "ID": nic}).result == 0
    stacks = host.request(Msg.DUMP_STACKS, NULL_GUID).json["GuestStacks"]
    assert "network namespaces: 0" in stacks, stacks


def test_nic_that_never_appears_times_out_naming_it(net):
    host, _, _ = net
    nic = NIC.replace("B00", "B03")
    t0 = time.monotonic()
    r = modify(host, "Add", head_adapter(nic=nic))
    took = time.monotonic() - t0
    assert r.result != 0
    assert nic.lower() in r.json["ErrorMessage"] and "within" in r.json["ErrorMessage"], r.json
    assert 4.5 < took < 15, took


def test_cri_sandbox_needs_a_namespace_unless_told_to_skip(net):
    host, _, _ = net
    ann = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "sb9"}
    sb = host.container("sb9", ["/bin/true"], annotations=ann)
    r = sb.create()
    assert r.result == HR.INVALID_ARG, r.json
    assert "networkNamespace" in r.json["ErrorMessage"]
    assert "sb9" not in host.env.runc_containers()


def test_gateway_outside_the_subnet_is_reached_on_the_link(net):
    host, sysfs, pairs = net
    ns, nic = NS.replace("A00", "A04"), NIC.replace("B00", "B04")
    v = Veth("d")
    pairs.append(v)
    plug(sysfs, nic, v.inner)
    adapter = v011_adapter(ns, nic)
    adapter.update(IPAddress=f"{SUBNET}.4", PrefixLength=32)  # the gateway is off-subnet
    assert modify(host, "Add", adapter).result == 0
    c = netns_container(host, "net4", ns, "ip route; echo ready; exec sleep 300")
    r = c.create()
    assert r.result == 0, r.json
    p = c.start(stdout=True)
    out = read_until(p.stdout, b"ready\n").decode()
    assert f"default via {SUBNET}.1 dev {v.inner}" in out, out
    assert f"{SUBNET}.1 dev {v.inner}" in out.replace(f"default via {SUBNET}.1", ""), out
    assert ping(f"{SUBNET}.4").returncode == 0
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_move_of_an_interface_that_is_not_there_fails_clearly(net):
    host, sysfs, _ = net
    ns, nic = NS.replace("A00", "A05"), NIC.replace("B00", "B05")
    plug(sysfs, nic, "lcnnosuch0")
    c = netns_container(host, "net5", ns, "echo ready; exec sleep 300")
    assert c.create().result == 0
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    r = modify(host, "Add", head_adapter(ns=ns, nic=nic))
    assert r.result != 0
    msg = r.json["ErrorMessage"]
    assert nic.lower() in msg and "lcnnosuch0" in msg, msg
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_a_create_failing_after_runc_frees_its_id_before_the_reply(net):
    # runc made the container, then moving its NIC failed: by the time the
    # host reads the error, runc has no such container, so a retry with the
    # same id fails for the same reason, not "already exists"; once the NIC
    # exists the retry works.
    host, sysfs, pairs = net
    ns, nic = NS.replace("A00", "A06"), NIC.replace("B00", "B06")
    v = Veth("f")
    pairs.append(v)
    plug(sysfs, nic, v.inner + "x")
    assert modify(host, "Add", head_adapter(ns=ns, nic=nic)).result == 0
    c = netns_container(host, "net6", ns, "echo ready; exec sleep 300")
    for _ in range(2):
        r = c.create()
        assert r.result == HR.E_FAIL, r.json
        assert v.inner + "x" in r.error and "already exists" not in r.error, r.error
        assert "net6" not in host.env.runc_containers()
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0
    os.rmdir(os.path.join(sysfs, "bus/vmbus/devices", nic.lower(), "net", v.inner + "x"))
    plug(sysfs, nic, v.inner)
    assert modify(host, "Add", head_adapter(ns=ns, nic=nic)).result == 0
    assert c.create().result == 0
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_a_namespace_claimed_twice_fails_the_second_create_cleanly(net):
    # The claim fails on the loop thread, after runc create: the container
    # runc made is deleted before the error goes out.
    host, _, _ = net
    ns = NS.replace("A00", "A08")
    a = netns_container(host, "neta", ns, "echo ready; exec sleep 300")
    assert a.create().result == 0
    b = netns_container(host, "netb", ns, "true")
    r = b.create()
    assert r.result == HR.INVALID_STATE and "already used by container neta" in r.error, r.json
    assert "netb" not in host.env.runc_containers()
    p = a.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    stop(host, a, p)
    r = b.create()
    assert r.result == 0, r.json
    assert b.delete().result == 0


# -- DHCP for a NIC sent without addresses ------------------------------------------------

UDHCPC_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "rootfs", "skel", "sbin", "udhcpc_config.script")


class DhcpServer:
    """busybox udhcpd on the outer end of a veth pair, in a network
    namespace of its own (so it can serve nothing but that link)."""

    def __init__(self, veth, tmp):
        self.ns = f"lcowdhcp{os.getpid() % 100000}"
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "set", veth.outer, "netns", self.ns)
        self.ip = ["ip", "netns", "exec", self.ns]
        run(*self.ip, "ip", "addr", "add", f"{SUBNET}.1/24", "dev", veth.outer)
        run(*self.ip, "ip", "link", "set", veth.outer, "up")
        conf = os.path.join(tmp, "udhcpd.conf")
        with open(conf, "w") as f:
            f.write(f"start {SUBNET}.100\nend {SUBNET}.110\ninterface {veth.outer}\n"
                    f"lease_file {tmp}/leases\npidfile {tmp}/udhcpd.pid\n"
                    f"option subnet 255.255.255.0\noption router {SUBNET}.1\n"
                    "option lease 600\n")
        open(os.path.join(tmp, "leases"), "w").close()
        self.proc = subprocess.Popen(self.ip + ["busybox", "udhcpd", "-f", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self):
        self.proc.kill()
        self.proc.wait()
        run("ip", "netns", "del", self.ns, check=False)


@pytest.fixture
def dhcp_net():
    """The net fixture's gcs, with udhcpc (busybox) on its PATH and the
    image's udhcpc script, and a short DHCP bound for the timeout case."""
    need_runtime()
    if run("ip", "netns", "add", "lcowdhcpprobe", check=False).returncode != 0:
        pytest.skip("cannot create network namespaces")
    run("ip", "netns", "del", "lcowdhcpprobe", check=False)
    tmp = tempfile.mkdtemp(prefix="lcow-dhcp-")
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    os.symlink("/bin/busybox", os.path.join(bindir, "udhcpc"))
    sysfs = os.path.join(tmp, "sys")
    env = ContainerEnv(GCS, extra_env={
        "LCOW_SYSFS_ROOT": sysfs, "LCOW_UDHCPC_SCRIPT": UDHCPC_SCRIPT,
        "LCOW_DHCP_TIMEOUT_MS": "3000",
        "PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin")})
    pairs, servers = [], []
    try:
        host = env.start()
        yield host, sysfs, pairs, servers, tmp
        assert not env.gcs.log.bad, "non-JSON log lines:\n" + "".join(env.gcs.log.bad[:5])
    finally:
        leftovers = env.close()
        for srv in servers:
            srv.close()
        for p in pairs:
            p.close()
        shutil.rmtree(tmp, ignore_errors=True)
    assert leftovers == [], f"left behind: {leftovers}"
    assert run("pgrep", "-f", "udhcpc -q -i lcn", check=False).returncode != 0


def dhcp_adapter(ns, nic):
    # Neither IPConfigs (HEAD) nor IPAddress (v0.11): the reference runs udhcpc.
    return {"NamespaceID": ns, "ID": nic, "MacAddress": "00-15-5D-12-34-57"}


def test_a_nic_without_addresses_gets_a_dhcp_lease(dhcp_net):
    host, sysfs, pairs, servers, tmp = dhcp_net
    ns, nic = NS.replace("A00", "A09"), NIC.replace("B00", "B09")
    v = Veth("g")
    pairs.append(v)
    servers.append(DhcpServer(v, tmp))
    plug(sysfs, nic, v.inner)
    assert modify(host, "Add", dhcp_adapter(ns, nic)).result == 0
    c = netns_container(host, "net9", ns, f"ip addr show {v.inner}; ip route; "
                        "echo ready; exec sleep 300")
    r = c.create(timeout=60)
    assert r.result == 0, r.json
    p = c.start(stdout=True)
    out = read_until(p.stdout, b"ready\n").decode()
    assert re.search(rf"inet {SUBNET}\.1(0[0-9]|10)/24", out), out
    assert f"default via {SUBNET}.1 dev {v.inner}" in out, out
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_no_dhcp_server_fails_the_create_within_the_bound(dhcp_net):
    host, sysfs, pairs, _, _ = dhcp_net
    ns, nic = NS.replace("A00", "A0A"), NIC.replace("B00", "B0A")
    v = Veth("h")
    pairs.append(v)
    plug(sysfs, nic, v.inner)
    assert modify(host, "Add", dhcp_adapter(ns, nic)).result == 0
    c = netns_container(host, "net10", ns, "true")
    t0 = time.monotonic()
    r = c.create(timeout=60)
    took = time.monotonic() - t0
    assert r.result == HR.E_FAIL, r.json
    assert f"DHCP on {v.inner}: no lease within 3 s" in r.error, r.error
    assert 2.5 < took < 20, took
    assert "net10" not in host.env.runc_containers()
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


# -- policy-based routing (internal/guest/network/netns.go, hcsv2/network.go) --------------

SUBNET2 = "10.213.49"


def init_pid(host, cid):
    r = run("runc", "--root", host.env.runc_root, "state", cid)
    return json.loads(r.stdout)["pid"]


def ip_json(pid, *args):
    """`ip -j ARGS` in the network namespace of pid, parsed."""
    r = run("nsenter", "-t", str(pid), "-n", "ip", "-j", *args, check=False)
    if r.returncode != 0 and "table does not exist" in r.stdout:
        return []  # nothing was ever put in it
    assert r.returncode == 0, r.stdout
    return json.loads(r.stdout or "[]")


def routes(pid, *args):
    """The routes, each reduced to what the guest sets: destination,
    gateway, device, metric (None: none), and protocol when it is the
    kernel's (its subnet routes)."""
    keep = ("dst", "gateway", "dev", "metric", "protocol")
    return sorted((tuple(r.get(k) for k in keep) for r in ip_json(pid, "route", "show", *args)),
                  key=str)


def pbr_rules(pid, family="-4"):
    """The rules at the reference's priority 5, as (src, table)."""
    return sorted((r.get("src"), r.get("srclen"), r.get("table"))
                  for r in ip_json(pid, family, "rule") if r.get("priority") == 5)


def head_pbr_adapter(ns, nic, subnet, extra_routes=(), ipv6=None):
    a = {"NamespaceID": ns, "ID": nic, "MacAddress": "00-15-5D-12-34-58",
         "IPConfigs": [{"IPAddress": f"{subnet}.2", "PrefixLength": 24}],
         "Routes": [{"NextHop": f"{subnet}.1", "DestinationPrefix": "0.0.0.0/0"}] +
         list(extra_routes), "PolicyBasedRouting": True}
    if ipv6:
        a["IPConfigs"].append({"IPAddress": ipv6, "PrefixLength": 64})
    return a


def have_ipv6():
    try:
        with open("/proc/sys/net/ipv6/conf/default/disable_ipv6") as f:
            return f.read().strip() == "0"
    except FileNotFoundError:
        return False


def test_second_nic_with_policy_based_routing_gets_table_101_and_rules(net):
    # A v0.14 / main host with the policybasedrouting annotation: every
    # adapter carries PolicyBasedRouting; the namespace's first keeps the
    # main table, the second gets metric 500 in table 101 and a
    # `from <ip> lookup 101` rule per address.
    host, sysfs, pairs = net
    ns = NS.replace("A00", "A10")
    nic1, nic2 = NIC.replace("B00", "B10"), NIC.replace("B00", "B11")
    a, b = Veth("p", SUBNET), Veth("q", SUBNET2)
    pairs += [a, b]
    plug(sysfs, nic1, a.inner)
    plug(sysfs, nic2, b.inner)
    v6 = "fd42:213:49::2" if have_ipv6() else None
    assert modify(host, "Add", head_pbr_adapter(ns, nic1, SUBNET)).result == 0
    r = modify(host, "Add", head_pbr_adapter(
        ns, nic2, SUBNET2, ipv6=v6,
        extra_routes=[{"NextHop": f"{SUBNET2}.1", "DestinationPrefix": "10.99.0.0/16",
                       "Metric": 7}]))
    assert r.result == 0, r.json
    stacks = host.request(Msg.DUMP_STACKS, NULL_GUID).json["GuestStacks"]
    assert f"NIC {nic2.lower()} ifname={b.inner} ips={2 if v6 else 1} routes=2 " \
        "policy-routed" in stacks, stacks
    c = netns_container(host, "net11", ns, "echo ready; exec sleep 300")
    r = c.create()
    assert r.result == 0, r.json
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    pid = init_pid(host, "net11")
    assert routes(pid, "table", "101") == sorted([
        ("default", f"{SUBNET2}.1", b.inner, 500, None),
        ("10.99.0.0/16", f"{SUBNET2}.1", b.inner, 7, None)], key=str)
    assert pbr_rules(pid) == [(f"{SUBNET2}.2", None, "101")]
    if v6:
        assert pbr_rules(pid, "-6") == [(v6, None, "101")]
    # The first NIC is configured as without policy routing; the second
    # has nothing in the main table but its subnet (the kernel's).
    assert routes(pid, "table", "main") == sorted([
        ("default", f"{SUBNET}.1", a.inner, None, None),
        (f"{SUBNET}.0/24", None, a.inner, None, "kernel"),
        (f"{SUBNET2}.0/24", None, b.inner, None, "kernel")], key=str)
    # The kernel's choice: from the second address out of the second NIC.
    got = ip_json(pid, "route", "get", "192.0.2.7", "from", f"{SUBNET2}.2")[0]
    assert (got["gateway"], got["dev"]) == (f"{SUBNET2}.1", b.inner), got
    got = ip_json(pid, "route", "get", "192.0.2.7")[0]
    assert (got["gateway"], got["dev"]) == (f"{SUBNET}.1", a.inner), got
    stop(host, c, p)
    for nic in (nic1, nic2):
        assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_second_v011_nic_added_after_create_is_policy_routed(net):
    # v0.11 hosts send no PolicyBasedRouting: the v0.11 guest lowers every
    # adapter of a namespace but the first (metric 500, table 101, rule);
    # the first keeps metric 1 in the main table.
    host, sysfs, pairs = net
    ns = NS.replace("A00", "A12")
    nic1, nic2 = NIC.replace("B00", "B12"), NIC.replace("B00", "B13")
    a, b = Veth("r", SUBNET), Veth("s", SUBNET2)
    pairs += [a, b]
    plug(sysfs, nic1, a.inner)
    plug(sysfs, nic2, b.inner)
    assert modify(host, "Add", v011_adapter(ns, nic1)).result == 0
    c = netns_container(host, "net12", ns, "echo ready; exec sleep 300")
    assert c.create().result == 0
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    pid = init_pid(host, "net12")
    assert pbr_rules(pid) == []
    assert routes(pid, "table", "101") == []
    second = {"NamespaceID": ns, "ID": nic2, "IPAddress": f"{SUBNET2}.3", "PrefixLength": 24,
              "GatewayAddress": f"{SUBNET2}.1"}
    r = modify(host, "Add", second)
    assert r.result == 0, r.json
    assert routes(pid, "table", "101") == [("default", f"{SUBNET2}.1", b.inner, 500, None)]
    assert pbr_rules(pid) == [(f"{SUBNET2}.3", None, "101")]
    assert ("default", f"{SUBNET}.1", a.inner, 1, None) in routes(pid, "table", "main")
    assert not [r for r in routes(pid, "table", "main") if r[2] == b.inner and r[1]]
    stop(host, c, p)
    for nic in (nic1, nic2):
        assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_enable_low_metric_on_the_only_v011_nic(net):
    # EnableLowMetric as a v0.11 host sends it (HNS endpoint's flag) lowers
    # even the first adapter.
    host, sysfs, pairs = net
    ns, nic = NS.replace("A00", "A14"), NIC.replace("B00", "B14")
    a = Veth("t", SUBNET)
    pairs.append(a)
    plug(sysfs, nic, a.inner)
    adapter = v011_adapter(ns, nic)
    adapter["EnableLowMetric"] = True
    assert modify(host, "Add", adapter).result == 0
    c = netns_container(host, "net14", ns, "echo ready; exec sleep 300")
    assert c.create().result == 0
    p = c.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    pid = init_pid(host, "net14")
    assert routes(pid, "table", "101") == [("default", f"{SUBNET}.1", a.inner, 500, None)]
    assert pbr_rules(pid) == [(f"{SUBNET}.3", None, "101")]
    stop(host, c, p)
    assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_a_policy_route_the_kernel_refuses_fails_the_create_naming_it(net):
    # An IPv6 default route whose gateway no address of the NIC reaches:
    # the kernel refuses it (EHOSTUNREACH, which the reference does not
    # retry either), and the error names the NIC, the route and table 101.
    host, sysfs, pairs = net
    if not have_ipv6():
        pytest.skip("IPv6 is disabled here")
    ns, nic1, nic2 = NS.replace("A00", "A15"), NIC.replace("B00", "B15"), NIC.replace("B00", "B16")
    a, b = Veth("u", SUBNET), Veth("v", SUBNET2)
    pairs += [a, b]
    plug(sysfs, nic1, a.inner)
    plug(sysfs, nic2, b.inner)
    assert modify(host, "Add", head_pbr_adapter(ns, nic1, SUBNET)).result == 0
    bad = head_pbr_adapter(ns, nic2, SUBNET2)
    bad["Routes"].append({"NextHop": "fd42::1", "DestinationPrefix": "::/0"})
    assert modify(host, "Add", bad).result == 0
    c = netns_container(host, "net15", ns, "true")
    r = c.create()
    assert r.result == HR.E_FAIL, r.json
    assert nic2.lower() in r.error and "default via fd42::1 table 101 metric 500" in r.error, \
        r.error
    assert "net15" not in host.env.runc_containers()
    for nic in (nic1, nic2):
        assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


# -- hostNetwork (io.microsoft.virtualmachine.lcow.hostnetwork, hcsv2/uvm.go in main) ------

HOSTNET = "io.microsoft.virtualmachine.lcow.hostnetwork"


@pytest.fixture
def uvm_net():
    """The net fixture with the gcs in a network namespace of its own that
    plays the UVM's: NICs are hot-plugged into it, and a host-network
    container configures them there, never in this machine's namespace."""
    need_runtime()
    if not shutil.which("nsenter"):
        pytest.skip("needs nsenter (util-linux)")
    uvm = f"lcowuvm{os.getpid() % 100000}"
    if run("ip", "netns", "add", uvm, check=False).returncode != 0:
        pytest.skip("cannot create network namespaces")
    tmp = tempfile.mkdtemp(prefix="lcow-uvmnet-")
    os.chmod(tmp, 0o755)
    wrapper = os.path.join(tmp, "gcs-in-uvm-netns")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec nsenter --net=/run/netns/{uvm} -- {GCS} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    sysfs = os.path.join(tmp, "sys")
    env = ContainerEnv(wrapper, extra_env={"LCOW_SYSFS_ROOT": sysfs})
    pairs = []
    try:
        host = env.start()
        yield host, sysfs, pairs, uvm
        assert not env.gcs.log.bad, "non-JSON log lines:\n" + "".join(env.gcs.log.bad[:5])
    finally:
        leftovers = env.close()
        for p in pairs:
            p.close()
        run("ip", "netns", "del", uvm, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    assert leftovers == [], f"left behind: {leftovers}"
    assert cgroup_dirs(env.cgroup_prefix) == []


def uvm_ip_json(uvm, *args):
    r = run("ip", "-n", uvm, "-j", *args)
    return json.loads(r.stdout or "[]")


def netns_inode(path):
    return os.stat(path).st_ino


def test_hostnetwork_sandbox_configures_nics_in_the_uvm_namespace(uvm_net):
    host, sysfs, pairs, uvm = uvm_net
    ns = NS.replace("A00", "A20")
    nic1, nic2, nic3 = (NIC.replace("B00", f"B2{i}") for i in range(3))
    a, b = Veth("w", SUBNET), Veth("x", SUBNET2)
    pairs += [a, b]
    for v, nic in ((a, nic1), (b, nic2)):
        run("ip", "link", "set", v.inner, "netns", uvm)  # HCS hot-plugs into the UVM
        plug(sysfs, nic, v.inner)
    assert modify(host, "Add", head_pbr_adapter(ns, nic1, SUBNET)).result == 0
    assert modify(host, "Add", head_pbr_adapter(ns, nic2, SUBNET2)).result == 0
    sb_ann = {"io.kubernetes.cri.container-type": "sandbox",
              "io.kubernetes.cri.sandbox-id": "sbh", HOSTNET: "true"}
    sb = netns_container(host, "sbh", ns, "echo ready; exec sleep 300", annotations=sb_ann)
    r = sb.create()
    assert r.result == 0, r.json
    p = sb.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    uvm_ino = netns_inode(f"/run/netns/{uvm}")
    assert netns_inode(f"/proc/{init_pid(host, 'sbh')}/ns/net") == uvm_ino
    # Configured where they are: still in the UVM's namespace, up, with
    # their addresses, the second policy-routed.
    links = {l["ifname"]: l for l in uvm_ip_json(uvm, "addr", "show")}
    for v, subnet in ((a, SUBNET), (b, SUBNET2)):
        assert v.inner in links, links.keys()
        assert "UP" in links[v.inner]["flags"]
        assert f"{subnet}.2" in [x["local"] for x in links[v.inner]["addr_info"]]
    got = sorted((r.get("dst"), r.get("gateway"), r.get("dev"), r.get("metric"))
                 for r in uvm_ip_json(uvm, "route", "show", "table", "101"))
    assert got == [("default", f"{SUBNET2}.1", b.inner, 500)], got
    assert [(r.get("src"), r.get("table")) for r in uvm_ip_json(uvm, "-4", "rule")
            if r.get("priority") == 5] == [(f"{SUBNET2}.2", "101")]
    got = [r for r in uvm_ip_json(uvm, "route", "show", "table", "main")
           if r.get("dst") == "default"]
    assert [(r["gateway"], r["dev"]) for r in got] == [(f"{SUBNET}.1", a.inner)], got
    stacks = host.request(Msg.DUMP_STACKS, NULL_GUID).json["GuestStacks"]
    assert f"{ns.lower()} owner=sbh pid=" in stacks and "host-network" in stacks, stacks

    # A workload inherits the sandbox's setting: its spec asks for a network
    # namespace of its own and carries no annotation, yet it shares the UVM's.
    wl_ann = {"io.kubernetes.cri.container-type": "container",
              "io.kubernetes.cri.sandbox-id": "sbh"}
    wl = host.container("wlh", sh("echo ready; exec sleep 300"), annotations=wl_ann,
                        hostname="")
    assert wl.create().result == 0
    wp = wl.start(stdout=True)
    read_until(wp.stdout, b"ready\n")
    assert netns_inode(f"/proc/{init_pid(host, 'wlh')}/ns/net") == uvm_ino

    # A NIC added now is configured in place as well (the third: low metric).
    c3 = Veth("y", "10.213.51")
    pairs.append(c3)
    run("ip", "link", "set", c3.inner, "netns", uvm)
    plug(sysfs, nic3, c3.inner)
    r = modify(host, "Add", head_pbr_adapter(ns, nic3, "10.213.51"))
    assert r.result == 0, r.json
    assert [(r.get("src"), r.get("table")) for r in uvm_ip_json(uvm, "-4", "rule")
            if r.get("priority") == 5] == sorted([(f"{SUBNET2}.2", "101"),
                                                  ("10.213.51.2", "101")])

    stop(host, wl, wp)
    stop(host, sb, p)
    for nic in (nic1, nic2, nic3):
        assert modify(host, "Remove", {"NamespaceID": ns, "ID": nic}).result == 0


def test_a_workloads_own_hostnetwork_annotation_is_ignored(uvm_net):
    # As in the reference, only the sandbox's annotation counts: a workload
    # of a sandbox with its own namespace cannot step into the UVM's.
    host, _, _, uvm = uvm_net
    sb_ann = {"io.kubernetes.cri.container-type": "sandbox",
              "io.kubernetes.cri.sandbox-id": "sbn",
              "io.microsoft.cri.skip-pod-networking": "true"}
    sb = host.container("sbn", sh("echo ready; exec sleep 300"), annotations=sb_ann)
    assert sb.create().result == 0
    p = sb.start(stdout=True)
    read_until(p.stdout, b"ready\n")
    wl_ann = {"io.kubernetes.cri.container-type": "container",
              "io.kubernetes.cri.sandbox-id": "sbn", HOSTNET: "true"}
    wl = host.container("wln", sh("echo ready; exec sleep 300"), annotations=wl_ann,
                        hostname="")
    assert wl.create().result == 0
    wp = wl.start(stdout=True)
    read_until(wp.stdout, b"ready\n")
    uvm_ino = netns_inode(f"/run/netns/{uvm}")
    assert netns_inode(f"/proc/{init_pid(host, 'wln')}/ns/net") != uvm_ino
    assert netns_inode(f"/proc/{init_pid(host, 'sbn')}/ns/net") != uvm_ino
    stop(host, wl, wp)
    stop(host, sb, p)
