"""The test harness against the real test broker: keyed JSON with headers round-trips."""

from herald_test import kafka

N = 200


def test_keyed_json_with_headers_round_trip(kafka_bootstrap):
    topic = kafka.create_topic(kafka.unique_name("smoke"), partitions=8)
    items = [{"id": "item-%03d" % i, "n": i, "title": "通知 %d" % i} for i in range(N)]
    metas = kafka.produce(
        topic,
        items,
        key=lambda i, item: item["id"],
        headers=lambda i, item: {"x-seq": str(i), "x-kind": b"\x00bin\xff"},
    )
    assert len(metas) == N
    assert len({m.partition for m in metas}) > 1, "200 keys all landed on one partition"

    records = kafka.consume(topic, N, timeout=60)
    assert len(records) == N
    assert sum(kafka.end_offsets(topic).values()) == N

    by_key = {r.key.decode(): r for r in records}
    assert len(by_key) == N, "duplicate or missing keys"
    sent_at = {(m.partition, m.offset): i for i, m in enumerate(metas)}
    for i, item in enumerate(items):
        r = by_key[item["id"]]
        assert r.json() == item
        assert "通知".encode("utf-8") in r.value  # raw UTF-8, not \u escapes
        assert r.headers == {"x-seq": str(i).encode(), "x-kind": b"\x00bin\xff"}
        assert sent_at[(r.partition, r.offset)] == i, "record not where the broker acked it"

    # Per partition, records come back in offset order with no gaps.
    per_part = {}
    for r in records:
        per_part.setdefault(r.partition, []).append(r.offset)
    for part, offsets in per_part.items():
        assert offsets == list(range(len(offsets))), "partition %d: %r" % (part, offsets[:10])
