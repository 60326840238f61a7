"""The operator tests' setup: one heraldd with three named admin tokens (viewer, operator, admin),
herald-sim's webhook and website simulators as its channels, its own topics on the test broker,
and helpers that speak the admin API over real HTTP and run heraldctl.

Items come from seeds/items (the district's example items), re-stamped as approved now, so
what the tests and the dashboard's screenshot show is what the office would see.
"""

import copy
import datetime
import json
import os
import subprocess
from pathlib import Path

from herald_test import kafka
from herald_test.herald import BUILD, SOURCE, Herald, Sim, http, webhook_channel, website_channel
from herald_test.items import TZ, review
from herald_test.procs import NotYet, wait_for

HERALDCTL = BUILD / "tools" / "heraldctl" / "heraldctl"

# name -> (role, token); tokens are >= 16 characters (config.c refuses shorter ones)
TOKENS = {
    "watch": ("viewer", "viewer-3f9a1c7e52b84d06a1e9"),
    "desk": ("operator", "operator-8c2e5b7d41f04a93be17"),
    "root": ("admin", "admin-d4a7e0c93b6f4e21a85c"),
}


def seed_items():
    """The seed items that publish (no retraction; the first version of each id), as they are;
    restamp() makes one ready to produce."""
    out, seen = [], set()
    for f in sorted((SOURCE / "seeds" / "items").glob("*.json")):
        doc = json.loads(f.read_text())
        if doc.get("action") != "publish" or doc["id"] in seen:
            continue
        seen.add(doc["id"])
        out.append(doc)
    return out


def restamp(doc, minutes_ago=5, item_id=None, version=None):
    d = copy.deepcopy(doc)
    approved = datetime.datetime.now(TZ) - datetime.timedelta(minutes=minutes_ago)
    d["approved_at"] = approved.isoformat(timespec="seconds")
    d["review"] = review(approved)
    d.pop("targets", None)
    d.pop("schedule", None)
    d.pop("related", None)
    if item_id:
        d["id"] = item_id
    if version:
        d["version"] = version
    return d


class Env:
    """herald-sim + heraldd (webhook:ops and website:portal, every item to both)."""

    def __init__(self, workdir, bootstrap, prefix, webhook=None, website=None, extra=None,
                 log_level="info"):
        self.workdir = Path(workdir)
        self.topics = {k: kafka.unique_name("%s-%s" % (prefix, k))
                       for k in ("items", "status", "dlq")}
        kafka.create_topic(self.topics["items"], partitions=4)
        kafka.create_topic(self.topics["status"], partitions=3)
        kafka.create_topic(self.topics["dlq"], partitions=1)
        self.sim = Sim(self.workdir).start()
        refs = []
        for name, (role, token) in TOKENS.items():
            p = self.workdir / ("token-%s" % name)
            p.write_text(token + "\n")
            os.chmod(p, 0o600)
            refs.append("%s:%s:file:%s" % (name, role, p))
        ex = {"admin": {"listen": "127.0.0.1:0", "tokens": refs},
              "daemon": {"log_level": log_level}}
        for k, v in (extra or {}).items():
            ex.setdefault(k, {}).update(v)
        self.h = Herald(self.workdir, bootstrap, self.topics,
                        {"webhook:ops": webhook_channel(self.sim, **(webhook or {})),
                         "website:portal": website_channel(self.sim, **(website or {}))},
                        [{"name": "all", "to": ["webhook:ops", "website:portal"]}], extra=ex)
        self.base = None

    def start(self):
        self.h.start()
        self.base = self.h.admin_url()
        wait_for(lambda: self.h.get("/readyz")[0] == 200, 60, "heraldd ready (group joined)")
        return self

    # ---- the API ----------------------------------------------------------------------------

    def api(self, method, path, token="desk", body=None, headers=None, raw=None):
        """(status, JSON or text) of one API call; token is a TOKENS name, a literal string
        (a wrong token), or None (no Authorization header)."""
        hdrs = dict(headers or {})
        if token is not None:
            tok = TOKENS[token][1] if token in TOKENS else token
            hdrs["Authorization"] = "Bearer " + tok
        data = raw if raw is not None else body
        return http(method, self.base + path, data, hdrs)

    def get(self, path, token="watch"):
        status, out = self.api("GET", path, token)
        assert status == 200, (path, status, out)
        return out

    def post(self, path, body=None, token="desk", expect=200):
        status, out = self.api("POST", path, token, body if body is not None else {})
        assert status == expect, (path, status, out)
        return out

    # ---- items and state --------------------------------------------------------------------

    def produce(self, docs):
        return kafka.produce(self.topics["items"], docs, key=lambda _, d: d["id"])

    def produce_raw(self, values):
        return kafka.produce(self.topics["items"], values)

    def wait_states(self, want, timeout=60):
        """Wait until the store's deliveries have at least these {state: count}."""
        def ok():
            have = self.h.states()
            for s, n in want.items():
                if have.get(s, 0) < n:
                    raise NotYet("have %r" % have)
            return have

        return wait_for(ok, timeout, "deliveries %r" % want)

    def delivery(self, item_id, channel):
        rows = self.h.query("SELECT id, state FROM deliveries WHERE item_id=? AND instance=?"
                            " ORDER BY version DESC LIMIT 1", (item_id, channel))
        return rows[0] if rows else None

    # ---- heraldctl --------------------------------------------------------------------------

    def ctl(self, *args, token="desk", stdin=None, env=None, use_env=True, timeout=30):
        """Run heraldctl; returns CompletedProcess (text). The server and token come from the
        environment (HERALD_URL, HERALD_TOKEN_FILE) unless use_env is False."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        e["HOME"] = str(self.workdir)  # no user config file leaks in
        e["LANG"] = "C.UTF-8"
        if use_env:
            e["HERALD_URL"] = self.base
            if token:
                e["HERALD_TOKEN_FILE"] = str(self.workdir / ("token-%s" % token))
        e.update(env or {})
        return subprocess.run([str(HERALDCTL)] + [str(a) for a in args], input=stdin,
                              capture_output=True, text=True, env=e, timeout=timeout)
