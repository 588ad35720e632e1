"""ModifySettings SecurityPolicy / SecurityPolicyFragment (bridge-protocol.md
§3.10.10) against the real gcs over its unix transport.

Every released host (hcsshim v0.11 to v0.14) sends SecurityPolicy Add on the
null id right after negotiation, at every UVM start; the host's Start fails
and tears the UVM down on any error reply. Go's encoder omits the empty
fields (`omitempty` in guestresource.LCOWConfidentialOptions), so what
arrives is usually `"Settings":{}`."""
import base64
import json
import os

import pytest

from conftest import OUT
from gcs_host import HR, NULL_GUID, GcsProcess, Msg

GCS = os.path.join(OUT, "gcs")
ACTIVITY = "0d5c5d31-5a8e-4f5b-9d3c-0a1b2c3d4e5f"
REGO = "package policy\n\napi_version := \"0.10.0\"\n\nmount_device := {\"allowed\": true}\n"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def policy(settings, resource="SecurityPolicy", request_type="Add"):
    body = {"ContainerId": NULL_GUID, "ActivityId": ACTIVITY,
            "Request": {"ResourceType": resource, "RequestType": request_type}}
    if settings is not None:
        body["Request"]["Settings"] = settings
    return body


@pytest.fixture
def start():
    procs = []

    def run(args=()):
        g = GcsProcess(GCS, args=args)
        procs.append(g)
        b = g.accept_bridge()
        b.negotiate()
        b.gcs = g
        return b

    yield run
    for g in procs:
        g.stop()
        assert not g.log.bad, "non-JSON log lines:\n" + "".join(g.log.bad[:5])


def dump(bridge):
    reply = bridge.request(Msg.DUMP_STACKS, {"ContainerId": NULL_GUID, "ActivityId": ACTIVITY})
    assert reply.result == 0
    return reply.json["GuestStacks"]


@pytest.mark.parametrize("settings", [
    {},                                                   # v0.11-v0.14 as marshalled
    {"EnforcerType": "", "EncodedSecurityPolicy": ""},    # the same, spelled out
    None,                                                 # no Settings at all
    {"EnforcerType": "open_door"},
    {"EnforcerType": "allow_all"},
    {"EncodedSecurityPolicy": b64(json.dumps({"allow_all": True}))},
    {"EnforcerType": "rego", "EncodedSecurityPolicy": b64(json.dumps(
        {"allow_all": True, "containers": {"length": 0, "elements": {}}}))},
])
def test_an_open_door_policy_is_accepted_once(start, settings):
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy(settings))
    assert reply.result == 0, reply.error
    assert reply.json["ActivityId"] == ACTIVITY
    again = b.request(Msg.MODIFY_SETTINGS, policy(settings))
    assert again.result != 0
    assert again.error == "security policy has already been set"
    assert "security policy: set (open door): nothing is enforced" in dump(b)


def test_the_uvm_reference_is_kept_logged_and_dumped(start):
    ref = b64("uvm reference info: a COSE_Sign1 document in real life")
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy({"EncodedUVMReference": ref}))
    assert reply.result == 0, reply.error
    entry = b.gcs.log.wait_for(lambda e: e["msg"] == "security policy: UVM reference kept")
    assert entry["value"] == ref and entry["size"] == len(ref)
    assert f"UVM reference ({len(ref)} bytes): {ref}" in dump(b)


@pytest.mark.parametrize("settings,what", [
    ({"EnforcerType": "rego", "EncodedSecurityPolicy": b64(REGO)}, "a Rego policy"),
    ({"EncodedSecurityPolicy": b64(REGO)}, "a Rego policy"),
    ({"EnforcerType": "standard", "EncodedSecurityPolicy": b64(json.dumps(
        {"allow_all": False, "containers": {"length": 1, "elements": {"0": {}}}}))},
     "a JSON policy listing 1 container(s)"),
])
def test_a_real_policy_is_refused_and_the_gcs_keeps_serving(start, settings, what):
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy(settings))
    assert reply.result == HR.E_NOTIMPL
    assert what in reply.error
    assert "does not enforce security policies" in reply.error
    # Nothing was set: the open door can still be set, and the gcs serves.
    assert b.request(Msg.MODIFY_SETTINGS, policy({})).result == 0
    assert b.request(Msg.GET_PROPERTIES, {"ContainerId": NULL_GUID, "Query": ""}).result == 0


@pytest.mark.parametrize("settings,text", [
    ({"EnforcerType": "magic"}, 'unknown enforcer "magic"'),
    ({"EncodedSecurityPolicy": "***"}, "not valid base64"),
    ({"EnforcerType": "rego"}, 'enforcer "rego" was given without a policy'),
])
def test_a_bad_policy_is_a_clear_error(start, settings, text):
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy(settings))
    assert reply.result not in (0, HR.E_NOTIMPL)
    assert text in reply.error


def test_a_fragment_is_refused_by_name(start):
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy(
        {"Fragment": b64("cose"), "MediaType": "application/cose-x509+rego"},
        resource="SecurityPolicyFragment"))
    assert reply.result == HR.E_NOTIMPL
    assert "security policy fragments are not supported" in reply.error
    assert b.request(Msg.MODIFY_SETTINGS, policy({})).result == 0


def test_only_add_is_a_policy_request(start):
    b = start()
    reply = b.request(Msg.MODIFY_SETTINGS, policy({}, request_type="Remove"))
    assert reply.result != 0 and "only Add" in reply.error


def test_deny_stance_refuses_requests_until_a_policy_is_set(start):
    b = start(["-initial-policy-stance", "deny"])
    b.gcs.log.wait_for(lambda e: e["msg"].startswith("-initial-policy-stance deny"))
    text = dump(b)
    assert "none yet, initial stance deny: every request but SecurityPolicy is refused" in text
    reply = b.request(Msg.GET_PROPERTIES, {"ContainerId": NULL_GUID, "Query": ""})
    assert reply.result == HR.E_FAIL
    assert "GetProperties denied: -initial-policy-stance deny" in reply.error
    reply = b.request(Msg.CREATE, {"ContainerId": "c1", "ActivityId": ACTIVITY})
    assert "denied" in reply.error
    assert b.request(Msg.MODIFY_SETTINGS, policy({})).result == 0
    assert b.request(Msg.GET_PROPERTIES, {"ContainerId": NULL_GUID, "Query": ""}).result == 0


def test_allow_stance_says_nothing_is_enforced(start):
    b = start()
    assert "none yet, initial stance allow: nothing is enforced" in dump(b)
