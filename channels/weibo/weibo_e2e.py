"""Set-ups shared by the Weibo end-to-end tests: herald-sim (website + weibo), heraldd with
website:portal and one or more weibo instances that depend on it (every post links to the portal
article), an admin token for the API, a small picture server, and readers of what the simulator
and the store saw. Windows are shortened through configuration; simulator time moves through
/_sim/clock, never by sleeping."""

import hashlib
import http.server
import json
import threading

from herald_test import kafka
from herald_test.herald import Herald, Sim, http as http_call, website_channel
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics

DOMAIN = "www.yuexiu.gov.cn"
RIP = "203.0.113.7"
SIM_TOKEN = "2.00e2e-weibo-token-000001"
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
WEIBO = "weibo:official"
SHARE = "/2/statuses/share.json"
TIMELINE = "/2/statuses/user_timeline.json"


def sim_conf(**over):
    """The simulator's platform: generous caps unless a test says otherwise."""
    conf = {"access_token": SIM_TOKEN, "secure_domains": [DOMAIN], "posts_per_hour": 1000,
            "calls_per_hour": 100000, "ip_calls_per_hour": 100000}
    conf.update(over)
    return conf


def channel(sim, token_ref, **over):
    ch = {"access_token": token_ref, "base_url": sim.url("weibo"), "secure_domain": DOMAIN,
          "rip": RIP, "depends_on": ["website:portal"], "retry_base": "100ms",
          "retry_cap": "1s", "timeout": "3s", "poll_interval": "300ms", "limit_window": "2s",
          "post_budget": 1000, "call_budget": 100000}
    ch.update(over)
    return ch


class Setup:
    def __init__(self, workdir, bootstrap, prefix, weibo=None, sim=None, extra_weibo=None,
                 rules=None, admin=False):
        self.t = topics(prefix)
        self.sim = Sim(workdir, config={"weibo": sim_conf(**(sim or {}))}).start()
        self.token_file = workdir / "weibo-token"
        self.token_file.write_text(SIM_TOKEN + "\n")
        ref = "file:%s" % self.token_file
        channels = {"website:portal": website_channel(self.sim),
                    WEIBO: channel(self.sim, ref, **(weibo or {}))}
        for name, over in (extra_weibo or {}).items():
            channels[name] = channel(self.sim, ref, **over)
        extra = {"daemon": {"log_level": "debug"}}
        if admin:
            admin_file = workdir / "admin-token"
            admin_file.write_text(ADMIN_TOKEN + "\n")
            extra["admin"] = {"tokens": ["ops:admin:file:%s" % admin_file]}
        self.h = Herald(workdir, bootstrap, self.t, channels,
                        rules or [{"name": "all", "to": sorted(channels)}], extra=extra)

    def start(self):
        self.h.start()
        return self

    def stop(self):
        """SIGTERM once the consumer group has given heraldd its partitions (/readyz 200): the
        system's librdkafka (2.0.2) aborts in rd_kafka_destroy when a cooperative-sticky consumer
        is destroyed before its first assignment (librdkafka issue #4312, fixed in 2.3.0), which
        a restart right after a kill -9 can reach when no new message comes. Returns the exit
        status."""
        wait_for(lambda: self.h.get("/readyz")[0] == 200, 60, "heraldd ready (group joined)")
        return self.h.stop()

    def produce(self, items):
        kafka.produce(self.t["items"], items, key=lambda _, d: d["id"])

    # ---- what the simulator saw -------------------------------------------------------------

    def log(self, path=None):
        entries = self.sim.control("weibo", "GET", "received?log=1000")["log"]
        return [e for e in entries if path is None or e["path"] == path]

    def posts(self):
        return self.sim.state("weibo")["posts"]

    def received(self):
        return self.sim.received("weibo")

    def clock(self, advance_s):
        return self.sim.clock("weibo", advance_s)

    # ---- what the store says -------------------------------------------------------------------

    def delivery(self, item_id, instance=WEIBO):
        rows = self.h.query("SELECT state, reason, detail, attempts, remote_id, remote_url, "
                            "adapter_state FROM deliveries WHERE item_id=? AND instance=?",
                            (item_id, instance))
        if not rows:
            return None
        keys = ("state", "reason", "detail", "attempts", "remote_id", "remote_url",
                "adapter_state")
        return dict(zip(keys, rows[0]))

    def state_of(self, item_id, instance=WEIBO):
        d = self.delivery(item_id, instance)
        return d and d["state"]

    def attempts(self, item_id, instance=WEIBO):
        return self.h.query(
            "SELECT a.kind, a.outcome, a.reason, a.platform_code, a.started_at, a.message "
            "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.item_id = ? AND d.instance = ? ORDER BY a.id", (item_id, instance))

    def wait_state(self, item_id, state, timeout=30, instance=WEIBO):
        def reached():
            d = self.delivery(item_id, instance)
            if not d or d["state"] != state:
                raise NotYet(repr(d))
            return d
        return wait_for(reached, timeout, "%s of %s to be %s" % (instance, item_id, state))

    def portal_url(self, item_id):
        return self.delivery(item_id, "website:portal")["remote_url"]

    def api(self, method, path, body=None):
        return http_call(method, self.h.admin_url() + path, body,
                         headers={"Authorization": "Bearer " + ADMIN_TOKEN})


def item(item_id, **over):
    """A reviewed item whose portal column has an ASCII path, as the district's portal uses."""
    over.setdefault("column", "zwgk/tzgg")
    return make_item(item_id, **over)


class PictureServer:
    """Serves fixed bytes at /<name> from a thread of the test (the images an item points to)."""

    def __init__(self, files):
        self.files = dict(files)
        self.hits = []
        files_ref, hits = self.files, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                data = files_ref.get(self.path.lstrip("/"))
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.server.server_address[1], name)

    def image(self, name, media_type, sha=None):
        data = self.files[name]
        return {"url": self.url(name), "media_type": media_type, "size": len(data),
                "sha256": sha or hashlib.sha256(data).hexdigest()}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def status_states(topic, instance, item_id, total_events, timeout=30):
    """The states one delivery went through, read from the status topic with the tests' own
    Kafka client once `total_events` events (of every delivery) are there."""
    recs = kafka.consume(topic, total_events, timeout=timeout)
    evs = sorted({(e["seq"], e["state"]) for e in (json.loads(r.value) for r in recs)
                  if e.get("instance") == instance and e.get("item_id") == item_id})
    return [s for _, s in evs]
