#!/usr/bin/python3
"""Writes the seed corpus (tests/fuzz/corpus/bridge/) of fuzz_bridge: host byte
streams covering negotiation, every request family and the special cases of
the wire. Run from anywhere; the files are committed."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from gcs_host import NULL_GUID, Msg, frame  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "bridge")
G = "6f1c2e1a-0b7d-4c3e-9a55-1234567890ab"
NEG = frame(Msg.NEGOTIATE_PROTOCOL, 0, {"ContainerId": "", "ActivityId": NULL_GUID,
                                        "MinimumVersion": 4, "MaximumVersion": 4})


def stream(*msgs):
    return NEG + b"".join(frame(t, i + 1, b) for i, (t, b) in enumerate(msgs))


def uvm(**kw):
    return {"ContainerId": NULL_GUID, "ActivityId": G, **kw}


def modify(rt, settings=None, cid=NULL_GUID, req="Add"):
    r = {"ResourceType": rt, "RequestType": req}
    if settings is not None:
        r["Settings"] = settings
    return {"ContainerId": cid, "ActivityId": NULL_GUID, "Request": r}


spec = {"ociVersion": "1.1.0", "process": {"args": ["sh"], "env": ["A=b"], "cwd": "/",
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}]},
        "root": {"path": "/run/gcs/c/c1/rootfs"}, "linux": {"cgroupsPath": ""}}
seeds = {
    "negotiate": NEG,
    "uvm": stream((Msg.START, uvm()),
                  (Msg.GET_PROPERTIES, uvm(Query='{"PropertyTypes":["ProcessList"]}')),
                  (Msg.DUMP_STACKS, uvm()), (Msg.GET_PROPERTIES, uvm(Query=""))),
    "container": stream(
        (Msg.CREATE, {"ContainerId": "c1", "ActivityId": G, "ContainerConfig": json.dumps(
            {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": "/run/gcs/c/c1",
             "OciSpecification": spec, "ScratchDirPath": "/run/gcs/c/c1/scratch/c1"})}),
        (Msg.EXECUTE_PROCESS, {"ContainerId": "c1", "Settings": {
            "ProcessParameters": json.dumps({"CommandArgs": ["ls", "-l"], "Environment":
                                             {"PATH": "/bin"}, "CreateStdOutPipe": True,
                                             "OciProcess": spec["process"]}),
            "VsockStdioRelaySettings": {"StdOut": 1073741825}}}),
        (Msg.WAIT_FOR_PROCESS, {"ContainerId": "c1", "ProcessId": 7, "TimeoutInMs": 4294967295}),
        (Msg.SIGNAL_PROCESS, {"ContainerId": "c1", "ProcessId": 7, "Options": {"Signal": 15}}),
        (Msg.GET_PROPERTIES, {"ContainerId": "c1", "Query": '{"PropertyTypes":["Statistics"]}'}),
        (Msg.DELETE_CONTAINER_STATE, {"ContainerId": "c1"})),
    "modify": stream(
        (Msg.MODIFY_SETTINGS, modify("MappedVirtualDisk", {"MountPath": "/run/gcs/c/c1",
                                                           "Lun": 1, "EnsureFilesystem": True,
                                                           "Filesystem": "ext4"})),
        (Msg.MODIFY_SETTINGS, modify("CombinedLayers", {"ContainerRootPath": "/r", "Layers":
                                                        [{"Path": "/l1"}, {"Path": "/l2"}]})),
        (Msg.MODIFY_SETTINGS, modify("ContainerConstraints", {"Linux": {"memory":
                                                              {"limit": 1}}}, cid="c1",
                                     req="Update")),
        (Msg.MODIFY_SETTINGS, modify("VPCIDevice", {"VMBusGUID": G}, req="")),
        (Msg.MODIFY_SETTINGS, modify("PodCgroupMemoryLimit", req="Update")),
        (Msg.MODIFY_SETTINGS, modify("Network", {"NamespaceID": G, "IPConfigs":
                                                 [{"IPAddress": "10.0.0.5", "PrefixLength": 24}]})),
        (Msg.MODIFY_SETTINGS, modify("HvSocket", {}))),
    "before_negotiation": b"".join(frame(t, i, uvm()) for i, t in
                                   enumerate([Msg.START, Msg.DUMP_STACKS, 0x10101001])) + NEG,
    "bad_json": stream((Msg.START, "{bad"), (Msg.START, ""), (Msg.START, "[]"),
                       (Msg.START, '{"ContainerId":5}'), (Msg.GET_PROPERTIES, uvm(Query="{x")),
                       (Msg.START, '{"ActivityId":"","ContainerId":"\\u0000"}')),
    "small_size": NEG + struct.pack("<IIQ", Msg.START, 8, 1),
    "activity_ids": stream(*[(Msg.START, {"ContainerId": "x", "ActivityId": a})
                             for a in [G, G.upper(), "", "zz", None]]),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
