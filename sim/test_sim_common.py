"""Raw-HTTP tests of herald-sim's common part: the program, the /_sim/ control endpoints, the
fault knobs, the record of received requests, the clock, and the body parsers.

The knobs are exercised on the website simulator (CHANNELS.md §3.3), whose effects are easy to
see; the rules themselves are in sim/sim.h and DESIGN.md ("Tests": simulators count raw requests
and applied effects separately; kill -9 tests need lost answers to applied requests).
Run: HERALD_BUILD_DIR=build python3 -m pytest -q sim/test_sim_common.py
"""

import hashlib
import json
import os
import signal
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402

SECRETS = {"webhook": {"secret": "wh-secret"}, "website": {"secret": "ws-secret"}}
# what every built-in simulator needs to start (each channel's tests exercise its own settings)
EVERY = dict(SECRETS,
             wechat={"appid": "wx0123456789abcdef", "secret": "wx-secret"},
             weibo={"access_token": "wb-token", "secure_domains": ["www.yuexiu.gov.cn"]},
             ejiatong={"secret": "ejt-secret", "streets": ["440104004"]},
             display_board={"secret": "db-secret",
                            "boards": {"b1": {"areas": {"a1": {"max_chars": 64}}}}},
             assets={})


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess(EVERY) as proc:
        yield proc


@pytest.fixture
def url(sim):
    for u in sim.urls.values():
        h.reset(u)
    return sim.urls["website"]


def doc(item_id="yx-1", revision=1):
    return {"item_id": item_id, "revision": revision, "category": "notice", "title": "停水通知",
            "body_html": "<p>停水</p>", "channel_path": "zwgk/tzgg"}


def post(url, body, key=None, ts=None, path="/v1/items"):
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = h.now_s() if ts is None else ts
    key = key or f"{body['item_id']}:{body['revision']}:portal"
    return h.request(url, "POST", path, raw, {
        "Content-Type": "application/json", "Idempotency-Key": key,
        "X-Gov-Timestamp": str(ts), "X-Gov-Signature": h.sign_v1("ws-secret", ts, raw)})


# ---- the program -----------------------------------------------------------------------------------


def test_ports_file_and_banner_list_every_simulator(sim):
    """Brief §2: one line per simulator "herald-sim: <name> http://127.0.0.1:<port>" and a ports
    file {"webhook":"http://127.0.0.1:P",...} once every simulator listens."""
    assert set(sim.urls) == set(EVERY)
    for name, u in sim.urls.items():
        assert u.startswith("http://127.0.0.1:")
        assert f"herald-sim: {name} {u}\n" in sim.stdout()
        assert h.request(u, "GET", "/_sim/state").status == 200
    assert len(set(sim.urls.values())) == len(EVERY)


def test_only_starts_the_named_simulators():
    """Brief §2: --only name,name."""
    with h.SimProcess(SECRETS, only="webhook") as p:
        assert list(p.urls) == ["webhook"]


@pytest.mark.parametrize("argv,config,needle", [
    (["--only", "nosuch"], SECRETS, "nosuch"),
    (["--only", "webhook,webhook"], SECRETS, "twice"),
    (["--only", ","], SECRETS, "--only"),
    ([], '{"webhook": {"secret": "x"},', "config.json:"),
    ([], "[1]", "object"),
    ([], {"webhook": {"secret": "x"}, "website": {"secret": "y"}, "wechat2": {}}, "wechat2"),
    ([], {"webhook": {"secret": "x"}, "website": "y"}, "website"),
    (["--bogus"], SECRETS, "usage"),
])
def test_bad_arguments_or_config_exit_2(argv, config, needle):
    """Brief §2: bad config → clear error, exit 2 (bad arguments too)."""
    rc, err = h.run_sim_expect_exit(argv, config=config)
    assert rc == 2, err
    assert needle in err


def test_sigint_stops_cleanly():
    """Brief §2: runs until SIGTERM/SIGINT, exits 0 after a clean teardown."""
    p = h.SimProcess(EVERY).start()
    assert p.stop(signal.SIGINT) == 0


def test_stop_with_a_request_held_by_latency_is_clean():
    """Brief §1/§2: clean teardown — stopping while an answer is held back by latency_ms frees
    it without a sanitizer report; the client sees its connection closed."""
    p = h.SimProcess(EVERY).start()
    u = p.urls["website"]
    h.faults(u, latency_ms=60000)
    held = h.Background(u, "GET", "/v1/items/x")
    h.wait_pending(u, 1)
    assert p.stop() == 0
    with pytest.raises(ConnectionError):
        held.result()


# ---- fail_next ---------------------------------------------------------------------------------


def test_fail_next_answers_429_with_retry_after_without_applying(url):
    """sim.h fail_next: the next N matching requests get `status` and Retry-After, without being
    applied (CHANNELS.md §5: 429 + Retry-After); the one after that is applied."""
    knobs = h.faults(url, fail_next=2, status=429, retry_after=3)
    assert knobs["fail"] == {"next": 2, "status": 429, "retry_after": "3", "body": None,
                             "match": None}
    for _ in range(2):
        r = post(url, doc())
        assert r.status == 429 and r.header("Retry-After") == "3"
        assert r.json() == {"error": "simulated_fault", "status": 429}
    assert h.state(url)["documents"] == {}
    assert post(url, doc()).status == 201
    rec = h.received(url)
    assert (rec["requests"], rec["faulted"], rec["applied"]) == (3, 2, 1)
    assert [e["faulted"] for e in rec["log"]] == [True, True, False]
    assert h.control(url, "GET", "faults")["fail"]["next"] == 0


def test_fail_next_defaults_to_503_and_takes_a_body(url):
    """sim.h fail_next: status defaults to 503; body replaces the default answer (JSON or
    text)."""
    h.faults(url, fail_next=1)
    r = post(url, doc())
    assert r.status == 503 and r.header("Retry-After") is None
    h.faults(url, fail_next=1, status=502, body="<html>bad gateway</html>")
    r = post(url, doc())
    assert r.status == 502 and r.body == b"<html>bad gateway</html>"
    assert r.header("Content-Type").startswith("text/plain")
    h.faults(url, fail_next=1, status=500, body='{"code":"E1"}')
    r = post(url, doc())
    assert r.status == 500 and r.json() == {"code": "E1"}


def test_match_limits_a_knob_to_a_path_prefix(url):
    """sim.h match: the knobs named with it act only on paths starting with the prefix; other
    requests pass and do not use the knob up."""
    h.faults(url, fail_next=1, status=503, match="/v1/items/")
    assert post(url, doc()).status == 201  # /v1/items: no match
    assert h.request(url, "GET", "/v1/items/yx-1").status == 503
    assert h.request(url, "GET", "/v1/items/yx-1").status == 200
    h.faults(url, drop_next=1, match="/nothing-here")
    assert h.request(url, "GET", "/v1/items/yx-1").status == 200
    assert h.control(url, "GET", "faults")["drop"] == {"next": 1, "match": "/nothing-here"}


# ---- latency -------------------------------------------------------------------------------------


def test_latency_delays_answers_without_blocking_the_loop(sim, url):
    """sim.h latency_ms: delays every answer, without blocking the loop — control requests and
    the other simulator answer at once meanwhile; 0 clears it."""
    h.faults(url, latency_ms=800)
    t0 = time.monotonic()
    slow = h.Background(url, "GET", "/v1/items/none")
    h.wait_pending(url, 1)
    t1 = time.monotonic()
    assert h.request(sim.urls["webhook"], "GET", "/items/x").status == 404
    assert h.received(url)["pending"] == 1
    quick = time.monotonic() - t1
    assert slow.result().status == 404
    assert time.monotonic() - t0 >= 0.8
    assert quick < 0.8, "the loop was blocked while an answer was held"
    h.faults(url, latency_ms=0)
    t2 = time.monotonic()
    h.request(url, "GET", "/v1/items/none")
    assert time.monotonic() - t2 < 0.8


def test_latency_also_delays_fault_answers(url):
    """sim.h: latency_ms also delays fault answers (a slow 503)."""
    h.faults(url, latency_ms=500, fail_next=1)
    t0 = time.monotonic()
    assert h.request(url, "GET", "/v1/items/none").status == 503
    assert time.monotonic() - t0 >= 0.5


# ---- drop_next / drop_after_next --------------------------------------------------------------


def test_drop_next_closes_without_applying_or_answering(url):
    """sim.h drop_next: close the connection of the next N without applying or answering."""
    h.faults(url, drop_next=1)
    with pytest.raises(ConnectionError):
        post(url, doc())
    assert h.state(url)["documents"] == {}
    rec = h.received(url)
    assert rec["dropped"] == 1 and rec["applied"] == 0
    assert rec["log"][0]["dropped"] is True and rec["log"][0]["status"] == 0
    assert post(url, doc()).status == 201


def test_drop_after_next_applies_then_loses_the_answer(url):
    """sim.h drop_after_next: apply, then close without answering — the client saw a dropped
    connection, yet the effect happened (DESIGN.md: the outcome is `unknown`); the retry with the
    same key is a replay counted as a duplicate, so one effect in all."""
    h.faults(url, drop_after_next=1)
    with pytest.raises(ConnectionError):
        post(url, doc())
    assert list(h.state(url)["documents"]) == ["yx-1"]
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["dropped"] == 1
    assert rec["log"][0]["lost_status"] == 201 and rec["log"][0]["status"] == 0
    retry = post(url, doc())
    assert retry.status == 200 and retry.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["by_key"]["yx-1:1:portal"] == {"requests": 2, "applied": 1, "duplicates": 1}


def test_dropped_connections_are_really_closed(sim, url):
    """Brief §1: dropping closes the TCP connection for real — no descriptor is kept."""
    fd_dir = f"/proc/{sim.proc.pid}/fd"
    h.request(url, "GET", "/v1/items/warm-up")
    h.wait_for(lambda: h.received(url, "?log=0&by_key=0")["pending"] == 0, "idle")
    baseline = len(os.listdir(fd_dir))
    h.faults(url, drop_next=40)
    for _ in range(40):
        with pytest.raises(ConnectionError):
            h.request(url, "GET", "/v1/items/x")
    h.faults(url, drop_after_next=10)
    for i in range(10):
        with pytest.raises(ConnectionError):
            post(url, doc(f"d-{i}"))
    h.wait_for(lambda: len(os.listdir(fd_dir)) <= baseline, "descriptors to be released")
    assert h.received(url)["dropped"] == 50


# ---- clock, reset, received --------------------------------------------------------------------


def test_clock_advance_makes_a_timestamp_stale(url):
    """sim.h /_sim/clock: advance_s moves this simulator's clock (DESIGN.md: tests never sleep
    through real windows); a signature fresh on the wall clock is then stale (CHANNELS.md §3.3)."""
    c = h.clock(url, 400)
    assert c["offset_s"] == 400
    assert abs(c["now_ms"] / 1000 - (time.time() + 400)) < 5
    r = post(url, doc())
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}
    assert h.clock(url, -400)["offset_s"] == 0
    assert post(url, doc()).status == 201


def test_reset_forgets_records_knobs_clock_and_model(url):
    """sim.h /_sim/reset: clears records, knobs, clock offset and the simulator's model."""
    post(url, doc())
    h.faults(url, fail_next=5, latency_ms=10, drop_next=3, drop_after_next=2, match="/z")
    h.clock(url, 1000)
    h.reset(url)
    rec = h.received(url)
    assert (rec["requests"], rec["applied"], rec["log"], rec["by_key"]) == (0, 0, [], {})
    f = h.control(url, "GET", "faults")
    assert f["fail"]["next"] == f["drop"]["next"] == f["drop_after"]["next"] == 0
    assert f["latency"] == {"ms": 0, "match": None}
    assert h.clock(url)["offset_s"] == 0
    assert h.state(url)["documents"] == {}
    assert post(url, doc()).json()["cms_doc_id"] == 7946462


def test_received_counts_requests_effects_and_duplicates_by_key(url):
    """DESIGN.md "Tests": raw requests and applied effects are counted separately, duplicates by
    key; control requests are not counted."""
    post(url, doc("a"))
    post(url, doc("a"))  # replay
    post(url, doc("a"))  # replay
    post(url, doc("b"))
    h.request(url, "GET", "/v1/items/a")  # no key
    h.control(url, "GET", "faults")
    rec = h.received(url)
    assert (rec["requests"], rec["applied"], rec["duplicates"]) == (5, 2, 2)
    assert rec["by_key"] == {
        "a:1:portal": {"requests": 3, "applied": 1, "duplicates": 2},
        "b:1:portal": {"requests": 1, "applied": 1, "duplicates": 0},
    }
    log = rec["log"]
    assert [e["seq"] for e in log] == [1, 2, 3, 4, 5]
    assert [(e["method"], e["path"], e["key"], e["status"]) for e in log] == [
        ("POST", "/v1/items", "a:1:portal", 201), ("POST", "/v1/items", "a:1:portal", 200),
        ("POST", "/v1/items", "a:1:portal", 200), ("POST", "/v1/items", "b:1:portal", 201),
        ("GET", "/v1/items/a", None, 200)]
    assert [e["applied"] for e in log] == [True, False, False, True, False]
    assert [e["duplicate"] for e in log] == [False, True, True, False, False]
    assert all(e["pending"] is False and e["time_ms"] > 0 for e in log)
    short = h.received(url, "?log=2&by_key=0")
    assert [e["seq"] for e in short["log"]] == [4, 5] and "by_key" not in short


def test_log_keeps_the_last_1000_requests_and_exact_counters(url):
    """Brief §1: the /_sim/received log keeps the last 1000 requests; counters stay exact."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(1005):
        conn.request("GET", f"/v1/items/n{i}")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404
    conn.close()
    rec = h.received(url)
    assert rec["requests"] == 1005 and len(rec["log"]) == 1000
    assert rec["log"][0]["seq"] == 6 and rec["log"][0]["path"] == "/v1/items/n5"
    assert rec["log"][-1]["path"] == "/v1/items/n1004"


# ---- control endpoint errors -------------------------------------------------------------------


@pytest.mark.parametrize("body,needle", [
    ({"fail_nxt": 1}, "unknown"),
    ({"fail_next": -1}, "fail_next"),
    ({"fail_next": "1"}, "fail_next"),
    ({"status": 429}, "fail_next"),
    ({"fail_next": 1, "status": 99}, "status"),
    ({"fail_next": 1, "retry_after": 1.5}, "retry_after"),
    ({"latency_ms": 600001}, "latency_ms"),
    ({"match": "/x"}, "match"),
    ({"drop_next": 1, "match": "x"}, "match"),
])
def test_bad_fault_knobs_are_400(url, body, needle):
    """sim.h POST /_sim/faults: unknown fields and bad values give 400 (a typo in a test must not
    silently disable a fault)."""
    r = h.request(url, "POST", "/_sim/faults", json.dumps(body))
    assert r.status == 400, r
    assert needle in r.json()["detail"]
    f = h.control(url, "GET", "faults")
    assert f["fail"]["next"] == 0 and f["drop"]["next"] == 0 and f["latency"]["ms"] == 0


def test_unknown_control_endpoints_and_methods(url):
    """sim.h: POST /_sim/<other> goes to the simulator's control() (404 when it has none);
    known endpoints refuse other methods; a control body must be a JSON object."""
    assert h.request(url, "POST", "/_sim/nothing", b"{}").status == 404
    assert h.request(url, "GET", "/_sim/nothing").status == 404
    assert h.request(url, "GET", "/_sim/reset").status == 405
    assert h.request(url, "DELETE", "/_sim/faults").status == 405
    assert h.request(url, "POST", "/_sim/faults", b"[1]").status == 400
    assert h.request(url, "POST", "/_sim/clock", b'{"advance":1}').status == 400
    assert h.received(url)["requests"] == 0


def test_undecodable_path_is_400(url):
    """sim.h: hd_sim_req_path is the decoded path; one that decodes to a NUL is refused."""
    assert h.request(url, "GET", "/v1/items/a%00b").status == 400


# ---- body parsers (via /_sim/echo) -------------------------------------------------------------


def echo(url, body=None, content_type=None, query="", method="POST"):
    headers = {"Content-Type": content_type} if content_type else {}
    r = h.request(url, method, "/_sim/echo" + query, body, headers)
    assert r.status == 200, r
    return r.json()


def test_query_and_urlencoded_form_are_decoded(url):
    """sim.h hd_sim_req_query / hd_sim_req_form: application/x-www-form-urlencoded with + and
    %XX decoding; the first of repeated names wins; malformed escapes stay literal."""
    body = "status=%E5%81%9C%E6%B0%B4+%E9%80%9A%E7%9F%A5&a=1&a=2&empty=&flag&pct=100%25%zz"
    e = echo(url, body, "application/x-www-form-urlencoded; charset=utf-8",
             query="?field=status&x=%2Fy+z")
    assert e["field"] == "停水 通知"
    assert e["form"]["a"] == "1" and e["form"]["empty"] == "" and e["form"]["flag"] == ""
    assert e["form"]["pct"] == "100%%zz"
    assert e["query"]["x"] == "/y z"
    assert e["form_ok"] is True


def multipart(boundary, parts, close=True):
    out = b""
    for headers, data in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
    if close:
        out += b"--" + boundary + b"--\r\n"
    return out


def test_multipart_parts_are_binary_safe(url):
    """sim.h hd_sim_req_part: multipart/form-data (RFC 7578) — boundary from Content-Type
    (quoted too), quoted names, filename and content type, binary data with NULs, CRLFs and
    dashes kept exactly; text parts are form fields (WeChat `media`, Weibo `pic`/`status`)."""
    blob = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n\x00--"
    b = b"herald-XyZ 42"
    body = b"preamble to ignore\r\n" + multipart(b, [
        (b'Content-Disposition: form-data; name="status"', "微博正文".encode()),
        (b'Content-Disposition: form-data; name="media"; filename="cover.jpg"\r\n'
         b"Content-Type: image/jpeg", blob),
        (b'Content-Disposition: form-data; name="we\\"ird"', b""),
    ]) + b"epilogue"
    e = echo(url, body, 'multipart/form-data; boundary="herald-XyZ 42"',
             query="?part=media&field=status")
    assert e["form_ok"] is True
    assert [p["name"] for p in e["parts"]] == ["status", "media", 'we"ird']
    media = e["part"]
    assert media["filename"] == "cover.jpg" and media["content_type"] == "image/jpeg"
    assert media["len"] == len(blob)
    assert media["sha256"] == hashlib.sha256(blob).hexdigest()
    assert e["field"] == "微博正文"
    assert e["parts"][2]["len"] == 0


def test_multipart_unquoted_boundary_and_missing_part(url):
    """sim.h hd_sim_req_part: HD_ENOTFOUND (-4) for a part that is not there; a file part is not
    a form field."""
    body = multipart(b"abc", [(b'Content-Disposition: form-data; name="pic"; filename="a.png"',
                               b"\x89PNG")])
    e = echo(url, body, "multipart/form-data; boundary=abc", query="?part=media&field=pic")
    assert e["part"] == -4 and e["field"] is None
    assert e["parts"][0]["sha256"] == hashlib.sha256(b"\x89PNG").hexdigest()


@pytest.mark.parametrize("ctype,body", [
    ("multipart/form-data; boundary=abc",
     multipart(b"abc", [(b'Content-Disposition: form-data; name="a"', b"x")], close=False)),
    ("multipart/form-data", multipart(b"abc", [(b'Content-Disposition: form-data; name="a"',
                                                b"x")])),
    ("multipart/form-data; boundary=abc",
     multipart(b"abc", [(b"Content-Type: text/plain", b"x")])),
    ("multipart/form-data; boundary=abc", b"no delimiter at all"),
    ("application/json", b'{"a":1}'),
])
def test_malformed_multipart_is_an_error(url, ctype, body):
    """sim.h hd_sim_req_part: HD_EINVAL (-1) when the body is not well-formed multipart/form-data
    (no closing delimiter, no boundary, a part without Content-Disposition, not multipart)."""
    e = echo(url, body, ctype, query="?part=a")
    assert e["part"] == -1 and e["form_ok"] is False


def test_bodies_up_to_16_mib(url):
    """Brief §1: request bodies up to 16 MiB reach the simulator intact; larger ones get 413."""
    big = os.urandom(16 * 1024 * 1024)
    e = echo(url, big, "application/octet-stream")
    assert e["body_len"] == len(big) and e["body_sha256"] == hashlib.sha256(big).hexdigest()
    r = h.request(url, "POST", "/_sim/echo", big + b"x",
                  {"Content-Type": "application/octet-stream"})
    assert r.status == 413
