"""WeChat end to end: Kafka -> heraldd -> herald-sim (website + wechat).

Items produced with the tests' own Kafka client go through the portal first (the 阅读原文 link
and the summary fallback need its URL) and then to the official account: images uploaded, cover,
draft, persisted submit, then the publish result from polling or from the PUBLISHJOBFINISH
event. Covered: a normal publish, the event path (signed, also forwarded by another system),
token expiry mid-run, daily quotas (our own count and the platform's 45009), a lost submit
answer (no duplicate publish), publish_status failures and removals, retraction.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from herald_test.herald import HERALDD  # noqa: E402
from herald_test.procs import NotYet, wait_for  # noqa: E402
from wechat_e2e import (APPID, EVENT_TOKEN, GET, SUBMIT, WECHAT, Setup, event_xml,  # noqa: E402
                        item, jpeg, png)


def test_publish_polled_until_delivered(kafka_bootstrap, tmp_workdir):
    """accepted -> polled (freepublish/get) -> delivered with the article URL; images uploaded
    and rewritten, the cover chosen, the summary + 阅读原文 fallback for a long body."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-poll", events=False,
              sim={"publish_step_ms": 60000})
    s.assets.add("cover.jpg", jpeg(30000, 1))
    s.assets.add("chart.png", png(50000, 2))
    s.start()
    s.wx("POST", "script", {"default": [1, 1, 0]})
    body = ('<p>现将有关事项通知如下。</p><img src="%s"><p>附图：</p>'
            '<img src="http://elsewhere.example/not-declared.jpg">' % s.assets.url("cover.jpg"))
    long_body = "<p>" + "第一条 为进一步优化营商环境，现提出如下措施。" * 1000 + "</p>"
    items = [
        item("wx-poll-img", body_html=body,
             images=[s.assets.image("cover.jpg", caption="现场"),
                     s.assets.image("chart.png", "image/png", caption="流程图")]),
        item("wx-poll-plain", title="越秀区" + "关于开展二〇二六年度" * 4 + "工作的通知"),
        item("wx-poll-long", body_html=long_body, summary="越秀区优化营商环境措施共十九条。"),
    ]
    s.produce(items)

    def polled(n):
        def check():
            got = [sum(1 for a in s.attempts(i["id"]) if a["kind"] == "poll" and
                       a["outcome"] == "accepted") for i in items]
            if min(got) < n:
                raise NotYet(got)
            return got
        return check

    # publish_status 1, 1, 0: each step only when the simulator's clock moves a minute on
    wait_for(polled(1), 60, "a first poll of each publish answering 1 (publishing)")
    s.clock(60)
    wait_for(polled(2), 30, "a second poll of each answering 1")
    assert s.h.count("publishing", WECHAT) == 3
    s.clock(60)
    s.wait_all("delivered", 3, timeout=30)

    pubs = {p["title"]: p for p in s.publishes()}
    assert len(pubs) == 3
    rx = s.received()
    assert (rx["applied"], rx["duplicates"]) == (3, 0)
    for it in items:
        d = s.delivery(it["id"])
        st = d["adapter_state"]
        pub = [p for p in pubs.values() if p["publish_id"] == d["remote_id"]]
        assert len(pub) == 1, (d, pubs)
        pub = pub[0]
        # delivered with the article's URL; the persisted state has what reconcile needs
        assert d["remote_url"] == pub["article_url"]
        assert st["publish_id"] == pub["publish_id"] and st["media_id"] == pub["media_id"]
        assert st["article_id"] == pub["article_id"] and st["submit_at"] > 0
        att = [(a["kind"], a["outcome"]) for a in s.attempts(it["id"])]
        assert att[0] == ("send", "accepted") and att[-1] == ("poll", "delivered"), att
        # the 阅读原文 link is the portal article
        assert pub["article"]["content_source_url"] == s.portal_url(it["id"])

    img = pubs[[t for t in pubs if "wx-poll-img" in t][0]]["article"]
    # the declared images went through uploadimg; the undeclared one is left out
    assert img["content"].count("http://mmbiz.qpic.cn/") == 2
    assert "127.0.0.1" not in img["content"] and "elsewhere.example" not in img["content"]
    assert "<p>流程图</p>" in img["content"]
    media = s.state()["media"]
    assert media[img["thumb_media_id"]]["type"] == "thumb"
    assert media[img["thumb_media_id"]]["sha256"] == hashlib.sha256(
        s.assets.files["cover.jpg"]).hexdigest()

    plain_title = [t for t in pubs if t.startswith("越秀区")][0]
    assert len(plain_title) == 32 and plain_title.endswith("…")  # cut on a character boundary
    plain = pubs[plain_title]["article"]
    assert media[plain["thumb_media_id"]]["sha256"] == hashlib.sha256(
        s.default_cover).hexdigest()  # no image: the account's default cover

    long_pub = pubs[[t for t in pubs if "wx-poll-long" in t][0]]["article"]
    portal = s.portal_url("wx-poll-long")
    assert "第一条" not in long_pub["content"]
    assert "越秀区优化营商环境措施共十九条。" in long_pub["content"]
    assert '<a href="%s">阅读原文</a>' % portal in long_pub["content"]
    assert s.h.stop() == 0
    s.close()


def test_event_completes_the_publish_without_polling(kafka_bootstrap, tmp_workdir):
    """PUBLISHJOBFINISH pushed to the instance's own listener (signature checked) delivers
    without a single freepublish/get; the listener answers the echostr URL check, refuses a bad
    signature, and takes the same event forwarded by another system."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-event",
              wechat={"poll_first": "1h", "poll_max": "1h"})
    s.start()
    s.wx("POST", "callback", {"url": s.inbound_url(), "token": "e2e-wechat-event-token-"
                              "0123456789", "verify": True})
    wait_for(lambda: s.state()["callback_verified"] == 1, 20, "the echostr URL check")
    s.script([1, 0])
    s.produce([item("wx-ev-1"), item("wx-ev-2")])
    wait_for(lambda: len(s.publishes()) == 2, 30, "two submits")
    for p in s.publishes():
        s.wx("POST", "advance", {"publish_id": p["publish_id"]})  # the platform finishes
    s.wait_all("delivered", 2, timeout=30)
    assert s.log(GET) == []  # not one poll spent
    for i in ("wx-ev-1", "wx-ev-2"):
        d = s.delivery(i)
        pub = [p for p in s.publishes() if p["publish_id"] == d["remote_id"]][0]
        assert d["remote_url"] == pub["article_url"]
    assert all(e["acked"] for e in s.state()["events"])

    # status 0 at once: the event is pushed while the submit's answer is still on its way, so
    # the core may not know the publish_id yet; the adapter keeps the event and applies it
    s.script([0])
    s.produce([item("wx-ev-race")])
    s.wait_state("wx-ev-race", "delivered", timeout=30)

    # a bad signature is refused; a GET without it too
    status, _ = s.post_event(event_xml("1", 0), query={"signature": "0" * 40,
                                                       "timestamp": "1", "nonce": "2"},
                             sign=False)
    assert status == 401
    status, _ = s.post_event(b"", method="GET", query={"echostr": "42"}, sign=False)
    assert status == 401
    status, body = s.post_event(b"", method="GET", query={"echostr": "8848"})
    assert (status, body) == (200, 8848) or (status, str(body)) == (200, "8848")

    # another system owns the callback URL and forwards the event to us: same format, same
    # signature. The platform's own push is lost this time (the drop knob).
    s.wx("POST", "knobs", {"event_drop_next": 1})
    s.produce([item("wx-ev-3")])
    wait_for(lambda: len(s.publishes()) == 4, 30, "the fourth submit")
    pub = [p for p in s.publishes() if "wx-ev-3" in p["title"]][0]
    # the sim has the submit before heraldd has its answer: wait until the core knows it
    s.wait_state("wx-ev-3", "publishing", timeout=10)
    s.wx("POST", "advance", {"publish_id": pub["publish_id"]})
    wait_for(lambda: s.state()["events"][-1]["dropped"], 10, "the dropped push")
    assert s.delivery("wx-ev-3")["state"] == "publishing"
    pub = [p for p in s.publishes() if "wx-ev-3" in p["title"]][0]
    status, body = s.post_event(event_xml(pub["publish_id"], 0, pub["article_id"],
                                          pub["article_url"]))
    assert status == 200 and body == "success"
    d = s.wait_state("wx-ev-3", "delivered", timeout=10)
    assert d["remote_url"] == pub["article_url"]
    # a duplicate of it changes nothing
    status, body = s.post_event(event_xml(pub["publish_id"], 0, pub["article_id"],
                                          pub["article_url"]))
    assert status == 200 and s.delivery("wx-ev-3")["state"] == "delivered"
    assert s.log(GET) == []
    assert s.h.stop() == 0
    s.close()


AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # EncodingAESKeys: 43 of [a-zA-Z0-9]
OLD_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def openssl_encrypt(encoding_key, msg, appid):
    """Encrypt as the platform does, with the openssl command (not herald's wx_crypt.c):
    random(16) | msg_len (network order) | msg | appid, PKCS#7 to 32 bytes, AES-256-CBC with
    the key Base64_Decode(EncodingAESKey + "=") and its first 16 bytes as IV, base64."""
    key = base64.b64decode(encoding_key + "=")
    raw = msg.encode()
    pt = os.urandom(16) + len(raw).to_bytes(4, "big") + raw + appid.encode()
    pad = 32 - len(pt) % 32
    pt += bytes([pad]) * pad
    ct = subprocess.run(["openssl", "enc", "-aes-256-cbc", "-nopad", "-K", key.hex(), "-iv",
                         key[:16].hex()], input=pt, capture_output=True, check=True).stdout
    return base64.b64encode(ct).decode()


def post_encrypted(s, msg, key=AES_KEY, appid=APPID, msg_signature=None):
    """A 安全模式 event forwarded to the listener: ToUserName and Encrypt, msg_signature."""
    ts, nonce = str(int(time.time())), "246813579"
    enc = openssl_encrypt(key, msg, appid)
    sig = msg_signature or hashlib.sha1(
        "".join(sorted([EVENT_TOKEN, ts, nonce, enc])).encode()).hexdigest()
    body = ("<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>"
            "<Encrypt><![CDATA[%s]]></Encrypt></xml>" % enc)
    return s.post_event(body, query={"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                                     "msg_signature": sig})


def test_encrypted_events_in_safe_mode(kafka_bootstrap, tmp_workdir):
    """消息加解密 (安全模式): the platform's encrypted PUBLISHJOBFINISH is checked (msg_signature),
    decrypted with event_aes_key and delivers without a poll; one encrypted with the key from
    before a change on the console (event_aes_key_previous) is taken too; a bad msg_signature,
    another account's appid or a key we do not have are refused and change nothing."""
    keys = {}
    for name, k in (("aes-key", AES_KEY), ("aes-key-old", OLD_AES_KEY)):
        keys[name] = tmp_workdir / name
        keys[name].write_text(k + "\n")
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-aes",
              wechat={"poll_first": "1h", "poll_max": "1h",
                      "event_aes_key": "file:%s" % keys["aes-key"],
                      "event_aes_key_previous": "file:%s" % keys["aes-key-old"]})
    s.start()
    s.wx("POST", "callback", {"url": s.inbound_url(), "token": EVENT_TOKEN, "mode": "safe",
                              "aes_key": AES_KEY})
    s.script([1, 0])
    s.produce([item("wx-aes-1")])
    wait_for(lambda: len(s.publishes()) == 1, 30, "the submit")
    s.wait_state("wx-aes-1", "publishing", timeout=10)
    pub = s.publishes()[0]
    s.wx("POST", "advance", {"publish_id": pub["publish_id"]})
    d = s.wait_state("wx-aes-1", "delivered", timeout=20)
    pub = [p for p in s.publishes() if p["publish_id"] == d["remote_id"]][0]
    assert d["remote_url"] == pub["article_url"]
    wait_for(lambda: s.state()["events"][-1]["acked"], 10, "the encrypted push acknowledged")

    # the platform's push is lost; the system that owns the callback URL forwards it
    s.wx("POST", "knobs", {"event_drop_next": 1})
    s.script([1, 0])
    s.produce([item("wx-aes-2")])
    wait_for(lambda: len(s.publishes()) == 2, 30, "the second submit")
    s.wait_state("wx-aes-2", "publishing", timeout=10)
    pub = [p for p in s.publishes() if "wx-aes-2" in p["title"]][0]
    s.wx("POST", "advance", {"publish_id": pub["publish_id"]})
    wait_for(lambda: s.state()["events"][-1]["dropped"], 10, "the dropped push")
    pub = [p for p in s.publishes() if "wx-aes-2" in p["title"]][0]  # finished: with its URL
    msg = event_xml(pub["publish_id"], 0, pub["article_id"], pub["article_url"])
    assert post_encrypted(s, msg, msg_signature="0" * 40)[0] == 401
    assert post_encrypted(s, msg, appid="wx00000000000000ff")[0] == 400
    assert post_encrypted(s, msg, key="Q" * 43)[0] == 400
    # with a key configured, a plaintext event is refused: its signature does not cover the body
    assert s.post_event(msg)[0] == 400
    assert s.delivery("wx-aes-2")["state"] == "publishing"
    status, body = post_encrypted(s, msg, key=OLD_AES_KEY)
    assert (status, body) == (200, "success")
    d = s.wait_state("wx-aes-2", "delivered", timeout=10)
    assert d["remote_url"] == pub["article_url"]
    assert s.log(GET) == []  # not one poll spent
    assert s.h.stop() == 0

    # an EncodingAESKey that is not one is refused at startup
    keys["aes-key"].write_text("not-43-characters\n")
    r = subprocess.run([str(HERALDD), "--check-config", str(s.h.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "event_aes_key: an EncodingAESKey is 43 characters" in r.stderr
    s.close()


def test_token_expiry_mid_run(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §1.1: the cached access_token dies mid-run (expired: 42001; refused: 40001):
    the adapter invalidates it, fetches a new one once and repeats the call; nothing fails and
    nothing is published twice."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-token")
    s.start()
    s.produce([item("wx-tok-%d" % i) for i in range(3)])
    s.wait_all("delivered", 3, timeout=60)
    first = s.state()["tokens"]
    s.wx("POST", "tokens", {"expire_all": True})  # every token dies: 42001
    s.produce([item("wx-tok-%d" % i) for i in range(3, 6)])
    s.wait_all("delivered", 6, timeout=60)
    s.wx("POST", "tokens", {"invalid_next": 1})   # one call refused: 40001
    s.produce([item("wx-tok-6")])
    s.wait_all("delivered", 7, timeout=60)
    assert s.state()["tokens"] > first  # a new token was fetched
    rx = s.received()
    assert (rx["applied"], rx["duplicates"]) == (7, 0)
    for i in range(7):
        att = s.attempts("wx-tok-%d" % i)
        # the refresh happened inside the op: one send, no refresh_credentials outcome
        assert [a["kind"] for a in att if a["kind"] == "send"] == ["send"], att
        assert all(a["outcome"] in ("accepted", "delivered") for a in att), att
    st = len(s.log("/cgi-bin/stable_token"))
    assert st >= 2, st
    assert s.h.stop() == 0
    s.close()


def test_our_daily_budget_defers_to_the_next_window(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §0.2 / §1.6 (count ahead): with a submit budget of 2 per (shortened) quota
    day, the third item waits for the next window without asking the platform, then goes."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-budget",
              wechat={"submit_per_day": 2, "quota_window": "6s"})
    s.start()
    s.produce([item("wx-bud-%d" % i) for i in range(4)])
    wait_for(lambda: s.h.count("delivered", WECHAT) >= 2, 60, "two published")
    # the others wait for the budget: retry_after to the window's turn, not an attempt

    def deferred():
        rows = s.h.query("SELECT outcome, started_at FROM attempts WHERE reason='budget_spent'")
        if not rows:
            raise NotYet(s.h.states())
        return rows
    rows = wait_for(deferred, 30, "an item deferred by our own count")
    assert all(o == "retry_after" for o, _ in rows)  # not a failed attempt
    s.wait_all("delivered", 4, timeout=60)
    submits = s.log(SUBMIT)
    assert len(submits) == 4  # the platform never saw a submit over the budget
    assert all(e["status"] == 200 for e in submits)
    # the third submit waited for the window after the first one's (windows start at
    # multiples of 6 s; 100 ms of slack for the two processes' clocks)
    t = sorted(e["time_ms"] for e in submits)
    assert t[2] >= (t[0] // 6000 + 1) * 6000 - 100, t
    assert s.received()["applied"] == 4
    # the count lives in the store (it survives a restart)
    rows = dict(s.h.query("SELECT name, used FROM quotas WHERE instance=?", (WECHAT,)))
    assert 1 <= rows["submit"] <= 2, rows
    assert s.h.stop() == 0
    s.close()


def test_platform_quota_45009_defers_to_the_next_quota_day(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §1.5/§1.6: the platform's daily submit quota is spent (staff used it on the
    console): 45009 -> retry_after at the next quota day + an alert; after the day turns (the
    simulator's clock moves to the next Beijing day; our shortened window turns), delivered."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-45009",
              wechat={"quota_window": "8s"},
              sim={"limits": {"freepublish/submit": {"day": 2}}})
    s.start()
    s.produce([item("wx-q-%d" % i) for i in range(4)])
    wait_for(lambda: s.h.count("delivered", WECHAT) >= 2, 60, "two published")

    def refused():
        rows = s.h.query("SELECT COUNT(*) FROM attempts WHERE reason='wechat_45009'")
        if rows[0][0] < 1:
            raise NotYet(s.h.states())
        return rows[0][0]
    wait_for(refused, 30, "a 45009 from the platform")
    rows = s.h.query("SELECT d.next_at, a.started_at, a.outcome FROM attempts a JOIN deliveries d"
                     " ON d.id = a.delivery_id WHERE a.reason='wechat_45009'")
    for next_at, started, outcome in rows:
        assert outcome == "retry_after"
    err = (tmp_workdir / "heraldd.err").read_text()
    assert "ALERT the platform's daily quota of submit is spent" in err
    # the platform's day turns (Beijing midnight on the simulator's clock)
    now = s.sim.control("wechat", "GET", "clock")["now_ms"] // 1000
    s.clock(86400 - (now + 8 * 3600) % 86400 + 1)
    s.wait_all("delivered", 4, timeout=60)
    rx = s.received()
    assert (rx["applied"], rx["duplicates"]) == (4, 0)
    assert s.h.stop() == 0
    s.close()


def test_lost_submit_answer_is_reconciled_without_a_second_publish(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §0.1: the submit has no idempotency key. (a) The simulator applies a submit
    and drops the connection (drop_after_next): the adapter reports unknown, reconcile finds the
    draft gone, finds the article in freepublish/batchget -> delivered, no second submit.
    (b) A submit dropped before it was applied (drop_next): the draft is still in the box, so
    submitting it again is safe -> one publish."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-lost", events=False,
              wechat={"max_in_flight": 1})
    s.start()
    s.sim.faults("wechat", drop_after_next=1, match=SUBMIT)
    s.produce([item("wx-lost-a")])
    d = s.wait_state("wx-lost-a", "delivered", timeout=60)
    assert d["reason"] == "reconciled" and d["remote_id"].startswith("article:")
    pub = s.published("wx-lost-a")
    assert len(pub) == 1 and d["remote_url"] == pub[0]["article_url"]
    assert [e["lost_status"] for e in s.log(SUBMIT)] == [200]
    kinds = [(a["kind"], a["outcome"]) for a in s.attempts("wx-lost-a")]
    assert kinds[0] == ("send", "unknown") and ("reconcile", "delivered") in kinds, kinds

    s.sim.faults("wechat", drop_next=1, match=SUBMIT)
    s.produce([item("wx-lost-b")])
    d = s.wait_state("wx-lost-b", "delivered", timeout=60)
    assert len(s.published("wx-lost-b")) == 1
    kinds = [(a["kind"], a["outcome"], a["reason"]) for a in s.attempts("wx-lost-b")]
    assert ("reconcile", "retry", "draft_still_there") in kinds, kinds
    rx = s.received()
    assert (rx["applied"], rx["duplicates"]) == (2, 0)
    assert all(p["resubmits"] == 0 for p in s.publishes())
    assert s.h.stop() == 0
    s.close()


def test_publish_failures_fail_the_delivery(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §1.3: publish_status 2 (originality) and 4 (review) -> failed for review;
    3 (ordinary failure) -> failed, retry by hand."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-fail")
    s.start()
    for st, tag in ((2, "原创"), (4, "审核"), (3, "常规")):
        s.script([1, st], title_contains=tag)
    s.produce([item("wx-f-2", title="原创检查稿"), item("wx-f-4", title="审核未过稿"),
               item("wx-f-3", title="常规失败稿")])
    for i, st in (("wx-f-2", 2), ("wx-f-4", 4), ("wx-f-3", 3)):
        d = s.wait_state(i, "failed", timeout=30)
        assert d["reason"] == "wechat_publish_status_%d" % st, d
    assert s.received()["applied"] == 3
    assert s.h.stop() == 0
    s.close()


def test_removed_after_success(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §1.3: 5 (deleted by the account) and 6 (banned) after success ->
    removed_externally, whether we had seen the success (delivered, then the event) or not
    (publishing straight to 5)."""
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-removed")
    s.start()
    s.script([0], title_contains="封禁")
    s.script([1, 5], title_contains="删除")
    s.produce([item("wx-rm-6", title="将被封禁的稿件"), item("wx-rm-5", title="将被删除的稿件")])
    d = s.wait_state("wx-rm-6", "delivered", timeout=30)
    pub = s.published("封禁")[0]
    s.wx("POST", "set_status", {"publish_id": pub["publish_id"], "status": 6})
    d = s.wait_state("wx-rm-6", "removed_externally", timeout=30)
    assert "banned" in d["detail"]
    d = s.wait_state("wx-rm-5", "removed_externally", timeout=30)
    assert "deleted" in d["detail"]
    err = (tmp_workdir / "heraldd.err").read_text()
    assert err.count("ALERT delivery") >= 2
    assert s.h.stop() == 0
    s.close()


def test_retract_deletes_the_article(kafka_bootstrap, tmp_workdir):
    """CHANNELS.md §1.3 (freepublish/delete): a reviewed retraction withdraws the article
    (article_id, index 1); the delivery ends retracted; the delete is one applied effect."""
    from herald_test.items import retract_item
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wx-retract")
    s.start()
    s.produce([item("wx-rt-1")])
    d = s.wait_state("wx-rt-1", "delivered", timeout=30)
    s.produce([retract_item("wx-rt-1", 2)])
    d = s.wait_state("wx-rt-1", "retracted", timeout=30)
    pub = s.published("wx-rt-1")[0]
    assert pub["status"] == 5 and pub["is_deleted"]
    rx = s.sim.received("wechat")
    key = "delete:" + pub["article_id"]
    assert rx["by_key"][key] == {"requests": 1, "applied": 1, "duplicates": 0}
    assert len(s.log("/cgi-bin/freepublish/delete")) == 1
    assert s.h.stop() == 0
    s.close()
