#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
bridge: host byte streams covering negotiation, every request family and the
special cases of the wire; codec, oci_spec, storage, network: the inputs
their files' header comments describe. Run from anywhere; the files are
committed (keep them few and small). The regress_* files next to them are
inputs fuzzing found a bug with: this script leaves them alone."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from gcs_host import NULL_GUID, Msg, frame  # noqa: E402

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
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

# ---- codec: byte 0 picks the message type, in the order of `types` in
# fuzz_codec.c (keep both lists in step).
CODEC_TYPES = [
    "MessageBase", "NegotiateProtocolRequest", "ContainerCreate", "ContainerExecuteProcess",
    "ContainerWaitForProcess", "ContainerSignalProcess", "ContainerResizeConsole",
    "ContainerGetProperties", "ContainerModifySettings", "VMHostedContainerSettingsV2",
    "ProcessParameters", "ExecuteProcessSettings", "ExecuteProcessVsockStdioRelaySettings",
    "SignalProcessOptions", "PropertyQuery", "ModificationRequest", "LCOWMappedVirtualDisk",
    "SCSIDevice", "LCOWMappedDirectory", "LCOWMappedVPMemDevice", "LCOWVPMemMappingInfo",
    "LCOWCombinedLayers", "Layer", "DeviceVerityInfo", "LCOWNetworkAdapter", "LCOWIPConfig",
    "LCOWRoute", "LCOWMappedVPCIDevice", "LCOWContainerConstraints", "ConfidentialOptions",
    "SecurityPolicyFragment", "SchemaVersion", "ProtocolSupport", "ResponseBase", "ErrorRecord",
    "NegotiateProtocolResponse", "GcsCapabilities", "GcsGuestCapabilities",
    "ContainerCreateResponse", "ContainerExecuteProcessResponse",
    "ContainerWaitForProcessResponse", "ContainerGetPropertiesResponse", "Properties",
    "ProcessDetails", "DumpStacksResponse", "ContainerNotification", "Empty",
]


def codec(t, body):
    return bytes([CODEC_TYPES.index(t)]) + (body if isinstance(body, bytes) else
                                             json.dumps(body).encode())


NIC = {"NamespaceID": G, "ID": G.upper(), "MacAddress": "00-15-5D-01-02-03",
       "DNSSuffix": "a.example,b.example", "DNSServerList": "10.0.0.1,fd00::1",
       "EncapOverhead": 50, "IPConfigs": [{"IPAddress": "10.0.0.5", "PrefixLength": 24},
                                          {"IPAddress": "fd00::5", "PrefixLength": 64}],
       "Routes": [{"NextHop": "10.0.0.1", "DestinationPrefix": "0.0.0.0/0", "Metric": 5},
                  {"NextHop": "::", "DestinationPrefix": "::/0"}]}
NIC_V011 = {"NamespaceID": G, "ID": G, "IPAddress": "192.168.1.7", "PrefixLength": 28,
            "GatewayAddress": "192.168.1.1", "EnableLowMetric": True,
            "IPv6Address": "fe80::7", "IPv6PrefixLength": 64, "IPv6GatewayAddress": "fe80::1"}
DISK = {"MountPath": "/run/mounts/m1", "Lun": 3, "Controller": 1, "Partition": 2,
        "ReadOnly": True, "Options": ["rshared", "noatime"], "EnsureFilesystem": True,
        "Filesystem": "ext4", "VerityInfo": {"RootDigest": "ab"}}
LAYERS = {"ContainerID": "c1", "ContainerRootPath": "/run/gcs/c/c1/rootfs",
          "Layers": [{"Path": "/run/layers/l1"}, {"Path": "/run/layers/l2"}],
          "ScratchPath": "/run/gcs/c/c1/scratch"}
codec_seeds = {
    "create": codec("ContainerCreate", {"ContainerId": "c1", "ActivityId": G,
                                        "ContainerConfig": json.dumps(
        {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": "/run/gcs/c/c1",
         "OciSpecification": spec})}),
    "exec": codec("ContainerExecuteProcess", {"ContainerId": "c1", "Settings": {
        "ProcessParameters": json.dumps({"CommandArgs": ["ls"], "Environment": {"A": "b"},
                                         "OciProcess": spec["process"], "EmulateConsole": True}),
        "VsockStdioRelaySettings": {"StdIn": 1, "StdOut": 2, "StdErr": 4294967295}}}),
    "negotiate": codec("NegotiateProtocolRequest", {"ContainerId": NULL_GUID,
                                                    "MinimumVersion": 4, "MaximumVersion": 4}),
    "wait": codec("ContainerWaitForProcess", {"ProcessId": 7, "TimeoutInMs": 4294967295}),
    "signal": codec("ContainerSignalProcess", {"ProcessId": 7, "Options": {"Signal": 9}}),
    "resize": codec("ContainerResizeConsole", {"ProcessId": 7, "Height": 40, "Width": 120}),
    "props": codec("ContainerGetProperties",
                   {"Query": json.dumps({"PropertyTypes": ["ProcessList", "Statistics"]})}),
    "modify_disk": codec("ContainerModifySettings", {"Request": {
        "ResourceType": "MappedVirtualDisk", "RequestType": "Add", "Settings": DISK}}),
    "modify_layers": codec("ContainerModifySettings", {"Request": {
        "ResourceType": "CombinedLayers", "RequestType": "Remove", "Settings": LAYERS}}),
    "modify_network": codec("ContainerModifySettings", {"Request": {
        "ResourceType": "Network", "RequestType": "Add", "Settings": NIC}}),
    "modify_constraints": codec("ContainerModifySettings", {"ContainerId": "c1", "Request": {
        "ResourceType": "ContainerConstraints", "RequestType": "Update",
        "Settings": {"Linux": {"memory": {"limit": 18446744073709551615}}, "Windows": None}}}),
    "modify_policy": codec("ModificationRequest", {
        "ResourceType": "SecurityPolicy", "Settings": {"EnforcerType": "rego",
                                                       "EncodedSecurityPolicy": "cGFja2FnZQ=="}}),
    "vpmem": codec("LCOWMappedVPMemDevice", {"DeviceNumber": 2, "MountPath": "/run/layers/p2",
                                             "MappingInfo": {"DeviceOffsetInBytes": 4096,
                                                             "DeviceSizeInBytes": 1 << 40}}),
    "response": codec("ContainerGetPropertiesResponse", {
        "Result": -2147024809, "ErrorRecords": [{"Result": 1, "Message": "\u00e9\ud83d\ude00"}],
        "Properties": json.dumps({"ProcessList": [{"ProcessId": 1}]})}),
    "keys_folded": codec("MessageBase", b'{"containerid":"x","ACTIVITYID":"y","\u212a":1}'),
    "not_utf8": codec("MessageBase", b'{"ContainerId":"\xff\xfe"}'),
    "negotiate_response": codec("NegotiateProtocolResponse", {
        "Version": 4, "Capabilities": {"SendHostCreateMessage": False,
                                       "GuestDefinedCapabilities": {"NamespaceAddRequestSupported": True}}}),
    "notification": codec("ContainerNotification", {"ContainerId": "c1", "Type": "UnexpectedExit",
                                                    "Operation": "None", "Result": -1,
                                                    "ResultInfo": {"a": [1, None]}}),
}

# ---- oci_spec: spec \0 process \0 passwd \0 group \0 user
PASSWD = ("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
          "app:x:1000:1000:App:/home/app:/bin/sh\n# comment\n\nbad line\n")
GROUP = ("root:x:0:\nwheel:x:10:app,root\napp:x:1000:\ndocker:x:999:app\n"
         "video:x:44:nobody,app,app\n")


def oci(spec_obj, process=None, passwd=PASSWD, group=GROUP, user="app"):
    parts = [json.dumps(spec_obj), json.dumps(process) if process is not None else "",
             passwd, group, user]
    return "\0".join(parts).encode()


def spec_with(**kw):
    s = json.loads(json.dumps(spec))
    s["root"] = {"path": "rootfs", "readonly": True}
    s.update(kw)
    return s


SANDBOX_ANN = {"io.kubernetes.cri.container-type": "sandbox",
               "io.kubernetes.cri.sandbox-id": "c1",
               "io.microsoft.lcow.shm.size-kb": "65536",
               "io.microsoft.lcow.rlimitcore": "100;200",
               "io.microsoft.virtualmachine.lcow.hostnetwork": "true"}
oci_seeds = {
    "standalone": oci(spec_with(hostname="web.example", process={
        "args": ["sh"], "cwd": "/work/dir", "terminal": True,
        "user": {"username": "app", "additionalGids": [5]},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}]},
        windows={"network": {"networkNamespace": G}},
        linux={"namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}]}),
        process={"args": ["id"], "cwd": "/", "user": {"username": "1000:wheel"}}),
    "sandbox": oci(spec_with(annotations=SANDBOX_ANN, mounts=[
        {"destination": "/data", "type": "bind", "source": "sandbox://vol/a"},
        {"destination": "/tmpvol", "type": "bind", "source": "sandbox-tmp://t"},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"},
        {"destination": "/./etc//hosts/", "type": "bind", "source": "/x"}]),
        user="root:docker"),
    "workload": oci(spec_with(annotations={"io.kubernetes.cri.container-type": "container",
                                           "io.kubernetes.cri.sandbox-id": "sb_1"},
                              mounts=[{"destination": "/u", "source": "uvm:///"},
                                      {"destination": "blockdev:///dev/b", "source": "/dev/null"},
                                      {"destination": "/h", "source": "hugepages://2M/x"}]),
                    process={"args": ["x"]}, user="65534"),
    "bad_keys": oci(spec_with(Mounts=[], process={"Args": ["a"], "terminal": "yes"})),
    "bad_ann": oci(spec_with(annotations={"io.kubernetes.cri.container-type": "sandbox",
                                          "io.kubernetes.cri.sandbox-id": "other"}),
                   user="nosuch:nogroup"),
    "users": oci({"root": {"path": "/"}}, process={"user": {"username": "app"},
                                                   "rlimits": [{"type": "RLIMIT_CORE"}]},
                 passwd="app:x:1000:1000::/:/bin/sh\nx:x:4294967295:1\n:::\n",
                 group="g:x:1:app\ng2:x:2:app,app\napp:x:1000:app\n", user="app:1"),
    "no_db": b'{"root":{"path":"/r"},"process":{"user":{"username":"7:8"}}}',
}

# ---- storage: {"Request": ModificationRequest} \0 guest path \0 name
def storage(rt, settings, req="Add", path="/run/gcs/c/c1/rootfs", name="upper"):
    body = json.dumps({"ContainerId": NULL_GUID, "Request": {
        "ResourceType": rt, "RequestType": req, "Settings": settings}})
    return "\0".join([body, path, name]).encode()


storage_seeds = {
    "disk": storage("MappedVirtualDisk", DISK, path="/run/mounts/m1//./x/"),
    "disk_remove": storage("MappedVirtualDisk", {"MountPath": "/run/mounts/m1", "BlockDev": True},
                           req="Remove", path="/run/mounts/link", name=".."),
    "scsi": storage("SCSIDevice", {"Controller": 3, "Lun": 63}, req="Remove",
                    path="/run/../etc", name="a/b"),
    "directory": storage("MappedDirectory", {"MountPath": "/run/gcs/c/c1/share", "Port": 564,
                                             "ShareName": "s", "ReadOnly": True},
                         path="/run/gcs/pods/p/x\ty"),
    "vpmem": storage("VPMemDevice", {"DeviceNumber": 7, "MountPath": "/run/layers/p7",
                                     "MappingInfo": {"DeviceOffsetInBytes": 512,
                                                     "DeviceSizeInBytes": 1048576}},
                     path="/run/drivers/d"),
    "layers": storage("CombinedLayers", LAYERS, req="", path="relative/path"),
    "not_storage": storage("Network", NIC, path="/run/gcs/c/dir/file/below"),
    "bad_request": storage("SCSIDevice", {"Lun": 1}, req="Add", path="/run/mounts"),
}

# ---- network: LCOWNetworkAdapter JSON \0 hostname
def network(nic, hostname="web.example"):
    return (json.dumps(nic) + "\0" + hostname).encode()


network_seeds = {
    "head": network(NIC),
    "v011": network(NIC_V011, hostname="h"),
    "bad_ips": network({"NamespaceID": G, "ID": G, "IPConfigs": [
        {"IPAddress": "10.0.0.300", "PrefixLength": 33}], "Routes": [
        {"NextHop": "zz", "DestinationPrefix": "10.0.0.0/40"}]}, hostname="bad host"),
    "bad_guid": network({"NamespaceID": "../../x", "ID": "G"}),
    "many_dns": network({"NamespaceID": G, "ID": G, "DNSSuffix": ",".join(
        f"d{i}.example" for i in range(9)) + ",d1.example", "DNSServerList": "1.1.1.1, 8.8.8.8,,"}),
    "empty": network({}),
}

targets = {"bridge": seeds, "codec": codec_seeds, "oci_spec": oci_seeds,
           "storage": storage_seeds, "network": network_seeds}
only = sys.argv[1:] or list(targets)
for target in only:
    out = os.path.join(CORPUS, target)
    os.makedirs(out, exist_ok=True)
    for name, data in targets[target].items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(targets[target])} seeds in {out}")
