"""What a released hcsshim host does with the bytes the guest sends back.

hcsshim's bridge client (internal/gcs: bridge.go, guestconnection.go,
container.go, process.go, and the wire types in protocol.go / prot/) is
Windows-only Go. This module restates, as data and a small decoder, what it
does with each message, so that tests can fail exactly where a real host
would break:

  * framing (bridge.go readMessage): 16 <= Size <= 0x10000, else the bridge
    is killed;
  * the message type (recvLoop): `type & mask` must be a response or the
    container notification (v0.11-v0.14 mask 0xfff00000, so the category
    byte must be 0x01; main masks with 0xf0000000);
  * a response must carry the ID of an outstanding request;
  * the body is decoded with encoding/json into the host's response struct
    for that request: any decode error ("bridge response unmarshal failed")
    kills the bridge. GoDecoder below follows encoding/json's rules: keys
    match struct fields case-insensitively, unknown keys are ignored, null
    leaves a field alone, numbers must be integers in the field's range,
    TextUnmarshaler fields (guid.GUID, the string-wrapped JSON of
    `Properties` and `ResultInfo`) must be JSON strings whose content parses;
  * a container notification (guestconnection.go notify) must name a
    container whose notify channel is registered: CreateContainer registers
    the id before sending Create, the first notification unregisters it; any
    other id kills the bridge;
  * what the host then does with the values (Version must be 4,
    RuntimeOsType "" means windows, the capabilities it acts on, the
    ProcessId it waits for) is checked by HostView.

Stricter rules that the protocol specification states but the host does not
enforce (ActivityId echoed, exactly one notification per created container,
never one for a failed Create) are reported separately as "spec" findings.

Also here: go_marshal(), the byte-exact encoding of Go's encoding/json, which
the host uses for requests (json.Encoder with SetEscapeHTML(false) for the
message, json.Marshal - HTML-escaping - for the string-wrapped inner JSON).
Standard library only.
"""
import json
import re

NULL_GUID = "00000000-0000-0000-0000-000000000000"
MAX_GUEST_MESSAGE = 0x10000

# Response structs of the host, per request identifier (low 28 bits).
CREATE = 0x0100101
START = 0x0100201
SHUTDOWN_GRACEFUL = 0x0100301
SHUTDOWN_FORCED = 0x0100401
EXECUTE_PROCESS = 0x0100501
WAIT_FOR_PROCESS = 0x0100601
SIGNAL_PROCESS = 0x0100701
RESIZE_CONSOLE = 0x0100801
GET_PROPERTIES = 0x0100901
MODIFY_SETTINGS = 0x0100A01
NEGOTIATE_PROTOCOL = 0x0100B01
DUMP_STACKS = 0x0100C01
DELETE_CONTAINER_STATE = 0x0100D01
NOTIFY_CONTAINER = 0x30100101

RPC_NAMES = {
    "Create": CREATE, "Start": START, "ShutdownGraceful": SHUTDOWN_GRACEFUL,
    "ShutdownForced": SHUTDOWN_FORCED, "ExecuteProcess": EXECUTE_PROCESS,
    "WaitForProcess": WAIT_FOR_PROCESS, "SignalProcess": SIGNAL_PROCESS,
    "ResizeConsole": RESIZE_CONSOLE, "GetProperties": GET_PROPERTIES,
    "ModifySettings": MODIFY_SETTINGS, "NegotiateProtocol": NEGOTIATE_PROTOCOL,
    "DumpStacks": DUMP_STACKS, "DeleteContainerState": DELETE_CONTAINER_STATE,
}


# -- Go's encoding/json, encoding side -------------------------------------------------

def go_marshal(value, escape_html=True):
    """json.Marshal(value): compact, UTF-8 as is, and (json.Marshal's
    default) <, > and & escaped; U+2028/U+2029 are always escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if escape_html:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def go_encode_message(body):
    """The bytes bridge.go writeMessage sends after the header: a
    json.Encoder with SetEscapeHTML(false), which ends with a newline."""
    return (go_marshal(body, escape_html=False) + "\n").encode()


# -- Go's encoding/json, decoding side --------------------------------------------------

class T:
    """Type descriptors for GoDecoder."""

    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)


def integer(bits, signed):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return T("int", lo=lo, hi=hi, name=("int" if signed else "uint") + str(bits))


INT32, UINT16, UINT32, UINT64, INT64 = (integer(32, True), integer(16, False),
                                        integer(32, False), integer(64, False),
                                        integer(64, True))
BOOL = T("bool")
STRING = T("string")
ANY = T("any")            # interface{}
RAW = T("raw")            # json.RawMessage
GUID = T("guid")          # go-winio guid.GUID (encoding.TextUnmarshaler)
TIME = T("time")          # time.Time (RFC 3339 string)


def struct(type_name, /, **fields):
    return T("struct", name=type_name, fields=fields)


def ptr(t):
    return t  # a pointer decodes like its element; null leaves it nil


def slice_of(t):
    return T("slice", elem=t)


def map_of(key, val):
    return T("map", key=key, val=val)


def text_json(t, name):
    """A TextUnmarshaler whose text is JSON decoded into t (anyInString,
    containerProperties): the JSON value must be a string."""
    return T("textjson", elem=t, name=name)


GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
INT_RE = re.compile(r"^-?(0|[1-9]\d*)$")


class _Num:
    """A JSON number kept as its literal text (Go checks the literal)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _reject_constant(name):
    raise ValueError(f"invalid JSON literal {name}")


def parse_json(data):
    """json.loads with Go's grammar (no NaN/Infinity) and every number kept
    as literal text."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data, parse_float=_Num, parse_int=_Num,
                      parse_constant=_reject_constant)


def plain(value):
    """parse_json's tree with numbers turned into int/float."""
    if isinstance(value, _Num):
        return int(value.text) if INT_RE.match(value.text) else float(value.text)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, _Num):
        return "number " + v.text
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def go_decode(value, t, path="$"):
    """Errors json.Unmarshal would return decoding `value` (a parse_json
    tree) into a Go value of type t; [] when it succeeds."""
    if value is None:
        return []  # null: no-op for every type
    k = t.kind
    if k == "any" or k == "raw":
        return []
    if k == "bool":
        return [] if isinstance(value, bool) else [f"{path}: cannot unmarshal {_jtype(value)} "
                                                   "into Go bool"]
    if k == "string":
        return [] if isinstance(value, str) else [f"{path}: cannot unmarshal {_jtype(value)} "
                                                  "into Go string"]
    if k == "int":
        if not isinstance(value, _Num) or not INT_RE.match(value.text):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go {t.name}"]
        n = int(value.text)
        if not t.lo <= n <= t.hi:
            return [f"{path}: number {n} overflows Go {t.name}"]
        return []
    if k == "guid":
        if not isinstance(value, str):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go guid.GUID"]
        if not GUID_RE.match(value):
            return [f"{path}: invalid GUID {value!r} (guid.FromString wants 36 characters)"]
        return []
    if k == "time":
        if not isinstance(value, str) or not RFC3339_RE.match(value):
            return [f"{path}: {value!r} is not an RFC 3339 time.Time"]
        return []
    if k == "textjson":
        if not isinstance(value, str):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go {t.name} (a string "
                    "holding JSON is required)"]
        try:
            inner = parse_json(value)
        except ValueError as e:
            return [f"{path}: string content is not JSON: {e}"]
        return go_decode(inner, t.elem, path + "<json>")
    if k == "slice":
        if not isinstance(value, list):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go slice"]
        errs = []
        for i, v in enumerate(value):
            errs += go_decode(v, t.elem, f"{path}[{i}]")
        return errs
    if k == "map":
        if not isinstance(value, dict):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go map"]
        errs = []
        for key, v in value.items():
            if t.key.kind == "int" and not INT_RE.match(key):
                errs.append(f"{path}: map key {key!r} is not an integer")
            errs += go_decode(v, t.val, f"{path}.{key}")
        return errs
    if k == "struct":
        if not isinstance(value, dict):
            return [f"{path}: cannot unmarshal {_jtype(value)} into Go struct {t.name}"]
        folded = {name.lower(): (name, ft) for name, ft in t.fields.items()}
        errs = []
        for key, v in value.items():
            hit = t.fields.get(key)
            name = key
            if hit is None and key.lower() in folded:
                name, hit = folded[key.lower()]
            if hit is not None:
                errs += go_decode(v, hit, f"{path}.{name}")
        return errs
    raise AssertionError(f"unknown type kind {k}")


def field(obj, name):
    """obj[name] as Go would find it (exact, else case-insensitive; the
    last matching key wins)."""
    found = None
    for key, v in obj.items():
        if key == name or key.lower() == name.lower():
            found = v
    return found


# -- the host's response structs ---------------------------------------------------------

ERROR_RECORD = struct("ErrorRecord", Result=INT32, Message=STRING, StackTrace=STRING,
                      ModuleName=STRING, FileName=STRING, Line=UINT32, FunctionName=STRING)
RESPONSE_BASE = dict(Result=INT32, ErrorMessage=STRING, ActivityId=GUID,
                     ErrorRecords=slice_of(ERROR_RECORD))
VERSION = struct("Version", Major=INT32, Minor=INT32)
GUEST_CAPS = struct("GuestDefinedCapabilities", NamespaceAddRequestSupported=BOOL,
                    SignalProcessSupported=BOOL, DumpStacksSupported=BOOL,
                    DeleteContainerStateSupported=BOOL, UpdateContainerSupported=BOOL)

# schema1.ContainerProperties: the v1 query (ProcessList).
S1_PROCESS = struct("ProcessListItem", CreateTimestamp=TIME, ImageName=STRING,
                    KernelTime100ns=UINT64, MemoryCommitBytes=UINT64,
                    MemoryWorkingSetPrivateBytes=UINT64, MemoryWorkingSetSharedBytes=UINT64,
                    ProcessId=UINT32, UserTime100ns=UINT64)
S1_STATISTICS = struct(
    "schema1.Statistics", Timestamp=TIME, ContainerStartTime=TIME, Uptime100ns=UINT64,
    Memory=struct("MemoryStats", MemoryUsageCommitBytes=UINT64,
                  MemoryUsageCommitPeakBytes=UINT64, MemoryUsagePrivateWorkingSetBytes=UINT64),
    Processor=struct("ProcessorStats", TotalRuntime100ns=UINT64, RuntimeUser100ns=UINT64,
                     RuntimeKernel100ns=UINT64),
    Storage=struct("StorageStats", ReadCountNormalized=UINT64, ReadSizeBytes=UINT64,
                   WriteCountNormalized=UINT64, WriteSizeBytes=UINT64),
    Network=slice_of(struct("NetworkStats", BytesReceived=UINT64, BytesSent=UINT64,
                            PacketsReceived=UINT64, PacketsSent=UINT64,
                            DroppedPacketsIncoming=UINT64, DroppedPacketsOutgoing=UINT64,
                            EndpointId=STRING, InstanceId=STRING)))
S1_PROPERTIES = struct(
    "schema1.ContainerProperties", Id=STRING, State=STRING, Name=STRING, SystemType=STRING,
    RuntimeOsType=STRING, Owner=STRING, SiloGuid=STRING, RuntimeId=GUID,
    IsRuntimeTemplate=BOOL, RuntimeImagePath=STRING, Stopped=BOOL, ExitType=STRING,
    AreUpdatesPending=BOOL, ObRoot=STRING, Statistics=S1_STATISTICS,
    ProcessList=slice_of(S1_PROCESS), MappedVirtualDiskControllers=map_of(INT32, ANY),
    GuestConnectionInfo=struct("GuestConnectionInfo",
                               SupportedSchemaVersions=slice_of(VERSION),
                               ProtocolVersion=UINT32, GuestDefinedCapabilities=GUEST_CAPS))

# containerd/cgroups stats/v1 Metrics (LCOWMetrics), with its json tags.
_MEM_ENTRY = struct("MemoryEntry", limit=UINT64, usage=UINT64, max=UINT64, failcnt=UINT64)
_BLKIO = struct("BlkIOEntry", op=STRING, device=STRING, major=UINT64, minor=UINT64,
                value=UINT64)
_RDMA = struct("RdmaEntry", device=STRING, hca_handles=UINT32, hca_objects=UINT32)
_MEMORY_FIELDS = {n: UINT64 for n in (
    "cache rss rss_huge mapped_file dirty writeback pg_pg_in pg_pg_out pg_fault "
    "pg_maj_fault inactive_anon active_anon inactive_file active_file unevictable "
    "hierarchical_memory_limit hierarchical_swap_limit").split()}
_MEMORY_FIELDS.update({"total_" + n: UINT64 for n in (
    "cache rss rss_huge mapped_file dirty writeback pg_pg_in pg_pg_out pg_fault "
    "pg_maj_fault inactive_anon active_anon inactive_file active_file unevictable").split()})
_MEMORY_FIELDS.update(usage=_MEM_ENTRY, swap=_MEM_ENTRY, kernel=_MEM_ENTRY,
                      kernel_tcp=_MEM_ENTRY)
METRICS = struct(
    "v1.Metrics",
    hugetlb=slice_of(struct("HugetlbStat", usage=UINT64, max=UINT64, failcnt=UINT64,
                            pagesize=STRING)),
    pids=struct("PidsStat", current=UINT64, limit=UINT64),
    cpu=struct("CPUStat",
               usage=struct("CPUUsage", total=UINT64, kernel=UINT64, user=UINT64,
                            per_cpu=slice_of(UINT64)),
               throttling=struct("Throttle", periods=UINT64, throttled_periods=UINT64,
                                 throttled_time=UINT64)),
    memory=struct("MemoryStat", **_MEMORY_FIELDS),
    blkio=struct("BlkIOStat", **{n: slice_of(_BLKIO) for n in (
        "io_service_bytes_recursive io_serviced_recursive io_queued_recursive "
        "io_service_time_recursive io_wait_time_recursive io_merged_recursive "
        "io_time_recursive sectors_recursive").split()}),
    rdma=struct("RdmaStat", current=slice_of(_RDMA), limit=slice_of(_RDMA)),
    network=slice_of(struct("NetworkStat", name=STRING, **{n: UINT64 for n in (
        "rx_bytes rx_packets rx_errors rx_dropped tx_bytes tx_packets tx_errors "
        "tx_dropped").split()})),
    cgroup_stats=struct("CgroupStats", nr_sleeping=UINT64, nr_running=UINT64,
                        nr_stopped=UINT64, nr_uninterruptible=UINT64, nr_io_wait=UINT64),
    memory_oom_control=struct("MemoryOomControl", oom_kill_disable=UINT64, under_oom=UINT64,
                              oom_kill=UINT64))

# hcsschema.Properties: the v2 query (Statistics).
V2_PROPERTIES = struct(
    "hcsschema.Properties", Id=STRING, SystemType=STRING, RuntimeOsType=STRING, Name=STRING,
    Owner=STRING, RuntimeId=STRING, RuntimeTemplateId=STRING, State=STRING, Stopped=BOOL,
    ExitType=STRING, Memory=ANY,
    Statistics=struct(
        "hcsschema.Statistics", Timestamp=TIME, ContainerStartTime=TIME, Uptime100ns=UINT64,
        Processor=struct("ProcessorStats", TotalRuntime100ns=UINT64, RuntimeUser100ns=UINT64,
                         RuntimeKernel100ns=UINT64),
        Memory=struct("MemoryStats", MemoryUsageCommitBytes=UINT64,
                      MemoryUsageCommitPeakBytes=UINT64,
                      MemoryUsagePrivateWorkingSetBytes=UINT64),
        Storage=struct("StorageStats", ReadCountNormalized=UINT64, ReadSizeBytes=UINT64,
                       WriteCountNormalized=UINT64, WriteSizeBytes=UINT64)),
    ProcessList=slice_of(struct("ProcessDetails", ProcessId=INT32, ImageName=STRING,
                                CreateTimestamp=TIME, UserTime100ns=INT32,
                                KernelTime100ns=INT32, MemoryCommitBytes=INT32,
                                MemoryWorkingSetPrivateBytes=INT32,
                                MemoryWorkingSetSharedBytes=INT32)),
    TerminateOnLastHandleClosed=BOOL, HostingSystemId=STRING,
    SharedMemoryRegionInfo=slice_of(struct("SharedMemoryRegionInfo", SectionName=STRING,
                                           GuestPhysicalAddress=INT32)),
    GuestConnectionInfo=ANY, LCOWMetrics=METRICS)

NOTIFICATION = struct(
    "containerNotification", ContainerId=STRING, ActivityId=GUID,
    ocsc=struct("ocspancontext", TraceID=STRING, SpanID=STRING, TraceOptions=UINT32,
                Tracestate=STRING),
    Type=STRING, Operation=STRING, Result=INT32,
    ResultInfo=text_json(RAW, "anyInString"))


class Host:
    """One released host's bridge client."""

    def __init__(self, name, type_mask, caps_raw, service_settings=False):
        self.name = name
        self.type_mask = type_mask
        self.service_settings = service_settings
        # v0.11-v0.14: GuestDefinedCapabilities is an interface{} holding
        # &gc.caps (absent: every capability false); main: json.RawMessage
        # unmarshalled afterwards (absent: "unexpected end of JSON input").
        self.caps_raw = caps_raw

    def negotiate_schema(self):
        caps = dict(SendHostCreateMessage=BOOL, SendHostStartMessage=BOOL,
                    HvSocketConfigOnStartup=BOOL, SendLifecycleNotifications=BOOL,
                    SupportedSchemaVersions=slice_of(VERSION), RuntimeOsType=STRING,
                    GuestDefinedCapabilities=RAW if self.caps_raw else GUEST_CAPS)
        if self.service_settings:
            caps["ModifyServiceSettingsSupported"] = BOOL
        return struct("NegotiateProtocolResponse", **RESPONSE_BASE, Version=UINT32,
                      Capabilities=struct("GcsCapabilities", **caps))

    def response_schema(self, rpc, request):
        extra = {}
        if rpc == NEGOTIATE_PROTOCOL:
            return self.negotiate_schema()
        if rpc == EXECUTE_PROCESS:
            extra = dict(ProcessId=UINT32)
        elif rpc == WAIT_FOR_PROCESS:
            extra = dict(ExitCode=UINT32)
        elif rpc == DUMP_STACKS:
            extra = dict(GuestStacks=STRING)
        elif rpc == GET_PROPERTIES:
            props = V2_PROPERTIES if properties_v2(request) else S1_PROPERTIES
            extra = dict(Properties=text_json(props, "containerProperties"))
        return struct("response", **RESPONSE_BASE, **extra)


HOSTS = {
    # internal/gcs/protocol.go (prot/protocol.go from v0.14): msgTypeMask and
    # gcsCapabilities.GuestDefinedCapabilities (interface{} holding &gc.caps
    # up to v0.12, json.RawMessage + unmarshalGuestCapabilities from v0.13).
    "v0.11.8": Host("v0.11.8", 0xFFF00000, caps_raw=False),
    "v0.12.9": Host("v0.12.9", 0xFFF00000, caps_raw=False),
    "v0.14.1": Host("v0.14.1", 0xFFF00000, caps_raw=True),
    "main": Host("main", 0xF0000000, caps_raw=True, service_settings=True),
}


def properties_v2(request):
    """Container.PropertiesV2 (hcsschema.PropertyQuery) is what the shim
    uses for Statistics; Container.Properties (schema1) for ProcessList."""
    query = request.get("Query")
    if isinstance(query, str) and query:
        try:
            return "Statistics" in (json.loads(query).get("PropertyTypes") or [])
        except ValueError:
            return False
    return False


class HostView:
    """The host's state that decides whether a guest message is fatal: the
    outstanding requests, the notify channels of created containers, and
    the capabilities it negotiated. check_*() return (fatal, spec) lists of
    findings."""

    def __init__(self, host="main"):
        self.host = HOSTS[host]
        self.requests = {}     # id -> (rpc, body)
        self.notify = {}       # container id -> "registered" | "created"
        self.created = set()   # containers whose Create succeeded
        self.notified = {}     # container id -> count
        self.capabilities = None
        self.os = None
        self.init_pid = {}     # container id -> pid of its init (ExecuteProcess, no OciProcess)

    def sent(self, msg_id, rpc, body):
        self.requests[msg_id] = (rpc, body)
        if rpc == CREATE:
            # requestNotify: registered before the Create goes out (and
            # left registered if the Create fails).
            self.notify.setdefault(body["ContainerId"], "registered")

    def check_header(self, msg_type, size, msg_id):
        fatal = []
        if not 16 <= size <= MAX_GUEST_MESSAGE:
            fatal.append(f"invalid message size {size}")
        masked = msg_type & self.host.type_mask
        resp = 0x20100000 & self.host.type_mask
        notify = 0x30100000 & self.host.type_mask
        if masked not in (resp, notify):
            fatal.append(f"bridge received unknown message type {msg_type:#x}")
        if masked == notify and msg_type != NOTIFY_CONTAINER:
            fatal.append(f"unknown notification message {msg_type:#x}")
        return fatal

    def check_response(self, msg_type, msg_id, raw):
        """(fatal, spec, decoded or None) for a response."""
        fatal, spec = [], []
        if msg_id not in self.requests:
            return [f"bridge received unknown rpc response for id {msg_id}"], spec, None
        rpc, request = self.requests.pop(msg_id)
        if msg_type != (0x20000000 | rpc):
            spec.append(f"response type {msg_type:#x} to request {0x10000000 | rpc:#x}")
        try:
            tree = parse_json(raw)
        except ValueError as e:
            return [f"bridge response unmarshal failed: {e}"], spec, None
        errs = go_decode(tree, self.host.response_schema(rpc, request))
        if errs:
            return [f"bridge response unmarshal failed: {e}" for e in errs], spec, None
        if not isinstance(tree, dict):
            return fatal, spec, None  # null: Unmarshal succeeds; everything stays zero
        body = plain(tree)
        if field(body, "Result") is None:
            spec.append("response without Result")
        act = field(body, "ActivityId")
        want = request.get("ActivityId")
        if act is not None and want is not None and act.lower() != want.lower():
            spec.append(f"ActivityId {act!r} does not echo the request's {want!r}")
        result = (field(body, "Result") or 0) & 0xFFFFFFFF
        if result == 0:
            fatal += self._success(rpc, request, body, tree)
        elif not field(body, "ErrorMessage"):
            spec.append(f"error {result:#010x} without ErrorMessage")
        return fatal, spec, body

    def _success(self, rpc, request, body, tree):
        """What the host does with a successful reply and where it breaks."""
        out = []
        if rpc == NEGOTIATE_PROTOCOL:
            if field(body, "Version") != 4:
                out.append(f"unexpected version {field(body, 'Version')} returned")
            caps = field(body, "Capabilities") or {}
            self.os = (field(caps, "RuntimeOsType") or "").lower() or "windows"
            if self.os != "linux":
                out.append(f"RuntimeOsType {field(caps, 'RuntimeOsType')!r}: the host takes "
                           f"the guest for {self.os}")
            gdc = field(caps, "GuestDefinedCapabilities")
            present = any(k.lower() == "guestdefinedcapabilities" for k in caps)
            if self.host.caps_raw and not present:
                out.append("unmarshalGuestCapabilities: unexpected end of JSON input "
                           "(GuestDefinedCapabilities absent)")
            elif self.host.caps_raw:
                raw_caps = field(field(tree, "Capabilities"), "GuestDefinedCapabilities")
                out += [f"unmarshalGuestCapabilities: {e}" for e in go_decode(raw_caps,
                                                                              GUEST_CAPS)]
            self.capabilities = gdc if isinstance(gdc, dict) else {}
            if field(caps, "SendHostCreateMessage"):
                out.append("SendHostCreateMessage: the host would send a Create for the "
                           "UVM that no Linux host flow has")
        elif rpc == CREATE:
            self.created.add(request["ContainerId"])
        elif rpc == EXECUTE_PROCESS:
            if not field(body, "ProcessId"):
                out.append("ExecuteProcess succeeded without a ProcessId: the host would "
                           "wait for pid 0")
            cid = request.get("ContainerId")
            params = (request.get("Settings") or {}).get("ProcessParameters")
            if cid != NULL_GUID and isinstance(params, str) and "OciProcess" not in \
                    json.loads(params):
                self.init_pid[cid] = field(body, "ProcessId")
        elif rpc == WAIT_FOR_PROCESS:
            if field(body, "ExitCode") is None:
                out.append("WaitForProcess succeeded without ExitCode")
        elif rpc == GET_PROPERTIES:
            if not isinstance(field(body, "Properties"), str):
                out.append("GetProperties succeeded without a Properties string")
        return out

    def check_notification(self, raw):
        """(fatal, spec, decoded) for a container notification."""
        fatal, spec = [], []
        try:
            tree = parse_json(raw)
        except ValueError as e:
            return [f"bridge response unmarshal failed: {e}"], spec, None
        errs = go_decode(tree, NOTIFICATION)
        if errs:
            return [f"bridge response unmarshal failed: {e}" for e in errs], spec, None
        body = plain(tree) if isinstance(tree, dict) else {}
        cid = field(body, "ContainerId") or ""
        running = self.waits_outstanding(cid)
        if self.init_pid.get(cid) in running:
            spec.append(f"notification for {cid!r} before the reply to the WaitForProcess of "
                        "its init: the shim still sees the init running and kills it "
                        "(hcsExec.waitForContainerExit)")
        if self.notify.pop(cid, None) is None:
            fatal.append(f"bridge notification failed: container {cid} not found")
        if cid not in self.created:
            spec.append(f"notification for {cid!r}, which was never successfully created")
        self.notified[cid] = self.notified.get(cid, 0) + 1
        if self.notified[cid] > 1:
            spec.append(f"notification number {self.notified[cid]} for {cid!r}")
        return fatal, spec, body

    def waits_outstanding(self, cid):
        """Pids of the container with a WaitForProcess not answered yet: the
        processes the shim still believes are running."""
        return [body.get("ProcessId") for rpc, body in self.requests.values()
                if rpc == WAIT_FOR_PROCESS and body.get("ContainerId") == cid]

    def capability(self, name):
        return bool((self.capabilities or {}).get(name))


# -- a bridge connection that breaks where hcsshim's does ---------------------------------

class HostKilled(AssertionError):
    """hcsshim would tear the bridge down (and with it the UVM) here."""


class Reply:
    """One message from the guest, decoded as plain JSON (numbers as int)."""

    def __init__(self, msg_type, msg_id, size, body, raw):
        self.type = msg_type
        self.id = msg_id
        self.size = size
        self.json = body or {}
        self.raw = raw

    @property
    def result(self):
        return (field(self.json, "Result") or 0) & 0xFFFFFFFF

    @property
    def error(self):
        return field(self.json, "ErrorMessage") or ""

    def __repr__(self):
        return f"Reply(type={self.type:#x}, id={self.id}, body={self.raw[:400]!r})"


def _bridge_base():
    from gcs_host import BridgeConnection  # tests/lib, on sys.path with this module
    return BridgeConnection


class HostBridge(_bridge_base()):
    """gcs_host.BridgeConnection with the host's rules: requests are the
    host's exact bytes; every message from the guest goes through HostView
    as it arrives; a message hcsshim would die on raises HostKilled; spec
    findings are collected in self.spec."""

    def __init__(self, sock, host="main"):
        super().__init__(sock)
        self.view = HostView(host)
        self.spec = []
        self.trace = []  # (direction, type, id, summary) for failure reports

    def send_request(self, rpc, body, msg_id=None):
        from gcs_host import HEADER
        if msg_id is None:
            msg_id = self.next_id
            self.next_id += 1
        data = go_encode_message(body)
        self.view.sent(msg_id, rpc, body)
        self.outstanding.add(msg_id)
        self.trace.append((">", 0x10000000 | rpc, msg_id, data[:160]))
        self.send_raw(HEADER.pack(0x10000000 | rpc, 16 + len(data), msg_id) + data)
        return msg_id

    def recv(self, timeout=10):
        import time
        from gcs_host import HEADER, HEADER_SIZE
        deadline = time.monotonic() + timeout
        self._fill(HEADER_SIZE, deadline)
        msg_type, size, msg_id = HEADER.unpack_from(self.buf)
        fatal = self.view.check_header(msg_type, size, msg_id)
        if fatal:
            raise HostKilled("; ".join(fatal) + f" (header {self.buf[:16].hex()})")
        self._fill(size, deadline)
        raw, self.buf = self.buf[HEADER_SIZE:size], self.buf[size:]
        self.trace.append(("<", msg_type, msg_id, raw[:160]))
        if msg_type == NOTIFY_CONTAINER:
            fatal, spec, body = self.view.check_notification(raw)
        else:
            fatal, spec, body = self.view.check_response(msg_type, msg_id, raw)
        if fatal:
            raise HostKilled("; ".join(fatal) + f": {raw[:600]!r}")
        self.spec += [f"{s}: {raw[:300]!r}" for s in spec]
        msg = Reply(msg_type, msg_id, size, body, raw)
        if msg_type == NOTIFY_CONTAINER:
            # What hcsExec.waitForContainerExit does when the container's
            # wait channel closes: every exec it still runs gets Kill().
            msg.running = self.view.waits_outstanding(field(msg.json, "ContainerId"))
            if msg_id != 0:
                self.spec.append(f"notification with ID {msg_id}")
            self.notifications.append(msg)
        else:
            self.outstanding.discard(msg_id)
            self.replies[msg_id] = msg
            self.order.append(msg_id)
        return msg
