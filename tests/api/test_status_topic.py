"""The status topic read by an independent client (kafka-python): every event matches the
schema documented in docs/status-topic.md (the JSON Schema is taken from that page), keys are
item:instance[:target], and per delivery the events are seq 1..n in order, each one's previous
state the state of the one before, the last one the state the store holds."""

import json
import re

import jsonschema

from apienv import Env, restamp, seed_items
from herald_test import kafka
from herald_test.herald import SOURCE
from herald_test.procs import wait_for


def documented_schema():
    text = (SOURCE / "docs" / "status-topic.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    schema = next(json.loads(b) for b in blocks if '"$schema"' in b)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_status_topic_matches_its_documented_schema(kafka_bootstrap, tmp_workdir):
    schema = documented_schema()
    validator = jsonschema.Draft202012Validator(schema)
    env = Env(tmp_workdir, kafka_bootstrap, "status",
              webhook={"max_attempts": 2, "retry_base": "20ms"}).start()
    seeds = seed_items()
    a, b, c, d, e = (restamp(x) for x in seeds[:5])
    # a transient failure, then delivered
    env.sim.faults("webhook", fail_next=1, status=503)
    env.produce([a])
    env.wait_states({"delivered": 2})
    # failed, then an operator's retry
    env.sim.faults("webhook", fail_next=2, status=503)
    env.produce([b])
    env.wait_states({"failed": 1})
    fid = env.delivery(b["id"], "webhook:ops")[0]
    env.post("/api/v1/deliveries/%d/retry" % fid, {"reason": "渠道已恢复"})
    # an embargo released by hand
    c["schedule"] = {"not_before": "2099-01-01T00:00:00+08:00"}
    env.produce([c])
    env.wait_states({"held": 2})
    for ch in ("webhook:ops", "website:portal"):
        env.post("/api/v1/deliveries/%d/release" % env.delivery(c["id"], ch)[0], {})
    # a correction (version 2) and a retraction
    env.produce([d])
    env.wait_states({"delivered": 8})
    env.produce([dict(d, version=2, title=d["title"] + "（更正）")])
    env.produce([e])
    # (the correction updates in place: version 1 of that item is superseded, reason updated)
    wait_for(lambda: env.h.count("delivered") >= 10 and env.h.count("superseded") >= 2, 30,
             "everything delivered")
    env.post("/api/v1/items/%s/retract" % e["id"], {"reason": "撤回"})
    wait_for(lambda: env.h.count("retracted") == 2, 30, "retraction done")

    # what the store says: every delivery, its last seq and state
    rows = env.h.query("SELECT id, item_id, version, instance, target, state, seq, attempts"
                       " FROM deliveries")
    store = {r[0]: r for r in rows}
    want = sum(r[6] for r in rows)
    wait_for(lambda: env.h.query("SELECT COUNT(*) FROM outbox")[0][0] == 0, 30, "outbox drained")
    recs = kafka.consume_all(env.topics["status"], timeout=60)

    per = {}
    for r in sorted(recs, key=lambda r: (r.partition, r.offset)):
        ev = json.loads(r.value.decode("utf-8"))
        errors = sorted(validator.iter_errors(ev), key=str)
        assert not errors, (ev, [e.message for e in errors])
        row = store[ev["delivery_id"]]
        _, item, version, inst, target, _, _, _ = row
        assert r.key.decode() == ("%s:%s:%s" % (item, inst, target) if target
                                  else "%s:%s" % (item, inst))
        assert ev["delivery"] == ":".join([item, str(version), inst] + ([target] if target
                                                                         else []))
        assert (ev["item_id"], ev["version"], ev["instance"], ev["target"]) == \
            (item, version, inst, target)
        assert not r.headers
        seen = per.setdefault(ev["delivery_id"], [])
        if any(x["seq"] == ev["seq"] for x in seen):
            continue  # a re-published duplicate: consumers dedupe by (delivery, seq)
        assert not seen or ev["seq"] > seen[-1]["seq"], "seq out of order for %s" % ev["delivery"]
        seen.append(ev)

    assert set(per) == set(store)
    for did, evs in per.items():
        row = store[did]
        assert [x["seq"] for x in evs] == list(range(1, row[6] + 1)), evs
        assert evs[0]["previous"] == "none"
        for prev, cur in zip(evs, evs[1:]):
            assert cur["previous"] == prev["state"], (prev, cur)
            assert cur["at"] >= prev["at"]
        assert evs[-1]["state"] == row[5] and evs[-1]["attempts"] == row[7]
        for x in evs:
            assert ("hold" in x) == (x["state"] == "held"), x
            if x["state"] == "waiting_retry":
                assert x["next_at"] > x["at"] and x["reason"] == "http_503"
            if x["state"] == "delivered" and x["instance"] == "website:portal":
                assert x["url"].startswith("https://") and x["remote_id"]

    def states(item, inst):
        return [(x["state"], x.get("reason"), x.get("detail"))
                for did, evs in per.items() if store[did][1] == item and store[did][3] == inst
                for x in evs]

    sa = [s for s, _, _ in states(a["id"], "webhook:ops")]
    assert sa == ["pending", "sending", "waiting_retry", "pending", "sending", "delivered"]
    sb = states(b["id"], "webhook:ops")
    assert ("pending", "operator_retry", "渠道已恢复") in sb and sb[-1][0] == "delivered"
    sc = states(c["id"], "website:portal")
    assert sc[0][0] == "held" and sc[1][1] == "operator_release" and sc[-1][0] == "delivered"
    assert [x["hold"] for did, evs in per.items() if store[did][1] == c["id"]
            for x in evs if x["state"] == "held"] == ["embargo", "embargo"]
    versions = {store[did][2] for did in per if store[did][1] == d["id"]}
    assert versions == {1, 2}
    se = [s for s, _, _ in states(e["id"], "website:portal")]
    assert se[-2:] == ["retracting", "retracted"]
    assert env.h.stop() == 0
