"""The admin API over real HTTP against a running heraldd (docs/openapi.yaml).

- auth: 401 without or with a wrong token, 403 for a role too low, the token's name (never the
  token) in the log;
- lists: filters and keyset paging of items, deliveries, rejections and the audit log;
- one item: versions, deliveries, attempts and a timeline in causal order;
- every action with its audit entry (who = the token's name, what, reason), reasons required
  where they must be, 404 and 409 where they apply; pauses survive a restart;
- malformed requests: 4xx with a JSON error naming the problem, and nothing crashes the daemon.
"""

import base64
import json
import random
import signal
import socket
import urllib.parse

from apienv import TOKENS, Env, restamp, seed_items
from herald_test.procs import NotYet, wait_for


def audit(env, **filters):
    q = urllib.parse.urlencode(filters)
    return env.get("/api/v1/audit?" + q)["entries"]


def logs(env):
    return "".join(p.read_text(errors="replace")
                   for p in env.workdir.glob("heraldd.*") if p.suffix in (".out", ".err"))


# ---- authentication and roles ----------------------------------------------------------------

def test_auth_roles_and_logs(kafka_bootstrap, tmp_workdir):
    env = Env(tmp_workdir, kafka_bootstrap, "api-auth").start()
    # probes and the dashboard's files need no token
    assert env.h.get("/healthz")[0] == 200
    st, page = env.h.get("/")
    assert st == 200 and "<title>" in page

    st, body = env.api("GET", "/api/v1/items", token=None)
    assert st == 401 and body["error"] == "unauthorized"
    st, body = env.api("GET", "/api/v1/items", token="not-a-token-0123456789")
    assert st == 401 and "not valid" in body["message"]
    st, body = env.api("GET", "/api/v1/items", token=None,
                       headers={"Authorization": "Basic " + TOKENS["desk"][1]})
    assert st == 401
    # a token's prefix is not the token
    st, _ = env.api("GET", "/api/v1/items", token=TOKENS["desk"][1][:-1])
    assert st == 401

    assert env.get("/api/v1/whoami", "watch") == {"name": "watch", "role": "viewer",
                                                   "version": env.get("/api/v1/status")["version"]}
    # viewer reads, cannot act; operator acts, cannot touch secrets; admin can
    st, body = env.api("POST", "/api/v1/channels/webhook:ops/pause", "watch", {})
    assert st == 403 and body["error"] == "forbidden"
    st, body = env.api("POST", "/api/v1/channels/webhook:ops/credentials", "desk",
                       {"key": "secret", "value": "x" * 20, "reason": "rotation"})
    assert st == 403 and "admin" in body["message"]
    env.post("/api/v1/channels/webhook:ops/pause", {"reason": "maintenance"}, token="desk")
    env.post("/api/v1/channels/webhook:ops/resume", {}, token="root")

    # the 401/403 are logged with the token's name at most, never a token
    def logged():
        text = logs(env)
        if "401" not in text or "token=watch role=viewer needs operator" not in text:
            raise NotYet("no 401/403 lines yet")
        return text

    text = wait_for(logged, 10, "401 and 403 in heraldd's log")
    for _, tok in TOKENS.values():
        assert tok not in text
    assert "not-a-token-0123456789" not in text

    # rotating a token: change its file, reload (SIGHUP); the old one stops working
    new = "rotated-watch-token-5b0e2c9d41"
    (env.workdir / "token-watch").write_text(new + "\n")
    env.h.proc.popen.send_signal(signal.SIGHUP)
    wait_for(lambda: env.api("GET", "/api/v1/whoami", new)[0] == 200, 20,
             "the new token accepted after the reload")
    assert env.api("GET", "/api/v1/whoami", "watch")[0] == 401
    assert new not in logs(env)
    assert env.h.stop() == 0


# ---- lists, filters, paging, one item -------------------------------------------------------

def test_lists_filters_paging_and_timeline(kafka_bootstrap, tmp_workdir):
    env = Env(tmp_workdir, kafka_bootstrap, "api-list",
              webhook={"max_attempts": 2, "retry_base": "20ms"}).start()
    seeds = seed_items()
    docs = [restamp(d, minutes_ago=60 - i) for i, d in enumerate(seeds[:14])]
    env.produce(docs)
    env.wait_states({"delivered": 28})
    # one item fails on the webhook
    env.sim.faults("webhook", fail_next=5, status=503)
    bad = restamp(seeds[14], minutes_ago=1)
    env.produce([bad])
    env.wait_states({"failed": 1})
    env.sim.faults("webhook", fail_next=0)
    env.produce_raw([b"{broken", b"\x00\x01\x02binary\xff"])
    wait_for(lambda: len(env.get("/api/v1/dead-letters/rejections")["rejections"]) == 2, 20,
             "two rejections listed")

    # items: newest approval first, every field, delivery counts
    items = env.get("/api/v1/items?limit=500")["items"]
    assert len(items) == 15
    assert items[0]["id"] == bad["id"]
    assert items[0]["deliveries"] == {"failed": 1, "delivered": 1}
    assert [i["approved_at"] for i in items] == sorted((i["approved_at"] for i in items),
                                                       reverse=True)
    first = next(i for i in items if i["id"] == docs[0]["id"])
    assert first["title"] == docs[0]["title"]
    assert first["publisher"] == docs[0]["publisher"]["name"]
    assert first["column"] == docs[0]["column"] and first["category"] == docs[0]["category"]
    assert first["approved_at"].endswith("+08:00")

    # paging: limit 4 and the cursor, every item exactly once
    seen, cursor = [], None
    while True:
        page = env.get("/api/v1/items?limit=4" + ("&cursor=" + cursor if cursor else ""))
        assert len(page["items"]) <= 4
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [i["id"] for i in items]

    # filters
    def ids(q):
        return {i["id"] for i in env.get("/api/v1/items?" + q)["items"]}

    assert ids("state=failed") == {bad["id"]}
    assert ids("state=failed&channel=website:portal") == set()
    assert ids("state=failed,delivered&channel=webhook:ops") == {i["id"] for i in items}
    cat = docs[0]["category"]
    assert ids("category=" + cat) == {d["id"] for d in docs + [bad] if d["category"] == cat}
    pub = docs[0]["publisher"]
    want = {d["id"] for d in docs + [bad] if d["publisher"]["code"] == pub["code"]}
    assert ids("publisher=" + pub["code"]) == want
    assert ids("publisher=" + urllib.parse.quote(pub["name"])) == want
    top = docs[0]["column"].split("/")[0]
    assert ids("column=" + urllib.parse.quote(top)) == {
        d["id"] for d in docs + [bad] if d["column"].split("/")[0] == top}
    word = "电梯"
    assert ids("q=" + urllib.parse.quote(word)) == {d["id"] for d in docs + [bad]
                                                    if word in d["title"]}
    assert ids("q=" + urllib.parse.quote("' OR 1=1 --")) == set()
    mid = items[7]["approved_at"]
    newer = ids("since=" + urllib.parse.quote(mid))
    assert newer == {i["id"] for i in items if i["approved_at"] >= mid}
    older = ids("until=" + urllib.parse.quote(mid))
    assert older == {i["id"] for i in items if i["approved_at"] < mid}
    assert len(ids("since=2000-01-01")) == 15 and ids("until=2000-01-01") == set()

    # deliveries by state, with the last attempt's answer; paging by (updated_at, id)
    failed = env.get("/api/v1/deliveries?state=failed")["deliveries"]
    assert len(failed) == 1
    f = failed[0]
    assert f["item_id"] == bad["id"] and f["channel"] == "webhook:ops"
    assert f["title"] == bad["title"]
    assert f["last_attempt"]["http_status"] == 503 and f["last_attempt"]["outcome"] == "retry"
    assert f["reason"] == "attempts_exhausted"
    assert env.get("/api/v1/dead-letters/deliveries")["deliveries"] == failed
    seen, cursor = [], None
    while True:
        page = env.get("/api/v1/deliveries?state=delivered&limit=7"
                       + ("&cursor=" + cursor if cursor else ""))
        seen += [d["id"] for d in page["deliveries"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 29
    by_channel = env.get("/api/v1/deliveries?channel=website:portal&limit=500")["deliveries"]
    assert len(by_channel) == 15 and {d["channel"] for d in by_channel} == {"website:portal"}
    assert env.get("/api/v1/deliveries?item=" + bad["id"])["deliveries"][0]["item_id"] == bad["id"]

    # rejections: reason, source, a safe preview (binary shown as hex), full bytes on request
    rej = env.get("/api/v1/dead-letters/rejections")["rejections"]
    text = next(r for r in rej if r["size"] == 7)
    assert text["preview"] == "{broken" and text["binary"] is False
    assert text["reason"] == "invalid_json" and text["detail"]
    binary = next(r for r in rej if r["size"] == 10)
    assert binary["binary"] is True and binary["preview"].startswith("00 01 02")
    assert binary["topic"] == env.topics["items"] and binary["offset"] >= 0
    full = env.get("/api/v1/dead-letters/rejections/%d" % binary["id"])["rejection"]
    assert base64.b64decode(full["value_base64"]) == b"\x00\x01\x02binary\xff"
    assert "value_text" not in full

    # one item: versions, deliveries with their attempts, the timeline in causal order
    it = env.get("/api/v1/items/" + bad["id"])
    assert it["item"]["title"] == bad["title"] and it["item"]["latest_version"] == 1
    assert it["versions"][0]["source"]["topic"] == env.topics["items"]
    wh = next(d for d in it["deliveries"] if d["channel"] == "webhook:ops")
    assert [a["outcome"] for a in wh["attempt_log"]] == ["retry", "retry"]
    tl = [e for e in it["timeline"] if e.get("channel") == "webhook:ops"]
    kinds = [(e["kind"], e.get("state") or e.get("outcome")) for e in tl]
    assert kinds == [("state", "pending"), ("state", "sending"), ("attempt", "retry"),
                     ("state", "waiting_retry"), ("state", "pending"), ("state", "sending"),
                     ("attempt", "retry"), ("state", "failed")], kinds
    assert [e["seq"] for e in tl if e["kind"] == "state"] == [1, 2, 3, 4, 5, 6]
    doc = env.get("/api/v1/items/%s/versions/1" % bad["id"])
    assert doc["document"]["title"] == bad["title"]
    d1 = env.get("/api/v1/deliveries/%d" % wh["id"])
    assert d1["delivery"]["id"] == wh["id"] and len(d1["timeline"]) == len(tl)

    # the audit log pages by id
    assert env.get("/api/v1/audit")["entries"] == []
    assert env.h.stop() == 0


# ---- actions and their audit entries ------------------------------------------------------------

def test_every_action_and_its_audit_entry(kafka_bootstrap, tmp_workdir):
    env = Env(tmp_workdir, kafka_bootstrap, "api-act",
              webhook={"max_attempts": 1, "on_revision": "ignore"},
              website={"max_attempts": 3, "retry_base": "20ms"}).start()
    seeds = seed_items()
    a, b, c, d, e = (restamp(x) for x in seeds[:5])
    env.sim.faults("webhook", fail_next=1, status=503)
    env.produce([a])
    env.wait_states({"failed": 1, "delivered": 1})
    fid = env.delivery(a["id"], "webhook:ops")[0]

    # retry: 404, 409 on a delivered one, then the real thing
    st, body = env.api("POST", "/api/v1/deliveries/999999/retry", "desk", {})
    assert st == 404 and body["error"] == "not_found"
    st, body = env.api("POST", "/api/v1/deliveries/abc/retry", "desk", {})
    assert st == 404
    ok_id = env.delivery(a["id"], "website:portal")[0]
    st, body = env.api("POST", "/api/v1/deliveries/%d/retry" % ok_id, "desk", {})
    assert st == 409 and "delivered" in body["message"]
    out = env.post("/api/v1/deliveries/%d/retry" % fid, {"reason": "端点已恢复"})
    assert out["delivery"]["state"] == "pending"
    wait_for(lambda: env.delivery(a["id"], "webhook:ops")[1] == "delivered", 20,
             "retried delivery delivered")
    entry = audit(env, action="retry")[0]
    assert (entry["who"], entry["reason"], entry["delivery_id"], entry["item_id"]) == \
        ("desk", "端点已恢复", fid, a["id"])
    tl = env.get("/api/v1/items/" + a["id"])["timeline"]
    i = next(k for k, x in enumerate(tl) if x["kind"] == "audit")
    assert tl[i - 1]["kind"] == "state" and tl[i - 1]["reason"] == "operator_retry"
    assert tl[i]["who"] == "desk" and tl[i]["reason"] == "端点已恢复"

    # cancel needs a reason; release a held delivery (embargo)
    b["schedule"] = {"not_before": "2099-01-01T00:00:00+08:00"}
    env.produce([b])
    env.wait_states({"held": 2})
    hid = env.delivery(b["id"], "webhook:ops")[0]
    st, body = env.api("POST", "/api/v1/deliveries/%d/cancel" % hid, "desk", {})
    assert st == 400 and body["error"] == "reason_required"
    st, body = env.api("POST", "/api/v1/deliveries/%d/cancel" % hid, "desk", {"reason": " \n "})
    assert st == 400 and body["error"] == "reason_required"
    env.post("/api/v1/deliveries/%d/cancel" % hid, {"reason": "发布单位要求\n暂不推送"})
    assert env.delivery(b["id"], "webhook:ops")[1] == "cancelled"
    wid = env.delivery(b["id"], "website:portal")[0]
    st, body = env.api("POST", "/api/v1/deliveries/%d/resolve" % wid, "desk", {})
    assert st == 409 and "manual_action" in body["message"]
    env.post("/api/v1/deliveries/%d/release" % wid, {"reason": "提前发布"})
    wait_for(lambda: env.delivery(b["id"], "website:portal")[1] == "delivered", 20,
             "released delivery delivered")
    # a line break typed in a reason is kept out of log lines and tables
    assert audit(env, action="cancel")[0]["reason"] == "发布单位要求 暂不推送"
    assert "发布单位要求\n" not in logs(env)
    assert audit(env, action="release")[0]["delivery_id"] == wid

    # resolve a manual action (a revision the webhook ignores)
    env.produce([c])
    env.wait_states({"delivered": 5})
    c2 = dict(c, version=2, title=c["title"] + "（更正）")
    env.produce([c2])
    wait_for(lambda: env.h.count("manual_action") == 1, 20, "revision not applied")
    mid = env.delivery(c["id"], "webhook:ops")[0]
    env.post("/api/v1/deliveries/%d/resolve" % mid, {"reason": "已在对方系统手工更新"})
    assert env.delivery(c["id"], "webhook:ops")[1] == "cancelled"
    assert audit(env, action="resolve")[0]["who"] == "desk"

    # pause survives a restart; resume sends what waited (the portal's update of c2 done first,
    # so that d is the one thing waiting)
    wait_for(lambda: env.delivery(c["id"], "website:portal")[1] == "delivered", 20,
             "the portal's update of the revision")
    env.post("/api/v1/channels/website:portal/pause", {"reason": "门户系统升级"})
    assert env.h.stop() == 0
    env.start()
    ch = env.get("/api/v1/channels/website:portal")["channel"]
    assert ch["paused"] is True and ch["health"] == "paused"
    env.produce([d])
    wait_for(lambda: env.delivery(d["id"], "webhook:ops")
             and env.delivery(d["id"], "webhook:ops")[1] == "delivered", 20, "webhook delivered")
    assert env.delivery(d["id"], "website:portal")[1] == "pending"
    assert env.get("/api/v1/channels/website:portal")["channel"]["queue"]["pending"] == 1
    env.post("/api/v1/channels/website:portal/resume", {"reason": "升级完成"})
    wait_for(lambda: env.delivery(d["id"], "website:portal")[1] == "delivered", 20,
             "resumed channel delivers")
    assert [x["action"] for x in audit(env, channel="website:portal")][:2] == ["resume", "pause"]

    # a channel that needs re-authorization: parked, then new credentials un-park it
    env.sim.faults("website", fail_next=1, status=401)
    env.produce([e])
    wait_for(lambda: env.get("/api/v1/channels/website:portal")["channel"]["parked"], 20,
             "website parked")
    ch = env.get("/api/v1/channels/website:portal")["channel"]
    assert ch["needs_reauthorization"] is True and ch["health"] == "parked"
    alerts = env.get("/api/v1/status")["alerts"]
    assert any(x["code"] == "channel_parked" and x["channel"] == "website:portal" for x in alerts)
    st, body = env.api("POST", "/api/v1/channels/website:portal/credentials", "root",
                       {"key": "secret", "value": "new-secret-value-xyz"})
    assert st == 400 and body["error"] == "reason_required"
    st, body = env.api("POST", "/api/v1/channels/website:portal/credentials", "root",
                       {"key": "url", "value": "http://x", "reason": "r"})
    assert st == 400 and "not a secret" in body["message"]
    # the simulator keeps its secret: give the same one, as a re-authorization would
    from herald_test.herald import SECRET
    out = env.post("/api/v1/channels/website:portal/credentials",
                   {"key": "secret", "value": SECRET, "reason": "重新授权"}, token="root")
    assert out["unparked"] is True
    wait_for(lambda: env.delivery(e["id"], "website:portal")[1] == "delivered", 20,
             "un-parked channel delivers")
    cred = audit(env, action="credentials")[0]
    assert cred["who"] == "root" and cred["channel"] == "website:portal"
    assert SECRET not in json.dumps(audit(env)) and SECRET not in logs(env)

    # unpark by word (reason required), retry-failed of a channel
    st, _ = env.api("POST", "/api/v1/channels/website:portal/unpark", "desk", {})
    assert st == 400
    env.post("/api/v1/channels/website:portal/unpark", {"reason": "平台侧已处理"})
    assert audit(env, action="unpark")[0]["reason"] == "平台侧已处理"
    env.sim.faults("webhook", fail_next=2, status=503)
    more = [restamp(x) for x in seeds[5:7]]
    env.produce(more)
    wait_for(lambda: env.get("/api/v1/channels/webhook:ops")["channel"]["failed"] == 2, 20,
             "two failed on the webhook")
    out = env.post("/api/v1/channels/webhook:ops/retry-failed", {"reason": "批量重试"})
    assert out["retried"] == 2
    wait_for(lambda: env.get("/api/v1/channels/webhook:ops")["channel"]["failed"] == 0
             and all(env.delivery(x["id"], "webhook:ops")[1] == "delivered" for x in more),
             20, "retried deliveries delivered")
    assert len([x for x in audit(env, action="retry") if x["reason"] == "批量重试"]) == 2
    st, _ = env.api("POST", "/api/v1/channels/nosuch:x/retry-failed", "desk", {})
    assert st == 404

    # retract: reason required, 404 for an unknown item, withdraws what was published
    st, _ = env.api("POST", "/api/v1/items/%s/retract" % a["id"], "desk", {})
    assert st == 400
    st, _ = env.api("POST", "/api/v1/items/no-such-item/retract", "desk", {"reason": "x"})
    assert st == 404
    out = env.post("/api/v1/items/%s/retract" % a["id"], {"reason": "信息有误，撤回"})
    assert out["deliveries_affected"] == 2
    wait_for(lambda: {r[0] for r in env.h.query(
        "SELECT state FROM deliveries WHERE item_id=?", (a["id"],))} == {"retracted"}, 30,
        "both deliveries retracted")
    it = env.get("/api/v1/items/" + a["id"])
    assert it["item"]["retracted_version"] == 1
    assert any(x["kind"] == "audit" and x["action"] == "retract" and x["who"] == "desk"
               for x in it["timeline"])

    # replay a rejection: rejected again -> 409 with the reason, audit entry written
    env.produce_raw([b"{still broken"])
    wait_for(lambda: env.get("/api/v1/dead-letters/rejections")["rejections"], 20, "rejection")
    rid = env.get("/api/v1/dead-letters/rejections")["rejections"][0]["id"]
    st, body = env.api("POST", "/api/v1/dead-letters/rejections/%d/replay" % rid, "desk", {})
    assert st == 409 and body["error"] == "rejected_again" and "invalid_json" in body["message"]
    assert audit(env, action="replay")[0]["reason"].startswith("rejected again")
    st, _ = env.api("POST", "/api/v1/dead-letters/rejections/424242/replay", "desk", {})
    assert st == 404
    assert env.h.stop() == 0


def test_replay_accepts_after_a_configuration_fix(kafka_bootstrap, tmp_workdir):
    """A message too large for kafka.max_message_bytes is rejected; after raising the limit, a
    replay (dead letter, failed-delivery path through the API) accepts and delivers it."""
    env = Env(tmp_workdir, kafka_bootstrap, "api-replay",
              extra={"kafka": {"max_message_bytes": "1KiB"}}).start()
    big = restamp(seed_items()[0])
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 1024
    env.produce([big])
    wait_for(lambda: env.get("/api/v1/dead-letters/rejections")["rejections"], 20, "oversize")
    r = env.get("/api/v1/dead-letters/rejections")["rejections"][0]
    assert r["reason"] == "oversize" and r["replayed_at"] is None
    assert env.h.stop() == 0
    env.h.config["kafka"]["max_message_bytes"] = "1MiB"
    env.start()
    out = env.post("/api/v1/dead-letters/rejections/%d/replay" % r["id"], {"reason": "限额已调整"})
    assert "accepted" in out["result"] and big["id"] in out["result"]
    env.wait_states({"delivered": 2})
    assert env.get("/api/v1/dead-letters/rejections?replayed=false")["rejections"] == []
    assert env.get("/api/v1/dead-letters/rejections?replayed=true")["rejections"][0]["id"] == r["id"]
    assert audit(env, action="replay")[0]["item_id"] == big["id"]
    assert env.h.stop() == 0


# ---- malformed input ---------------------------------------------------------------------------

def raw_request(base, data, timeout=10):
    """Send raw bytes to the admin port; the status line's code (0 when the server closed)."""
    host, port = base.replace("http://", "").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                return 0
            buf += chunk
    return int(buf.split(b" ")[1])


def test_malformed_requests_never_hurt(kafka_bootstrap, tmp_workdir):
    env = Env(tmp_workdir, kafka_bootstrap, "api-bad").start()
    env.produce([restamp(x) for x in seed_items()[:3]])
    env.wait_states({"delivered": 6})
    before = env.h.query("SELECT COUNT(*) FROM items")[0][0]

    cases = [
        ("GET", "/api/v1/items?limit=0", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?limit=501", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?limit=abc", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?bogus=1", None, 400, "unknown_parameter"),
        ("GET", "/api/v1/items?state=nonsense", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?since=yesterday", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?cursor=%%%%", None, 400, None),
        ("GET", "/api/v1/items?cursor=WzFd", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?limit=1&limit=2", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items?q=%FF%FE", None, 400, "bad_parameter"),
        ("GET", "/api/v1/deliveries?channel=nosuch", None, 400, "bad_parameter"),
        ("GET", "/api/v1/report", None, 400, "bad_parameter"),
        ("GET", "/api/v1/report?year=12345", None, 400, "bad_parameter"),
        ("GET", "/api/v1/report?year=2026&format=xml", None, 400, "bad_parameter"),
        ("GET", "/api/v1/items/%00x", None, 400, "bad_path"),
        ("GET", "/api/v1/items/%FF", None, 400, "bad_path"),
        ("GET", "/api/v1/items/" + "a" * 600, None, 400, "bad_path"),
        ("GET", "/api/v1/items/x%27%20OR%201=1--", None, 404, "not_found"),
        ("GET", "/api/v1/items/x/versions/zero", None, 404, "not_found"),
        ("GET", "/api/v1/deliveries/-1", None, 404, "not_found"),
        ("GET", "/api/v1/deliveries/99999999999999999999999", None, 404, "not_found"),
        ("GET", "/api/v1/channels/nosuch:x", None, 404, "not_found"),
        ("GET", "/api/v1/nothing/here", None, 404, "not_found"),
        ("GET", "/api/v2/items", None, 404, "not_found"),
        ("GET", "/api/v1//items", None, 404, "not_found"),
        ("DELETE", "/api/v1/items", None, 405, "method_not_allowed"),
        ("GET", "/api/v1/deliveries/1/retry", None, 405, "method_not_allowed"),
        ("POST", "/api/v1/deliveries/1/retry", b"{not json", 400, "bad_json"),
        ("POST", "/api/v1/deliveries/1/retry", b"[1,2]", 400, "bad_json"),
        ("POST", "/api/v1/deliveries/1/retry", b'{"reason": 5}', 400, "bad_field"),
        ("POST", "/api/v1/deliveries/1/retry", b'{"why": "x"}', 400, "unknown_field"),
        ("POST", "/api/v1/deliveries/1/retry", b'{"reason":"a","reason":"b"}', 400, "bad_json"),
        ("POST", "/api/v1/deliveries/1/retry", ("[" * 5000).encode(), 400, "bad_json"),
        ("POST", "/api/v1/deliveries/1/retry",
         json.dumps({"reason": "长" * 1001}).encode(), 400, "bad_field"),
        ("POST", "/api/v1/deliveries/1/retry", b'{"reason": "\\u0000\\ud800"}', 400, "bad_json"),
        ("POST", "/api/v1/channels/webhook:ops/pause", b"x" * (70 * 1024), 413, "too_large"),
    ]
    for method, path, body, code, err in cases:
        st, out = env.api(method, path, "desk", raw=body,
                          headers={"Content-Type": "application/json"} if body else None)
        assert st == code, (method, path, st, out)
        if err:
            assert isinstance(out, dict) and out["error"] == err, (path, out)
            assert out["message"]
    # a body over evhttp's limit, a broken request line, a header flood: refused, not crashed
    assert raw_request(env.base, b"GARBAGE\r\n\r\n") in (0, 400, 405, 501)
    big = b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n"
    assert raw_request(env.base, big) in (0, 413)
    hdrs = b"GET /api/v1/items HTTP/1.1\r\n" + b"X-A: " + b"b" * 40000 + b"\r\n\r\n"
    assert raw_request(env.base, hdrs) in (0, 400, 413, 431)

    # random paths, methods, parameters and bodies
    rnd = random.Random(20260315)
    words = ["items", "deliveries", "channels", "dead-letters", "rejections", "report", "audit",
             "status", "retry", "cancel", "webhook:ops", "1", "0", "-5", "%00", "%ff", "..",
             "%2e%2e", "'; DROP TABLE items; --", "信息", "\u202e", "a" * 100, "versions"]
    for n in range(400):
        path = "/api/v1/" + "/".join(urllib.parse.quote(rnd.choice(words), safe="%:")
                                     for _ in range(rnd.randint(0, 5)))
        if rnd.random() < 0.5:
            path += "?" + "&".join("%s=%s" % (urllib.parse.quote(rnd.choice(words), safe="%"),
                                              urllib.parse.quote(rnd.choice(words), safe="%"))
                                   for _ in range(rnd.randint(1, 3)))
        method = rnd.choice(["GET", "POST", "PUT", "PATCH", "HEAD"])
        body = None
        if method != "GET" and rnd.random() < 0.7:
            body = rnd.choice([b"", b"{}", b"null", b'{"reason": "x"}', bytes(rnd.randrange(256)
                               for _ in range(rnd.randint(1, 300))),
                               json.dumps({"reason": rnd.choice(words), "key": "secret",
                                           "value": rnd.choice(words)}).encode()])
        tok = rnd.choice(["watch", "desk", "desk", None])
        st, out = env.api(method, path, tok, raw=body)
        assert 200 <= st < 500, (method, path, body, st, out)
        if st >= 400 and method != "HEAD":
            assert isinstance(out, dict) and "error" in out, (path, st, out)
    assert env.h.proc.alive()
    assert env.h.get("/healthz")[0] == 200
    assert env.h.query("SELECT COUNT(*) FROM items")[0][0] == before
    assert len(env.get("/api/v1/items")["items"]) == before
    assert env.h.stop() == 0


# ---- the route table and docs/openapi.yaml agree ---------------------------------------------------

def test_every_route_is_documented():
    from herald_test.herald import SOURCE
    import re
    table = (SOURCE / "src" / "api.c").read_text()
    routes = {(m.lower(), "/api/v1/" + p.replace("*", "{}"))
              for m, p in re.findall(r'\{(GET|POST), "([^"]+)", HD_ROLE_', table)}
    spec = (SOURCE / "docs" / "openapi.yaml").read_text()
    documented, path = set(), None
    for line in spec.splitlines():
        m = re.match(r"^  (/api/v1/\S+):$", line)
        if m:
            path = re.sub(r"\{[a-z_]+\}", "{}", m.group(1))
            continue
        m = re.match(r"^    (get|post):", line)
        if m and path:
            documented.add((m.group(1), path))
        if re.match(r"^\S", line):
            path = None
    assert routes and routes == documented, (routes - documented, documented - routes)
