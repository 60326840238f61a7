"""Raw-HTTP tests of the WeChat simulator: the official-account API of CHANNELS.md §1.

Each test checks one rule on the wire (no herald adapter involved) and names the section it
enforces. README.md has the rule -> test table.
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/wechat/test_sim_wechat.py
"""

import base64
import hashlib
import http.server
import json
import os
import queue
import subprocess
import sys
import threading
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

APPID = "wxd5f4a3b2c1e0f9a8"
SECRET = "herald-sim-wechat-appsecret"
EVENT_TOKEN = "herald-sim-event-token"
STEP_MS = 1000
JPEG = b"\xff\xd8\xff\xe0" + b"\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
GIF = b"GIF89a" + b"\x00" * 200


@pytest.fixture(scope="module")
def sim():
    conf = {"wechat": {"event_retry_ms": 100, "event_retries": 3, "publish_step_ms": STEP_MS}}
    with h.SimProcess(conf, only="wechat") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["wechat"])
    return sim.urls["wechat"]


# ---- wire helpers ----------------------------------------------------------------------------


def call(url, path, body=None, token=None, query="", method="POST", headers=None):
    """One call to /cgi-bin/<path>; returns the Response (status, headers, body)."""
    q = []
    if token is not None:
        q.append("access_token=" + urllib.parse.quote(token, safe=""))
    if query:
        q.append(query)
    full = "/cgi-bin/" + path + ("?" + "&".join(q) if q else "")
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
        hdrs.setdefault("Content-Type", "application/json")
    return h.request(url, method, full, body, hdrs)


def ok(resp):
    assert resp.status == 200, resp
    j = resp.json()
    assert j.get("errcode", 0) == 0, j
    return j


def errcode(resp):
    """The errcode of an API error: always HTTP 200 with a JSON body (CHANNELS.md §0.3)."""
    assert resp.status == 200, resp
    assert resp.header("Content-Type").startswith("application/json"), resp.headers
    j = resp.json()
    assert "errmsg" in j, j
    return j["errcode"]


def stable(url, force=None, appid=APPID, secret=SECRET, grant="client_credential"):
    body = {"grant_type": grant, "appid": appid, "secret": secret}
    if force is not None:
        body["force_refresh"] = force
    return call(url, "stable_token", body)


def token(url):
    return ok(stable(url))["access_token"]


def multipart(parts):
    """parts: [(name, filename or None, content_type or None, bytes)] -> (body, content type)."""
    boundary = "----herald" + uuid.uuid4().hex
    out = b""
    for name, filename, ctype, data in parts:
        disp = 'form-data; name="%s"' % name
        if filename:
            disp += '; filename="%s"' % filename
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


def upload(url, tok, path, data, query="", field="media", filename="a.jpg", ctype="image/jpeg"):
    body, ct = multipart([(field, filename, ctype, data)])
    return call(url, path, body, tok, query, headers={"Content-Type": ct})


def thumb(url, tok, data=JPEG):
    return ok(upload(url, tok, "material/add_material", data, "type=thumb"))["media_id"]


def article(thumb_id, title="越秀区关于优化营商环境的通知", content="<p>正文</p>", **over):
    a = {"title": title, "author": "越秀发布", "digest": "摘要", "content": content,
         "content_source_url": "https://www.yuexiu.gov.cn/zwgk/content/post_1.html",
         "thumb_media_id": thumb_id, "need_open_comment": 0, "only_fans_can_comment": 0}
    for k, v in over.items():
        if v is None:
            a.pop(k, None)
        else:
            a[k] = v
    return a


def draft(url, tok, **over):
    t = over.pop("thumb_id", None) or thumb(url, tok)
    return ok(call(url, "draft/add", {"articles": [article(t, **over)]}, tok))["media_id"]


def submit(url, tok, media_id):
    return ok(call(url, "freepublish/submit", {"media_id": media_id}, tok))["publish_id"]


def status(url, tok, publish_id):
    return ok(call(url, "freepublish/get", {"publish_id": publish_id}, tok))


def script(url, statuses, title_contains=None):
    body = {"statuses": statuses}
    if title_contains:
        body["title_contains"] = title_contains
    return h.control(url, "POST", "script", body)


def knobs(url, **k):
    return h.control(url, "POST", "knobs", k)


def beijing_day(url):
    return h.state(url)["day_index"]


# ---- §0.3: the wire format ------------------------------------------------------------------


def test_api_errors_are_http_200_with_an_errcode_body(url):
    """CHANNELS.md §0.3: errors come back as HTTP 200 with a JSON errcode body (the SDKs check
    the status first, then errcode); errmsg carries a request id, so only errcode is stable."""
    r = call(url, "draft/add", {"articles": []})
    assert errcode(r) == 41001  # access_token missing
    assert " rid: " in r.json()["errmsg"]
    r2 = call(url, "draft/add", {"articles": []})
    assert r2.json()["errmsg"] != r.json()["errmsg"]  # the rid differs per request


def test_business_calls_are_post_and_unknown_apis_404(url):
    """CHANNELS.md §1: business calls POST to /cgi-bin/<api>?access_token=...; GET -> 43002."""
    tok = token(url)
    assert errcode(call(url, "draft/add", None, tok, method="GET")) == 43002
    assert call(url, "no/such/api", {}, tok).status == 404
    assert h.request(url, "GET", "/elsewhere").status == 404


def test_access_token_is_a_query_parameter_and_checked(url):
    """CHANNELS.md §1 ("every business call passes ?access_token=") and §1.1 token errors:
    missing 41001, malformed 40014, not issued / not latest 40001, expired 42001."""
    tok = token(url)
    assert errcode(call(url, "draft/count", {})) == 41001
    assert errcode(call(url, "draft/count", {}, "bad token!")) == 40014
    assert errcode(call(url, "draft/count", {}, "86_" + "x" * 100)) == 40001
    assert ok(call(url, "draft/count", {}, tok))["total_count"] == 0
    # the token in a header or the body does not count
    r = call(url, "draft/count", {"access_token": tok},
             headers={"Authorization": "Bearer " + tok})
    assert errcode(r) == 41001
    h.clock(url, 7201)
    assert errcode(call(url, "draft/count", {}, tok)) == 42001


# ---- §1.1: access tokens ----------------------------------------------------------------------


def test_stable_token_returns_the_same_token_while_valid(url):
    """CHANNELS.md §1.1 (stable token rules): normal mode returns the same token while it is
    valid, with the time it has left."""
    a = ok(stable(url, force=False))
    assert a["expires_in"] == 7200 and len(a["access_token"]) >= 100
    h.clock(url, 1000)
    b = ok(stable(url))
    assert b["access_token"] == a["access_token"]
    assert 6195 <= b["expires_in"] <= 6200


def test_stable_token_is_renewed_five_minutes_early_and_the_old_one_still_works(url):
    """CHANNELS.md §1.1: the platform refreshes the stable token 5 min early, so expires_in is
    never under 300; the old token stays valid until its own expiry."""
    old = token(url)
    h.clock(url, 7200 - 301)
    assert ok(stable(url))["access_token"] == old  # 301 s left: still the same
    h.clock(url, 2)
    new = ok(stable(url))
    assert new["access_token"] != old and new["expires_in"] == 7200
    assert ok(call(url, "draft/count", {}, old))  # old: still valid for its last 299 s
    h.clock(url, 300)
    assert errcode(call(url, "draft/count", {}, old)) == 42001
    assert ok(call(url, "draft/count", {}, new["access_token"]))


def test_force_refresh_invalidates_the_old_token_20_a_day_30s_apart(url):
    """CHANNELS.md §1.1: force_refresh:true invalidates the old token at once; 20 per day, at
    least 30 s apart (the simulator answers 45009 / 45011: codes unconfirmed, §6)."""
    old = token(url)
    new = ok(stable(url, force=True))["access_token"]
    assert new != old
    assert errcode(call(url, "draft/count", {}, old)) == 40001
    assert ok(call(url, "draft/count", {}, new))
    assert errcode(stable(url, force=True)) == 45011  # < 30 s after the last
    for _ in range(19):
        h.clock(url, 31)
        ok(stable(url, force=True))
    h.clock(url, 31)
    assert errcode(stable(url, force=True)) == 45009  # the 21st today
    assert ok(stable(url))  # normal mode is not limited by it


def test_stable_token_checks_credentials_and_format(url):
    """CHANNELS.md §1.1: POST JSON only; grant_type client_credential; appid and secret checked
    (40013 invalid appid, 40125 invalid appsecret, 41002/41004 missing)."""
    assert errcode(stable(url, appid="wx0000000000000000")) == 40013
    assert errcode(stable(url, secret="wrong")) == 40125
    assert errcode(stable(url, appid="")) == 41002
    assert errcode(stable(url, secret="")) == 41004
    assert errcode(stable(url, grant="password")) == 40002
    assert errcode(call(url, "stable_token", None, method="GET")) == 43002
    r = call(url, "stable_token", "grant_type=client_credential&appid=%s&secret=%s"
             % (APPID, SECRET), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert errcode(r) == 47001
    assert errcode(stable(url, force="yes")) == 47001


def test_classic_token_is_isolated_and_each_fetch_replaces_the_last(url):
    """CHANNELS.md §1.1: GET /cgi-bin/token; fetching again invalidates the previous token after
    5 minutes of overlap; fully isolated from stable_token."""
    st = token(url)
    q = "grant_type=client_credential&appid=%s&secret=%s" % (APPID, SECRET)
    a = ok(call(url, "token", None, query=q, method="GET"))
    assert a["expires_in"] == 7200
    b = ok(call(url, "token", None, query=q, method="GET"))
    assert b["access_token"] != a["access_token"]
    assert ok(call(url, "draft/count", {}, a["access_token"]))  # overlap
    h.clock(url, 301)
    assert errcode(call(url, "draft/count", {}, a["access_token"])) == 42001
    assert ok(call(url, "draft/count", {}, b["access_token"]))
    assert ok(call(url, "draft/count", {}, st))  # the stable token is untouched
    assert errcode(call(url, "token", None, query=q.replace(SECRET, "x"), method="GET")) == 40125


def test_token_knobs_expire_and_refuse_the_next_calls(url):
    """CHANNELS.md §1.7 fault knobs: token expiry, and 40001 on the next N calls."""
    tok = token(url)
    h.control(url, "POST", "tokens", {"invalid_next": 2})
    assert errcode(call(url, "draft/count", {}, tok)) == 40001
    assert errcode(call(url, "draft/count", {}, tok)) == 40001
    assert ok(call(url, "draft/count", {}, tok))
    h.control(url, "POST", "tokens", {"expire_all": True})
    assert errcode(call(url, "draft/count", {}, tok)) == 42001
    fresh = token(url)  # normal mode hands out a new token once the old one is dead
    assert fresh != tok and ok(call(url, "draft/count", {}, fresh))
    h.control(url, "POST", "tokens", {"invalidate_all": True})
    assert errcode(call(url, "draft/count", {}, fresh)) == 40001


def test_ip_not_on_the_whitelist_is_40164(url):
    """CHANNELS.md §1.1 (IP whitelist): calls from other IPs fail with 40164, token calls too."""
    tok = token(url)
    knobs(url, ip_blocked=True)
    assert errcode(stable(url)) == 40164
    assert errcode(call(url, "draft/count", {}, tok)) == 40164
    knobs(url, ip_blocked=False)
    assert ok(call(url, "draft/count", {}, tok))


def test_busy_answers_minus_one_without_effect(url):
    """CHANNELS.md §1.5/§1.7: -1 system busy (transient; next N calls, or with probability p);
    the call has no effect."""
    tok = token(url)
    t = thumb(url, tok)
    knobs(url, busy_next=1)
    assert errcode(call(url, "draft/add", {"articles": [article(t)]}, tok)) == -1
    assert ok(call(url, "draft/count", {}, tok))["total_count"] == 0
    # -1 with probability p (§1.7)
    knobs(url, busy_p=1.0)
    assert all(errcode(call(url, "draft/count", {}, tok)) == -1 for _ in range(5))
    knobs(url, busy_p=0.5)
    got = [call(url, "draft/count", {}, tok).json().get("errcode", 0) for _ in range(200)]
    assert 40 < got.count(-1) < 160, got.count(-1)
    knobs(url, busy_p=0.0)
    assert ok(call(url, "draft/count", {}, tok))


# ---- §1.2: images ------------------------------------------------------------------------------


def test_uploadimg_takes_multipart_media_jpg_png_under_1mb(url):
    """CHANNELS.md §1.2: media/uploadimg, multipart field `media`, jpg/png only (40005), <1 MB
    (40009); answers an mmbiz.qpic.cn URL."""
    tok = token(url)
    j = ok(upload(url, tok, "media/uploadimg", JPEG))
    assert j["url"].startswith("http://mmbiz.qpic.cn/") and j["errmsg"] == "ok"
    assert ok(upload(url, tok, "media/uploadimg", PNG, filename="a.png", ctype="image/png"))
    # the type is read from the bytes, not from the name or the declared type
    assert errcode(upload(url, tok, "media/uploadimg", GIF, filename="a.jpg")) == 40005
    big = JPEG + b"\x00" * (1024 * 1024 - len(JPEG))
    assert errcode(upload(url, tok, "media/uploadimg", big)) == 40009
    assert ok(upload(url, tok, "media/uploadimg", big[:-1]))
    assert errcode(upload(url, tok, "media/uploadimg", JPEG, field="file")) == 41005
    assert errcode(call(url, "media/uploadimg", JPEG, tok,
                        headers={"Content-Type": "image/jpeg"})) == 41005


def test_add_material_thumb_is_a_jpg_of_at_most_64kb(url):
    """CHANNELS.md §1.2: material/add_material?type=thumb: JPG, 64 KB; type=image bmp/png/jpeg/
    gif (url returned for images only); other types 40004."""
    tok = token(url)
    at_limit = JPEG + b"\x00" * (64 * 1024 - len(JPEG))
    j = ok(upload(url, tok, "material/add_material", at_limit, "type=thumb"))
    assert j["media_id"] and "url" not in j
    assert errcode(upload(url, tok, "material/add_material", at_limit + b"\x00",
                          "type=thumb")) == 40009
    assert errcode(upload(url, tok, "material/add_material", PNG, "type=thumb")) == 40005
    img = ok(upload(url, tok, "material/add_material", GIF, "type=image", filename="a.gif"))
    assert img["url"].startswith("http://mmbiz.qpic.cn/")
    assert errcode(upload(url, tok, "material/add_material", JPEG, "type=sticker")) == 40004
    assert errcode(upload(url, tok, "material/add_material", JPEG)) == 40004


# ---- §1.3: drafts ------------------------------------------------------------------------------


def test_draft_add_enforces_the_field_limits(url):
    """CHANNELS.md §1.3 (draft/add): title <= 32, author <= 16, digest <= 128, content < 20,000
    characters, content_source_url <= 1 KB; counted in characters (越 is one)."""
    tok = token(url)
    t = thumb(url, tok)

    def add(**over):
        return call(url, "draft/add", {"articles": [article(t, **over)]}, tok)

    assert ok(add(title="越" * 32))
    assert errcode(add(title="越" * 33)) == 45003
    assert ok(add(author="秀" * 16))
    assert errcode(add(author="秀" * 17)) == 45110
    assert ok(add(digest="摘" * 128))
    assert errcode(add(digest="摘" * 129)) == 45004
    assert ok(add(content="字" * 19999))
    assert errcode(add(content="字" * 20000)) == 45002
    assert errcode(add(content="a" * 20000)) == 45002  # tags and ASCII count too
    assert ok(add(content_source_url="https://x.example/" + "a" * (1024 - 18)))
    assert errcode(add(content_source_url="https://x.example/" + "a" * (1025 - 18))) == 45005
    assert ok(call(url, "draft/count", {}, tok))["total_count"] == 5


def test_draft_add_checks_structure_and_the_thumb(url):
    """CHANNELS.md §1.3: thumb_media_id must be a permanent media_id (40007); empty news data
    44003; content required; data format error 47001."""
    tok = token(url)
    t = thumb(url, tok)
    img_url = ok(upload(url, tok, "media/uploadimg", JPEG))["url"]
    assert errcode(call(url, "draft/add", {"articles": [article("nope")]}, tok)) == 40007
    # an uploadimg URL is not a media_id
    assert errcode(call(url, "draft/add", {"articles": [article(img_url)]}, tok)) == 40007
    assert errcode(call(url, "draft/add", {"articles": [article(t, thumb_media_id=None)]},
                        tok)) == 40007
    assert errcode(call(url, "draft/add", {"articles": []}, tok)) == 44003
    assert errcode(call(url, "draft/add", {"articles": [article(t, content="")]}, tok)) == 44004
    assert errcode(call(url, "draft/add", {"articles": [article(t, title=None)]}, tok)) == 47001
    assert errcode(call(url, "draft/add", "{not json", tok)) == 47001
    assert errcode(call(url, "draft/add", {"articles": [article(t, need_open_comment=2)]},
                        tok)) == 47001


def test_draft_content_loses_external_images_and_scripts(url):
    """CHANNELS.md §1.2/§1.3: external image URLs in content are filtered out (only uploadimg
    URLs stay); JS is stripped."""
    tok = token(url)
    mm = ok(upload(url, tok, "media/uploadimg", JPEG))["url"]
    content = ('<p>一</p><img src="%s"><img src="https://www.yuexiu.gov.cn/a.jpg">'
               '<script>alert(1)</script><IMG SRC=http://evil.example/x.png><p>二</p>' % mm)
    mid = draft(url, tok, content=content)
    got = ok(call(url, "draft/get", {"media_id": mid}, tok))["news_item"][0]
    assert got["content"] == '<p>一</p><img src="%s"><p>二</p>' % mm
    st = h.state(url)["drafts"][mid]
    assert (st["stripped_images"], st["stripped_scripts"]) == (2, 1)


def test_risky_content_is_87014(url):
    """CHANNELS.md §1.5: 87014 risky content, for marked content (a configurable trigger word)."""
    tok = token(url)
    t = thumb(url, tok)
    r = call(url, "draft/add", {"articles": [article(t, content="<p>herald-sim-risky</p>")]}, tok)
    assert errcode(r) == 87014
    knobs(url, risky_words=["违规词"])
    r = call(url, "draft/add", {"articles": [article(t, title="含违规词的标题")]}, tok)
    assert errcode(r) == 87014


# ---- §1.3: publishing -------------------------------------------------------------------------


def test_submit_answers_a_publish_id_and_the_draft_leaves_the_box(url):
    """CHANNELS.md §1.3 (freepublish/submit): errcode 0 + publish_id + msg_data_id means only
    that the task was accepted; a published draft leaves the draft box, so submitting it again
    is refused (40007) — and recorded as a duplicate the tests can see."""
    tok = token(url)
    mid = draft(url, tok)
    j = ok(call(url, "freepublish/submit", {"media_id": mid}, tok))
    assert j["publish_id"].isdigit() and j["msg_data_id"]
    assert errcode(call(url, "draft/get", {"media_id": mid}, tok)) == 40007
    assert errcode(call(url, "freepublish/submit", {"media_id": mid}, tok)) == 40007
    rx = h.received(url)
    assert (rx["applied"], rx["duplicates"]) == (1, 1)
    (key,) = [k for k in rx["by_key"] if k.startswith("publish:")]
    assert rx["by_key"][key] == {"requests": 2, "applied": 1, "duplicates": 1}
    assert h.state(url)["publishes"][0]["resubmits"] == 1


def test_the_same_article_published_twice_is_a_duplicate_effect(url):
    """DESIGN.md (simulators count applied effects and duplicates): one publish = one applied
    effect, keyed by the article; a second draft of the same article published again is a
    duplicate publish (the platform itself does not refuse it)."""
    tok = token(url)
    t = thumb(url, tok)
    a = submit(url, tok, draft(url, tok, thumb_id=t))
    b = submit(url, tok, draft(url, tok, thumb_id=t))
    assert a != b
    rx = h.received(url)
    assert (rx["applied"], rx["duplicates"]) == (1, 1)
    pubs = h.state(url)["publishes"]
    assert [p["duplicate"] for p in pubs] == [False, True]


def test_publish_status_follows_its_script(url):
    """CHANNELS.md §1.3 (publish_status 0-6) and §1.7 (scripted sequences 1->1->0): one step per
    publish_step_ms of the simulator's clock; status 0 carries article_id and article_url."""
    tok = token(url)
    script(url, [1, 1, 0])
    pid = submit(url, tok, draft(url, tok))
    first = status(url, tok, pid)
    assert first["publish_status"] == 1 and "article_id" not in first
    assert first["fail_idx"] == []
    h.clock(url, STEP_MS / 1000)
    assert status(url, tok, pid)["publish_status"] == 1
    h.clock(url, STEP_MS / 1000)
    done = status(url, tok, pid)
    assert done["publish_status"] == 0 and done["publish_id"] == pid
    assert done["article_id"]
    assert done["article_detail"]["count"] == 1
    item = done["article_detail"]["item"][0]
    assert item["idx"] == 1 and item["article_url"].startswith("https://mp.weixin.qq.com/s/")
    h.clock(url, 60)
    assert status(url, tok, pid)["publish_status"] == 0  # the script's end stays


def test_failure_and_removal_statuses(url):
    """CHANNELS.md §1.3: 2 originality / 4 review failures list fail_idx; 3 ordinary failure;
    5 deleted and 6 banned after success keep the article_id (scripts 1->3, 0->5, ...)."""
    tok = token(url)
    for seq in ([1, 3], [2], [4], [0, 5], [0, 6]):
        script(url, seq)
    pids = [submit(url, tok, draft(url, tok, title="稿件%d" % i)) for i in range(5)]
    h.clock(url, STEP_MS / 1000)
    got = [status(url, tok, p) for p in pids]
    assert [g["publish_status"] for g in got] == [3, 2, 4, 5, 6]
    assert [g["fail_idx"] for g in got] == [[], [1], [1], [], []]
    assert "article_id" not in got[0] and got[3]["article_id"] and got[4]["article_id"]


def test_scripts_can_target_an_article_by_title(url):
    """§1.7 (scripts per submit): a queued script with title_contains waits for its article."""
    tok = token(url)
    script(url, [4], title_contains="审核")
    a = submit(url, tok, draft(url, tok, title="普通通知"))
    b = submit(url, tok, draft(url, tok, title="待审核的通知"))
    h.clock(url, STEP_MS / 1000 * 2)
    assert status(url, tok, a)["publish_status"] == 0  # the default [1, 0]
    assert status(url, tok, b)["publish_status"] == 4


def test_unknown_publish_id_and_failed_publish_check(url):
    """CHANNELS.md §1.3: 53502 invalid publish_id; 53503 draft failed the publish check."""
    tok = token(url)
    assert errcode(call(url, "freepublish/get", {"publish_id": "1"}, tok)) == 53502
    mid = draft(url, tok, content="<p>herald-sim-check-fail</p>")
    assert errcode(call(url, "freepublish/submit", {"media_id": mid}, tok)) == 53503
    assert ok(call(url, "draft/get", {"media_id": mid}, tok))  # still in the box
    assert h.received(url)["applied"] == 0


def test_delete_by_article_id_and_index(url):
    """CHANNELS.md §1.3 (freepublish/delete): article_id + 1-based index; irreversible (the
    status becomes 5); a second delete finds nothing (53600); verified accounts only (48001)."""
    tok = token(url)
    script(url, [0])
    pid = submit(url, tok, draft(url, tok))
    aid = status(url, tok, pid)["article_id"]
    assert errcode(call(url, "freepublish/delete", {"article_id": "nope", "index": 1},
                        tok)) == 53600
    knobs(url, verified=False)
    assert errcode(call(url, "freepublish/delete", {"article_id": aid, "index": 1}, tok)) == 48001
    knobs(url, verified=True)
    ok(call(url, "freepublish/delete", {"article_id": aid, "index": 1}, tok))
    assert status(url, tok, pid)["publish_status"] == 5
    assert errcode(call(url, "freepublish/delete", {"article_id": aid, "index": 1}, tok)) == 53600
    rx = h.received(url)
    assert rx["by_key"]["delete:" + aid] == {"requests": 2, "applied": 1, "duplicates": 1}


def test_batchget_and_getarticle_list_what_was_published(url):
    """CHANNELS.md §1.3 (related endpoints): freepublish/batchget lists successful publishes,
    newest first, count 1-20; getarticle by article_id; is_deleted marks removed ones."""
    tok = token(url)
    script(url, [0])
    script(url, [0])
    script(url, [1])
    first = submit(url, tok, draft(url, tok, title="第一篇"))
    h.clock(url, 1)
    second = submit(url, tok, draft(url, tok, title="第二篇"))
    submit(url, tok, draft(url, tok, title="发布中"))
    assert errcode(call(url, "freepublish/batchget", {"offset": 0, "count": 21}, tok)) == 47001
    assert errcode(call(url, "freepublish/batchget", {"offset": 0, "count": 0}, tok)) == 47001
    j = ok(call(url, "freepublish/batchget", {"offset": 0, "count": 20, "no_content": 1}, tok))
    assert j["total_count"] == 2 and j["item_count"] == 2
    titles = [i["content"]["news_item"][0]["title"] for i in j["item"]]
    assert titles == ["第二篇", "第一篇"]
    news = j["item"][0]["content"]["news_item"][0]
    assert "content" not in news and news["thumb_media_id"] and not news["is_deleted"]
    assert j["item"][0]["update_time"] > 0
    aid = status(url, tok, second)["article_id"]
    art = ok(call(url, "freepublish/getarticle", {"article_id": aid}, tok))["news_item"][0]
    assert art["title"] == "第二篇" and art["content"] == "<p>正文</p>"
    assert errcode(call(url, "freepublish/getarticle", {"article_id": "x"}, tok)) == 53600
    assert status(url, tok, first)["publish_status"] == 0


# ---- §1.6: quotas ----------------------------------------------------------------------------


def test_daily_quotas_have_the_platforms_numbers(url):
    """CHANNELS.md §1.6: a new account's daily limits (submit 100, status poll 100, delete 10,
    draft add 1000, draft get 500, ...) and stable_token's 10,000/min, 500,000/day (§1.1)."""
    lim = h.state(url)["limits"]
    assert lim["freepublish/submit"]["day"] == 100
    assert lim["freepublish/get"]["day"] == 100
    assert lim["freepublish/delete"]["day"] == 10
    assert lim["draft/add"]["day"] == 1000
    assert lim["draft/get"]["day"] == 500
    assert lim["freepublish/batchget"]["day"] == 100
    assert lim["media/uploadimg"]["day"] == 100000
    assert lim["token"]["day"] == 2000
    assert lim["stable_token"] == {"day": 500000, "minute": 10000}


def test_the_101st_status_poll_of_a_day_is_45009(url):
    """CHANNELS.md §1.6: exceeding a daily limit returns 45009 (every call counts, also those
    that fail); the count starts again the next day (00:00 Beijing time)."""
    tok = token(url)
    for _ in range(100):
        assert errcode(call(url, "freepublish/get", {"publish_id": "1"}, tok)) == 53502
    r = call(url, "freepublish/get", {"publish_id": "1"}, tok)
    assert errcode(r) == 45009
    assert r.json()["errmsg"].startswith("reach max api daily quota limit")
    assert ok(call(url, "draft/count", {}, tok))  # other APIs have their own count
    # to the next Beijing midnight
    now = h.clock(url)["now_ms"] // 1000
    h.clock(url, 86400 - (now + 8 * 3600) % 86400 + 1)
    tok = token(url)
    assert errcode(call(url, "freepublish/get", {"publish_id": "1"}, tok)) == 53502


def test_the_11th_delete_of_a_day_is_45009(url):
    """CHANNELS.md §1.6: 删除发布 (delete) is limited to 10 a day."""
    tok = token(url)
    for _ in range(10):
        assert errcode(call(url, "freepublish/delete", {"article_id": "x"}, tok)) == 53600
    assert errcode(call(url, "freepublish/delete", {"article_id": "x"}, tok)) == 45009


def test_quota_day_turns_at_beijing_midnight(url):
    """CHANNELS.md §1.5 (reset presumably 00:00 Beijing): counts belong to the day in UTC+8."""
    knobs(url, limits={"freepublish/submit": {"day": 1}})
    now = h.clock(url)["now_ms"] // 1000
    h.clock(url, 86400 - (now + 8 * 3600) % 86400 - 5)  # 5 s before Beijing midnight
    tok = token(url)
    day = beijing_day(url)
    submit(url, tok, draft(url, tok, title="午夜前"))
    assert errcode(call(url, "freepublish/submit", {"media_id": draft(url, tok)}, tok)) == 45009
    h.clock(url, 6)
    assert beijing_day(url) == day + 1
    submit(url, tok, draft(url, tok, title="午夜后"))


def test_per_minute_limit_is_45011(url):
    """CHANNELS.md §1.5: 45011 api minute-quota reach limit, retry next minute."""
    tok = token(url)
    knobs(url, limits={"freepublish/get": {"minute": 2}})
    now = h.clock(url)["now_ms"]
    h.clock(url, (60000 - now % 60000) / 1000 + 1)  # early in a minute
    for _ in range(2):
        assert errcode(call(url, "freepublish/get", {"publish_id": "1"}, tok)) == 53502
    r = call(url, "freepublish/get", {"publish_id": "1"}, tok)
    assert errcode(r) == 45011 and "minute" in r.json()["errmsg"]
    h.clock(url, 60)
    assert errcode(call(url, "freepublish/get", {"publish_id": "1"}, tok)) == 53502


def test_clear_quota_resets_counts_ten_times_a_month(url):
    """CHANNELS.md §1.6: POST /cgi-bin/clear_quota {"appid"} resets the counts, 10 times a
    month; after that 48006."""
    tok = token(url)
    knobs(url, limits={"draft/count": {"day": 1}})
    assert ok(call(url, "draft/count", {}, tok))
    assert errcode(call(url, "draft/count", {}, tok)) == 45009
    assert errcode(call(url, "clear_quota", {"appid": "wx0"}, tok)) == 40013
    ok(call(url, "clear_quota", {"appid": APPID}, tok))
    assert ok(call(url, "draft/count", {}, tok))
    for _ in range(9):
        ok(call(url, "clear_quota", {"appid": APPID}, tok))
    assert errcode(call(url, "clear_quota", {"appid": APPID}, tok)) == 48006
    h.control(url, "POST", "clear_quota", {})  # the simulator's own reset still works
    assert ok(call(url, "draft/count", {}, tok))


def test_unauthorized_api_is_48001(url):
    """CHANNELS.md §1.5: 48001 api unauthorized (feature not granted)."""
    tok = token(url)
    knobs(url, unauthorized=["freepublish/submit"])
    assert errcode(call(url, "freepublish/submit", {"media_id": draft(url, tok)}, tok)) == 48001


# ---- §1.3: the PUBLISHJOBFINISH event push ------------------------------------------------------


class Callback:
    """The account's server URL: records requests, answers from a queue (default 200 success)."""

    def __init__(self, echo=True):
        self.requests = queue.Queue()
        self.answers = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                outer.requests.put((self.command, u.path, q, body, dict(self.headers)))
                try:
                    code = outer.answers.get_nowait()
                except queue.Empty:
                    code = 200
                if self.command == "GET":
                    out = q.get("echostr", "").encode() if echo else b"nope"
                else:
                    out = b"success" if code == 200 else b"error"
                self.send_response(code)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = _do
            do_POST = _do

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/wechat/events?from=sim" % self.server.server_port

    def next(self, timeout=10):
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callback(url):
    cb = Callback()
    h.control(url, "POST", "callback", {"url": cb.url, "token": EVENT_TOKEN})
    yield cb
    cb.close()


def signature(token_, ts, nonce):
    return hashlib.sha1("".join(sorted([token_, ts, nonce])).encode()).hexdigest()


def test_event_push_is_signed_xml_to_the_callback_url(url, callback):
    """CHANNELS.md §1.3 (Event PUBLISHJOBFINISH): XML pushed to the account's server URL, signed
    with sha1 of the sorted token, timestamp and nonce (?signature=&timestamp=&nonce=)."""
    tok = token(url)
    script(url, [1, 0])
    pid = submit(url, tok, draft(url, tok))
    h.clock(url, STEP_MS / 1000)
    method, path, q, body, hdrs = callback.next()
    assert (method, path, q["from"]) == ("POST", "/wechat/events", "sim")
    assert q["signature"] == signature(EVENT_TOKEN, q["timestamp"], q["nonce"])
    assert q["nonce"].isdigit() and q["openid"]
    assert hdrs["Content-Type"].startswith("text/xml")
    x = ET.fromstring(body)
    assert x.find("MsgType").text == "event" and x.find("Event").text == "PUBLISHJOBFINISH"
    info = x.find("PublishEventInfo")
    assert info.find("publish_id").text == pid and info.find("publish_status").text == "0"
    got = status(url, tok, pid)
    assert info.find("article_id").text == got["article_id"]
    assert info.find("article_detail/item/article_url").text == \
        got["article_detail"]["item"][0]["article_url"]
    h.wait_for(lambda: h.state(url)["events"][0]["acked"], "the event acknowledged")
    # no event for the submit itself (status 1): exactly one request came
    assert callback.requests.empty()


def test_event_is_retried_until_acknowledged(url, callback):
    """CHANNELS.md §1.3: the platform pushes again when the server does not answer success
    (event_retries, event_retry_ms)."""
    tok = token(url)
    callback.answers.put(500)
    callback.answers.put(503)
    script(url, [0])
    submit(url, tok, draft(url, tok))
    bodies = [callback.next()[3] for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]
    ev = h.wait_for(lambda: h.state(url)["events"][0]["acked"] and h.state(url)["events"][0],
                    "the third push acknowledged")
    assert ev["attempts"] == 3 and ev["last_status"] == 200


def test_event_knobs_drop_and_duplicate(url, callback):
    """CHANNELS.md §1.7: event drop or duplicate knobs."""
    tok = token(url)
    knobs(url, event_drop_next=1, event_dup_next=1)
    script(url, [0])
    script(url, [0])
    submit(url, tok, draft(url, tok, title="丢失"))
    submit(url, tok, draft(url, tok, title="重复"))
    a, b = callback.next()[3], callback.next()[3]
    assert a == b
    evs = h.wait_for(lambda: (lambda e: len(e) == 3 and e)(h.state(url)["events"]),
                     "three event records")
    assert [e["dropped"] for e in evs] == [True, False, False]
    assert [bool(e.get("duplicate")) for e in evs] == [False, False, True]
    assert callback.requests.empty()


def test_removal_after_success_is_pushed(url, callback):
    """CHANNELS.md §1.3 (5 deleted / 6 banned after success): a removal on the console (the
    set_status control) is pushed as PUBLISHJOBFINISH with the new status (whether the platform
    pushes on removal is unconfirmed; the simulator does, so the daemon can learn it)."""
    tok = token(url)
    script(url, [0])
    pid = submit(url, tok, draft(url, tok))
    assert ET.fromstring(callback.next()[3]).find("PublishEventInfo/publish_status").text == "0"
    h.control(url, "POST", "set_status", {"publish_id": pid, "status": 6})
    x = ET.fromstring(callback.next()[3])
    assert x.find("PublishEventInfo/publish_status").text == "6"
    assert x.find("PublishEventInfo/article_id").text
    assert status(url, tok, pid)["publish_status"] == 6


def test_callback_url_check_with_echostr(url, callback):
    """The server-URL check of WeChat's push configuration: GET with signature, timestamp,
    nonce and echostr; the server must answer echostr."""
    h.control(url, "POST", "callback", {"url": callback.url, "token": EVENT_TOKEN,
                                        "verify": True})
    method, path, q, body, _ = callback.next()
    assert method == "GET" and q["echostr"]
    assert q["signature"] == signature(EVENT_TOKEN, q["timestamp"], q["nonce"])
    h.wait_for(lambda: h.state(url)["callback_verified"] == 1, "the URL check passed")
    bad = Callback(echo=False)
    try:
        h.control(url, "POST", "callback", {"url": bad.url, "verify": True})
        bad.next()
        h.wait_for(lambda: h.state(url)["callback_verified"] == 0, "the URL check failed")
    finally:
        bad.close()


# ---- 消息加解密: 兼容模式 and 安全模式 -------------------------------------------------------

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # an EncodingAESKey: 43 of [a-zA-Z0-9]


def openssl_decrypt(encoding_key, encrypt):
    """(msg, appid) of an Encrypt value, decrypted by the openssl command (not by herald's own
    wx_crypt.c): AES-256-CBC, key Base64_Decode(EncodingAESKey + "="), IV its first 16 bytes,
    PKCS#7 padding to 32 bytes; random(16) | msg_len (network order) | msg | appid."""
    key = base64.b64decode(encoding_key + "=")
    assert len(key) == 32
    ct = base64.b64decode(encrypt, validate=True)
    assert len(ct) % 32 == 0
    pt = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-nopad", "-K", key.hex(),
                         "-iv", key[:16].hex()], input=ct, capture_output=True, check=True).stdout
    pad = pt[-1]
    assert 1 <= pad <= 32 and pt[-pad:] == bytes([pad]) * pad, "PKCS#7 to 32 bytes"
    pt = pt[:-pad]
    n = int.from_bytes(pt[16:20], "big")
    return pt[20:20 + n].decode(), pt[20 + n:].decode()


def encrypted_push(url, callback, mode):
    """(publish_id, method, query, body) of the push for one publish, in `mode`."""
    h.control(url, "POST", "callback", {"url": callback.url, "token": EVENT_TOKEN,
                                        "mode": mode, "aes_key": AES_KEY})
    tok = token(url)
    script(url, [0])
    pid = submit(url, tok, draft(url, tok))
    method, _, q, body, _ = callback.next()
    return pid, method, q, body


def test_event_push_in_safe_mode_is_encrypted_and_signed(url, callback):
    """消息加解密 (安全模式): the body holds only ToUserName and Encrypt; the query adds
    encrypt_type=aes and msg_signature = sha1 of the sorted token, timestamp, nonce and Encrypt;
    Encrypt carries the event and the account's appid."""
    pid, method, q, body = encrypted_push(url, callback, "safe")
    assert method == "POST" and q["encrypt_type"] == "aes"
    assert q["signature"] == signature(EVENT_TOKEN, q["timestamp"], q["nonce"])
    x = ET.fromstring(body)
    assert sorted(c.tag for c in x) == ["Encrypt", "ToUserName"]
    enc = x.find("Encrypt").text
    assert q["msg_signature"] == hashlib.sha1(
        "".join(sorted([EVENT_TOKEN, q["timestamp"], q["nonce"], enc])).encode()).hexdigest()
    msg, appid = openssl_decrypt(AES_KEY, enc)
    assert appid == APPID
    inner = ET.fromstring(msg)
    assert inner.find("Event").text == "PUBLISHJOBFINISH"
    assert inner.find("PublishEventInfo/publish_id").text == pid


def test_event_push_in_compat_mode_carries_both(url, callback):
    """消息加解密 (兼容模式): the plaintext fields and Encrypt side by side, the same event."""
    pid, _, q, body = encrypted_push(url, callback, "compat")
    assert q["encrypt_type"] == "aes" and q["msg_signature"]
    x = ET.fromstring(body)
    assert x.find("PublishEventInfo/publish_id").text == pid
    msg, appid = openssl_decrypt(AES_KEY, x.find("Encrypt").text)
    x.remove(x.find("Encrypt"))
    assert appid == APPID and ET.tostring(ET.fromstring(msg)) == ET.tostring(x)


def test_encrypted_modes_need_an_encoding_aes_key(url):
    for key in (None, "too-short", AES_KEY + "A", AES_KEY[:-1] + "="):
        body = {"url": "http://127.0.0.1:9/cb", "token": EVENT_TOKEN, "mode": "safe"}
        if key:
            body["aes_key"] = key
        r = h.request(url, "POST", "/_sim/callback", body=body)
        assert r.status != 200, key
        assert h.state(url)["callback_url"] is None  # refused whole: nothing changed


def test_reset_forgets_the_model_and_restores_the_configuration(url):
    """herald-sim contract (sim/sim.h): POST /_sim/reset clears the model and the knobs."""
    tok = token(url)
    knobs(url, limits={"draft/count": {"day": 1}}, ip_blocked=True)
    h.reset(url)
    st = h.state(url)
    assert st["publishes"] == [] and st["tokens"] == 0
    assert st["limits"]["draft/count"]["day"] == 1000
    assert errcode(call(url, "draft/count", {}, tok)) == 40001
    assert ok(call(url, "draft/count", {}, token(url)))
