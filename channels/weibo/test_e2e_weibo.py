"""End to end: Kafka -> heraldd (website:portal first, then weibo:official, which depends on it)
-> herald-sim's Weibo Open API.

Checked from the outside -- what the simulator received and applied, the store, the status topic,
the admin API: a normal post with the portal link and a picture; token expiry parks the channel
until new credentials come through the admin API; herald's own posting budget defers posts to the
next window; the platform's rate limit (20016) waits for its window; a lost answer is reconciled
by looking the post up, never by posting twice; a duplicate answer (20019) is looked up until the
post shows; 20032 is accepted and confirmed later; a retraction destroys the post. Simulator time
moves through /_sim/clock; herald's windows are shortened in its configuration.
"""

import hashlib
import json
import re

from herald_test.items import retract_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import metric
from weibo_e2e import (RIP, SHARE, TIMELINE, WEIBO, PictureServer, Setup, item,
                       status_states)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def weight(text):
    """The pinned length rule, computed independently: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def attempts_where(s, item_id, pred, n, what, timeout=30):
    def enough():
        rows = [a for a in s.attempts(item_id) if pred(a)]
        if len(rows) < n:
            raise NotYet("%d of %d: %r" % (len(rows), n, s.attempts(item_id)))
        return rows
    return wait_for(enough, timeout, what)


def test_post_links_the_portal_article(kafka_bootstrap, tmp_workdir):
    pics = PictureServer({"cover.png": PNG})
    try:
        s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-post").start()
        long_summary = "越秀区政务服务数据管理局发布关于优化营商环境的若干措施，" * 6
        s.produce([item("e2e-wb-1", images=[pics.image("cover.png", "image/png")]),
                   item("e2e-wb-2", summary=long_summary)])
        d1 = s.wait_state("e2e-wb-1", "delivered")
        d2 = s.wait_state("e2e-wb-2", "delivered")

        posts = {p["key"]: p for p in s.posts()}
        portal1, portal2 = s.portal_url("e2e-wb-1"), s.portal_url("e2e-wb-2")
        assert portal1.startswith("https://www.yuexiu.gov.cn/zwgk/tzgg/content/post_")
        p1, p2 = posts[portal1], posts[portal2]
        # the text: 【title】summary, then the portal article's link from the website delivery
        assert p1["orig_text"] == "【关于e2e-wb-1的通知（第1版）】越秀区发展和改革局发布通知。 " + portal1
        assert p1["pic_type"] == "image/png" and p1["pic_size"] == len(PNG)
        assert p1["rip"] == RIP
        assert pics.hits == ["/cover.png"]
        # shortened on a character boundary to the pinned 140, link kept whole
        assert weight(p2["orig_text"]) == 140
        assert p2["orig_text"].endswith("… " + portal2)
        assert d1["remote_id"] == p1["idstr"] and d1["remote_url"].endswith(p1["idstr"])
        assert d2["remote_id"] == p2["idstr"]
        # one post per item, sent once; what reconciliation would need was recorded first
        rx = s.received()
        assert (rx["applied"], rx["duplicates"]) == (2, 0)
        assert len(s.log(SHARE)) == 2
        st = json.loads(d1["adapter_state"])
        norm = re.sub(r"https?://[!-~]+|\s", "", p1["orig_text"])
        assert st["norm_sha256"] == hashlib.sha256(norm.encode()).hexdigest()
        assert st["first_sent_at"] <= st["sent_at"]
        # held for the website delivery first (depends_on), then sent (status topic)
        assert status_states(s.t["status"], WEIBO, "e2e-wb-1", 14) == \
            ["held", "pending", "sending", "delivered"]
        assert s.stop() == 0
    finally:
        pics.close()


def test_token_expiry_parks_until_new_credentials(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-token", sim={"token_ttl_s": 3600},
              admin=True).start()
    s.produce([item("e2e-wb-t1")])
    s.wait_state("e2e-wb-t1", "delivered")

    s.clock(3601)  # the platform's token lifetime passes
    s.produce([item("e2e-wb-t2")])
    d = s.wait_state("e2e-wb-t2", "parked")
    assert d["reason"] == "reauthorize" and d["attempts"] == 0  # no attempt burned
    assert "credentials set" in d["detail"]
    assert [(a[0], a[1], a[3]) for a in s.attempts("e2e-wb-t2")] == \
        [("send", "needs_operator", "21327")]
    assert s.h.query("SELECT parked FROM instances WHERE instance=?", (WEIBO,)) == [(1,)]
    wait_for(lambda: metric(s.h, "herald_channel_parked", {"instance": WEIBO}) == 1, 10,
             "the parked gauge")
    assert "ALERT parked" in s.h.proc.stderr_text() + s.h.proc.stdout_text()

    # while parked nothing is sent: a new item waits
    s.produce([item("e2e-wb-t3")])
    s.wait_state("e2e-wb-t3", "pending")
    shares_before = len(s.log(SHARE))

    # a person authorizes again; the new token comes through the admin API
    new = s.sim.control("weibo", "POST", "authorize", {})["access_token"]
    set_at = s.sim.control("weibo", "GET", "clock")["now_ms"]  # the simulator's clock (advanced)
    status, body = s.api("POST", "/api/v1/channels/%s/credentials" % WEIBO,
                         {"key": "access_token", "value": new, "reason": "re-authorized"})
    assert status == 200, body
    assert body["unparked"] is True
    s.wait_state("e2e-wb-t2", "delivered")
    s.wait_state("e2e-wb-t3", "delivered")
    after = s.log(SHARE)[shares_before:]
    assert len(after) == 2 and all(e["time_ms"] >= set_at for e in after), after
    assert s.h.query("SELECT parked FROM instances WHERE instance=?", (WEIBO,)) == [(0,)]
    assert s.delivery("e2e-wb-t2")["attempts"] == 1
    cred = s.h.state_dir / "credentials" / WEIBO / "access_token"
    assert cred.read_text() == new
    assert s.received()["applied"] == 3
    assert s.stop() == 0


def test_budget_defers_to_the_next_window(kafka_bootstrap, tmp_workdir):
    rules = [{"name": "notices", "match": {"category": ["notice"]},
              "to": ["website:portal", WEIBO]},
             {"name": "gazette", "match": {"category": ["gazette"]},
              "to": ["website:portal", "weibo:calls"]}]
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-budget",
              weibo={"post_budget": 2, "post_window": "6s"},
              extra_weibo={"weibo:calls": {"call_budget": 2, "call_window": "5s"}},
              rules=rules).start()
    posts = ["e2e-wb-b%d" % i for i in range(5)]
    calls = ["e2e-wb-c%d" % i for i in range(3)]
    s.produce([item(i) for i in posts] + [item(i, category="gazette") for i in calls])
    for i in posts:
        s.wait_state(i, "delivered", timeout=60)
    for i in calls:
        s.wait_state(i, "delivered", timeout=60, instance="weibo:calls")

    def check(ids, instance, reason, window_ms, minimum):
        deferred = 0
        for i in ids:
            rows = s.h.query(
                "SELECT a.outcome, a.reason, a.started_at, a.message FROM attempts a JOIN "
                "deliveries d ON d.id = a.delivery_id WHERE d.item_id=? AND d.instance=? "
                "ORDER BY a.id", (i, instance))
            waits = [r for r in rows if r[0] == "retry_after"]
            assert all(r[1] == reason for r in waits), rows
            assert rows[-1][0] == "delivered"
            for w in waits:
                at = int(re.search(r"at=(\d+)", w[3]).group(1))
                assert at % window_ms == 0, w  # the window's end
                assert rows[-1][2] >= at, rows  # nothing before it
            deferred += bool(waits)
            # a budget wait is not a failed attempt
            assert s.delivery(i, instance)["attempts"] == 1
        assert deferred >= minimum, (instance, deferred)

    # 5 posts at 2 per 6 s window need 3 windows: at least one post waited
    check(posts, WEIBO, "budget_posts", 6000, 1)
    # 3 calls at 2 per 5 s window (token check not counted): at least one waited
    check(calls, "weibo:calls", "budget_calls", 5000, 1)
    # counted ahead: the platform never had to refuse anything
    assert all(e["status"] == 200 for e in s.log(SHARE))
    assert s.received()["applied"] == 8
    assert s.stop() == 0


def test_platform_rate_limit_waits_for_its_window(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-rate", sim={"posts_per_hour": 3}).start()
    now = s.sim.control("weibo", "GET", "clock")["now_ms"] // 1000
    s.clock(3600 - now % 3600 + 1)  # start of a platform hour
    s.sim.control("weibo", "POST", "post", {"count": 3})  # staff used the hour by hand
    s.produce([item("e2e-wb-r1")])
    rows = attempts_where(s, "e2e-wb-r1", lambda a: a[3] == "20016", 2, "two 20016 answers")
    assert all(a[1] == "retry_after" for a in rows)
    # each retry waited for the next limit_window (2 s) boundary
    assert rows[1][4] >= (rows[0][4] // 2000 + 1) * 2000, rows
    d = s.delivery("e2e-wb-r1")
    assert d["state"] in ("waiting_retry", "pending", "sending") and d["attempts"] <= 1
    s.clock(3600)  # the platform's next hour
    d = s.wait_state("e2e-wb-r1", "delivered")
    assert d["attempts"] == 1
    assert s.received()["applied"] == 1
    assert s.stop() == 0


def test_lost_answer_is_reconciled_not_resent(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-lost").start()
    s.sim.faults("weibo", drop_after_next=1, match=SHARE)  # applied, then the answer is lost
    s.produce([item("e2e-wb-l1")])
    d = s.wait_state("e2e-wb-l1", "delivered")
    assert d["reason"] == "reconciled"
    kinds = [(a[0], a[1]) for a in s.attempts("e2e-wb-l1")]
    assert kinds == [("send", "unknown"), ("reconcile", "delivered")], kinds
    rx = s.received()
    assert rx["applied"] == 1 and len(s.log(SHARE)) == 1  # looked up, not posted again
    assert len(s.log(TIMELINE)) >= 1
    assert d["remote_id"] == s.posts()[0]["idstr"]
    assert s.stop() == 0


def test_duplicate_answer_is_looked_up_until_the_post_shows(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-dup").start()
    # the first share is applied but shows only after 120 s, and its answer is lost: the look-up
    # cannot see it, so herald sends again and the platform says 20019 (identical content)
    s.sim.control("weibo", "POST", "delay", {"next": 1, "visible_after_s": 120})
    s.sim.faults("weibo", drop_after_next=1, match=SHARE)
    s.produce([item("e2e-wb-u1")])
    attempts_where(s, "e2e-wb-u1", lambda a: a[0] == "send" and a[3] == "20019", 1, "20019")
    # ... after which it only looks, at poll_interval, and never posts a third time
    attempts_where(s, "e2e-wb-u1", lambda a: a[2] == "duplicate_not_visible", 2,
                   "look-ups while the post is not visible")
    assert s.state_of("e2e-wb-u1") == "reconciling"
    rx = s.received()
    assert (rx["applied"], rx["duplicates"], len(s.log(SHARE))) == (1, 1, 2)
    s.clock(121)
    d = s.wait_state("e2e-wb-u1", "delivered")
    assert d["reason"] == "reconciled" and d["remote_id"] == s.posts()[0]["idstr"]
    assert len(s.log(SHARE)) == 2 and s.received()["applied"] == 1
    assert s.stop() == 0


def test_delayed_success_is_confirmed_later(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-20032").start()
    s.sim.control("weibo", "POST", "delay", {"next": 1, "visible_after_s": 60})
    s.produce([item("e2e-wb-a1")])
    d = s.wait_state("e2e-wb-a1", "publishing")
    assert d["remote_id"].startswith("pending-")
    attempts_where(s, "e2e-wb-a1", lambda a: a[0] == "poll" and a[1] == "accepted", 2,
                   "polls while the post is not visible")
    assert s.state_of("e2e-wb-a1") == "publishing"
    s.clock(61)
    d = s.wait_state("e2e-wb-a1", "delivered")
    post = s.posts()[0]
    assert d["remote_id"] == post["idstr"] and d["remote_url"].endswith(post["idstr"])
    assert len(s.log(SHARE)) == 1 and s.received()["applied"] == 1
    assert s.stop() == 0


def test_retract_destroys_the_post(kafka_bootstrap, tmp_workdir):
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-retract").start()
    s.produce([item("e2e-wb-x1")])
    d = s.wait_state("e2e-wb-x1", "delivered")
    s.produce([retract_item("e2e-wb-x1", 2)])
    s.wait_state("e2e-wb-x1", "retracted")
    post = s.posts()[0]
    assert post["deleted"] is True and post["idstr"] == d["remote_id"]
    assert s.received()["applied"] == 2  # the post and its destruction
    assert [(a[0], a[1]) for a in s.attempts("e2e-wb-x1")][-1] == ("retract", "delivered")
    assert s.stop() == 0
