"""Set-ups shared by the WeChat end-to-end tests: herald-sim (website + wechat), an asset server
for the items' images, heraldd with website:portal and wechat:yuexiu (which depends on it, for
the 阅读原文 link), its event listener registered as the simulator's callback URL, and readers of
what the simulator and the store saw. Windows are shortened through configuration and the
simulator's clock; nothing sleeps."""

import hashlib
import http.server
import json
import socket
import threading

from herald_test import kafka
from herald_test.herald import SECRET, Herald, Sim, http as http_call, website_channel
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics

WECHAT = "wechat:yuexiu"
APPID = "wxd5f4a3b2c1e0f9a8"
EVENT_TOKEN = "e2e-wechat-event-token-0123456789"
SUBMIT = "/cgi-bin/freepublish/submit"
GET = "/cgi-bin/freepublish/get"


def jpeg(size, seed=0):
    """Bytes the platform takes for a JPG (magic FF D8 FF), of exactly `size` bytes."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes([seed % 256])
    return (head + hashlib.sha256(b"%d" % seed).digest() * (size // 32 + 1))[:size]


def png(size, seed=0):
    head = b"\x89PNG\r\n\x1a\n" + bytes([seed % 256])
    return (head + hashlib.sha256(b"p%d" % seed).digest() * (size // 32 + 1))[:size]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Assets:
    """Serves fixed bytes at /<name> (the images items point to) from a thread of the test."""

    def __init__(self, files=None):
        self.files = dict(files or {})
        self.hits = []
        files, hits = self.files, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                data = files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, name, data):
        self.files[name] = data

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.server.server_address[1], name)

    def image(self, name, media_type="image/jpeg", caption=None, sha=None):
        data = self.files[name]
        img = {"url": self.url(name), "media_type": media_type, "size": len(data),
               "sha256": sha or hashlib.sha256(data).hexdigest()}
        if caption:
            img["caption"] = caption
        return img

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def item(item_id, **over):
    over.setdefault("column", "zwgk/tzgg")
    over.setdefault("title", "关于%s的通知" % item_id)
    return make_item(item_id, **over)


class Setup:
    """herald-sim + heraldd publishing every item to website:portal and wechat:yuexiu."""

    def __init__(self, workdir, bootstrap, prefix, wechat=None, sim=None, events=True,
                 inbound_port=0, extra=None):
        self.workdir = workdir
        self.t = topics(prefix)
        conf = {"secret": SECRET, "event_token": EVENT_TOKEN, "publish_step_ms": 300,
                "event_retry_ms": 200}
        conf.update(sim or {})
        self.sim = Sim(workdir, config={"wechat": conf}, only=["website", "wechat"]).start()
        self.assets = Assets()
        cover = workdir / "default-cover.jpg"
        cover.write_bytes(jpeg(20000, seed=999))
        self.default_cover = cover.read_bytes()
        token = workdir / "event-token"
        token.write_text(EVENT_TOKEN + "\n")
        ch = {"appid": APPID, "secret": None, "base_url": self.sim.url("wechat"),
              "event_token": "file:%s" % token, "default_cover": str(cover),
              "depends_on": ["website:portal"], "poll_first": "500ms", "poll_max": "2s",
              "retry_base": "100ms", "retry_cap": "1s", "timeout": "5s"}
        self.events = events
        if events:
            ch["inbound_listen"] = "127.0.0.1:%d" % inbound_port
            ch["inbound_path"] = "/wechat/events"
        ch.update(wechat or {})
        channels = {"website:portal": website_channel(self.sim), WECHAT: ch}
        ext = {"daemon": {"log_level": "debug"}}
        ext.update(extra or {})
        self.h = Herald(workdir, bootstrap, self.t, channels,
                        [{"name": "all", "to": ["website:portal", WECHAT]}], extra=ext)

    def start(self):
        self.h.start()
        if self.events:
            self.sim.control("wechat", "POST", "callback",
                             {"url": self.inbound_url(), "token": EVENT_TOKEN})
        return self

    def restart(self):
        """After a stop or kill -9: the same configuration, store and listener address."""
        return self.start()

    def inbound_url(self):
        return self.h.info["inbound"][WECHAT]

    def produce(self, items):
        kafka.produce(self.t["items"], items, key=lambda _, d: d["id"])

    def close(self):
        self.assets.close()

    # ---- the simulator -------------------------------------------------------------------------

    def wx(self, method, path, body=None):
        return self.sim.control("wechat", method, path, body)

    def state(self):
        return self.sim.state("wechat")

    def publishes(self):
        return self.state()["publishes"]

    def published(self, title_part):
        return [p for p in self.publishes() if title_part in p["title"]]

    def received(self):
        return self.sim.received("wechat")

    def log(self, path=None):
        entries = self.sim.control("wechat", "GET", "received?log=1000&by_key=0")["log"]
        return [e for e in entries if path is None or e["path"] == path]

    def script(self, statuses, title_contains=None):
        body = {"statuses": statuses}
        if title_contains:
            body["title_contains"] = title_contains
        return self.wx("POST", "script", body)

    def clock(self, advance_s):
        return self.sim.clock("wechat", advance_s)

    # ---- the store -------------------------------------------------------------------------------

    def delivery(self, item_id, instance=WECHAT):
        rows = self.h.query("SELECT state, reason, detail, attempts, remote_id, remote_url, "
                            "adapter_state, next_at FROM deliveries WHERE item_id=? AND "
                            "instance=? ORDER BY version DESC", (item_id, instance))
        if not rows:
            return None
        keys = ("state", "reason", "detail", "attempts", "remote_id", "remote_url",
                "adapter_state", "next_at")
        d = dict(zip(keys, rows[0]))
        d["adapter_state"] = json.loads(d["adapter_state"]) if d["adapter_state"] else None
        return d

    def attempts(self, item_id, instance=WECHAT):
        rows = self.h.query(
            "SELECT a.kind, a.outcome, a.reason, a.platform_code, a.started_at, a.message "
            "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.item_id = ? AND d.instance = ? ORDER BY a.id", (item_id, instance))
        keys = ("kind", "outcome", "reason", "code", "at", "message")
        return [dict(zip(keys, r)) for r in rows]

    def wait_state(self, item_id, state, timeout=30, instance=WECHAT):
        def reached():
            d = self.delivery(item_id, instance)
            if not d or d["state"] != state:
                raise NotYet(repr(d and {k: d[k] for k in ("state", "reason", "detail")}))
            return d
        return wait_for(reached, timeout, "%s of %s to be %s" % (instance, item_id, state))

    def wait_all(self, state, n, timeout=60, instance=WECHAT):
        def reached():
            c = self.h.count(state, instance)
            if c < n:
                raise NotYet("%d of %d %s; states %r" % (c, n, state, self.h.states()))
            return c
        return wait_for(reached, timeout, "%d deliveries %s on %s" % (n, state, instance))

    def portal_url(self, item_id):
        return self.delivery(item_id, "website:portal")["remote_url"]

    def post_event(self, body, method="POST", query=None, sign=True, token=EVENT_TOKEN):
        """Plays the system that owns the account's callback URL and forwards events to us."""
        import time
        import urllib.parse
        q = dict(query or {})
        if sign:
            ts, nonce = str(int(time.time())), "1357924680"
            q.setdefault("timestamp", ts)
            q.setdefault("nonce", nonce)
            q.setdefault("signature", hashlib.sha1(
                "".join(sorted([token, q["timestamp"], q["nonce"]])).encode()).hexdigest())
        url = self.inbound_url() + "?" + urllib.parse.urlencode(q)
        data = body.encode() if isinstance(body, str) else body
        return http_call(method, url, data, headers={"Content-Type": "text/xml"})


def event_xml(publish_id, status, article_id=None, url=None):
    detail = ""
    if article_id:
        detail = ("<article_id><![CDATA[%s]]></article_id><article_detail><count>1</count>"
                  "<item><idx>1</idx><article_url><![CDATA[%s]]></article_url></item>"
                  "</article_detail>" % (article_id, url or ""))
    return ("<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName><FromUserName>"
            "<![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName><CreateTime>1700000000"
            "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[PUBLISHJOBFINISH]]>"
            "</Event><PublishEventInfo><publish_id>%s</publish_id><publish_status>%d"
            "</publish_status>%s</PublishEventInfo></xml>" % (publish_id, status, detail))


def wait(pred, timeout, what):
    return wait_for(pred, timeout, what)
