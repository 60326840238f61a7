"""Issue 4's "done" criterion with heraldctl alone: an operator finds a failed delivery, sees why
it failed, fixes the channel, retries it and watches it succeed. Twice: a channel outage (the
endpoint answers 503 until it is repaired), and a channel that needs re-authorization (401:
parked until new credentials are set). The browser test (test_dashboard.py) does the same from
the dashboard."""

import json

from apienv import Env, restamp, seed_items
from herald_test.herald import SECRET
from herald_test.procs import NotYet, wait_for


def run(env, *args, **kw):
    r = env.ctl(*args, **kw)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def test_fix_a_failed_delivery_with_heraldctl(kafka_bootstrap, tmp_workdir):
    # (breaker_failures above the attempts made here: an open breaker would hold the retry
    # until its next probe, breaker_reset later; that is the engine's business, not this flow's)
    env = Env(tmp_workdir, kafka_bootstrap, "flow",
              webhook={"max_attempts": 3, "retry_base": "20ms", "breaker_failures": 20}).start()
    docs = [restamp(d) for d in seed_items()[:3]]
    env.produce(docs[:2])
    env.wait_states({"delivered": 4})

    # the webhook endpoint breaks; an item fails there after its attempts
    env.sim.faults("webhook", fail_next=1000, status=503)
    item = docs[2]
    env.produce([item])
    env.wait_states({"failed": 1})

    # 1. the operator sees something is wrong
    out = run(env, "status")
    assert "1 delivery(ies) failed" in out and "degraded" in out
    # 2. finds the failed delivery
    failed = json.loads(run(env, "deliveries", "--state", "failed", "--json"))
    assert len(failed) == 1
    d = failed[0]
    assert d["item_id"] == item["id"] and d["channel"] == "webhook:ops"
    # 3. sees why: the endpoint answered 503 every time
    out = run(env, "show", item["id"])
    assert "attempts_exhausted" in out and "HTTP 503" in out
    assert "3 attempts" in out
    # a retry before the fix fails again -- the reason stays visible
    run(env, "retry", str(d["id"]), "--reason", "先试一次")
    wait_for(lambda: json.loads(run(env, "deliveries", "--item", item["id"], "--json",
                                    "--state", "failed")), 20, "failed again")
    # 4. the channel is fixed (the endpoint is repaired)
    env.sim.faults("webhook", fail_next=0)
    # 5. retry
    out = run(env, "retry", str(d["id"]), "--reason", "对方接口已修复")
    assert "retried (now pending)" in out

    # 6. watch it succeed
    def delivered():
        rows = json.loads(run(env, "deliveries", "--item", item["id"], "--channel",
                              "webhook:ops", "--json"))
        if rows[0]["state"] != "delivered":
            raise NotYet(rows[0]["state"])
        return rows[0]

    done = wait_for(delivered, 30, "the retried delivery delivered")
    assert done["id"] == d["id"]
    out = run(env, "show", item["id"])
    assert "OPERATOR retry by desk: 对方接口已修复" in out
    assert "-> delivered" in out.split("对方接口已修复")[-1]
    assert run(env, "deliveries", "--state", "failed") == "(none)\n"
    assert "ALERTS" not in run(env, "status")
    assert any(item["id"] in k for k in env.sim.received("webhook")["by_key"])
    assert env.h.stop() == 0


def test_reauthorize_a_parked_channel_with_heraldctl(kafka_bootstrap, tmp_workdir):
    env = Env(tmp_workdir, kafka_bootstrap, "flow-auth").start()
    item = restamp(seed_items()[3])
    env.sim.faults("website", fail_next=1, status=401)  # the portal no longer accepts our key
    env.produce([item])

    def parked():
        st = json.loads(run(env, "status", "--json"))
        ch = next(c for c in st["channels"] if c["id"] == "website:portal")
        if not ch["parked"]:
            raise NotYet(ch["health"])
        return st

    st = wait_for(parked, 30, "website parked")
    assert any(a["code"] == "channel_parked" for a in st["alerts"])
    # parked survives a restart: nothing is sent to the portal until someone acts
    assert env.h.stop() == 0
    env.start()
    st = parked()
    out = run(env, "status")
    assert "parked (needs re-authorization)" in out
    rows = json.loads(run(env, "deliveries", "--state", "parked", "--json"))
    assert [r["item_id"] for r in rows] == [item["id"]] and rows[0]["channel"] == "website:portal"
    # an operator may not set secrets; the administrator does, the value from stdin
    r = env.ctl("credentials", "set", "website:portal", "secret", "--reason", "门户重新授权",
                stdin=SECRET + "\n")
    assert r.returncode == 4
    out = run(env, "credentials", "set", "website:portal", "secret", "--reason", "门户重新授权",
              token="root", stdin=SECRET + "\n")
    assert "the channel was parked and is sending again" in out

    def delivered():
        rows = json.loads(run(env, "deliveries", "--item", item["id"], "--json"))
        states = {r["channel"]: r["state"] for r in rows}
        if states.get("website:portal") != "delivered":
            raise NotYet(states)
        return states

    wait_for(delivered, 30, "the parked delivery delivered after new credentials")
    st = json.loads(run(env, "status", "--json"))
    assert not st["alerts"]
    audit = run(env, "audit", "--channel", "website:portal")
    assert "credentials" in audit and "root" in audit
    log = (env.workdir / "heraldd.err").read_text() + (env.workdir / "heraldd.out").read_text()
    assert SECRET not in log
    assert env.h.stop() == 0
