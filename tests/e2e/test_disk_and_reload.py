"""The store's disk fills up, and SIGHUP reloads.

- store.min_free above what the file system has: intake pauses at once (readiness 503, the
  alert metric), nothing is consumed, nothing is lost; with room again it all goes out.
- The disk really fills (a small tmpfs): the failed commit stops heraldd with exit code 75
  (systemd restarts it); with a bigger disk the restart loses nothing accepted.
- SIGHUP takes new channel settings; a broken file is refused and the running one kept.
"""

import json
import os
import signal
import subprocess

import pytest

from herald_test import kafka
from herald_test.herald import Herald, Sim, webhook_channel
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics


@pytest.fixture
def small_disk(tmp_workdir):
    mnt = tmp_workdir / "small-disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (%s): needs root and mount rights"
                    % r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def herald_on(workdir, bootstrap, t, sim, state_dir, **store):
    h = Herald(workdir, bootstrap, t, {"webhook:ops": webhook_channel(sim)},
               [{"name": "all", "to": ["webhook:ops"]}])
    h.state_dir = state_dir
    h.config["daemon"]["state_dir"] = str(state_dir)
    h.config["store"].update(store)
    return h


def test_min_free_pauses_intake_until_there_is_room(kafka_bootstrap, tmp_workdir, small_disk):
    t = topics("e2e-minfree")
    sim = Sim(tmp_workdir).start()
    h = herald_on(tmp_workdir, kafka_bootstrap, t, sim, small_disk, min_free="1GiB").start()
    wait_for(lambda: "\nherald_intake_paused 1\n" in h.get("/metrics")[1], 30, "intake paused")
    # /readyz names the group join first while that is still under way
    wait_for(lambda: h.get("/readyz") == (503, "not ready: intake paused (store trouble or "
                                                "back-pressure)\n"), 30, "/readyz: paused")
    kafka.produce(t["items"], [make_item("mf-%d" % i) for i in range(20)], key=lambda _, d: d["id"])
    # paused partitions deliver nothing: nothing taken in while there is no room
    assert h.query("SELECT COUNT(*) FROM items")[0][0] == 0
    assert "store disk nearly full" in (tmp_workdir / "heraldd.err").read_text()
    assert h.stop() == 0
    h.config["store"]["min_free"] = "0"
    h.start()
    wait_for(lambda: h.count("delivered") == 20, 60, "everything out once there is room")
    assert sim.applied("webhook") == 20
    assert h.stop() == 0


def test_a_full_disk_stops_heraldd_and_loses_nothing(kafka_bootstrap, tmp_workdir, small_disk):
    t = topics("e2e-full")
    sim = Sim(tmp_workdir).start()
    h = herald_on(tmp_workdir, kafka_bootstrap, t, sim, small_disk, min_free="0").start()
    # items with a large body fill 3 MB quickly
    body = "<p>" + "越秀区政务公开。" * 400 + "</p>"
    ids = ["full-%04d" % i for i in range(400)]
    kafka.produce(t["items"], [make_item(i, body_html=body) for i in ids],
                  key=lambda _, d: d["id"])

    def exited():
        if h.proc.alive():
            raise NotYet("still running")
        return True

    wait_for(exited, 120, "heraldd to stop on the full disk")
    assert h.proc.returncode == 75, h.proc.returncode
    err = (tmp_workdir / "heraldd.err").read_text()
    assert "ALERT store" in err
    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    h.start()
    wait_for(lambda: h.count("delivered") == len(ids), 180, "every item after the restart")
    rx = sim.received("webhook")
    assert rx["applied"] == len(ids)
    assert all(v["applied"] == 1 for v in rx["by_key"].values())
    assert h.stop() == 0


def test_sighup_reloads_channel_settings(kafka_bootstrap, tmp_workdir):
    t = topics("e2e-hup")
    sim = Sim(tmp_workdir).start()
    h = Herald(tmp_workdir, kafka_bootstrap, t,
               {"webhook:ops": webhook_channel(sim, url=sim.url("webhook") + "/before")},
               [{"name": "all", "to": ["webhook:ops"]}]).start()
    kafka.produce(t["items"], [make_item("hup-1")], key="hup-1")
    wait_for(lambda: h.count("delivered") == 1, 30, "first item")
    h.config["channels"]["webhook:ops"]["url"] = sim.url("webhook") + "/after"
    h.write_config()
    os.kill(h.proc.pid, signal.SIGHUP)
    wait_for(lambda: "new settings in force" in (tmp_workdir / "heraldd.err").read_text(), 30,
             "the reload")
    kafka.produce(t["items"], [make_item("hup-2")], key="hup-2")
    wait_for(lambda: h.count("delivered") == 2, 30, "second item")
    paths = [(e["key"].split(":")[1], e["path"]) for e in sim.received("webhook")["log"]]
    assert ("hup-1", "/before") in paths and ("hup-2", "/after") in paths
    # settings read once at start: the reload says they wait for the next start, and keeps them
    h.config["admin"]["listen"] = "127.0.0.1:1"
    h.config["store"]["commit_interval"] = "20ms"
    h.write_config()
    os.kill(h.proc.pid, signal.SIGHUP)
    wait_for(lambda: "take effect at the next start" in (tmp_workdir / "heraldd.err").read_text(),
             30, "the warning")
    line = [x for x in (tmp_workdir / "heraldd.err").read_text().splitlines()
            if "take effect at the next start" in x][0]
    assert "store.commit_interval" in line and "admin.listen" in line, line
    assert "kafka" not in line and "channels." not in line, line
    assert h.get("/healthz")[0] == 200  # still on the address it started with
    # a broken file is refused with file:line, the running configuration stays
    h.config_path.write_text(json.dumps(h.config)[:-20])
    os.kill(h.proc.pid, signal.SIGHUP)
    wait_for(lambda: "reload refused" in (tmp_workdir / "heraldd.err").read_text(), 30,
             "the refusal")
    assert "heraldd.yaml:" in (tmp_workdir / "heraldd.err").read_text()
    kafka.produce(t["items"], [make_item("hup-3")], key="hup-3")
    wait_for(lambda: h.count("delivered") == 3, 30, "still delivering")
    assert h.proc.alive()
    h.write_config()
    assert h.stop() == 0
