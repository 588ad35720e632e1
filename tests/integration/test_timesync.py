"""Time sync (issue 13 item 1): the gcs runs chronyd on the PTP clock named
"hyperv", with the reference's configuration, restarts it with a growing
delay when it exits, relays its output as log lines, skips it all with
-disable-time-sync and says so when there is no such clock. chronyd is a
stand-in script here (the real one would set this machine's clock); the
clock is a fake sysfs (LCOW_SYSFS_ROOT)."""
import os
import stat
import time

import pytest

from conftest import OUT
from gcs_host import GcsProcess

GCS = os.path.join(OUT, "gcs")

FAKE_CHRONYD = """#!/bin/sh
{trap}
echo "$$ $*" >> "{record}"
echo "chronyd stand-in starting" >&2
{body}
"""


@pytest.fixture
def setup(tmp_path):
    procs = []
    sysfs = tmp_path / "sys"
    (sysfs / "class" / "ptp" / "ptp0").mkdir(parents=True)
    (sysfs / "class" / "ptp" / "ptp0" / "clock_name").write_text("KVM virtual PTP\n")
    (sysfs / "class" / "ptp" / "ptp1").mkdir()
    (sysfs / "class" / "ptp" / "ptp1" / "clock_name").write_text("hyperv\n")
    record = tmp_path / "starts"

    def start(body="exit 1", clock=True, args=(), backoff_ms=100, trap=""):
        script = tmp_path / "chronyd"
        script.write_text(FAKE_CHRONYD.format(record=record, body=body, trap=trap))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        env = {"LCOW_SYSFS_ROOT": str(sysfs if clock else tmp_path / "nosys"),
               "LCOW_CHRONYD": str(script), "LCOW_CHRONYD_DIR": str(tmp_path / "run"),
               "LCOW_CHRONYD_BACKOFF_MS": str(backoff_ms)}
        g = GcsProcess(GCS, args=list(args), env=env)
        procs.append(g)
        return g

    start.record = record
    start.run = tmp_path / "run"
    yield start
    for g in procs:
        g.stop()
        assert not g.log.bad, "non-JSON log lines:\n" + "".join(g.log.bad[:5])


def starts(record):
    return record.read_text().splitlines() if record.exists() else []


def test_chronyd_runs_on_the_hyperv_clock_and_is_restarted_with_growing_delays(setup):
    g = setup()
    g.log.wait_for(lambda e: "time sync on the hyperv PTP clock /dev/ptp1" in e.get("msg", ""))
    delays = []
    for _ in range(3):
        e = g.log.wait_for(lambda e: e.get("restartInMs") is not None and
                           e["restartInMs"] not in delays, timeout=20)
        assert "chronyd exited (exit status 1): restarting it in" in e["msg"]
        delays.append(e["restartInMs"])
    assert delays == [100, 150, 225]
    conf = setup.run / "chronyd.conf"
    assert conf.read_text() == ("refclock PHC /dev/ptp1 poll 3 dpoll -2 offset 0 stratum 2\n"
                                "makestep 0.1 -1\n"
                                f"pidfile {setup.run}/chronyd.pid\n")
    runs = starts(setup.record)
    assert len(runs) >= 3
    assert all(r.split(" ", 1)[1] == f"-d -f {conf}" for r in runs)
    # chronyd's stderr became log lines of their own.
    e = g.log.wait_for(lambda e: e.get("process") == "chronyd" and
                       e.get("msg") == "chronyd stand-in starting")
    assert e["level"] == "info"
    # The bridge is served all the while.
    b = g.accept_bridge()
    b.negotiate()


def test_a_running_chronyd_is_stopped_with_the_gcs(setup):
    g = setup(trap="trap 'exit 0' TERM", body="sleep 60 & wait")
    e = g.log.wait_for(lambda e: e.get("msg", "").startswith("chronyd started"))
    pid = e["pid"]
    # Running, not merely forked: its trap is set once it has spoken.
    g.log.wait_for(lambda e: e.get("msg") == "chronyd stand-in starting")
    g.accept_bridge().negotiate()
    g.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"chronyd {pid} still runs after the gcs stopped")
    assert starts(setup.record)[0].startswith(f"{pid} ")


def test_no_hyperv_clock_is_said_and_the_gcs_runs_on(setup):
    g = setup(clock=False)
    e = g.log.wait_for(lambda e: "time sync not started" in e.get("msg", ""))
    assert e["level"] == "warning"
    assert "no PTP clocks" in e["msg"]
    g.accept_bridge().negotiate()
    assert starts(setup.record) == []


def test_disable_time_sync_skips_it(setup):
    g = setup(args=["-disable-time-sync"])
    g.log.wait_for(lambda e: e.get("msg") == "time sync disabled (-disable-time-sync)")
    g.accept_bridge().negotiate()
    time.sleep(0.3)
    assert starts(setup.record) == []
    assert not any("chronyd" in e.get("msg", "") for e in g.log.entries)
