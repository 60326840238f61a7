"""Raw-HTTP tests of the webhook simulator: a receiver of herald's signed herald.webhook/v1.

Each test checks one rule on the wire (no herald adapter involved) and names its source: the
protocol in the simulator brief (channels/webhook/README.md), built on CHANNELS.md §3.2 (Stripe
signatures, Stripe and IETF idempotency) and DESIGN.md ("Idempotency key").
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/webhook/test_sim_webhook.py
"""

import json
import os
import sys
import urllib.parse

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

SECRET = "webhook-ops-secret"
INSTANCE = "webhook:ops"


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess({"webhook": {"secret": SECRET}}, only="webhook") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["webhook"])
    return sim.urls["webhook"]


def key_of(item_id, version, suffix=""):
    return f"herald:{item_id}:{version}:{INSTANCE}{suffix}"


def publish_body(item_id="yx-2024-001", version=1, event="publish", title="关于优化营商环境的通知",
                 key=None, delivery="d-1", **over):
    body = {
        "schema": "herald.webhook/v1",
        "event": event,
        "delivery_id": delivery,
        "instance": INSTANCE,
        "target": "",
        "idempotency_key": key or key_of(item_id, version),
        "item": {"schema": "herald.item/v1", "id": item_id, "version": version, "title": title},
        "deps": [{"instance": "website:portal", "remote_id": "7946462",
                  "url": "https://www.yuexiu.gov.cn/zwgk/content/post_7946462.html"}],
        "previous": None,
    }
    body.update(over)
    return body


def retract_body(item_id="yx-2024-001", version=2, remote_id="wh-1", delivery="d-r", **over):
    body = {"schema": "herald.webhook/v1", "event": "retract", "delivery_id": delivery,
            "item_id": item_id, "version": version, "remote_id": remote_id,
            "reason": "retract"}
    body.update(over)
    return body


def deliver(url, body, key=None, ts=None, secret=SECRET, sig=None, path="/hooks/herald",
            headers=None, drop_headers=()):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    parsed = body if isinstance(body, dict) else {}
    ts = h.now_s() if ts is None else ts
    if key is None:
        key = parsed.get("idempotency_key") or key_of(parsed.get("item_id"),
                                                       parsed.get("version"), ":retract")
    hdrs = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": key,
        "X-Herald-Timestamp": str(ts),
        "X-Herald-Signature": sig if sig is not None else h.sign_v1(secret, ts, raw),
        "X-Herald-Event": parsed.get("event", "publish"),
        "X-Herald-Delivery": parsed.get("delivery_id", "d-1"),
    }
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None and k not in drop_headers}
    return h.request(url, "POST", path, raw, hdrs)


# ---- publish / update / retract ----------------------------------------------------------------


def test_publish_is_applied_and_answered_with_id_and_url(url):
    """Webhook protocol: a new publish is applied (stored: id → version, event, body hash) and
    answered 200 {"id":"wh-<n>","url":"<sim url>/items/<item id>"}; GET /items/<id> returns it."""
    r = deliver(url, publish_body())
    assert r.status == 200, r
    assert r.json() == {"id": "wh-1", "url": f"{url}/items/yx-2024-001"}
    got = h.request(url, "GET", "/items/yx-2024-001")
    assert got.status == 200
    assert got.json()["item"]["title"] == "关于优化营商环境的通知"
    assert got.json()["version"] == 1
    st = h.state(url)["items"]["yx-2024-001"]
    assert st["version"] == 1 and st["event"] == "publish" and st["id"] == "wh-1"
    assert isinstance(st["applied_at"], int) and len(st["body_sha256"]) == 64
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["by_key"][key_of("yx-2024-001", 1)]["applied"] == 1
    r2 = deliver(url, publish_body("yx-2024-002"))
    assert r2.json()["id"] == "wh-2"


def test_item_url_is_percent_encoded(url):
    """Webhook protocol: url = <sim url>/items/<item id>; an id with reserved characters is
    percent-encoded and GET /items/<encoded id> finds it."""
    item = "dept/2024 #7"
    r = deliver(url, publish_body(item))
    assert r.status == 200, r
    enc = urllib.parse.quote(item, safe="")
    assert r.json()["url"] == f"{url}/items/{enc}"
    assert h.request(url, "GET", f"/items/{enc}").json()["item_id"] == item


def test_update_with_higher_version_is_applied_in_place(url):
    """Webhook protocol: a new update is applied; the stored item keeps its id."""
    deliver(url, publish_body())
    r = deliver(url, publish_body(version=2, event="update", title="更正"))
    assert r.status == 200 and r.json()["id"] == "wh-1"
    st = h.state(url)["items"]["yx-2024-001"]
    assert st["version"] == 2 and st["event"] == "update"
    assert h.received(url)["applied"] == 2


def test_update_with_lower_version_is_409_stale_version(url):
    """Webhook protocol: an update with a version lower than the stored one → 409
    {"error":"stale_version"}; nothing changes."""
    deliver(url, publish_body(version=3))
    r = deliver(url, publish_body(version=2, event="update"))
    assert r.status == 409 and r.json()["error"] == "stale_version"
    assert h.state(url)["items"]["yx-2024-001"]["version"] == 3
    assert h.received(url)["applied"] == 1


def test_same_version_under_another_key_is_a_duplicate_not_an_effect(url):
    """DESIGN.md "Tests": simulators count raw requests and applied effects separately — the
    same item version delivered again under a new key answers 200 with the same id and counts
    as a duplicate, not a second effect."""
    deliver(url, publish_body())
    r = deliver(url, publish_body(key="other-key", delivery="d-2"))
    assert r.status == 200 and r.json()["id"] == "wh-1"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 1


def test_retract_removes_the_item(url):
    """Webhook protocol: a retract removes the item → 200 {"id":...,"status":"retracted"};
    GET /items/<id> is then 404."""
    deliver(url, publish_body())
    r = deliver(url, retract_body())
    assert r.status == 200, r
    assert r.json() == {"id": "wh-1", "status": "retracted"}
    assert h.request(url, "GET", "/items/yx-2024-001").status == 404
    assert h.state(url)["items"] == {}
    assert h.received(url)["applied"] == 2


def test_retract_of_an_unknown_item_is_200_gone(url):
    """Webhook protocol: a retract of an unknown item → 200 {"status":"gone"} (idempotent); after
    an earlier retract of that item it counts as a duplicate; neither is an effect."""
    r = deliver(url, retract_body("never-seen"))
    assert r.status == 200 and r.json() == {"status": "gone"}
    assert h.received(url)["applied"] == 0 and h.received(url)["duplicates"] == 0
    deliver(url, publish_body())
    deliver(url, retract_body())
    r = deliver(url, retract_body(delivery="d-r2"), key="another-retract-key")
    assert r.status == 200 and r.json() == {"status": "gone"}
    rec = h.received(url)
    assert rec["applied"] == 2 and rec["duplicates"] == 1


def test_retract_with_lower_version_is_409_stale_version(url):
    """Webhook protocol: version ordering per item holds for retracts too (DESIGN.md "Ordering
    per item": a lower version arriving late is stale)."""
    deliver(url, publish_body(version=5))
    r = deliver(url, retract_body(version=4))
    assert r.status == 409 and r.json()["error"] == "stale_version"
    assert "yx-2024-001" in h.state(url)["items"]


def test_get_of_an_unknown_item_is_404(url):
    """Webhook protocol: GET /items/<id> returns the stored item or 404."""
    r = h.request(url, "GET", "/items/nothing")
    assert r.status == 404 and r.json()["error"] == "not_found"


# ---- idempotency -------------------------------------------------------------------------------


def test_replay_of_same_key_and_body_repeats_the_first_response(url):
    """Webhook protocol / CHANNELS.md §3.2 (Stripe): same key + same body → replay of the first
    response (same status and body), counted as a duplicate — also with a new timestamp."""
    first = deliver(url, publish_body(), ts=h.now_s() - 10)
    again = deliver(url, publish_body())
    assert (again.status, again.body) == (first.status, first.body)
    assert again.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["requests"] == 2 and rec["applied"] == 1 and rec["duplicates"] == 1
    assert rec["by_key"][key_of("yx-2024-001", 1)] == {"requests": 2, "applied": 1,
                                                       "duplicates": 1}


def test_replay_repeats_an_error_response_too(url):
    """CHANNELS.md §3.2 (Stripe): the first response is saved and replayed whatever it was —
    a 409 stale_version stays a 409 for that key."""
    deliver(url, publish_body(version=3))
    stale = publish_body(version=2, event="update")
    first = deliver(url, stale)
    again = deliver(url, stale)
    assert first.status == again.status == 409 and first.body == again.body


def test_same_key_with_a_different_body_is_422(url):
    """Webhook protocol / CHANNELS.md §3.2 (IETF draft): same key + different body → 422
    {"error":"idempotency_key_reused"}; nothing applied."""
    deliver(url, publish_body())
    r = deliver(url, publish_body(title="不同的标题"))
    assert r.status == 422 and r.json() == {"error": "idempotency_key_reused"}
    assert h.state(url)["items"]["yx-2024-001"]["version"] == 1
    assert h.received(url)["applied"] == 1


def test_same_key_while_in_flight_is_409(url):
    """Webhook protocol / CHANNELS.md §3.2 (IETF draft): same key while the first request is
    still being answered (latency knob) → 409 {"error":"in_flight"}."""
    h.faults(url, latency_ms=1500)
    body = publish_body()
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = h.now_s()
    first = h.Background(url, "POST", "/hooks/herald", raw, {
        "Content-Type": "application/json", "Idempotency-Key": body["idempotency_key"],
        "X-Herald-Timestamp": str(ts), "X-Herald-Signature": h.sign_v1(SECRET, ts, raw),
        "X-Herald-Event": "publish", "X-Herald-Delivery": "d-1"})
    h.wait_pending(url, 1)
    r = deliver(url, body)
    assert r.status == 409 and r.json() == {"error": "in_flight"}
    assert first.result().status == 200
    assert h.received(url)["applied"] == 1


def test_missing_or_bad_idempotency_key_is_400(url):
    """Webhook protocol: missing Idempotency-Key → 400 (IETF draft); ≤ 255 characters
    (DESIGN.md "Idempotency key")."""
    r = deliver(url, publish_body(), drop_headers=("Idempotency-Key",))
    assert r.status == 400 and r.json()["error"] == "missing_idempotency_key"
    long_key = "k" * 256
    r = deliver(url, publish_body(key=long_key), key=long_key)
    assert r.status == 400 and r.json()["error"] == "invalid_idempotency_key"
    assert h.received(url)["applied"] == 0


# ---- signature and timestamp -----------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "wrong_secret", "tampered", "other_scheme",
                                  "missing_timestamp", "timestamp_not_integer"])
def test_bad_signature_is_401(url, case):
    """Webhook protocol / CHANNELS.md §3.2 (Stripe): X-Herald-Signature v1=<hex HMAC-SHA256(
    secret, "<timestamp>.<raw body>")>; missing or invalid → 401 {"error":"bad_signature"}."""
    body = publish_body()
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = h.now_s()
    kw = {}
    if case == "missing":
        kw["drop_headers"] = ("X-Herald-Signature",)
    elif case == "wrong_secret":
        kw["secret"] = "guess"
    elif case == "tampered":
        kw["sig"] = h.sign_v1(SECRET, ts, raw.replace(b"d-1", b"d-9"))
    elif case == "other_scheme":
        kw["sig"] = "sha256=" + h.sign_v1(SECRET, ts, raw)[3:]
    elif case == "missing_timestamp":
        kw["drop_headers"] = ("X-Herald-Timestamp",)
    elif case == "timestamp_not_integer":
        kw["headers"] = {"X-Herald-Timestamp": f"{ts}.5"}
        kw["sig"] = h.sign_v1(SECRET, f"{ts}.5", raw)
    r = deliver(url, body, ts=ts, **kw)
    assert r.status == 401 and r.json() == {"error": "bad_signature"}, r
    assert h.received(url)["applied"] == 0


def test_rotation_accepts_any_matching_v1_value(url):
    """Webhook protocol: the header may carry several comma-separated v1= values during key
    rotation: accept if any matches (CHANNELS.md §3.2, Stripe)."""
    body = publish_body()
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = h.now_s()
    sig = f"{h.sign_v1('old-secret', ts, raw)},{h.sign_v1(SECRET, ts, raw)}"
    assert deliver(url, body, ts=ts, sig=sig).status == 200
    bad = f"{h.sign_v1('old-secret', ts, raw)},{h.sign_v1('older', ts, raw)}"
    assert deliver(url, publish_body("x2"), ts=ts, sig=bad).status == 401


def test_stale_timestamp_is_401(url):
    """Webhook protocol: a timestamp older or newer than tolerance_s (default 300, CHANNELS.md
    §3.2 Stripe's default) → 401 {"error":"stale_timestamp"}; 299 s old passes."""
    for ts in (h.now_s() - 301, h.now_s() + 305):
        r = deliver(url, publish_body(), ts=ts)
        assert r.status == 401 and r.json() == {"error": "stale_timestamp"}, (ts, r)
    assert deliver(url, publish_body(), ts=h.now_s() - 299).status == 200


def test_tolerance_is_checked_against_the_simulator_clock(url):
    """Webhook protocol: tolerance is checked against the simulator's clock (/_sim/clock)."""
    h.clock(url, -400)
    r = deliver(url, publish_body())
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}
    assert deliver(url, publish_body(), ts=h.sim_now_s(url)).status == 200


def test_configured_tolerance():
    """Webhook protocol: config tolerance_s sets the window."""
    with h.SimProcess({"webhook": {"secret": SECRET, "tolerance_s": 10}}, only="webhook") as p:
        u = p.urls["webhook"]
        assert deliver(u, publish_body(), ts=h.now_s() - 30).status == 401
        assert deliver(u, publish_body(), ts=h.now_s() - 5).status == 200


# ---- body ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mutate,needle", [
    (lambda b: b.update(schema="herald.webhook/v2"), "schema"),
    (lambda b: b.pop("schema"), "schema"),
    (lambda b: b.update(event="delete"), "event"),
    (lambda b: b.pop("delivery_id"), "delivery_id"),
    (lambda b: b["item"].pop("id"), "item.id"),
    (lambda b: b["item"].update(version="1"), "item.version"),
    (lambda b: b["item"].update(version=1.0), "item.version"),
    (lambda b: b.pop("item"), "item"),
    (lambda b: b.update(deps={"instance": "x"}), "deps"),
    (lambda b: b.update(previous="wh-0"), "previous"),
    (lambda b: b.update(idempotency_key="something-else"), "idempotency_key"),
    (lambda b: b.pop("instance"), "instance"),
])
def test_wrong_schema_is_400_with_the_reason(url, mutate, needle):
    """Webhook protocol: wrong schema → 400 with the reason (herald.webhook/v1 body: schema,
    event, delivery_id, instance, idempotency_key, item {id, version}, deps[], previous)."""
    body = publish_body()
    mutate(body)
    r = deliver(url, body, key=key_of("yx-2024-001", 1), headers={
        "X-Herald-Event": "publish", "X-Herald-Delivery": "d-1"})
    assert r.status == 400, r
    assert r.json()["error"] == "invalid_body" and needle in r.json()["reason"]
    assert h.received(url)["applied"] == 0


def test_retract_body_is_checked(url):
    """Webhook protocol: retract body {schema, event, delivery_id, item_id, version, remote_id,
    reason}."""
    r = deliver(url, retract_body(version="2"))
    assert r.status == 400 and "version" in r.json()["reason"]
    r = deliver(url, retract_body(item_id=""))
    assert r.status == 400 and "item_id" in r.json()["reason"]


def test_unparseable_json_is_400(url):
    """Webhook protocol: unparseable JSON → 400 with the reason."""
    r = deliver(url, b'{"schema": "herald.webhook/v1",', key="k-broken",
                headers={"X-Herald-Event": "publish"})
    assert r.status == 400 and r.json()["error"] == "invalid_json" and r.json()["reason"]


def test_headers_must_agree_with_the_body(url):
    """Webhook protocol: X-Herald-Event is the body's event and X-Herald-Delivery its
    delivery_id."""
    r = deliver(url, publish_body(), headers={"X-Herald-Event": "update"})
    assert r.status == 400 and "X-Herald-Event" in r.json()["reason"]
    r = deliver(url, publish_body(), headers={"X-Herald-Delivery": "d-other"})
    assert r.status == 400 and "X-Herald-Delivery" in r.json()["reason"]


def test_method_and_content_type(url):
    """Webhook protocol: deliveries are POSTs of Content-Type application/json."""
    r = h.request(url, "PUT", "/hooks/herald", b"{}")
    assert r.status == 405 and r.header("Allow") == "POST"
    r = deliver(url, publish_body(), headers={"Content-Type": "text/plain"})
    assert r.status == 415


# ---- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("conf,needle", [
    ({"webhook": {}}, "secret"),
    ({"webhook": {"secret": 5}}, "secret"),
    ({"webhook": {"secret": "s", "tolerance": 5}}, "tolerance"),
    ({"webhook": {"secret": "s", "tolerance_s": 0}}, "tolerance_s"),
])
def test_bad_config_exits_2(conf, needle):
    """Webhook protocol config: {"secret":...,"tolerance_s":300}; secret required, no default."""
    rc, err = h.run_sim_expect_exit(["--only", "webhook"], config=conf)
    assert rc == 2, err
    assert needle in err
