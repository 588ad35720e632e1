"""The message sequences real hcsshim hosts send (tests/hostflows/*.json),
replayed against the gcs on this machine over its unix transport, every
reply checked as the named hcsshim version parses it
(tests/hostflows/runner.py, tests/lib/hcsshim_host.py).

Off-VM the gcs gets the storage rig of tests/lib/storage_host.py (fake sysfs
and /dev, ext4 images on loop devices), the container confinement of
tests/lib/container_host.py and veth pairs for NICs; what this kernel cannot
do (dm-linear on VPMem) is replaced by what the flow data says and reported.
The same flows run in the VM in test_vm_e2e_hostflows.py."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import OUT, TOP, require_root

sys.path.insert(0, os.path.join(TOP, "tests", "hostflows"))

import runner  # noqa: E402

GCS = os.path.join(OUT, "gcs")
FLOWS = runner.load_flows()


def missing_tools(flow):
    need = ["mke2fs", "dumpe2fs", "debugfs", "runc"]
    if any("nic" in d for d in flow.get("devices", {}).values()):
        need.append("ip")
    out = [t for t in need if not shutil.which(t)]
    if not os.access("/bin/busybox", os.X_OK):
        out.append("/bin/busybox (busybox-static)")
    if not os.path.isdir("/sys/fs/cgroup/memory") and \
            not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        out.append("a cgroup memory controller")
    return out


def veth_possible():
    r = subprocess.run(["ip", "link", "add", "lhfprobe0", "type", "veth", "peer", "name",
                        "lhfprobe1"], capture_output=True)
    subprocess.run(["ip", "link", "del", "lhfprobe0"], capture_output=True)
    return r.returncode == 0


@pytest.mark.parametrize("flow", FLOWS, ids=[f["name"] for f in FLOWS])
def test_hostflow(flow):
    require_root()
    missing = missing_tools(flow)
    if missing:
        pytest.skip("needs " + ", ".join(missing))
    if any("nic" in d for d in flow.get("devices", {}).values()) and not veth_possible():
        pytest.skip("cannot create veth pairs for the pod's NIC")
    failure = runner.replay(flow, runner.OffVmEnv(GCS, flow), "off-VM")
    if failure:
        pytest.fail(failure, pytrace=False)
