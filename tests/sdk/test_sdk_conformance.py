"""herald-conformance against every built-in adapter and its simulator in herald-sim.

One test per adapter (ctest: sdk_conformance_<adapter>): start herald-sim with that simulator
only, write the instance's settings (the platform's URL as @SIM@, so the kit's fault proxy sits
in between), run the kit, and require exit status 0 (every check passed; warnings are allowed and
printed). A final test checks that the run list covers every adapter compiled in, so a new
built-in adapter cannot be added without a conformance run. Stdlib + pytest only.
Run: HERALD_BUILD_DIR=build python3 -m pytest -q tests/sdk/test_sdk_conformance.py
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE / "sim"))
import simharness  # noqa: E402

BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
KIT = BUILD / "tools" / "conformance" / "herald-conformance"
HERALDD = BUILD / "src" / "heraldd"
KIT_DEADLINE_S = 540
SECRET = "sdk-conformance-secret-0123456789abcdef"
WEIBO_TOKEN = "2.00sdk-conformance-weibo-token-01"
EVENT_TOKEN = "sdk-conformance-event-token-0123"
DOMAIN = "www.yuexiu.gov.cn"

TOPOLOGY = (SOURCE / "seeds" / "topology.yaml").read_text(encoding="utf-8")
STREETS = re.findall(r'code: "(\d{9})"', TOPOLOGY)[:3]


def jpeg(size):
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
    return (head + bytes(range(256)) * (size // 256 + 1))[: size - 2] + b"\xff\xd9"


def setups(tmp):
    """{adapter: (herald-sim config for it, the instance's settings)}"""
    secret = tmp / "secret"
    secret.write_text(SECRET + "\n")
    weibo_token = tmp / "weibo-token"
    weibo_token.write_text(WEIBO_TOKEN + "\n")
    cover = tmp / "cover.jpg"
    cover.write_bytes(jpeg(20000))
    ref = "file:%s" % secret
    quick = {"retry_base": "100ms", "retry_cap": "1s"}
    return {
        "webhook": ({"secret": SECRET}, dict(quick, url="@SIM@/hook", secret=ref)),
        "website": ({"secret": SECRET}, dict(quick, url="@SIM@", secret=ref)),
        "ejiatong": (
            {"secret": SECRET, "streets": STREETS},
            dict(quick, url="@SIM@", secret=ref, targets=STREETS, targets_from="streets",
                 depends_on=["website:portal"]),
        ),
        "display_board": (
            {"secret": SECRET,
             "boards": {"zwfw-center": {"areas": {"hall-a": {"max_chars": 256},
                                                  "entrance": {"max_chars": 64}}}}},
            dict(quick, url="@SIM@", secret=ref, max_chars=64,
                 targets=["zwfw-center/hall-a", "zwfw-center/entrance"], targets_from="boards",
                 depends_on=["website:portal"], poll_interval="200ms"),
        ),
        "wechat": (
            {"secret": SECRET, "event_token": EVENT_TOKEN, "publish_step_ms": 200},
            dict(quick, appid="wxd5f4a3b2c1e0f9a8", secret=ref, base_url="@SIM@",
                 default_cover=str(cover), depends_on=["website:portal"], poll_first="300ms",
                 poll_max="1s"),
        ),
        "weibo": (
            {"access_token": WEIBO_TOKEN, "secure_domains": [DOMAIN], "posts_per_hour": 100000,
             "calls_per_hour": 1000000, "ip_calls_per_hour": 1000000},
            dict(quick, access_token="file:%s" % weibo_token, base_url="@SIM@",
                 secure_domain=DOMAIN, rip="203.0.113.7", depends_on=["website:portal"],
                 poll_interval="300ms", limit_window="2s", post_budget=100000,
                 call_budget=1000000),
        ),
    }


ADAPTERS = ["webhook", "website", "ejiatong", "display_board", "wechat", "weibo"]


def run_kit(args, timeout=KIT_DEADLINE_S):
    p = subprocess.run([str(KIT)] + args, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def assert_clean(out, err):
    for marker in simharness.SANITIZER_MARKERS:
        assert marker not in err, "sanitizer report from herald-conformance:\n" + err


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_builtin_adapter(adapter, tmp_path):
    sim_conf, settings = setups(tmp_path)[adapter]
    path = tmp_path / ("%s.json" % adapter)
    path.write_text(json.dumps(settings))
    with simharness.SimProcess({adapter: sim_conf}, only=adapter) as sim:
        rc, out, err = run_kit([adapter, "--config", str(path), "--sim", sim.urls[adapter]])
    print(out)
    assert_clean(out, err)
    assert rc == 0, "herald-conformance %s failed (exit %d):\n%s\n%s" % (adapter, rc, out, err)
    summary = out.strip().splitlines()[-1]
    assert re.match(r"\d+ checks: \d+ passed, 0 failed", summary), summary
    # the checks that matter most did run
    for name in ("config.unknown_key", "render.notice", "send.happy", "send.timeout@1",
                 "send.lost_answer", "destroy"):
        assert re.search(r"^(ok  |warn) +\d+ %s:" % re.escape(name), out, re.M), name


def test_every_builtin_adapter_is_covered():
    out = subprocess.run([str(HERALDD), "--list-channels", "--json"], capture_output=True,
                         check=True, timeout=60).stdout
    names = sorted(a["name"] for a in json.loads(out)["adapters"])
    assert names == sorted(ADAPTERS), "add the new adapter's setup to this file: %s" % names


def test_the_kit_fails_a_broken_setup(tmp_path):
    """A check that cannot fail is no check: settings the platform refuses (a wrong secret) must
    fail the happy path, and the exit status says so."""
    sim_conf, settings = setups(tmp_path)["webhook"]
    wrong = tmp_path / "wrong-secret"
    wrong.write_text("not-the-secret-the-simulator-knows\n")
    settings["secret"] = "file:%s" % wrong
    path = tmp_path / "webhook.json"
    path.write_text(json.dumps(settings))
    with simharness.SimProcess({"webhook": sim_conf}, only="webhook") as sim:
        rc, out, err = run_kit(["webhook", "--config", str(path), "--sim", sim.urls["webhook"]])
    assert_clean(out, err)
    assert rc == 1, out
    # the receiver refuses the signature (401): the instance is parked for a person
    assert re.search(r"^FAIL +\d+ send.first: outcome needs_operator \(http_401\)", out, re.M), out
