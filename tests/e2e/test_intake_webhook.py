"""Milestone 1: intake -> store -> webhook and website, end to end against the real broker.

Items produced with an independent client (kafka-python) reach both simulators exactly once per
delivery; malformed messages land on the dead-letter topic with their reason and original bytes
and are recorded as rejected; every state change is on the status topic, in order per delivery.
"""

import json

from herald_test import kafka
from herald_test.herald import Herald, Sim, webhook_channel, website_channel
from herald_test.items import encode, make_item
from herald_test.procs import NotYet, wait_for

N = 60


def topics():
    t = {k: kafka.unique_name("e2e-basic-" + k) for k in ("items", "status", "dlq")}
    kafka.create_topic(t["items"], partitions=8)
    kafka.create_topic(t["status"], partitions=4)
    kafka.create_topic(t["dlq"], partitions=2)
    return t


MALFORMED = [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe\x00garbage", "invalid_utf8"),
    (b"[1,2,3]", "not_an_object"),
    (json.dumps({"schema": "herald.item/v2", "id": "x"}).encode(), "unsupported_schema"),
    (encode(make_item("e2e-bad-review", review=[])), "review_incomplete"),
]


def test_items_flow_to_both_channels(kafka_bootstrap, tmp_workdir):
    t = topics()
    sim = Sim(tmp_workdir).start()
    h = Herald(tmp_workdir, kafka_bootstrap, t,
               {"webhook:ops": webhook_channel(sim), "website:portal": website_channel(sim)},
               [{"name": "all", "to": ["webhook:ops", "website:portal"]}]).start()

    ids = ["e2e-basic-%03d" % i for i in range(N)]
    kafka.produce(t["items"], [make_item(i) for i in ids], key=lambda _, d: d["id"])
    kafka.produce(t["items"], [m for m, _ in MALFORMED])

    wait_for(lambda: sim.applied("webhook") == N and sim.applied("website") == N, 60,
             "every item applied once on both simulators")
    wait_for(lambda: h.count("delivered") == 2 * N, 30, "all deliveries recorded delivered")
    rx = sim.received("webhook")
    assert rx["duplicates"] == 0
    assert sorted(k.split(":")[1] for k in rx["by_key"]) == sorted(ids)

    # the portal URL is the website delivery's remote URL
    url = h.query("SELECT remote_url FROM deliveries WHERE instance='website:portal' LIMIT 1")
    assert url[0][0].startswith("https://www.yuexiu.gov.cn/")

    # dead letters: original bytes, reason and source in headers, recorded in the store
    dlq = kafka.consume(t["dlq"], len(MALFORMED), timeout=30)
    assert len(dlq) == len(MALFORMED)
    by_value = {r.value: r for r in dlq}
    for raw, code in MALFORMED:
        r = by_value[raw]
        assert r.headers["herald-error"] == code.encode(), (raw, r.headers)
        assert r.headers["herald-detail"]
        assert r.headers["herald-source-topic"] == t["items"].encode()
        assert int(r.headers["herald-source-offset"]) >= 0
        assert b"herald-rejected-at" in [k.encode() for k in r.headers]
    rej = h.query("SELECT reason, sent FROM rejections ORDER BY id")
    assert sorted(r[0] for r in rej) == sorted(c for _, c in MALFORMED)
    wait_for(lambda: all(s for (s,) in h.query("SELECT sent FROM rejections")), 20,
             "rejections marked sent")

    # status events: pending -> sending -> delivered, seq 1..3, for every delivery, all of them
    # in the topic once the outbox is empty
    def outbox_empty():
        n = h.query("SELECT COUNT(*) FROM outbox")[0][0]
        if n:
            raise NotYet("%d rows" % n)
        return True

    wait_for(outbox_empty, 20, "the outbox to drain after the broker acknowledged")
    events = kafka.consume_all(t["status"], timeout=30)
    per = {}
    for r in events:
        ev = json.loads(r.value)
        per.setdefault(ev["delivery"], []).append((ev["seq"], ev["state"]))
    assert len(per) == 2 * N
    for name, evs in per.items():
        states = [s for _, s in sorted(set(evs))]
        assert states == ["pending", "sending", "delivered"], (name, evs)
    assert h.stop() == 0


def test_duplicate_messages_change_nothing(kafka_bootstrap, tmp_workdir):
    t = topics()
    sim = Sim(tmp_workdir).start()
    h = Herald(tmp_workdir, kafka_bootstrap, t, {"webhook:ops": webhook_channel(sim)},
               [{"name": "all", "to": ["webhook:ops"]}]).start()
    doc = make_item("e2e-dup-1")
    kafka.produce(t["items"], [doc, doc, doc], key=lambda _, d: d["id"])
    wait_for(lambda: h.count("delivered") == 1, 30, "one delivery")
    wait_for(lambda: h.query("SELECT COUNT(*) FROM items")[0][0] == 1, 10, "one item row")
    assert sim.applied("webhook") == 1
    assert h.stop() == 0
