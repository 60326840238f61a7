"""50 malformed messages mixed into valid ones: every malformed one on the dead-letter topic
with its reason, recorded as rejected, every valid one delivered, the daemon alive."""

import json
import random

from herald_test import kafka
from herald_test.items import encode, make_item
from herald_test.procs import wait_for
from herald_test.scenario import two_channels


def malformed(i, rnd):
    good = make_item("e2e-mal-bad-%d" % i)
    kinds = [
        (lambda: b"{\"schema\":", "invalid_json"),
        (lambda: b"\xc3\x28 not utf-8", "invalid_utf8"),
        (lambda: b"\"just a string\"", "not_an_object"),
        (lambda: encode(dict(good, schema="herald.item/v9")), "unsupported_schema"),
        (lambda: encode({k: v for k, v in good.items() if k != "title"}), "missing_field"),
        (lambda: encode(dict(good, version="1")), "wrong_type"),
        (lambda: encode(dict(good, category="gossip")), "invalid_value"),
        (lambda: encode(dict(good, review=good["review"][:2])), "review_incomplete"),
        (lambda: encode(dict(good, surprise=True)), "unknown_field"),
        (lambda: b"{" + b" " * (100 * 1024) + b"}", "oversize"),  # over the 64 KiB set below
    ]
    make, code = kinds[i % len(kinds)]
    return make(), code


def test_fifty_malformed_among_valid(kafka_bootstrap, tmp_workdir):
    rnd = random.Random(7)
    t, sim, h = two_channels(tmp_workdir, kafka_bootstrap, "e2e-mal",
                             extra={"kafka": {"max_message_bytes": "64KiB"}})
    h.start()
    valid = [make_item("e2e-mal-ok-%03d" % i) for i in range(150)]
    bad = [malformed(i, rnd) for i in range(50)]
    stream = [("ok", encode(v), v["id"]) for v in valid] + [("bad", m, None) for m, _ in bad]
    rnd.shuffle(stream)
    kafka.produce(t["items"], [v for _, v, _ in stream],
                  key=lambda i, _: stream[i][2])
    wait_for(lambda: h.count("delivered") == 2 * len(valid), 90, "every valid item delivered")
    dlq = kafka.consume(t["dlq"], len(bad), timeout=60)
    assert len(dlq) == len(bad)
    want = sorted(code for _, code in bad)
    got = sorted(r.headers["herald-error"].decode() for r in dlq)
    assert got == want
    values = {r.value for r in dlq}
    assert all(m in values for m, _ in bad), "dead letters carry the original bytes"
    for r in dlq:
        assert r.headers["herald-detail"]
        assert r.headers["herald-source-topic"].decode() == t["items"]
    assert h.query("SELECT COUNT(*) FROM rejections")[0][0] == len(bad)
    assert h.proc.alive()
    status, body = h.get("/healthz")
    assert status == 200
    assert h.stop() == 0
