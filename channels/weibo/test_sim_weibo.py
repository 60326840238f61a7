"""Raw-HTTP tests of the Weibo simulator (no herald adapter involved).

Each test checks one rule on the wire and names the CHANNELS.md section it comes from (§2.1
posting, §2.2 retraction, §2.3 tokens, §2.4 error format and codes, §2.5 rate limits, §2.6 the
simulator checklist). Expected values are computed here, independently of weibo_rules.h: the
pinned length rule is "UTF-16 code units, URLs at full length" (README.md, "The length rule").
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/weibo/test_sim_weibo.py
"""

import os
import re
import sys
import urllib.parse
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

TOKEN = "2.00testtoken0123456789"
DOMAIN = "www.yuexiu.gov.cn"
LINK = "https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_7946462.html"
RIP = "203.0.113.7"
CONF = {"access_token": TOKEN, "token_ttl_s": 7200, "secure_domains": [DOMAIN],
        "posts_per_hour": 5, "calls_per_hour": 40, "dup_window_s": 3600, "visible_after_s": 60}

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
BMP = b"BM" + b"\x00" * 64


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess({"weibo": CONF}, only="weibo") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["weibo"])
    return sim.urls["weibo"]


def weight(text):
    """The pinned rule, written independently: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def form(url, path, fields, method="POST"):
    body = urllib.parse.urlencode(fields).encode()
    return h.request(url, method, path, body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})


def multipart(url, path, fields, files):
    boundary = "----herald" + uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, k))
                   .encode() + v.encode() + b"\r\n")
    for k, (fname, ctype, data) in files.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: %s\r\n\r\n" % (boundary, k, fname, ctype)).encode()
                   + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return h.request(url, "POST", path, body=b"".join(out),
                     headers={"Content-Type": "multipart/form-data; boundary=" + boundary})


def share(url, status, token=TOKEN, rip=RIP, **extra):
    fields = {"access_token": token, "status": status}
    if rip is not None:
        fields["rip"] = rip
    fields.update(extra)
    return form(url, "/2/statuses/share.json", fields)


def text(n=1, body="越秀区发布通知"):
    return "【通知%d】%s %s%d.html" % (n, body, LINK[:-5], n)


def error(r):
    """(HTTP status, error_code as int, the error body) of a Weibo error answer."""
    j = r.json()
    assert set(j) == {"request", "error_code", "error"}, j
    return r.status, int(j["error_code"]), j


def timeline(url, token=TOKEN, **q):
    q.setdefault("access_token", token)
    r = h.request(url, "GET", "/2/statuses/user_timeline.json?" + urllib.parse.urlencode(q))
    assert r.status == 200, r
    return r.json()


# ---- §2.1 statuses/share: wire format and the post ------------------------------------------


def test_share_form_encoded_returns_status(url):
    """§2.1: POST share.json, form-encoded; returns the Status JSON (id, idstr, mid, text,
    created_at); the post is one applied effect keyed by its portal link."""
    r = share(url, text(1))
    assert r.status == 200, r
    st = r.json()
    assert st["idstr"] == str(st["id"]) == st["mid"]
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \+0800 \d{4}",
                        st["created_at"]), st["created_at"]
    assert st["user"]["id"] == 1234567890
    rx = h.received(url)
    assert rx["applied"] == 1 and rx["requests"] == 1
    assert list(rx["by_key"]) == [LINK[:-5] + "1.html"]


def test_share_token_as_oauth2_header(url):
    """§2.1/§2.3: the token may come as "Authorization: OAuth2 <token>" instead of a field."""
    body = urllib.parse.urlencode({"status": text(2), "rip": RIP}).encode()
    r = h.request(url, "POST", "/2/statuses/share.json", body=body,
                  headers={"Content-Type": "application/x-www-form-urlencoded",
                           "Authorization": "OAuth2 " + TOKEN})
    assert r.status == 200, r


def test_share_requires_status(url):
    """§2.1: status is required -> 10016 (miss required parameter)."""
    assert error(form(url, "/2/statuses/share.json", {"access_token": TOKEN, "rip": RIP}))[:2] \
        == (400, 10016)


def test_share_requires_rip(url):
    """§2.1: rip (the real user IP) is required in the current doc -> 10016; not an IP -> 10017."""
    status, code, body = error(share(url, text(3), rip=None))
    assert (status, code) == (400, 10016) and "rip" in body["error"]
    assert error(share(url, text(3), rip="not-an-ip"))[:2] == (400, 10017)
    assert share(url, text(3), rip="2001:db8::7").status == 200


def test_json_body_is_not_the_wire_format(url):
    """§2.1: the API takes form fields, not JSON: a JSON body carries none of them -- not even
    the token -> 10006."""
    r = h.request(url, "POST", "/2/statuses/share.json",
                  body={"access_token": TOKEN, "status": text(4), "rip": RIP},
                  headers={"Content-Type": "application/json"})
    assert error(r)[:2] == (400, 10006)  # not even the token is found in a JSON body


# ---- §2.1 / §2.6: the 140 rule -----------------------------------------------------------------


def pad_to(prefix, total, ch):
    """prefix + ch repeated (+ one 'x' if needed) so the whole weighs exactly `total`."""
    tail = " " + LINK
    room = total - weight(prefix) - weight(tail)
    extra = "x" * (room % weight(ch))
    return prefix + extra + ch * (room // weight(ch)) + tail


@pytest.mark.parametrize("ch,label", [("越", "CJK"), ("a", "ASCII"), ("😀", "emoji")])
def test_length_rule_140(url, ch, label):
    """§2.1 ≤140, §2.6 counting pinned (README): every UTF-16 unit counts 1 -- CJK and ASCII
    alike, an emoji 2, the URL at its full length. 140 passes, 141 -> 20012 (for the emoji text,
    141 is well under 140 code points: the emoji's second unit is what refuses it)."""
    ok = pad_to("【%s】" % label, 140, ch)
    assert weight(ok) == 140
    assert share(url, ok).status == 200
    over = "b" + ok
    assert weight(over) == 141
    if ch == "😀":
        assert len(over) < 120  # code points
    assert error(share(url, over))[:2] == (400, 20012)


def test_ascii_counts_full_not_half(url):
    """The pinned rule is stricter than GBK-bytes/2 (which would allow 280 ASCII): 141 ASCII
    characters are refused even though GBK/2 makes them 70.5."""
    s = "x" * (141 - weight(" " + LINK)) + " " + LINK
    assert weight(s) == 141 and len(s.encode("gbk")) / 2 < 140
    assert error(share(url, s))[:2] == (400, 20012)


def test_url_counts_full_length(url):
    """§2.6 pinned rule: a URL weighs its full length (no short-link discount)."""
    long_link = LINK + "?" + "p" * 50
    s = "越" * (140 - weight(" " + long_link)) + " " + long_link
    assert weight(s) == 140 and share(url, s).status == 200
    assert error(share(url, "越" + s))[:2] == (400, 20012)


# ---- §2.1 topic tags and the secure domain ------------------------------------------------------


def test_topic_tag_refused(url):
    """§2.1: status must not contain #话题词# -> 20021 (code unconfirmed, README); one '#' is fine."""
    assert error(share(url, "#越秀发布# 通知 " + LINK))[:2] == (400, 20021)
    assert share(url, "第1号#通知 " + LINK).status == 200


@pytest.mark.parametrize("status", [
    "没有链接的文字",
    "链接不在安全域名下 https://www.example.com/a.html",
    "用户信息骗局 https://www.yuexiu.gov.cn@evil.example.com/a.html",
    "只是域名后缀 https://notyuexiu.gov.cn/a.html",
])
def test_secure_domain_link_required(url, status):
    """§2.1: status must contain a URL under the app's secure domain, else 10017."""
    status_code, code, body = error(share(url, status))
    assert (status_code, code) == (400, 10017)
    assert "secure domain" in body["error"]


def test_subdomain_of_secure_domain_counts():
    """§2.1: a URL *under* the secure domain (a sub-domain) counts."""
    with h.SimProcess({"weibo": dict(CONF, secure_domains=["yuexiu.gov.cn"])}, only="weibo") as p:
        assert share(p.urls["weibo"], "通知 https://www.yuexiu.gov.cn/a.html").status == 200


def test_no_bound_domain_is_10017():
    """§2.1: an app without a bound secure domain fails as "appkey not bind domain!" (10017)."""
    with h.SimProcess({"weibo": dict(CONF, secure_domains=[])}, only="weibo") as p:
        status, code, body = error(share(p.urls["weibo"], text(5)))
        assert (status, code, body["error"]) == (400, 10017, "appkey not bind domain!")


# ---- §2.1 pictures (multipart) -------------------------------------------------------------------


@pytest.mark.parametrize("data,ctype", [(JPEG, "image/jpeg"), (PNG, "image/png"),
                                        (GIF, "image/gif")])
def test_multipart_pic(url, data, ctype):
    """§2.1: pic as multipart/form-data, JPEG/GIF/PNG -> the post carries the picture."""
    r = multipart(url, "/2/statuses/share.json",
                  {"access_token": TOKEN, "status": text(6), "rip": RIP},
                  {"pic": ("p", ctype, data)})
    assert r.status == 200, r
    assert r.json()["original_pic"].endswith(ctype.split("/")[1])
    post = h.state(url)["posts"][0]
    assert post["pic_type"] == ctype and post["pic_size"] == len(data)


def test_pic_type_checked_by_content(url):
    """§2.1: only JPEG, GIF, PNG (a BMP -> 20005), judged by the bytes, not the declared type."""
    r = multipart(url, "/2/statuses/share.json",
                  {"access_token": TOKEN, "status": text(7), "rip": RIP},
                  {"pic": ("p.jpg", "image/jpeg", BMP)})
    assert error(r)[:2] == (400, 20005)


def test_pic_under_5mb(url):
    """§2.1: pic < 5 MB: 5 MiB - 1 passes, 5 MiB -> 20006."""
    big = JPEG + b"\x00" * (5 * 1024 * 1024 - len(JPEG))
    r = multipart(url, "/2/statuses/share.json",
                  {"access_token": TOKEN, "status": text(8), "rip": RIP},
                  {"pic": ("p.jpg", "image/jpeg", big)})
    assert error(r)[:2] == (400, 20006)
    r = multipart(url, "/2/statuses/share.json",
                  {"access_token": TOKEN, "status": text(8), "rip": RIP},
                  {"pic": ("p.jpg", "image/jpeg", big[:-1])})
    assert r.status == 200, r


def test_pic_must_be_multipart(url):
    """§2.1: with an image, multipart; a pic in a form-encoded body -> 20007."""
    assert error(share(url, text(9), pic="/9j/4AAQ"))[:2] == (400, 20007)


# ---- §0.4 / §2.4 duplicates ----------------------------------------------------------------------


def test_identical_text_20019(url):
    """§0.4, §2.4: the same text again within the window -> 20019; counted a duplicate, not
    applied."""
    assert share(url, text(10)).status == 200
    assert error(share(url, text(10)))[:2] == (400, 20019)
    rx = h.received(url)
    assert (rx["applied"], rx["duplicates"]) == (1, 1)


def test_similar_text_20017(url):
    """§0.4, §2.4: similar text -> 20017. Similar is pinned (README): equal once URLs and white
    space are removed -- e.g. the same words with another link or other spacing."""
    assert share(url, "【通知】越秀区 发布通知 " + LINK).status == 200
    other = "【通知】越秀区发布通知  https://www.yuexiu.gov.cn/other.html"
    assert error(share(url, other))[:2] == (400, 20017)
    assert share(url, "【通知】越秀区发布通知。 " + LINK).status == 200  # one more character


def test_duplicates_only_within_window(url):
    """§2.6: duplicate detection works within a window (dup_window_s, here 1 h of sim clock)."""
    assert share(url, text(11)).status == 200
    h.clock(url, 3601)
    assert share(url, text(11)).status == 200


def test_deleted_post_is_no_duplicate(url):
    """§2.2 with §2.4: once destroyed, the same text may be posted again."""
    st = share(url, text(12)).json()
    assert form(url, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": st["idstr"]}) \
        .status == 200
    assert share(url, text(12)).status == 200


# ---- §2.5 rate limits ----------------------------------------------------------------------------


def to_next_hour(url):
    """Move the sim clock to just after the start of its next hour (so a test's calls all fall in
    one hour window)."""
    now = h.sim_now_s(url)
    h.clock(url, 3600 - now % 3600 + 1)


def test_hourly_post_cap_20016(url):
    """§2.5 (the post API N/hour per user), §2.6 knob: past posts_per_hour (5 here) -> 20016;
    posts made by hand share the cap; the next sim-clock hour allows posting again."""
    to_next_hour(url)
    h.control(url, "POST", "post", {"count": 2})  # staff posting by hand
    for i in range(3):
        assert share(url, text(20 + i)).status == 200
    assert error(share(url, text(23)))[:2] == (400, 20016)
    to_next_hour(url)
    assert share(url, text(23)).status == 200


def test_user_calls_per_hour_10023(url):
    """§2.5 per-user hourly cap (calls_per_hour, 40 here) -> 10023 on any API call."""
    to_next_hour(url)
    for _ in range(40):
        timeline(url)
    r = h.request(url, "GET", "/2/statuses/user_timeline.json?access_token=" + TOKEN)
    assert error(r)[:2] == (400, 10023)
    assert error(share(url, text(30)))[:2] == (400, 10023)
    to_next_hour(url)
    timeline(url)


def test_daily_calls_and_ip_caps():
    """§2.5: a user's calls per day (10023) and an IP's calls per hour (10022)."""
    conf = dict(CONF, calls_per_day=3, calls_per_hour=0, token_ttl_s=864000)
    with h.SimProcess({"weibo": conf}, only="weibo") as p:
        u = p.urls["weibo"]
        now = h.sim_now_s(u)
        h.clock(u, 86400 - (now + 8 * 3600) % 86400 + 1)  # start of a Beijing day
        for _ in range(3):
            timeline(u)
        assert error(share(u, text(31)))[:2] == (400, 10023)
        now = h.sim_now_s(u)
        h.clock(u, 86400 - (now + 8 * 3600) % 86400 + 1)  # the next Beijing day
        timeline(u)
    with h.SimProcess({"weibo": dict(CONF, ip_calls_per_hour=2)}, only="weibo") as p:
        u = p.urls["weibo"]
        timeline(u)
        timeline(u)
        assert error(share(u, text(32)))[:2] == (400, 10022)


def test_rate_limit_status(url):
    """§2.5: account/rate_limit_status (api_rate_limits[api, limit, limit_time_unit,
    remaining_hits], ip_limit, remaining_ip_hits, remaining_user_hits, reset_time,
    reset_time_in_seconds, user_limit); it is not itself counted."""
    to_next_hour(url)
    share(url, text(40))
    q = "/2/account/rate_limit_status.json?access_token=" + TOKEN
    a = h.request(url, "GET", q).json()
    b = h.request(url, "GET", q).json()
    assert a["remaining_user_hits"] == b["remaining_user_hits"] == 40 - 1
    lim = a["api_rate_limits"][0]
    assert (lim["api"], lim["limit"], lim["limit_time_unit"], lim["remaining_hits"]) == \
        ("/statuses/share", 5, "HOURS", 4)
    assert 0 < a["reset_time_in_seconds"] <= 3600 and a["user_limit"] == 40
    assert len(a["reset_time"]) == 19 and a["ip_limit"] == 10000


# ---- §2.4 delayed success 20032 ------------------------------------------------------------------


def test_delayed_success_20032(url):
    """§2.4, §2.6: 20032 = posted, server slow: the post exists (applied) but shows on the
    timeline only after visible_after_s (60 here) of sim clock."""
    h.control(url, "POST", "delay", {"next": 1})
    status, code, _ = error(share(url, text(50)))
    assert (status, code) == (400, 20032)
    assert h.received(url)["applied"] == 1
    assert timeline(url)["statuses"] == []
    h.clock(url, 61)
    sts = timeline(url)["statuses"]
    assert len(sts) == 1 and "通知50" in sts[0]["text"]
    # the knob is spent: the next share answers normally
    assert share(url, text(51)).status == 200


# ---- §2.2 statuses/destroy ---------------------------------------------------------------------


def test_destroy(url):
    """§2.2: destroy.json with id; again -> 20101 (does not exist); another account's post ->
    20102 (not yours); missing id -> 10016."""
    st = share(url, text(60)).json()
    r = form(url, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": st["idstr"]})
    assert r.status == 200 and r.json()["idstr"] == st["idstr"]
    assert h.received(url)["applied"] == 2  # the post and its destruction
    r = form(url, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": st["idstr"]})
    assert error(r)[:2] == (400, 20101)
    foreign = h.control(url, "POST", "post", {"text": "别人的微博", "foreign": True})["ids"][0]
    r = form(url, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": foreign})
    assert error(r)[:2] == (400, 20102)
    assert error(form(url, "/2/statuses/destroy.json", {"access_token": TOKEN}))[:2] == \
        (400, 10016)


def test_destroy_not_permitted_10014():
    """§2.2: destroy's availability to ordinary apps is unconfirmed: with destroy_allowed false
    the simulator answers 10014 (insufficient app permissions)."""
    with h.SimProcess({"weibo": dict(CONF, destroy_allowed=False)}, only="weibo") as p:
        u = p.urls["weibo"]
        st = share(u, text(61)).json()
        r = form(u, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": st["idstr"]})
        assert error(r)[:2] == (400, 10014)


# ---- §2.3 tokens --------------------------------------------------------------------------------


def test_token_errors(url):
    """§2.3, §2.4: no token -> 10006; unknown -> 21332; revoked -> 21319; expired after its TTL
    (7200 s here) -> 21327; a new authorization gives a working token."""
    r = form(url, "/2/statuses/share.json", {"status": text(70), "rip": RIP})
    assert error(r)[:2] == (400, 10006)
    assert error(share(url, text(70), token="nope"))[:2] == (400, 21332)
    new = h.control(url, "POST", "authorize", {})["access_token"]
    h.control(url, "POST", "revoke", {"access_token": new})
    assert error(share(url, text(70), token=new))[:2] == (400, 21319)
    h.clock(url, 7201)
    status, code, body = error(share(url, text(70)))
    assert (status, code, body["error"]) == (400, 21327, "expired_token")
    fresh = h.control(url, "POST", "authorize", {})["access_token"]
    assert share(url, text(70), token=fresh).status == 200


def test_get_token_info(url):
    """§2.3: oauth2/get_token_info -> uid, appkey, scope, create_at, expire_in (remaining s,
    on the sim clock)."""
    r = form(url, "/oauth2/get_token_info", {"access_token": TOKEN})
    j = r.json()
    assert r.status == 200 and set(j) == {"uid", "appkey", "scope", "create_at", "expire_in"}
    assert 7190 <= j["expire_in"] <= 7200
    h.clock(url, 3600)
    assert form(url, "/oauth2/get_token_info", {"access_token": TOKEN}).json()["expire_in"] <= 3600
    h.clock(url, 3601)
    assert error(form(url, "/oauth2/get_token_info", {"access_token": TOKEN}))[1] == 21327


# ---- §2.4 error format -------------------------------------------------------------------------


def test_error_body_format(url):
    """§2.4: errors are HTTP 400 with {"request": path, "error_code": "NNNNN", "error": text}
    (error_code a string, as in the Error_code page's example)."""
    r = share(url, "no link")
    assert r.status == 400
    j = r.json()
    assert j["request"] == "/2/statuses/share.json" and j["error_code"] == "10017"
    assert isinstance(j["error"], str) and j["error"]


def test_error_code_as_integer_knob():
    """§2.4: real answers also carry error_code as a number: error_code_type "int"."""
    with h.SimProcess({"weibo": dict(CONF, error_code_type="int")}, only="weibo") as p:
        j = share(p.urls["weibo"], "no link").json()
        assert j["error_code"] == 10017


def test_method_and_unknown_api(url):
    """§2.4: wrong HTTP method -> 10021; unknown API -> 10020."""
    r = h.request(url, "GET", "/2/statuses/share.json?access_token=" + TOKEN)
    assert error(r)[:2] == (400, 10021)
    r = h.request(url, "GET", "/2/statuses/update_v3.json?access_token=" + TOKEN)
    assert error(r)[:2] == (400, 10020)


# ---- the look-up endpoint: statuses/user_timeline -----------------------------------------------


def test_user_timeline(url):
    """statuses/user_timeline (the look-up the adapter reconciles with): our visible posts, newest
    first, count/page, links shown as t.cn short links; deleted, foreign and not-yet-visible
    posts are left out."""
    ids = [share(url, text(80 + i)).json()["idstr"] for i in range(5)]
    h.control(url, "POST", "post", {"text": "别人的微博", "foreign": True})
    form(url, "/2/statuses/destroy.json", {"access_token": TOKEN, "id": ids[0]})
    tl = timeline(url, count=2, page=1, trim_user=1)
    assert [s["idstr"] for s in tl["statuses"]] == [ids[4], ids[3]]
    assert tl["total_number"] == 4 and "user" not in tl["statuses"][0]
    assert [s["idstr"] for s in timeline(url, count=2, page=2)["statuses"]] == [ids[2], ids[1]]
    t = tl["statuses"][0]["text"]
    assert "http://t.cn/" in t and LINK[:20] not in t
    assert t.startswith("【通知84】越秀区发布通知 ")


def test_clock_and_reset(url):
    """§2.6: clock control moves the windows, reset forgets posts, counters and tokens issued."""
    new = h.control(url, "POST", "authorize", {"ttl_s": 10})["access_token"]
    share(url, text(90))
    h.reset(url)
    assert h.state(url)["posts"] == []
    assert error(share(url, text(90), token=new))[1] == 21332
    assert share(url, text(90)).status == 200
