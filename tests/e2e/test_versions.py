"""Milestone 3: versions, retractions, time windows, dependencies — the ordering contract of
DESIGN.md ("Ordering per item", "Dependencies", time windows), end to end through Kafka, the
store and the webhook and website simulators.
"""

from herald_test import kafka
from herald_test.herald import Herald, Sim, http, webhook_channel, website_channel
from herald_test.items import at, make_item, retract_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics


def start(workdir, bootstrap, prefix, channels=None, rules=None):
    t = topics(prefix)
    sim = Sim(workdir).start()
    chans = {
        "website:portal": website_channel(sim),
        "webhook:ops": webhook_channel(sim),
    }
    if channels:
        for name, over in channels.items():
            base = website_channel(sim) if name.startswith("website") else webhook_channel(sim)
            over = dict(over)
            path = over.pop("path", None)
            if path:
                base["url"] = sim.url("webhook") + path
            base.update(over)
            chans[name] = base
    h = Herald(workdir, bootstrap, t, chans,
               rules or [{"name": "all", "to": sorted(chans)}]).start()
    return t, sim, h


def state_of(h, item, version, instance):
    rows = h.query("SELECT state, reason FROM deliveries WHERE item_id=? AND version=? AND"
                   " instance=?", (item, version, instance))
    return rows[0] if rows else None


def wait_state(h, item, version, instance, state, timeout=30):
    def ok():
        s = state_of(h, item, version, instance)
        if not s or s[0] != state:
            raise NotYet(s)
        return s

    return wait_for(ok, timeout, "%s:%s on %s to be %s" % (item, version, instance, state))


def produce(t, *docs):
    kafka.produce(t["items"], list(docs), key=lambda _, d: d["id"])


def test_revision_updates_and_supersedes(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-rev")
    produce(t, make_item("rev-1", 1))
    wait_state(h, "rev-1", 1, "website:portal", "delivered")
    wait_state(h, "rev-1", 1, "webhook:ops", "delivered")
    doc_id = sim.state("website")["documents"]["rev-1"]["cms_doc_id"]
    produce(t, make_item("rev-1", 2, title="关于rev-1的通知（修订）"))
    wait_state(h, "rev-1", 2, "website:portal", "delivered")
    wait_state(h, "rev-1", 2, "webhook:ops", "delivered")
    stored = sim.state("website")["documents"]["rev-1"]
    assert stored["revision"] == 2 and stored["cms_doc_id"] == doc_id, "updated in place"
    assert sim.state("webhook")["items"]["rev-1"]["version"] == 2
    # version 1 was replaced in place: one delivered row per slot
    assert state_of(h, "rev-1", 1, "website:portal") == ("superseded", "updated")
    # a lower version arriving late is recorded superseded and sent nowhere
    produce(t, make_item("rev-1", 1, title="迟到的旧版本"))
    applied = sim.applied("website")
    produce(t, make_item("rev-1", 3))
    wait_state(h, "rev-1", 3, "website:portal", "delivered")
    assert sim.applied("website") == applied + 1
    assert h.query("SELECT COUNT(*) FROM deliveries WHERE item_id='rev-1' AND version=1")[0][0] == 2
    assert h.stop() == 0


def test_newer_version_supersedes_an_undelivered_one(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-sup", channels={
        "webhook:ops": {"retry_base": "1s", "retry_cap": "2s", "max_attempts": 50}})
    sim.faults("webhook", fail_next=1000, status=503, match="/hook")
    produce(t, make_item("sup-1", 1))
    wait_state(h, "sup-1", 1, "webhook:ops", "waiting_retry")
    produce(t, make_item("sup-1", 2))
    s = wait_state(h, "sup-1", 1, "webhook:ops", "superseded")
    assert s[1] == "newer_version"
    sim.faults("webhook", fail_next=0)
    wait_state(h, "sup-1", 2, "webhook:ops", "delivered", timeout=60)
    items = sim.state("webhook")["items"]
    assert items["sup-1"]["version"] == 2
    assert sim.applied("webhook") == 1, "version 1 never reached the channel"
    assert h.stop() == 0


def test_retract_withdraws_and_leaves_a_tombstone(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-ret")
    produce(t, make_item("ret-1", 1))
    wait_state(h, "ret-1", 1, "website:portal", "delivered")
    wait_state(h, "ret-1", 1, "webhook:ops", "delivered")
    produce(t, retract_item("ret-1", 2))
    wait_state(h, "ret-1", 1, "website:portal", "retracted")
    wait_state(h, "ret-1", 1, "webhook:ops", "retracted")
    assert "ret-1" not in sim.state("website")["documents"]
    assert "ret-1" not in sim.state("webhook")["items"]
    # a retraction of an unknown item leaves a tombstone: a late publish of that version or a
    # lower one goes nowhere, a higher version (a correction) publishes again
    produce(t, retract_item("ret-2", 5))
    wait_for(lambda: h.query("SELECT retracted_version FROM item_heads WHERE item_id='ret-2'"),
             30, "tombstone")
    # (version 5 is the retraction's own version: the same (id, version) again, a duplicate)
    produce(t, make_item("ret-2", 4), make_item("ret-2", 5))
    wait_for(lambda: h.query("SELECT state FROM items WHERE item_id='ret-2' AND version=4"),
             30, "the late version recorded")
    assert h.query("SELECT state FROM items WHERE item_id='ret-2' ORDER BY version") == [
        ("superseded",), ("retract",)]
    assert h.query("SELECT COUNT(*) FROM deliveries WHERE item_id='ret-2'")[0][0] == 0
    produce(t, make_item("ret-2", 6))
    wait_state(h, "ret-2", 6, "website:portal", "delivered")
    # retracting before delivery: the pending deliveries are superseded, nothing is sent
    sim.faults("webhook", fail_next=1000, status=503, match="/hook")
    produce(t, make_item("ret-3", 1))
    wait_state(h, "ret-3", 1, "webhook:ops", "waiting_retry")
    produce(t, retract_item("ret-3", 2))
    wait_state(h, "ret-3", 1, "webhook:ops", "superseded")
    sim.faults("webhook", fail_next=0)
    assert h.stop() == 0


def test_on_revision_ignore_and_retract_and_republish(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-onrev", channels={
        "webhook:ign": {"on_revision": "ignore"},
        "webhook:rr": {"on_revision": "retract_and_republish", "path": "/rr"},
    }, rules=[{"name": "two", "to": ["webhook:ign", "webhook:rr"]}])
    # (one webhook simulator stores one copy per item id: only these two instances use it)
    produce(t, make_item("onrev-1", 1))
    for inst in ("webhook:ign", "webhook:rr"):
        wait_state(h, "onrev-1", 1, inst, "delivered")
    produce(t, make_item("onrev-1", 2))
    s = wait_state(h, "onrev-1", 2, "webhook:ign", "manual_action")
    assert s[1] == "revision_not_applied"
    wait_state(h, "onrev-1", 1, "webhook:rr", "retracted")
    wait_state(h, "onrev-1", 2, "webhook:rr", "delivered")
    log = [e for e in sim.received("webhook")["log"] if e["path"] == "/rr"]
    keys = [e["key"] for e in log]
    assert keys == ["herald:onrev-1:1:webhook:rr", "herald:onrev-1:1:webhook:rr:retract",
                    "herald:onrev-1:2:webhook:rr"], keys
    assert h.stop() == 0


def test_embargo_expiry_and_urgency(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-time", channels={
        "webhook:ops": {"retry_base": "500ms", "retry_cap": "1s", "max_attempts": 100}})
    not_before = at(8)
    produce(t, make_item("emb-1", schedule={"not_before": not_before}))
    s = wait_state(h, "emb-1", 1, "webhook:ops", "held")
    assert s[1] == "embargo"
    assert sim.applied("webhook") == 0
    wait_state(h, "emb-1", 1, "webhook:ops", "delivered", timeout=30)
    sent = h.query("SELECT MIN(a.started_at) FROM attempts a JOIN deliveries d ON d.id ="
                   " a.delivery_id WHERE d.item_id='emb-1' AND d.instance='webhook:ops'")[0][0]
    nb = h.query("SELECT not_before FROM deliveries WHERE item_id='emb-1' AND"
                 " instance='webhook:ops'")[0][0]
    assert sent >= nb, "nothing went out before the embargo ended"
    # expires before it can be delivered: expired, never shown
    sim.faults("webhook", fail_next=1000, status=503, match="/hook")
    produce(t, make_item("exp-1", schedule={"expires_at": at(3)}))
    wait_state(h, "exp-1", 1, "webhook:ops", "expired", timeout=30)
    sim.faults("webhook", fail_next=0)
    assert "exp-1" not in sim.state("webhook")["items"]
    assert h.stop() == 0


def test_urgent_goes_first(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-urg", channels={
        "webhook:ops": {"max_in_flight": 1}})
    h.stop()
    normal = [make_item("urg-n-%02d" % i) for i in range(30)]
    urgent = make_item("urg-u-1", priority="urgent")
    produce(t, *normal, urgent)
    # each send takes 100 ms: the backlog (several fetches, one per partition) is all read
    # while the first few go out
    sim.faults("webhook", latency_ms=100)
    h.start()
    wait_for(lambda: h.count("delivered", "webhook:ops") == 31, 60, "all delivered")
    order = [e["key"] for e in sim.received("webhook")["log"] if e["path"] == "/hook"]
    pos = order.index("herald:urg-u-1:1:webhook:ops")
    assert pos < 5, "the urgent item went out among the first (position %d)" % pos
    assert h.stop() == 0


def test_dependency_and_interpretation(kafka_bootstrap, tmp_workdir):
    t, sim, h = start(tmp_workdir, kafka_bootstrap, "e2e-dep", channels={
        "webhook:ops": {"depends_on": ["website:portal"]},
        "website:portal": {"retry_base": "300ms", "retry_cap": "600ms"}})
    # the portal is slow to accept: the webhook waits for its URL
    sim.faults("website", fail_next=3, status=503)
    produce(t, make_item("dep-1"))
    s = wait_state(h, "dep-1", 1, "webhook:ops", "held")
    assert s[1] == "dependency"
    wait_state(h, "dep-1", 1, "website:portal", "delivered", timeout=30)
    wait_state(h, "dep-1", 1, "webhook:ops", "delivered")
    portal = h.query("SELECT remote_url FROM deliveries WHERE item_id='dep-1' AND"
                     " instance='website:portal'")[0][0]
    status, body = http("GET", sim.url("webhook") + "/items/dep-1")
    assert status == 200
    assert [(d["instance"], d["url"]) for d in body["deps"]] == [("website:portal", portal)]
    # the portal refuses it for good: the dependent fails with reason dependency
    sim.faults("website", fail_next=1, status=400)
    produce(t, make_item("dep-2"))
    s = wait_state(h, "dep-2", 1, "webhook:ops", "failed")
    assert s[1] == "dependency"
    # an interpretation waits for the document it interprets, channel by channel
    sim.faults("website", fail_next=2, status=503)
    produce(t, make_item("interp-1", category="policy_interpretation",
                         related=[{"type": "interprets", "id": "doc-1"}]))
    s = wait_state(h, "interp-1", 1, "website:portal", "held")
    assert s[1] == "interprets"
    produce(t, make_item("doc-1", category="normative_document"))
    wait_state(h, "interp-1", 1, "website:portal", "delivered", timeout=30)
    log = [e["key"] for e in sim.received("website")["log"] if e.get("applied")]
    assert log.index("herald:doc-1:1:website:portal") < log.index(
        "herald:interp-1:1:website:portal")
    assert h.stop() == 0
