"""End to end with the worked example: Kafka -> the installed heraldd -> smsbulletin.so (built out
of tree against the installed SDK by test_sdk_example.py, the sdk_example fixture) -> the SMS
gateway simulator (examples/adapter-smsbulletin/sim_smsgateway.py).

heraldd loads the .so from daemon.plugin_dir; items produced with an independent Kafka client
become bulletins that the simulator accepts (signature, segment count, HMAC all checked there);
the deliveries are recorded delivered with the gateway's batch ids; a SIGHUP reload reads
plugin_dir again without refusing the adapter it already loaded; --list-channels -c shows it.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from herald_test import herald as herald_mod
from herald_test import kafka
from herald_test.herald import Herald, http
from herald_test.items import make_item
from herald_test.procs import NotYet, Proc, wait_file, wait_for
from herald_test.scenario import topics

SOURCE = Path(os.environ.get("HERALD_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
OUT = Path(os.environ.get("SDK_EXAMPLE_DIR", BUILD / "tests" / "sdk" / "example"))
EXAMPLE = SOURCE / "examples" / "adapter-smsbulletin"
KEY = "sdk-e2e-gateway-key-0123456789abcdef"
INSTANCE = "smsbulletin:citizens"
SIGNATURE = "【越秀政务】"


def gateway(workdir):
    key = workdir / "gateway-key"
    key.write_text(KEY + "\n")
    ports = workdir / "gateway.json"
    proc = Proc([sys.executable, EXAMPLE / "sim_smsgateway.py", "--key-file", key,
                 "--ports-file", ports], workdir, name="sim_smsgateway")
    url = json.loads(wait_file(ports, 30, "the gateway simulator's ports file"))["url"]
    return proc, url, key


def received(url):
    status, doc = http("GET", url + "/_sim/received")
    assert status == 200, doc
    return doc


def test_heraldd_publishes_through_the_loaded_example(kafka_bootstrap, tmp_workdir):
    so = OUT / "build" / "smsbulletin.so"
    heraldd = OUT / "prefix" / "sbin" / "heraldd"
    assert so.exists() and heraldd.exists(), "the sdk_example fixture (test_sdk_example.py) ran?"
    plugins = tmp_workdir / "adapters"
    plugins.mkdir(mode=0o755)
    (plugins / "smsbulletin.so").write_bytes(so.read_bytes())
    os.chmod(plugins / "smsbulletin.so", 0o644)

    _, url, key = gateway(tmp_workdir)
    t = topics("sdk-example")
    herald_mod.HERALDD = heraldd  # the installed daemon, not the build tree's
    h = Herald(tmp_workdir, kafka_bootstrap, t,
               {INSTANCE: {"url": url, "account": "yuexiu-gov", "api_key": "file:%s" % key,
                           "list": "yuexiu-all", "retry_base": "100ms", "retry_cap": "1s",
                           "timeout": "5s"}},
               [{"name": "all", "to": [INSTANCE]}],
               extra={"daemon": {"plugin_dir": str(plugins), "log_level": "debug"}})
    h.start()
    assert "registry: loaded adapter smsbulletin 1.0 from %s" % (plugins / "smsbulletin.so") \
        in h.proc.stderr_text() + h.proc.stdout_text()

    long_summary = "越秀区今年汛期防御工作安排如下。" * 12  # several joined messages
    items = [make_item("sdk-sms-1", title="东山街义诊活动通知"),
             make_item("sdk-sms-2", title="暴雨橙色预警", priority="urgent"),
             make_item("sdk-sms-3", title="汛期防御工作安排", summary=long_summary)]
    kafka.produce(t["items"], items, key=lambda _, d: d["id"])

    wait_for(lambda: received(url)["applied"] == 3 or NotYet(received(url)), 60,
             "three bulletins at the gateway")
    wait_for(lambda: h.count("delivered", INSTANCE) == 3, 30, "three deliveries delivered")
    rx = received(url)
    assert rx["refused"] == 0 and rx["duplicates"] == 0, rx
    by_title = {b["content"].split("：")[0][len(SIGNATURE):]: b for b in rx["bulletins"]}
    assert set(by_title) == {"东山街义诊活动通知", "暴雨橙色预警", "汛期防御工作安排"}, by_title
    assert all(b["content"].startswith(SIGNATURE) for b in rx["bulletins"])
    assert by_title["暴雨橙色预警"]["urgent"] is True
    assert by_title["东山街义诊活动通知"]["segments"] == 1
    assert by_title["汛期防御工作安排"]["segments"] == 3  # max_segments: cut with an ellipsis
    assert by_title["汛期防御工作安排"]["content"].endswith("…")
    rows = h.query("SELECT item_id, remote_id FROM deliveries WHERE instance=?", (INSTANCE,))
    assert sorted(r[1] for r in rows) == sorted(b["batch_id"] for b in rx["bulletins"])

    # SIGHUP: plugin_dir is read again; the adapter loaded already is not refused as a duplicate
    h.proc.popen.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload: channel settings of 1 instance(s) taken" in h.proc.stderr_text()
             + h.proc.stdout_text(), 30, "the reload taken")
    assert "reload refused" not in h.proc.stderr_text() + h.proc.stdout_text()
    kafka.produce(t["items"], [make_item("sdk-sms-4", title="重阳节敬老活动")],
                  key=lambda _, d: d["id"])
    wait_for(lambda: h.count("delivered", INSTANCE) == 4, 60, "the item after the reload")

    listing = subprocess.run([str(heraldd), "--list-channels", "-c", str(h.config_path)],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "adapter smsbulletin 1.0 (%s)" % (plugins / "smsbulletin.so") in listing.stdout
    assert "max_segments" in listing.stdout
    assert h.stop() == 0
