"""The dashboard in a real browser: Debian's Chromium driven by playwright-core (browser/
dashboard.test.js does the clicking). The operator logs in, sees the channels, finds the failed
delivery and why it failed, fixes the channel, retries it from the page and watches it succeed;
this test then checks the store and the audit log agree. Screenshots go to
$HERALD_SCREENSHOT_DIR (docs/screenshots when refreshing the documentation's), else the test's
work dir."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from apienv import TOKENS, Env, restamp, seed_items
from herald_test.procs import wait_for

CHROMIUM = "/usr/bin/chromium"


def browser_dir():
    d = Path(os.environ.get("HERALD_BROWSER_DIR", ""))
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("no %s (apt-get install chromium; tools/install-deps.sh)" % CHROMIUM)
    if not shutil.which("node"):
        pytest.skip("no node to run playwright-core (apt-get install nodejs npm)")
    if not (d / "node_modules" / "playwright-core").is_dir():
        pytest.skip("playwright-core is not installed in %s (ctest fixture api_browser_setup)" % d)
    return d


def test_dashboard_retry_a_failed_delivery(kafka_bootstrap, tmp_workdir):
    bdir = browser_dir()
    env = Env(tmp_workdir, kafka_bootstrap, "dash",
              webhook={"max_attempts": 2, "retry_base": "20ms", "breaker_failures": 20}).start()
    docs = [restamp(d, minutes_ago=90 - 7 * i) for i, d in enumerate(seed_items()[:9])]
    env.produce(docs[:8])
    env.wait_states({"delivered": 16})
    env.sim.faults("webhook", fail_next=1000, status=503)
    bad = docs[8]
    env.produce([bad])
    env.wait_states({"failed": 1})
    env.produce_raw([b'{"schema": "herald.item/v1", "id": "yx-broken-1", "version": "one"}'])
    wait_for(lambda: env.get("/api/v1/dead-letters/rejections")["rejections"], 20, "a rejection")
    fid = env.delivery(bad["id"], "webhook:ops")[0]

    shots = Path(os.environ.get("HERALD_SCREENSHOT_DIR") or tmp_workdir)
    shots.mkdir(parents=True, exist_ok=True)
    cfg = {
        "base": env.base,
        "tokens": {name: tok for name, (_, tok) in TOKENS.items()},
        "delivery_id": fid,
        "title": bad["title"],
        "sim_webhook": env.sim.url("webhook"),
        "reason": "渠道已恢复，重新推送",
        "screenshot_dir": str(shots),
        "chromium": CHROMIUM,
    }
    cfg_path = tmp_workdir / "browser.json"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False))
    script = Path(__file__).parent / "browser" / "dashboard.test.js"
    r = subprocess.run(["node", str(script), str(cfg_path)], capture_output=True, text=True,
                       timeout=240, cwd=bdir, env=dict(os.environ, NODE_PATH=str(bdir / "node_modules")))
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr

    # what the page did is what the store has
    assert env.delivery(bad["id"], "webhook:ops") == (fid, "delivered")
    entry = env.get("/api/v1/audit?action=retry")["entries"][0]
    assert (entry["who"], entry["delivery_id"], entry["reason"]) == ("desk", fid, cfg["reason"])
    assert (shots / "dashboard.png").stat().st_size > 20000
    assert env.h.stop() == 0
