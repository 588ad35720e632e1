"""The host flows' checker can fail: tests/lib/hcsshim_host.py rejects what
released hosts die on, and the flow runner fails a flow when a guest sends
it. A scripted fake guest on a socketpair plays the bad replies; no gcs,
root or VM is needed."""
import json
import os
import socket
import struct
import sys
import threading

import pytest

from conftest import TOP

sys.path.insert(0, os.path.join(TOP, "tests", "hostflows"))

import hcsshim_host as hh  # noqa: E402
import runner  # noqa: E402

NULL = hh.NULL_GUID
HEADER = struct.Struct("<IIQ")
GOOD_NEGOTIATE = {"Result": 0, "ActivityId": NULL, "Version": 4, "Capabilities": {
    "SupportedSchemaVersions": [{"Major": 2, "Minor": 1}], "RuntimeOsType": "Linux",
    "GuestDefinedCapabilities": {"NamespaceAddRequestSupported": True,
                                 "SignalProcessSupported": True, "DumpStacksSupported": True,
                                 "DeleteContainerStateSupported": True}}}


def view_after(host, rpc, request):
    v = hh.HostView(host)
    v.sent(7, rpc, dict({"ContainerId": "c1", "ActivityId": NULL}, **request))
    return v


def reply(v, body, rpc, msg_id=7):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return v.check_response(0x20000000 | rpc, msg_id, raw)


def test_go_encoding_matches_the_host():
    # json.Marshal escapes <, > and & (inner JSON); the Encoder the bridge
    # uses does not, and ends the message with a newline.
    assert hh.go_marshal({"a": "x && y > z"}) == '{"a":"x \\u0026\\u0026 y \\u003e z"}'
    assert hh.go_encode_message({"a": "<b>", "c": "é"}) == '{"a":"<b>","c":"é"}\n'.encode()
    assert runner.subst({"$json": {"p": "${X}"}}, {"X": "a&b"}) == '{"p":"a\\u0026b"}'
    assert runner.subst({"pid": "${PID}", "s": "/proc/${PID}/ns"}, {"PID": 42}) == \
        {"pid": 42, "s": "/proc/42/ns"}


@pytest.mark.parametrize("body,why", [
    ({"Result": 0, "ActivityId": "", "ProcessId": 5}, "invalid GUID"),
    ({"Result": 0, "ActivityId": NULL, "ProcessId": -1}, "overflows Go uint32"),
    ({"Result": 0, "ActivityId": NULL, "ProcessId": 5.0}, "into Go uint32"),
    ({"Result": 0, "ActivityId": NULL, "ProcessId": "5"}, "into Go uint32"),
    ({"Result": 2147483648, "ActivityId": NULL}, "overflows Go int32"),
    ({"Result": 0, "ActivityId": NULL}, "without a ProcessId"),
    (b'{"Result":0,"ProcessId":NaN}', "unmarshal failed"),
    ({"Result": -1, "ErrorRecords": [{"Line": -1}]}, "overflows Go uint32"),
])
def test_execute_process_replies_the_host_dies_on(body, why):
    fatal, _, _ = reply(view_after("v0.11.8", hh.EXECUTE_PROCESS, {}), body,
                        hh.EXECUTE_PROCESS)
    assert fatal and why in " ".join(fatal), fatal


def test_properties_must_be_a_string_holding_the_right_json():
    stats = {"Query": json.dumps({"PropertyTypes": ["Statistics"]})}
    ps = {"Query": json.dumps({"PropertyTypes": ["ProcessList"]})}
    fatal, _, _ = reply(view_after("main", hh.GET_PROPERTIES, stats),
                        {"Result": 0, "Properties": {"LCOWMetrics": {}}}, hh.GET_PROPERTIES)
    assert "a string holding JSON is required" in fatal[0]
    fatal, _, _ = reply(view_after("main", hh.GET_PROPERTIES, stats),
                        {"Result": 0, "Properties": json.dumps(
                            {"LCOWMetrics": {"memory": {"usage": {"usage": -4}}}})},
                        hh.GET_PROPERTIES)
    assert "LCOWMetrics.memory.usage.usage: number -4 overflows Go uint64" in fatal[0]
    # The v1 query is decoded into schema1: ProcessId is a uint32 there.
    fatal, _, _ = reply(view_after("main", hh.GET_PROPERTIES, ps),
                        {"Result": 0, "Properties": json.dumps(
                            {"ProcessList": [{"ProcessId": 5, "CreateTimestamp": "now"}]})},
                        hh.GET_PROPERTIES)
    assert "RFC 3339" in fatal[0]
    fatal, spec, _ = reply(view_after("main", hh.GET_PROPERTIES, ps),
                           {"Result": 0, "ActivityId": NULL, "Properties": json.dumps(
                               {"ProcessList": [{"ProcessId": 5}], "Extra": [1]})},
                           hh.GET_PROPERTIES)
    assert fatal == [] and spec == []


def test_negotiation_capabilities_differ_by_host():
    body = dict(GOOD_NEGOTIATE)
    body["Capabilities"] = {k: v for k, v in GOOD_NEGOTIATE["Capabilities"].items()
                            if k != "GuestDefinedCapabilities"}
    # v0.11/v0.12: silently no capabilities; v0.13+: connect fails.
    fatal, _, _ = reply(view_after("v0.11.8", hh.NEGOTIATE_PROTOCOL, {}), body,
                        hh.NEGOTIATE_PROTOCOL)
    assert fatal == []
    fatal, _, _ = reply(view_after("v0.14.1", hh.NEGOTIATE_PROTOCOL, {}), body,
                        hh.NEGOTIATE_PROTOCOL)
    assert "unmarshalGuestCapabilities" in fatal[0]
    body["Capabilities"] = dict(GOOD_NEGOTIATE["Capabilities"], RuntimeOsType="")
    fatal, _, _ = reply(view_after("main", hh.NEGOTIATE_PROTOCOL, {}), body,
                        hh.NEGOTIATE_PROTOCOL)
    assert "takes the guest for windows" in fatal[0]


def test_headers_and_ids():
    v = view_after("v0.11.8", hh.START, {})
    assert v.check_header(0x20100201, 0x10001, 7)  # one byte over 64 KiB
    assert v.check_header(0x20200201, 40, 7)       # category 2: unknown to v0.11-v0.14
    assert not view_after("main", hh.START, {}).check_header(0x20200201, 40, 7)
    fatal, _, _ = v.check_response(0x20100201, 8, b'{"Result":0}')
    assert "unknown rpc response for id 8" in fatal[0]


def test_notifications_need_a_registered_container():
    v = hh.HostView("main")
    v.sent(1, hh.CREATE, {"ContainerId": "c1", "ActivityId": NULL})
    note = json.dumps({"ContainerId": "c1", "ActivityId": NULL, "Type": "UnexpectedExit",
                       "Operation": "None", "Result": 0}).encode()
    fatal, spec, _ = v.check_notification(note)
    assert fatal == [] and spec  # registered, but its Create never succeeded
    fatal, _, _ = v.check_notification(note)
    assert "container c1 not found" in fatal[0]
    v.sent(2, hh.CREATE, {"ContainerId": "c2", "ActivityId": NULL})
    v.check_response(0x20100101, 2, b'{"Result":0}')
    fatal, _, _ = v.check_notification(json.dumps(
        {"ContainerId": "c2", "ResultInfo": {"Reason": "OOMKilled"}}).encode())
    assert "anyInString" in fatal[0]  # ResultInfo is a string holding JSON


class FakeGuest(runner.Env):
    """A guest that answers from a script: {rpc name: body}."""
    offvm = True
    name = "fake guest"

    def __init__(self, answers):
        self.answers = answers
        self.host_end, self.guest_end = socket.socketpair()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def variables(self):
        return {"RUN": "/run", "SYS": "/sys"}

    def start(self):
        self.thread.start()
        return self.host_end

    def serve(self):
        names = {v: k for k, v in hh.RPC_NAMES.items()}
        buf = b""
        while True:
            while len(buf) < 16 or len(buf) < HEADER.unpack_from(buf)[1]:
                data = self.guest_end.recv(65536)
                if not data:
                    return
                buf += data
            msg_type, size, msg_id = HEADER.unpack_from(buf)
            buf = buf[size:]
            body = json.dumps(self.answers[names[msg_type & 0x0FFFFFFF]]).encode()
            self.guest_end.sendall(HEADER.pack(0x20000000 | (msg_type & 0x0FFFFFFF),
                                               16 + len(body), msg_id) + body)

    def close(self):
        self.guest_end.close()
        return []


@pytest.mark.parametrize("flow_name,answers,why", [
    ("uvm-start-main", {"NegotiateProtocol": dict(GOOD_NEGOTIATE, ActivityId="")},
     "would kill the bridge: bridge response unmarshal failed: $.ActivityId"),
    ("uvm-start-v0.11.8", {"NegotiateProtocol": GOOD_NEGOTIATE,
                           "ModifySettings": {"Result": -2147467263, "ActivityId": NULL,
                                              "ErrorMessage": "not implemented"}},
     "security-policy failed with 0x80004001"),
    ("uvm-start-v0.11.8", {"NegotiateProtocol": dict(GOOD_NEGOTIATE, Version=3)},
     "unexpected version 3 returned"),
])
def test_a_flow_fails_on_a_guest_a_real_host_breaks_on(flow_name, answers, why):
    flow = runner.load_flows([flow_name])[0]
    with pytest.raises(runner.FlowFailure) as e:
        runner.run_flow(flow, FakeGuest(answers))
    assert why in str(e.value)


def test_a_flow_passes_on_a_guest_that_answers_as_expected():
    flow = runner.load_flows(["uvm-start-v0.11.8"])[0]
    result = runner.run_flow(flow, FakeGuest({
        "NegotiateProtocol": GOOD_NEGOTIATE,
        "ModifySettings": {"Result": 0, "ActivityId": NULL}}))
    assert result.terminated and result.bridge.spec == []
