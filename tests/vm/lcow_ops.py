"""What hcsshim sends to a running utility VM for storage and a standalone
container (bridge-protocol.md §3.2-§3.5, §3.10, §4.2), on top of
tests/lib's UvmHost (a negotiated bridge plus stdio listeners). Used by
`make run` (host/run/run.py), the VM tests and the VM benchmark.
Standard library only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "lib"))

import container_host  # noqa: E402
from gcs_host import HR, NULL_GUID, Msg  # noqa: E402
from uvm_process import INFINITE, UvmProcess  # noqa: E402

RPC_TIMEOUT = 300  # hcsshim's synchronous RPC timeout (§2.4)


def modify(host, resource, settings, request_type="Add", timeout=RPC_TIMEOUT):
    """One ModifySettings on the UVM; returns the reply (not checked)."""
    return host.request(Msg.MODIFY_SETTINGS, timeout=timeout, Request={
        "RequestType": request_type, "ResourceType": resource, "Settings": settings})


def not_implemented(reply):
    """True when the gcs said it has no handler for this (E_NOTIMPL)."""
    return reply.result == HR.E_NOTIMPL


# -- a standalone container (§4.2) ------------------------------------------------------

def oci_spec(args, root_path, hostname="lcow"):
    """The OCI spec a host sends for a Linux container, trimmed as hcsshim
    trims it (tests/lib/container_host.py builds it), with the CPU defaults
    hcsshim fills in (period 100000, quota -1)."""
    return container_host.oci_spec(
        root_path, args, env=["HOSTNAME=" + hostname], hostname=hostname,
        rlimits=[{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        resources={"cpu": {"period": 100000, "quota": -1}})


class Container:
    """A container's paths as hcsshim's v1 shim lays them out (§3.2), and the
    requests of §4.2 steps 10-33. Each step returns the reply; the caller
    decides what a failure means."""

    def __init__(self, host, cid, layer_lun, scratch_lun, layer_index=0):
        self.host = host
        self.cid = cid
        self.layer_lun = layer_lun
        self.scratch_lun = scratch_lun
        self.bundle = f"/run/gcs/c/{cid}"
        self.rootfs = f"{self.bundle}/rootfs"
        self.scratch_dir = f"{self.bundle}/scratch/{cid}"
        self.layer_path = f"/run/mounts/scsi/m{layer_index}"
        self.process = None

    def attach_layer(self):
        return modify(self.host, "MappedVirtualDisk", {
            "MountPath": self.layer_path, "Lun": self.layer_lun, "ReadOnly": True,
            "Options": ["ro"]})

    def attach_scratch(self):
        return modify(self.host, "MappedVirtualDisk", {
            "MountPath": self.bundle, "Lun": self.scratch_lun, "EnsureFilesystem": True,
            "Filesystem": "ext4"})

    def combine_layers(self):
        return modify(self.host, "CombinedLayers", {
            "ContainerID": self.cid, "ContainerRootPath": self.rootfs,
            "Layers": [{"Path": self.layer_path}], "ScratchPath": self.scratch_dir})

    def create(self, args):
        config = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": self.bundle,
                  "OciSpecification": oci_spec(args, self.rootfs),
                  "ScratchDirPath": self.scratch_dir}
        return self.host.bridge.request(Msg.CREATE, {
            "ContainerId": self.cid, "ActivityId": NULL_GUID,
            "ContainerConfig": json.dumps(config)}, timeout=RPC_TIMEOUT)

    def start(self):
        return self.host.bridge.request(Msg.START, {"ContainerId": self.cid,
                                                    "ActivityId": NULL_GUID})

    def execute_init(self, stdout=True, stderr=True, timeout=RPC_TIMEOUT, stdin=False):
        """ExecuteProcess of the container's init (no OciProcess) with stdio
        on fresh ports; returns (reply, UvmProcess or None)."""
        params, relay, listeners = {}, {}, [None, None, None]
        for i, (name, want) in enumerate((("StdIn", stdin), ("StdOut", stdout),
                                          ("StdErr", stderr))):
            if not want:
                continue
            params[f"Create{name}Pipe"] = True
            relay[name] = self.host.ports(1)[0]
            listeners[i] = self.host.gcs.listen(relay[name])
        msg_id = self.host.bridge.send(Msg.EXECUTE_PROCESS, {
            "ContainerId": self.cid, "ActivityId": NULL_GUID,
            "Settings": {"ProcessParameters": json.dumps(params),
                         "VsockStdioRelaySettings": relay}})
        try:
            reply = self.host.bridge.wait_reply(msg_id, timeout)
            conns = [None, None, None]
            if reply.result == 0:
                for i, lst in enumerate(listeners):
                    if lst is not None:
                        conns[i] = lst.accept(30)
        finally:
            for lst in listeners:
                if lst is not None:
                    self.host.drop_listener(lst)
        if reply.result != 0:
            return reply, None
        self.process = UvmProcess(self.host, reply.json["ProcessId"], conns)
        return reply, self.process

    def send_wait(self, pid):
        return self.host.bridge.send(Msg.WAIT_FOR_PROCESS, {
            "ContainerId": self.cid, "ActivityId": NULL_GUID, "ProcessId": pid,
            "TimeoutInMs": INFINITE})

    def shutdown(self, forced=False):
        msg = Msg.SHUTDOWN_FORCED if forced else Msg.SHUTDOWN_GRACEFUL
        return self.host.bridge.request(msg, {"ContainerId": self.cid,
                                              "ActivityId": NULL_GUID}, timeout=60)

    def remove_layers(self):
        return modify(self.host, "CombinedLayers", {"ContainerRootPath": self.rootfs},
                      "Remove")

    def detach_scratch(self):
        return modify(self.host, "MappedVirtualDisk",
                      {"MountPath": self.bundle, "Lun": self.scratch_lun}, "Remove")

    def detach_layer(self):
        return modify(self.host, "MappedVirtualDisk",
                      {"MountPath": self.layer_path, "Lun": self.layer_lun, "ReadOnly": True},
                      "Remove")

    def unplug(self, lun):
        return modify(self.host, "SCSIDevice", {"Lun": lun}, "Remove")

    def delete_state(self):
        return self.host.bridge.request(Msg.DELETE_CONTAINER_STATE, {
            "ContainerId": self.cid, "ActivityId": NULL_GUID})


def shutdown_uvm(host):
    """ShutdownGraceful on the null container id: the gcs stops serving and
    powers the VM off, so a reply may never come (§3.8). Returns the reply,
    or None when the bridge closed or stayed silent."""
    msg_id = host.bridge.send(Msg.SHUTDOWN_GRACEFUL, {"ContainerId": NULL_GUID,
                                                      "ActivityId": NULL_GUID})
    try:
        return host.bridge.wait_reply(msg_id, timeout=10)
    except (EOFError, TimeoutError, ConnectionResetError):
        return None


def stop_gcs_from_inside(host):
    """Without a ShutdownGraceful handler: a UVM process sends SIGTERM to its
    parent, the gcs, which exits; init then powers the VM off (init/main.c).
    Runs the image's shell (busybox)."""
    proc = host.execute(["/bin/sh", "-c", "kill -TERM $PPID"])
    proc.close()
    return proc.pid
