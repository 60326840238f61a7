"""Raw-HTTP tests of the website simulator: the portal CMS gateway of CHANNELS.md §3.3.

Each test checks one rule on the wire (no herald adapter involved) and names its source.
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/website/test_sim_website.py
"""

import hashlib
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

SECRET = "portal-gateway-secret"
FIRST_DOC_ID = 7946462


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess({"website": {"secret": SECRET}}, only="website") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["website"])
    return sim.urls["website"]


def doc(item_id="yx-2024-001", revision=1, **over):
    d = {
        "item_id": item_id,
        "revision": revision,
        "category": "policy_doc",
        "title": "越秀区关于进一步优化营商环境的若干措施",
        "doc_number": "越府规〔2024〕1号",
        "issuer": "广州市越秀区人民政府",
        "issued_date": "2024-03-01",
        "publish_at": "2024-03-05T09:00:00+08:00",
        "body_html": "<p>第一条 为进一步优化营商环境……</p>",
        "attachments": [
            {"name": "附件1.pdf", "url": "http://127.0.0.1:9/a1.pdf", "sha256": "ab" * 32}
        ],
        "related_item_ids": ["yx-2024-002"],
        "channel_path": "zwgk/zcwj",
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not _DROP}


_DROP = object()


def raw_of(body):
    if isinstance(body, (bytes, str)):
        return body.encode("utf-8") if isinstance(body, str) else body
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def send(url, method, path, body, key=None, ts=None, secret=SECRET, sig=None, headers=None,
         drop_headers=()):
    raw = raw_of(body)
    ts = h.now_s() if ts is None else ts
    hdrs = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": key,
        "X-Gov-Timestamp": str(ts),
        "X-Gov-Signature": sig if sig is not None else h.sign_v1(secret, ts, raw),
    }
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None and k not in drop_headers}
    return h.request(url, method, path, raw, hdrs)


def post(url, body, key=None, **kw):
    if key is None and isinstance(body, dict):
        key = f"{body.get('item_id')}:{body.get('revision')}:portal"
    return send(url, "POST", "/v1/items", body, key=key, **kw)


def delete(url, item_id, reason="撤回：政策已废止", key=None, **kw):
    key = key or f"{item_id}:retract:portal"
    body = {"reason": reason} if reason is not None else {}
    return send(url, "DELETE", f"/v1/items/{item_id}", body, key=key, **kw)


# ---- 201 / 200 / upsert ------------------------------------------------------------------------


def test_create_answers_201_with_portal_url_and_cms_doc_id(url):
    """CHANNELS.md §3.3: POST /v1/items creates → 201 {portal_url, cms_doc_id}; portal_url is
    <portal_base>/<channel_path>/content/post_<cms_doc_id>.html, ids increase from 7946462."""
    r = post(url, doc())
    assert r.status == 201, r
    assert r.json() == {
        "portal_url": f"https://www.yuexiu.gov.cn/zwgk/zcwj/content/post_{FIRST_DOC_ID}.html",
        "cms_doc_id": FIRST_DOC_ID,
    }
    r2 = post(url, doc("yx-2024-002", channel_path="/zwgk/zcjd/"))
    assert r2.status == 201, r2
    assert r2.json()["cms_doc_id"] == FIRST_DOC_ID + 1
    assert r2.json()["portal_url"].endswith(f"/zwgk/zcjd/content/post_{FIRST_DOC_ID + 1}.html")
    rec = h.received(url)
    assert (rec["requests"], rec["applied"], rec["duplicates"]) == (2, 2, 0)
    got = h.request(url, "GET", "/v1/items/yx-2024-001")
    assert got.status == 200
    assert got.json()["document"] == doc()
    assert got.json()["revision"] == 1


def test_replay_of_same_key_and_body_answers_200_with_the_first_body(url):
    """CHANNELS.md §3.3: 200 replay of the same key; §3.2 (Stripe): the first response is saved
    and replayed — even when the retry carries a new timestamp and signature."""
    first = post(url, doc(), ts=h.now_s() - 5)
    assert first.status == 201
    again = post(url, doc())  # new timestamp, new signature, same key and body
    assert again.status == 200, again
    assert again.body == first.body
    assert again.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 1 and rec["requests"] == 2
    key = "yx-2024-001:1:portal"
    assert rec["by_key"][key] == {"requests": 2, "applied": 1, "duplicates": 1}
    st = h.state(url)
    assert list(st["documents"]) == ["yx-2024-001"]
    assert st["next_cms_doc_id"] == FIRST_DOC_ID + 1


def test_key_reused_with_a_different_body_is_422(url):
    """CHANNELS.md §3.3: 422 key reused with a different body (§3.2, IETF draft)."""
    assert post(url, doc(), key="k-1").status == 201
    r = post(url, doc(title="另一个标题"), key="k-1")
    assert r.status == 422, r
    assert r.json() == {"error": "idempotency_key_reused"}
    assert h.received(url)["applied"] == 1
    assert h.request(url, "GET", "/v1/items/yx-2024-001").json()["document"]["title"] == doc()[
        "title"]


def test_same_key_while_the_first_is_in_flight_is_409(url):
    """CHANNELS.md §3.3: 409 in-flight same key (IETF draft: retried while the original is
    still in progress); the original then completes, and a later retry is a replay."""
    h.faults(url, latency_ms=1500)
    ts = h.now_s()
    first = h.Background(url, "POST", "/v1/items", raw_of(doc()), {
        "Content-Type": "application/json", "Idempotency-Key": "k-inflight",
        "X-Gov-Timestamp": str(ts), "X-Gov-Signature": h.sign_v1(SECRET, ts, raw_of(doc()))})
    h.wait_pending(url, 1)
    second = post(url, doc(), key="k-inflight")
    assert second.status == 409, second
    assert second.json() == {"error": "in_flight"}
    assert first.result().status == 201
    h.faults(url, latency_ms=0)
    third = post(url, doc(), key="k-inflight")
    assert third.status == 200 and third.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 1


# ---- 400 validation ------------------------------------------------------------------------------

LONG_TITLE = "政" * 201


@pytest.mark.parametrize("over,field", [
    ({"item_id": _DROP}, "item_id"),
    ({"item_id": ""}, "item_id"),
    ({"item_id": 17}, "item_id"),
    ({"title": _DROP}, "title"),
    ({"title": ""}, "title"),
    ({"title": LONG_TITLE}, "title"),
    ({"body_html": _DROP}, "body_html"),
    ({"body_html": ""}, "body_html"),
    ({"channel_path": _DROP}, "channel_path"),
    ({"channel_path": ""}, "channel_path"),
    ({"channel_path": "zwgk/../admin"}, "channel_path"),
    ({"category": "blog"}, "category"),
    ({"category": _DROP}, "category"),
    ({"revision": 0}, "revision"),
    ({"revision": -2}, "revision"),
    ({"revision": "1"}, "revision"),
    ({"revision": 1.5}, "revision"),
    ({"revision": _DROP}, "revision"),
])
def test_validation_errors_are_400_with_the_field(url, over, field):
    """CHANNELS.md §3.3: 400 validation — {"error":"validation","field":...} for a missing or
    empty item_id, title, body_html, channel_path; category outside the enum; title over 200
    characters; revision not a positive integer. Nothing is applied, and (Stripe, §3.2) nothing
    is saved for the key: the corrected request with the same key is then created."""
    r = post(url, doc(**over), key="k-val")
    assert r.status == 400, r
    assert r.json()["error"] == "validation" and r.json()["field"] == field
    assert h.received(url)["applied"] == 0
    fixed = post(url, doc(), key="k-val")
    assert fixed.status == 201, fixed


def test_title_limit_counts_characters_not_bytes(url):
    """CHANNELS.md §3.3 (brief): title over 200 characters → 400; 200 CJK characters (600 bytes
    of UTF-8) are fine."""
    assert post(url, doc(title="政" * 200)).status == 201
    r = post(url, doc("yx-2", title="政" * 201))
    assert r.status == 400 and r.json()["field"] == "title"


def test_body_that_is_not_a_json_object_is_400(url):
    """CHANNELS.md §3.3: 400 validation (the body itself)."""
    for body in ("{not json", "[1,2]", '{"item_id":"a","item_id":"b"}'):
        r = post(url, body, key="k-bad-json")
        assert r.status == 400, (body, r)
        assert r.json()["field"] == "body"


@pytest.mark.parametrize("over,field", [
    ({"attachments": [{"name": "a.pdf", "url": "http://x/a.pdf", "sha256": "xyz"}]},
     "attachments"),
    ({"attachments": [{"url": "http://x/a.pdf", "sha256": "ab" * 32}]}, "attachments"),
    ({"attachments": [{"name": "a", "url": "ftp://x/a", "sha256": "ab" * 32}]}, "attachments"),
    ({"attachments": {"name": "a"}}, "attachments"),
    ({"related_item_ids": ["ok", ""]}, "related_item_ids"),
    ({"issued_date": "2024/03/01"}, "issued_date"),
    ({"publish_at": "2024-03-05 09:00:00"}, "publish_at"),
    ({"publish_at": "2024-03-05T09:00:00"}, "publish_at"),
    ({"doc_number": 12}, "doc_number"),
])
def test_optional_fields_are_checked_when_present(url, over, field):
    """CHANNELS.md §3.3 body fields: attachments[{name,url,sha256}], related_item_ids[],
    issued_date (成文日期, a date), publish_at (RFC 3339 with an offset, DESIGN.md "Timestamps")."""
    r = post(url, doc(**over))
    assert r.status == 400, r
    assert r.json()["field"] == field


def test_missing_or_overlong_idempotency_key_is_400(url):
    """CHANNELS.md §3.2 IETF draft: missing key → 400; §3.3: Idempotency-Key ≤ 255 chars."""
    r = post(url, doc(), drop_headers=("Idempotency-Key",))
    assert r.status == 400 and r.json()["field"] == "Idempotency-Key"
    r = post(url, doc(), key="k" * 256)
    assert r.status == 400 and r.json()["field"] == "Idempotency-Key"
    assert post(url, doc(), key="k" * 255).status == 201


# ---- 401 signature and timestamp ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["no_signature", "no_timestamp", "wrong_secret", "tampered",
                                  "not_hex", "other_scheme", "ts_not_number", "signed_other_ts"])
def test_bad_signature_is_401(url, case):
    """CHANNELS.md §3.3: X-Gov-Signature: v1=<hex(HMAC-SHA256(secret, timestamp + "." +
    raw_body))>; anything else → 401 bad signature, nothing applied."""
    body = doc()
    raw = raw_of(body)
    ts = h.now_s()
    kw = {}
    if case == "no_signature":
        kw["drop_headers"] = ("X-Gov-Signature",)
    elif case == "no_timestamp":
        kw["drop_headers"] = ("X-Gov-Timestamp",)
    elif case == "wrong_secret":
        kw["secret"] = "not-the-secret"
    elif case == "tampered":
        kw["sig"] = h.sign_v1(SECRET, ts, raw.replace(b"zcwj", b"zcjd"))
    elif case == "not_hex":
        kw["sig"] = "v1=" + "zz" * 32
    elif case == "other_scheme":
        kw["sig"] = h.sign_v1(SECRET, ts, raw).replace("v1=", "v0=")
    elif case == "ts_not_number":
        kw["headers"] = {"X-Gov-Timestamp": f"{ts}.0"}
        kw["sig"] = h.sign_v1(SECRET, f"{ts}.0", raw)
    elif case == "signed_other_ts":
        kw["sig"] = h.sign_v1(SECRET, ts - 1, raw)
    r = post(url, body, ts=ts, **kw)
    assert r.status == 401, r
    assert r.json() == {"error": "bad_signature"}
    assert h.received(url)["applied"] == 0


def test_several_v1_values_accept_any_match(url):
    """CHANNELS.md §3.2/§3.3: keys rotate by sending two v1= values (Stripe); one match is
    enough, in either position."""
    raw = raw_of(doc())
    ts = h.now_s()
    good = h.sign_v1(SECRET, ts, raw)
    old = h.sign_v1("previous-secret", ts, raw)
    assert post(url, doc(), ts=ts, sig=f"{old},{good}").status == 201
    raw2 = raw_of(doc("yx-2"))
    assert post(url, doc("yx-2"), ts=ts, sig=f"{h.sign_v1(SECRET, ts, raw2)}, {old}").status == 201


def test_stale_timestamp_is_401(url):
    """CHANNELS.md §3.3: 401 stale timestamp (> 300 s) — in the past or the future; 299 s old
    is still accepted."""
    for ts in (h.now_s() - 301, h.now_s() + 305):
        r = post(url, doc(), ts=ts)
        assert r.status == 401, (ts, r)
        assert r.json() == {"error": "stale_timestamp"}
    assert post(url, doc(), ts=h.now_s() - 299).status == 201


def test_simulator_clock_decides_staleness(url):
    """CHANNELS.md §3.3 checked against the simulator's clock (DESIGN.md: simulators advance
    their clock so tests never sleep): a fresh signature is stale once the clock moves 301 s."""
    h.clock(url, 301)
    r = post(url, doc(), ts=h.now_s())
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}
    assert post(url, doc(), ts=h.sim_now_s(url)).status == 201


# ---- 429 / 503 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_and_outage_answer_with_retry_after(url, status):
    """CHANNELS.md §3.3: 429 + Retry-After | 503 + Retry-After; §5: RFC 6585 / RFC 9110. Given
    through the common fault knobs; the refused request is not applied, the retry is."""
    h.faults(url, fail_next=1, status=status, retry_after="7")
    r = post(url, doc())
    assert r.status == status and r.header("Retry-After") == "7"
    assert h.state(url)["documents"] == {}
    assert post(url, doc()).status == 201
    rec = h.received(url)
    assert rec["faulted"] == 1 and rec["applied"] == 1


# ---- revisions -----------------------------------------------------------------------------------


def test_higher_revision_updates_in_place(url):
    """Brief §4 on CHANNELS.md §3.3 (upsert by item_id+revision): a higher revision updates the
    stored document in place: 200 {portal_url, cms_doc_id (same), updated: true}."""
    created = post(url, doc()).json()
    r = post(url, doc(revision=2, title="修订后的标题", channel_path="zwgk/zcjd"))
    assert r.status == 200, r
    assert r.json() == {
        "portal_url": f"https://www.yuexiu.gov.cn/zwgk/zcjd/content/post_{FIRST_DOC_ID}.html",
        "cms_doc_id": created["cms_doc_id"],
        "updated": True,
    }
    got = h.request(url, "GET", "/v1/items/yx-2024-001").json()
    assert got["revision"] == 2 and got["document"]["title"] == "修订后的标题"
    assert h.received(url)["applied"] == 2
    assert h.state(url)["next_cms_doc_id"] == FIRST_DOC_ID + 1


def test_lower_revision_is_409_stale_revision(url):
    """Brief §4: a revision lower than the stored one → 409 {"error":"stale_revision"}."""
    assert post(url, doc(revision=3)).status == 201
    r = post(url, doc(revision=2))
    assert r.status == 409 and r.json()["error"] == "stale_revision"
    assert h.request(url, "GET", "/v1/items/yx-2024-001").json()["revision"] == 3
    assert h.received(url)["applied"] == 1


def test_same_revision_with_other_key_or_body_is_409_revision_exists(url):
    """Brief §4: the same revision with a different key or body → 409 revision_exists, counted
    as a duplicate (the platform's duplicate error), not applied."""
    assert post(url, doc(), key="k-a").status == 201
    r = post(url, doc(), key="k-b")  # same body, other key
    assert r.status == 409 and r.json()["error"] == "revision_exists"
    r = post(url, doc(title="改"), key="k-c")  # other body, other key
    assert r.status == 409 and r.json()["error"] == "revision_exists"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 2


def test_forgotten_key_after_24h_is_processed_again(url):
    """CHANNELS.md §3.2 (Stripe): keys are pruned after ≥ 24 h; a retry after that is a new
    request — here the revision exists already, so 409 revision_exists rather than a replay."""
    assert post(url, doc()).status == 201
    h.clock(url, 86401)
    r = post(url, doc(), ts=h.sim_now_s(url))
    assert r.status == 409 and r.json()["error"] == "revision_exists"
    assert r.header("Idempotent-Replayed") is None


# ---- DELETE / GET / routing ------------------------------------------------------------------------


def test_delete_of_a_known_item_is_200_deleted(url):
    """CHANNELS.md §3.3: DELETE /v1/items/{item_id} (body {reason}) retracts: 200
    {"deleted":true}, applied; the document is gone; a replay of the key answers the same."""
    assert post(url, doc()).status == 201
    r = delete(url, "yx-2024-001")
    assert r.status == 200 and r.json() == {"deleted": True}
    assert h.request(url, "GET", "/v1/items/yx-2024-001").status == 404
    again = delete(url, "yx-2024-001")
    assert again.status == 200 and again.header("Idempotent-Replayed") == "true"
    rec = h.received(url)
    assert rec["applied"] == 2 and rec["duplicates"] == 1


def test_delete_of_an_unknown_item_is_404(url):
    """Brief §4: DELETE of an unknown item → 404 {"error":"not_found"}."""
    r = delete(url, "nobody")
    assert r.status == 404 and r.json() == {"error": "not_found"}
    assert h.received(url)["applied"] == 0


def test_delete_needs_a_reason_a_key_and_a_signature(url):
    """CHANNELS.md §3.3: DELETE carries body {reason}, Idempotency-Key and the signature."""
    assert post(url, doc()).status == 201
    r = delete(url, "yx-2024-001", reason=None)
    assert r.status == 400 and r.json()["field"] == "reason"
    r = delete(url, "yx-2024-001", secret="wrong")
    assert r.status == 401
    r = send(url, "DELETE", "/v1/items/yx-2024-001", {"reason": "x"}, key=None)
    assert r.status == 400 and r.json()["field"] == "Idempotency-Key"
    assert h.request(url, "GET", "/v1/items/yx-2024-001").status == 200


def test_get_item_and_routing(url):
    """Brief §4: GET /v1/items/{item_id} returns the stored document or 404; other methods and
    paths are refused (405 with Allow, 404); a body that is not JSON by Content-Type → 415."""
    assert h.request(url, "GET", "/v1/items/none").status == 404
    r = h.request(url, "GET", "/v1/items")
    assert r.status == 405 and r.header("Allow") == "POST"
    r = h.request(url, "PUT", "/v1/items/x", b"{}", {"Content-Type": "application/json"})
    assert r.status == 405
    assert h.request(url, "POST", "/v2/items", b"{}").status == 404
    r = post(url, doc(), headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert h.received(url)["applied"] == 0


def test_item_id_with_reserved_characters(url):
    """CHANNELS.md §3.3: item_id is the upstream id; GET/DELETE address it percent-encoded."""
    item = "yx/2024 #3"
    assert post(url, doc(item)).status == 201
    enc = "yx%2F2024%20%233"
    assert h.request(url, "GET", f"/v1/items/{enc}").json()["item_id"] == item
    assert delete(url, enc, key="k-del-enc").status == 200


# ---- configuration -------------------------------------------------------------------------------


def test_portal_base_is_configurable():
    """Brief §4: portal_url = <portal_base>/<column path>/content/post_<cms_doc_id>.html with
    config portal_base; like the district portal (www.yuexiu.gov.cn/zwgk/zfwj/...), URLs are
    ASCII: a non-ASCII 栏目 segment gets a column code, "c" + 8 hex digits of its SHA-256."""
    conf = {"website": {"secret": SECRET, "portal_base": "http://portal.test/"}}
    with h.SimProcess(conf, only="website") as proc:
        u = proc.urls["website"]
        r = post(u, doc(channel_path="政务公开/zcwj"))
        assert r.status == 201
        code = "c" + hashlib.sha256("政务公开".encode()).hexdigest()[:8]
        assert r.json()["portal_url"] == (
            f"http://portal.test/{code}/zcwj/content/post_{FIRST_DOC_ID}.html")


@pytest.mark.parametrize("conf,needle", [
    ({"website": {}}, "secret"),
    ({"website": {"secret": ""}}, "secret"),
    ({"website": {"secret": "s", "portal_bas": "x"}}, "portal_bas"),
    ({"website": {"secret": "s", "portal_base": "ftp://x"}}, "portal_base"),
])
def test_bad_config_exits_2_with_a_reason(conf, needle):
    """Brief §2/§4: the secret is required (no default secret); a bad config is a clear error
    and exit status 2."""
    rc, err = h.run_sim_expect_exit(["--only", "website"], config=conf)
    assert rc == 2, err
    assert needle in err
