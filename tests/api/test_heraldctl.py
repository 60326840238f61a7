"""heraldctl against a running heraldd: every command, its exit code (0 ok, 1 usage, 2 not found,
3 refused, 4 auth, 5 unreachable), --json for scripts, tables aligned by display width with
Chinese text, --help per command, where the server and token come from (flags, environment,
settings file), and credentials read from stdin, never from the command line."""

import csv
import io
import json
import os
import unicodedata

from apienv import HERALDCTL, Env, restamp, seed_items
from herald_test.herald import SECRET
from herald_test.procs import wait_for

COMMANDS = ["status", "items", "show", "deliveries", "retry", "cancel", "release", "resolve",
            "retract", "pause", "resume", "unpark", "dlq", "credentials", "report", "audit"]


def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in s)


def col(line, needle):
    """Display column where needle starts in line."""
    i = line.index(needle)
    return width(line[:i])


def ok(r):
    assert r.returncode == 0, (r.args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def code(r, want):
    assert r.returncode == want, (r.args, r.returncode, r.stdout, r.stderr)
    return r


def test_heraldctl(kafka_bootstrap, tmp_workdir):
    assert HERALDCTL.exists(), "build heraldctl first (tools/heraldctl)"
    env = Env(tmp_workdir, kafka_bootstrap, "ctl", webhook={"max_attempts": 1}).start()
    docs = [restamp(d, minutes_ago=30 - i) for i, d in enumerate(seed_items()[:6])]
    env.produce(docs[:5])
    env.wait_states({"delivered": 10})
    env.sim.faults("webhook", fail_next=1, status=503)
    env.produce([docs[5]])
    env.wait_states({"failed": 1})
    env.sim.faults("webhook", fail_next=0)
    env.produce_raw([b"{bad json"])
    wait_for(lambda: env.get("/api/v1/dead-letters/rejections")["rejections"], 20, "rejection")

    # ---- usage and help ---------------------------------------------------------------------
    code(env.ctl(), 1)
    code(env.ctl("frobnicate"), 1)
    code(env.ctl("items", "--bogus"), 1)
    code(env.ctl("items", "--limit"), 1)
    assert "Commands:" in ok(env.ctl("--help"))
    for c in COMMANDS:
        out = ok(env.ctl(c, "--help"))
        assert out.startswith("usage: heraldctl %s" % c), out
        assert "Exit codes" in out
        assert ok(env.ctl("help", c)) == out
    assert ok(env.ctl("--version")).startswith("heraldctl ")

    # ---- status -------------------------------------------------------------------------------
    out = ok(env.ctl("status"))
    assert "ready" in out and "webhook:ops" in out and "website:portal" in out
    assert "1 delivery(ies) failed" in out
    st = json.loads(ok(env.ctl("status", "--json")))
    assert {c["id"] for c in st["channels"]} == {"webhook:ops", "website:portal"}
    assert json.loads(ok(env.ctl("--json", "status")))["version"] == st["version"]

    # ---- items: a table aligned by display width, --json, filters, paging -----------------------
    out = ok(env.ctl("items"))
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 7
    tcol = col(lines[0], "TITLE")
    for d in docs:
        line = next(x for x in lines if x.startswith(d["id"] + " "))
        assert col(line, d["title"]) == tcol, (line, d["title"])
        assert col(line, d["publisher"]["name"]) == col(lines[0], "PUBLISHER")
    items = json.loads(ok(env.ctl("items", "--json")))
    assert [i["id"] for i in items] == [d["id"] for d in reversed(docs)]
    failed_items = json.loads(ok(env.ctl("items", "--state", "failed", "--json")))
    assert [i["id"] for i in failed_items] == [docs[5]["id"]]
    r = ok(env.ctl("items", "--limit", "2"))
    assert len(r.strip().split("\n")) == 3
    everything = json.loads(ok(env.ctl("items", "--limit", "2", "--all", "--json")))
    assert [i["id"] for i in everything] == [i["id"] for i in items]
    assert json.loads(ok(env.ctl("items", "--search", "电梯", "--json"))) == [
        i for i in items if "电梯" in i["title"]]
    code(env.ctl("items", "--limit", "9999"), 3)
    code(env.ctl("items", "--state", "bogus"), 3)

    # ---- show, deliveries ---------------------------------------------------------------------
    out = ok(env.ctl("show", docs[5]["id"]))
    assert docs[5]["title"] in out and "TIMELINE" in out and "HTTP 503" in out
    assert json.loads(ok(env.ctl("show", docs[5]["id"], "--json")))["item"]["id"] == docs[5]["id"]
    code(env.ctl("show", "no-such-item"), 2)
    code(env.ctl("show"), 1)
    failed = json.loads(ok(env.ctl("deliveries", "--state", "failed", "--json")))
    assert len(failed) == 1 and failed[0]["channel"] == "webhook:ops"
    fid = failed[0]["id"]
    out = ok(env.ctl("deliveries", "--state", "failed"))
    assert "HTTP 503" in out and str(fid) in out

    # ---- actions ----------------------------------------------------------------------------------
    code(env.ctl("retry", "abc"), 1)
    code(env.ctl("retry", "999999"), 2)
    delivered = env.delivery(docs[0]["id"], "webhook:ops")[0]
    code(env.ctl("retry", str(delivered)), 3)
    out = ok(env.ctl("retry", str(fid), "--reason", "重新推送"))
    assert "delivery %d: retried" % fid in out
    wait_for(lambda: env.h.count("failed") == 0 and env.h.count("delivered") == 12, 20,
             "retried delivery delivered")
    code(env.ctl("retract", docs[0]["id"]), 1)  # --reason is required
    code(env.ctl("retract", "no-such-item", "--reason", "x"), 2)
    r = json.loads(ok(env.ctl("retract", docs[0]["id"], "--reason", "内容有误", "--json")))
    assert r["deliveries_affected"] == 2
    code(env.ctl("pause", "webhook:ops", token="watch"), 4)
    assert "paused" in ok(env.ctl("pause", "webhook:ops", "--reason", "对方系统维护"))
    assert json.loads(ok(env.ctl("status", "--json")))["channels"][0]["paused"] is True
    ok(env.ctl("resume", "webhook:ops"))
    code(env.ctl("pause", "nosuch:channel"), 2)
    code(env.ctl("cancel", str(fid)), 1)  # --reason is required
    code(env.ctl("cancel", str(fid), "--reason", "x"), 3)  # delivered: nothing to cancel
    code(env.ctl("unpark", "webhook:ops"), 1)
    ok(env.ctl("unpark", "webhook:ops", "--reason", "平台侧已恢复"))
    out = ok(env.ctl("retry", "--channel", "webhook:ops", "--failed"))
    assert "0 failed delivery(ies) sent again" in out
    code(env.ctl("retry", "--failed"), 1)

    # ---- dead letters --------------------------------------------------------------------------
    out = ok(env.ctl("dlq", "list"))
    rid = env.get("/api/v1/dead-letters/rejections")["rejections"][0]["id"]
    assert "R%d" % rid in out and "invalid_json" in out
    dl = json.loads(ok(env.ctl("dlq", "list", "--json")))
    assert [x["id"] for x in dl["rejections"]] == [rid] and dl["deliveries"] == []
    out = ok(env.ctl("dlq", "show", "R%d" % rid))
    assert "{bad json" in out and "invalid_json" in out
    code(env.ctl("dlq", "replay", "R%d" % rid), 3)  # rejected again
    code(env.ctl("dlq", "replay", "X1"), 1)
    code(env.ctl("dlq", "replay", "R999999"), 2)
    code(env.ctl("dlq", "replay"), 1)
    code(env.ctl("dlq", "replay", "--all-rejections"), 3)
    code(env.ctl("dlq"), 1)

    # ---- credentials: stdin (or a file), never argv; admin only ---------------------------------
    code(env.ctl("credentials", "set", "website:portal", "secret", SECRET, "--reason", "r"), 1)
    code(env.ctl("credentials", "set", "website:portal", "secret", "--reason", "轮换",
                 stdin=SECRET + "\n"), 4)
    out = ok(env.ctl("credentials", "set", "website:portal", "secret", "--reason", "轮换",
                     token="root", stdin=SECRET + "\n"))
    assert "website:portal: secret replaced" in out
    secret_file = env.workdir / "new-secret"
    secret_file.write_text(SECRET + "\n")
    ok(env.ctl("credentials", "set", "website:portal", "secret", "--reason", "轮换",
               "--from-file", secret_file, token="root"))
    code(env.ctl("credentials", "set", "website:portal", "url", "--reason", "r", token="root",
                 stdin="http://x"), 3)
    code(env.ctl("credentials", "set", "website:portal", "secret", "--reason", "r",
                 token="root", stdin=""), 1)

    # ---- report ------------------------------------------------------------------------------------
    year = st["now"][:4]
    out = ok(env.ctl("report", "--year", year))
    assert "BY PUBLISHING UNIT" in out and docs[1]["publisher"]["name"] in out
    rows = list(csv.reader(io.StringIO(ok(env.ctl("report", "--year", year, "--csv")))))
    assert rows[0][:4] == ["section", "key", "name", "items"]
    total = next(r for r in rows if r[0] == "total")
    assert total[1] == year and total[3] == "6"
    assert ok(env.ctl("report", "--year", year, "--csv", "--bom")).startswith("\ufeff")
    rep = json.loads(ok(env.ctl("report", "--year", year, "--json")))
    assert rep["totals"]["items"] == 6
    code(env.ctl("report"), 1)
    code(env.ctl("report", "--year", "19"), 3)

    # ---- audit ----------------------------------------------------------------------------------------
    out = ok(env.ctl("audit"))
    for what in ("retry", "retract", "pause", "resume", "credentials", "replay", "unpark"):
        assert what in out, what
    assert "重新推送" in out and "desk" in out and "root" in out

    # ---- where the server and token come from ------------------------------------------------------
    tokfile = env.workdir / "token-desk"
    code(env.ctl("status", use_env=False), 5)  # nothing set: the default port has no server here
    r = code(env.ctl("status", use_env=False, env={"HERALD_URL": env.base}), 4)
    assert "no token" in r.stderr
    ok(env.ctl("status", use_env=False, env={"HERALD_URL": env.base,
                                             "HERALD_TOKEN_FILE": str(tokfile)}))
    ok(env.ctl("--url", env.base, "--token-file", tokfile, "status", use_env=False))
    ok(env.ctl("status", "--url", env.base, "--token-file", tokfile, use_env=False))
    # flags beat the environment
    ok(env.ctl("status", "--url", env.base, env={"HERALD_URL": "http://127.0.0.1:1"}))
    code(env.ctl("status", "--url", "http://127.0.0.1:1"), 5)
    # the settings file
    conf = env.workdir / ".config" / "herald" / "heraldctl.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("# heraldctl settings\nurl = %s\ntoken_file = %s\ntimeout = 20\n"
                    % (env.base, tokfile))
    ok(env.ctl("status", use_env=False))
    code(env.ctl("status", use_env=False, env={"HERALD_URL": "http://127.0.0.1:1"}), 5)
    conf.write_text("url %s\n" % env.base)
    r = code(env.ctl("status", use_env=False), 1)
    assert "heraldctl.conf:1" in r.stderr
    conf.write_text("colour = blue\n")
    code(env.ctl("status", use_env=False), 1)
    other = env.workdir / "other.conf"
    other.write_text("url = %s\ntoken_file = %s\n" % (env.base, tokfile))
    ok(env.ctl("--config", other, "status", use_env=False))
    code(env.ctl("--config", env.workdir / "missing.conf", "status", use_env=False), 1)
    conf.unlink()
    # a token file others can read gets a warning; a missing one is an auth problem
    loose = env.workdir / "loose-token"
    loose.write_text(tokfile.read_text())
    os.chmod(loose, 0o644)
    r = env.ctl("status", "--token-file", loose)
    assert r.returncode == 0 and "chmod 600" in r.stderr
    code(env.ctl("status", "--token-file", env.workdir / "nope"), 4)
    bad = env.workdir / "bad-token"
    bad.write_text("not-the-token-0123456789\n")
    os.chmod(bad, 0o600)
    code(env.ctl("status", "--token-file", bad), 4)
    assert env.h.stop() == 0
