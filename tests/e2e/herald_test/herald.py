"""herald-sim and heraldd as processes under test.

Sim: starts herald-sim with a JSON config, waits for its ports file, and speaks its control API
(/_sim/received, /_sim/faults, /_sim/state, /_sim/clock, /_sim/reset).
Herald: writes a heraldd configuration (JSON, which is YAML), starts heraldd with --ready-file,
reads its store (SQLite, read-only) and its admin API, and can stop it, kill -9 it and restart it.
"""

import json
import os
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

from . import procs

BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
SOURCE = Path(os.environ.get("HERALD_SOURCE_DIR", "."))
HERALDD = BUILD / "src" / "heraldd"
HERALD_SIM = BUILD / "sim" / "herald-sim"

SECRET = "e2e-secret-0123456789abcdef-0123456789"


def http(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON or text) of one request; never raises on an HTTP error status."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Sim:
    def __init__(self, workdir, config=None, only=None):
        self.workdir = Path(workdir)
        self.config = config or {}
        for name in ("webhook", "website"):
            self.config.setdefault(name, {}).setdefault("secret", SECRET)
        # only the simulators this test configures (others may need settings of their own)
        self.only = only or sorted(self.config)
        self.proc = None
        self.urls = {}

    def start(self, timeout=20):
        cfg = self.workdir / "sim.json"
        ports = self.workdir / "sim-ports.json"
        if ports.exists():
            ports.unlink()
        cfg.write_text(json.dumps(self.config))
        cmd = [HERALD_SIM, "--config", cfg, "--ports-file", ports]
        if self.only:
            cmd += ["--only", ",".join(self.only)]
        self.proc = procs.Proc(cmd, self.workdir, name="herald-sim")
        self.urls = json.loads(procs.wait_file(ports, timeout, "herald-sim ports file"))
        return self

    def url(self, name):
        return self.urls[name]

    def control(self, name, method, path, body=None):
        status, out = http(method, self.urls[name] + "/_sim/" + path, body)
        assert status == 200, "sim %s %s %s: %s %r" % (name, method, path, status, out)
        return out

    def received(self, name):
        return self.control(name, "GET", "received")

    def faults(self, name, **knobs):
        return self.control(name, "POST", "faults", knobs)

    def state(self, name):
        return self.control(name, "GET", "state")

    def clock(self, name, advance_s):
        return self.control(name, "POST", "clock", {"advance_s": advance_s})

    def applied(self, name):
        return self.received(name)["applied"]


class Herald:
    """One heraldd with its own state dir and configuration."""

    def __init__(self, workdir, bootstrap, topics, channels, rules, extra=None, name="heraldd"):
        self.workdir = Path(workdir)
        self.name = name
        self.state_dir = self.workdir / ("%s-state" % name)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        secret = self.workdir / "secret"
        secret.write_text(SECRET + "\n")
        self.secret_ref = "file:%s" % secret
        self.config = {
            "daemon": {"state_dir": str(self.state_dir), "drain_timeout": "5s",
                       "log_level": "info"},
            "kafka": {
                "brokers": bootstrap,
                "group_id": topics["items"] + "-group",
                "items_topic": topics["items"],
                "status_topic": topics["status"],
                "dlq_topic": topics["dlq"],
                "session_timeout": "6s",
            },
            "store": {"commit_interval": "5ms"},
            "admin": {"listen": "127.0.0.1:0"},
            "channels": channels,
            "routing": {"rules": rules},
        }
        for section, values in (extra or {}).items():
            self.config.setdefault(section, {}).update(values)
        self.config_path = self.workdir / ("%s.yaml" % name)
        self.ready_path = self.workdir / ("%s.ready" % name)
        self.proc = None
        self.info = None

    @property
    def db_path(self):
        return self.state_dir / "herald.db"

    def write_config(self):
        fill_secrets(self)
        self.config_path.write_text(json.dumps(self.config, ensure_ascii=False, indent=1))

    def start(self, timeout=30):
        self.write_config()
        if self.ready_path.exists():
            self.ready_path.unlink()
        self.proc = procs.Proc(
            [HERALDD, "-c", self.config_path, "--ready-file", self.ready_path],
            self.workdir, name=self.name)
        self.info = json.loads(procs.wait_file(self.ready_path, timeout, "heraldd ready file"))
        return self

    def stop(self, timeout=30):
        return self.proc.stop(timeout)

    def kill9(self):
        return self.proc.kill9()

    def admin_url(self):
        return self.info["admin"]

    def get(self, path, token=None):
        headers = {"Authorization": "Bearer " + token} if token else None
        return http("GET", self.admin_url() + path, headers=headers)

    def query(self, sql, args=()):
        """Rows of a read-only query on the store (works while heraldd runs: WAL)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            con.execute("PRAGMA busy_timeout=10000")
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def states(self):
        """{state: count} over all deliveries."""
        return dict(self.query("SELECT state, COUNT(*) FROM deliveries GROUP BY state"))

    def count(self, state, instance=None):
        if instance:
            rows = self.query("SELECT COUNT(*) FROM deliveries WHERE state=? AND instance=?",
                              (state, instance))
        else:
            rows = self.query("SELECT COUNT(*) FROM deliveries WHERE state=?", (state,))
        return rows[0][0]


def webhook_channel(sim, **over):
    ch = {"url": sim.url("webhook") + "/hook", "secret": None, "retry_base": "100ms",
          "retry_cap": "2s", "timeout": "5s"}
    ch.update(over)
    return ch


def website_channel(sim, **over):
    ch = {"url": sim.url("website"), "secret": None, "retry_base": "100ms", "retry_cap": "2s",
          "timeout": "5s"}
    ch.update(over)
    return ch


def fill_secrets(h):
    """Point every channel's secret at the test secret file."""
    for ch in h.config["channels"].values():
        if "secret" in ch and ch["secret"] is None:
            ch["secret"] = h.secret_ref
