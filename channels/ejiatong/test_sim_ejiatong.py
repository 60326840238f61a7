"""Raw-HTTP tests of the ejiatong simulator: the e家通 street platforms of CHANNELS.md §4.6 with the
signing and idempotency of §3.2/§3.3 and the per-street faults of §4.6's fan-out rule.

Each test checks one rule on the wire (no herald adapter involved) and names its source.
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/ejiatong/test_sim_ejiatong.py
"""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

SECRET = "ejiatong-gateway-secret"
BJJ, DSJ, MHCJ = "440104004", "440104012", "440104014"
OWN = "440104020"  # a street whose vendor runs a platform of its own, with its own key
OWN_SECRET = "own-platform-secret-440104020"
STREETS = ["440104003", BJJ, "440104005", "440104006", "440104007", "440104011", DSJ,
           "440104013", MHCJ, "440104015", "440104016", "440104017", "440104018", "440104019",
           "440104020", "440104021", "440104022", "440104023"]


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess({"ejiatong": {"secret": SECRET, "streets": STREETS,
                                    "street_secrets": {OWN: OWN_SECRET}}},
                      only="ejiatong") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["ejiatong"])
    return sim.urls["ejiatong"]


def iso(offset_s):
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600 + offset_s))


# fixed at import, so that the same call gives the same body (idempotency keys compare bodies)
FROM, UNTIL = iso(-3600), iso(2 * 86400)


def notice(item_id="yx-rsj-2026-tz-007", revision=1, **over):
    d = {
        "item_id": item_id,
        "revision": revision,
        "category": "notice",
        "title": "越秀区2026年春风行动专场招聘会通知",
        "summary": "3月8日上午9时在区人力资源市场举办专场招聘会，提供岗位1200余个。",
        "qr_url": "https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_7946462.html",
        "valid_from": FROM,
        "valid_until": UNTIL,
        "target": {"all_communities": True},
        "priority": "normal",
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not DROP}


DROP = object()


def raw_of(body):
    if isinstance(body, (bytes, str)):
        return body.encode() if isinstance(body, str) else body
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def send(url, method, path, body, key=None, ts=None, secret=SECRET, sig=None, ctype=None):
    raw = raw_of(body)
    ts = h.now_s() if ts is None else ts
    hdrs = {
        "Content-Type": ctype or "application/json; charset=utf-8",
        "Idempotency-Key": key,
        "X-Gov-Timestamp": str(ts),
        "X-Gov-Signature": sig if sig is not None else h.sign_v1(secret, ts, raw),
    }
    return h.request(url, method, path, raw, {k: v for k, v in hdrs.items() if v is not None})


def post(url, body, street=BJJ, key=None, prefix="", **kw):
    if key is None and isinstance(body, dict):
        key = "herald:%s:%s:ejiatong:streets:%s" % (body.get("item_id"), body.get("revision"),
                                                    street)
    return send(url, "POST", "%s/v1/streets/%s/notices" % (prefix, street), body, key=key, **kw)


def delete(url, item_id, street=BJJ, key=None, **kw):
    key = key or "herald:%s:retract:%s" % (item_id, street)
    return send(url, "DELETE", "/v1/streets/%s/notices/%s" % (street, item_id),
                {"reason": "retracted"}, key=key, **kw)


def showing(url, street=BJJ):
    return [(n["item_id"], n["revision"]) for n in h.state(url)["streets"][street]["showing"]]


# ---- upsert ----------------------------------------------------------------------------------


def test_post_creates_a_notice_201(url):
    """§4.6 POST /v1/streets/{street_code}/notices creates: 201 {notice_id, street_code,
    revision, status: created}; the street shows it, the others do not."""
    r = post(url, notice())
    assert r.status == 201, r
    body = r.json()
    assert body["street_code"] == BJJ and body["revision"] == 1 and body["status"] == "created"
    assert body["notice_id"].startswith(BJJ + "-")
    assert showing(url) == [("yx-rsj-2026-tz-007", 1)]
    assert showing(url, DSJ) == []
    got = h.request(url, "GET", "/v1/streets/%s/notices/yx-rsj-2026-tz-007" % BJJ)
    assert got.status == 200 and got.json()["notice"] == notice()
    rec = h.received(url)
    assert (rec["requests"], rec["applied"], rec["duplicates"]) == (2, 1, 0)  # POST + GET


def test_upsert_by_item_and_revision(url):
    """§4.6 upsert by notice_id=item_id + revision: a higher revision updates the same notice
    (200 updated), the same revision again changes nothing (200 unchanged, counted a duplicate),
    a lower one is refused (409 stale_revision)."""
    first = post(url, notice()).json()
    r2 = post(url, notice(revision=2, title="越秀区春风行动专场招聘会（更正）"))
    assert r2.status == 200 and r2.json()["status"] == "updated", r2
    assert r2.json()["notice_id"] == first["notice_id"]
    same = post(url, notice(revision=2, title="越秀区春风行动专场招聘会（更正）"), key="other-key")
    assert same.status == 200 and same.json()["status"] == "unchanged", same
    stale = post(url, notice(revision=1), key="late-key")
    assert stale.status == 409 and stale.json() == {"error": "stale_revision", "revision": 2}
    assert showing(url) == [("yx-rsj-2026-tz-007", 2)]
    rec = h.received(url)
    assert rec["applied"] == 2 and rec["duplicates"] == 1


def test_each_street_is_its_own_platform(url):
    """§4.6 fan-out: the same notice on two streets is two notices, each with its own id."""
    a = post(url, notice(), street=BJJ).json()
    b = post(url, notice(), street=DSJ).json()
    assert a["notice_id"] != b["notice_id"] and b["street_code"] == DSJ
    assert showing(url, BJJ) == showing(url, DSJ) == [("yx-rsj-2026-tz-007", 1)]


def test_unknown_street_is_404(url):
    """§4.6: street codes are the district's streets (configured list) -> 404 unknown_street."""
    r = post(url, notice(), street="440104999")
    assert r.status == 404 and r.json() == {"error": "unknown_street"}
    assert h.received(url)["applied"] == 0


def test_street_base_url_prefix(url):
    """§4.6 per-street base URLs: a street's own platform is reached under a prefix of its own;
    the notice lands on that street."""
    r = post(url, notice(), street=MHCJ, prefix="/mhcj")
    assert r.status == 201, r
    st = h.state(url)["streets"][MHCJ]
    assert st["last_path"] == "/mhcj/v1/streets/%s/notices" % MHCJ
    assert showing(url, MHCJ) == [("yx-rsj-2026-tz-007", 1)]
    assert send(url, "POST", "/a/b/v1/streets/%s/notices" % MHCJ, notice(), key="k").status == 404


# ---- idempotency and signing (§3.2, §3.3) ------------------------------------------------------


def test_replay_same_key_same_body(url):
    """§3.3 200 replay of the same key; §3.2 (Stripe): the first response is saved and replayed,
    even with a new timestamp and signature."""
    first = post(url, notice(), ts=h.now_s() - 5)
    again = post(url, notice())
    assert first.status == 201 and again.status == 200, again  # §3.3: a replay answers 200
    assert again.body == first.body and again.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 1


def test_key_reused_with_other_body_is_422(url):
    """§3.3 422 key reused with a different body (IETF draft)."""
    assert post(url, notice(), key="k-1").status == 201
    r = post(url, notice(title="另一个标题"), key="k-1")
    assert r.status == 422 and r.json() == {"error": "idempotency_key_reused"}
    assert showing(url) == [("yx-rsj-2026-tz-007", 1)]


def test_same_key_in_flight_is_409(url):
    """§3.3 409 in flight: the same key again while the first is unanswered."""
    h.control(url, "POST", "streets", {"street": BJJ, "latency_ms": 1500})
    raw = raw_of(notice())
    ts = h.now_s()
    hdrs = {"Content-Type": "application/json", "Idempotency-Key": "k-fly",
            "X-Gov-Timestamp": str(ts), "X-Gov-Signature": h.sign_v1(SECRET, ts, raw)}
    first = h.Background(url, "POST", "/v1/streets/%s/notices" % BJJ, raw, hdrs)
    h.wait_pending(url, 1)
    h.control(url, "POST", "streets", {"street": BJJ, "latency_ms": 0})
    second = post(url, notice(), key="k-fly")
    assert second.status == 409 and second.json() == {"error": "in_flight"}
    assert first.result().status == 201
    assert post(url, notice(), key="k-fly").status == 200  # now a replay
    assert h.received(url)["applied"] == 1


def test_missing_key_is_400(url):
    """§3.2 IETF draft: a missing Idempotency-Key where required -> 400."""
    r = post(url, notice(), key="")
    assert r.status == 400 and r.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize("case", ["wrong_secret", "no_signature", "tampered_body", "no_ts"])
def test_bad_signature_is_401(url, case):
    """§3.3 X-Gov-Signature v1=hex(HMAC-SHA256(secret, ts + "." + raw body)); otherwise 401."""
    body = notice()
    if case == "wrong_secret":
        r = post(url, body, secret="not-the-secret")
    elif case == "no_signature":
        r = post(url, body, sig="")
    elif case == "tampered_body":
        ts = h.now_s()
        r = post(url, body, ts=ts, sig=h.sign_v1(SECRET, ts, raw_of(notice(title="改"))))
    else:
        r = send(url, "POST", "/v1/streets/%s/notices" % BJJ, body, key="k", ts="")
    assert r.status == 401 and r.json() == {"error": "bad_signature"}, r
    assert h.received(url)["applied"] == 0


def test_a_street_with_its_own_platform_checks_its_own_key(url):
    """A street running a platform of its own (the adapter's street_urls) signs with its own key
    (street_secrets): the gateway's key is refused there, and its key is refused elsewhere."""
    r = post(url, notice(), street=OWN)
    assert r.status == 401 and r.json() == {"error": "bad_signature"}, r
    assert post(url, notice(), street=OWN, secret=OWN_SECRET).status == 201
    assert post(url, notice(), street=BJJ, secret=OWN_SECRET).status == 401
    assert post(url, notice(), street=BJJ).status == 201
    assert h.received(url)["applied"] == 2


def test_rotated_keys_two_v1_values(url):
    """§3.3 keys rotate by sending two v1= values: one matching is enough."""
    ts = h.now_s()
    raw = raw_of(notice())
    sig = "v1=%s,%s" % ("0" * 64, h.sign_v1(SECRET, ts, raw))
    assert post(url, notice(), ts=ts, sig=sig).status == 201


def test_stale_timestamp_is_401(url):
    """§3.3 stale ts (> 300 s) -> 401, on the simulator's clock (advanced, not slept)."""
    r = post(url, notice(), ts=h.now_s() - 301)
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}
    h.clock(url, 400)
    r = post(url, notice(), ts=h.now_s())  # fresh by our clock, stale by the platform's
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}


def test_content_type_must_be_json(url):
    """§3.3 Content-Type: application/json; charset=utf-8 -> otherwise 415."""
    r = post(url, notice(), ctype="text/plain")
    assert r.status == 415


# ---- the notice's fields (§4.6) ----------------------------------------------------------------


def test_title_limit_40_characters(url):
    """§4.6 title (<= 40 chars): counted in characters, not bytes; 41 -> 422 too_long with the
    field and the limit."""
    assert post(url, notice(title="街" * 40)).status == 201
    r = post(url, notice("x-2", title="街" * 41))
    assert r.status == 422
    assert r.json() == {"error": "too_long", "field": "title", "max_chars": 40, "chars": 41}


def test_summary_limit_200_characters(url):
    """§4.6 summary (<= 200 chars) -> 422 too_long, field summary."""
    assert post(url, notice(summary="通" * 200)).status == 201
    r = post(url, notice("x-2", summary="通" * 201))
    assert r.status == 422 and r.json()["field"] == "summary" and r.json()["max_chars"] == 200


@pytest.mark.parametrize("field,value", [
    ("summary", "<p>招聘会通知</p>"),
    ("summary", "岗位&nbsp;1200个"),
    ("summary", "地址&#x4e2d;山六路"),
    ("title", "<b>通知</b>"),
    ("title", "第一行\n第二行"),
])
def test_plain_text_only(url, field, value):
    """§4.6 summary (plain text): markup or entities -> 422 not_plain_text with the field; a
    title is one line."""
    r = post(url, notice(**{field: value}))
    assert r.status == 422 and r.json()["error"] == "not_plain_text", r
    assert r.json()["field"] == field


def test_plain_text_may_use_angle_brackets_and_ampersands(url):
    """§4.6 plain text: a '<' or '&' that is not markup is just text (a < b, R&D, 1 & 2)."""
    r = post(url, notice(summary="年龄 < 35 岁；R&D 岗位 & 实习岗位；第二段\n继续"))
    assert r.status == 201, r


def test_qr_url_required(url):
    """§4.6 qr_url (portal article URL) is required and an http(s) URL; image_url optional."""
    assert post(url, notice(qr_url=DROP)).json()["field"] == "qr_url"
    assert post(url, notice(qr_url="javascript:alert(1)")).status == 400
    assert post(url, notice(image_url="ftp://x/y.jpg")).json()["field"] == "image_url"
    assert post(url, notice(image_url="https://www.yuexiu.gov.cn/a.jpg")).status == 201


def test_validity_window(url):
    """§4.6 valid_from/valid_until: until after from; a notice whose window is over is refused
    (422 expired) and never shown; one not yet valid is kept but not shown yet."""
    r = post(url, notice(valid_until=iso(-120), valid_from=iso(-600)))
    assert r.status == 422 and r.json()["error"] == "expired"
    r = post(url, notice(valid_from=iso(3600), valid_until=iso(60)))
    assert r.status == 400 and r.json()["field"] == "valid_until"
    assert post(url, notice(valid_from="2026-03-01 09:00")).json()["field"] == "valid_from"
    assert post(url, notice("later", valid_from=iso(3600))).status == 201
    assert post(url, notice("now", valid_until=iso(600))).status == 201
    assert showing(url) == [("now", 1)]
    h.clock(url, 900)  # past "now"'s valid_until, before "later" starts
    assert showing(url) == []
    h.clock(url, 3000)
    assert showing(url) == [("later", 1)]
    assert sorted(h.state(url)["streets"][BJJ]["notices"]) == ["later", "now"]


@pytest.mark.parametrize("target,ok", [
    ({"all_communities": True}, True),
    ({"community_codes": ["440104004001", "440104004002"]}, True),
    ({"all_communities": False}, False),
    ({"community_codes": []}, False),
    ({"all_communities": True, "community_codes": ["x"]}, False),
    ({}, False),
])
def test_target(url, target, ok):
    """§4.6 target {all_communities: true | community_codes: [...]}: exactly one of them."""
    r = post(url, notice(target=target))
    assert (r.status == 201) == ok, r
    if not ok:
        assert r.json()["field"] == "target"


def test_urgent_first(url):
    """§4.6 priority: an urgent notice is shown before normal ones (newest first within each)."""
    post(url, notice("a"))
    post(url, notice("warn", priority="urgent", category="emergency"))
    post(url, notice("b"))
    assert showing(url) == [("warn", 1), ("b", 1), ("a", 1)]
    assert post(url, notice("c", priority="high")).json()["field"] == "priority"


@pytest.mark.parametrize("over,field", [
    ({"category": "press_release"}, "category"),
    ({"revision": 0}, "revision"),
    ({"item_id": ""}, "item_id"),
    ({"colour": "red"}, "colour"),
])
def test_field_validation(url, over, field):
    """§4.6 body fields: herald's categories, revision >= 1, item_id, no unknown fields -> 400."""
    r = post(url, notice(**over))
    assert r.status == 400 and r.json()["field"] == field, r


# ---- delete ----------------------------------------------------------------------------------


def test_delete_withdraws(url):
    """§4.6 DELETE /v1/streets/{street_code}/notices/{item_id}: 200; again (new key) 404; the
    same key again is a replay of the 200."""
    post(url, notice())
    r = delete(url, "yx-rsj-2026-tz-007")
    assert r.status == 200 and r.json() == {"deleted": True}
    assert showing(url) == []
    assert delete(url, "yx-rsj-2026-tz-007").status == 200  # replay
    r = delete(url, "yx-rsj-2026-tz-007", key="another")
    assert r.status == 404 and r.json() == {"error": "not_found"}
    assert delete(url, "yx-rsj-2026-tz-007", secret="wrong").status == 401


# ---- per-street faults (§4.6 fan-out; §5) ------------------------------------------------------


def test_one_street_down_others_answer(url):
    """§4.6: each street fails on its own. A street that is down closes the connection without
    an answer and applies nothing; the next street answers as usual."""
    h.control(url, "POST", "streets", {"street": BJJ, "down": True})
    with pytest.raises(Exception):
        post(url, notice(), street=BJJ)
    assert post(url, notice(), street=DSJ).status == 201
    assert showing(url, BJJ) == [] and showing(url, DSJ) == [("yx-rsj-2026-tz-007", 1)]
    h.control(url, "POST", "streets", {"street": BJJ, "down": False})
    assert post(url, notice(), street=BJJ).status == 201


def test_one_street_503_with_retry_after(url):
    """§5: 503 + Retry-After from one street only (its own knob); the others are not affected."""
    h.control(url, "POST", "streets", {"streets": [BJJ, MHCJ], "status": 503, "retry_after": "7"})
    r = post(url, notice(), street=BJJ)
    assert r.status == 503 and r.header("Retry-After") == "7"
    assert r.json() == {"error": "street_unavailable", "street_code": BJJ}
    assert post(url, notice(), street=DSJ).status == 201
    assert h.state(url)["streets"][MHCJ]["faults"] == {"status": 503, "retry_after": "7"}
    h.control(url, "POST", "streets", {"streets": [BJJ, MHCJ], "clear": True})
    assert post(url, notice(), street=BJJ).status == 201


def test_one_street_slow_does_not_delay_another(url):
    """§4.6: a slow street holds its own answers only."""
    h.control(url, "POST", "streets", {"street": BJJ, "latency_ms": 3000})
    slow = h.Background(url, "POST", "/v1/streets/%s/notices" % BJJ, raw_of(notice()), {
        "Content-Type": "application/json", "Idempotency-Key": "k-slow",
        "X-Gov-Timestamp": str(h.now_s()),
        "X-Gov-Signature": h.sign_v1(SECRET, h.now_s(), raw_of(notice()))})
    h.wait_pending(url, 1)
    t0 = time.monotonic()
    assert post(url, notice(), street=DSJ).status == 201
    assert time.monotonic() - t0 < 2.0
    assert h.received(url, "?log=0&by_key=0")["pending"] == 1  # the slow one is still waiting
    assert slow.result().status == 201


def test_rate_limit_via_common_knobs(url):
    """§5: 429 + Retry-After (the common fault knob, limited to one street's path)."""
    h.faults(url, fail_next=1, status=429, retry_after="30", match="/v1/streets/%s" % BJJ)
    assert post(url, notice(), street=DSJ).status == 201
    r = post(url, notice(), street=BJJ)
    assert r.status == 429 and r.header("Retry-After") == "30"
    assert post(url, notice(), street=BJJ).status == 201


def test_reset_forgets_notices_and_faults(url):
    """/_sim/reset clears the model and the street knobs."""
    post(url, notice())
    h.control(url, "POST", "streets", {"street": DSJ, "down": True})
    h.reset(url)
    st = h.state(url)["streets"]
    assert st[BJJ]["notices"] == {} and st[DSJ]["faults"] == {} and len(st) == 18
