"""ShutdownGraceful / ShutdownForced on the null container id (spec §3.8):
the gcs answers, stops serving and exits 0, which in the VM makes init
power the VM off (tests/integration/test_vm_e2e.py checks that QEMU then
exits by itself). Here the gcs runs on the unix transport."""
import pytest

from conftest import out_path
from gcs_host import NULL_GUID, GcsProcess, Msg


@pytest.mark.parametrize("msg_type,how", [(Msg.SHUTDOWN_GRACEFUL, "graceful"),
                                          (Msg.SHUTDOWN_FORCED, "forced")])
def test_uvm_shutdown_answers_and_exits(msg_type, how):
    with GcsProcess(out_path("gcs")) as gcs:
        bridge = gcs.accept_bridge()
        bridge.negotiate()
        msg_id = bridge.send(msg_type, {"ContainerId": NULL_GUID, "ActivityId": NULL_GUID})
        try:
            reply = bridge.wait_reply(msg_id, timeout=10)
            assert reply.result == 0, reply.json
        except EOFError:
            pass  # no reliable response (§3.8): the connection may close first
        assert bridge.closed_by_guest(10)
        assert gcs.proc.wait(10) == 0
        entry = gcs.log.wait_for(lambda e: "shutdown requested" in e["msg"])
        assert entry["shutdown"] == how
        bridge.close()
