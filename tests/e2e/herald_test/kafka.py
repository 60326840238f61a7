"""The tests' own, independent Kafka client (kafka-python; never librdkafka from Python).

The broker is the one tests/kafka/kafka.sh started for this ctest run (fixture "kafka"); its
directory is $HERALD_KAFKA_DIR and its address is in $HERALD_KAFKA_DIR/bootstrap. Give every
test its own topics and groups with unique_name().
"""

import itertools
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from .procs import NotYet, wait_for

_counter = itertools.count(1)


def kafka_dir():
    d = os.environ.get("HERALD_KAFKA_DIR")
    if not d:
        raise RuntimeError("HERALD_KAFKA_DIR is unset (run through ctest's kafka fixture)")
    return Path(d)


def kafka_sh():
    src = os.environ.get("HERALD_SOURCE_DIR")
    if src:
        return Path(src) / "tests" / "kafka" / "kafka.sh"
    return Path(__file__).resolve().parents[2] / "kafka" / "kafka.sh"


def bootstrap():
    """'127.0.0.1:PORT' of the test broker."""
    path = kafka_dir() / "bootstrap"
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise RuntimeError("%s is missing: is the kafka fixture (kafka.sh start) up?" % path)
    if not text:
        raise RuntimeError("%s is empty" % path)
    return text


def unique_name(prefix):
    """A topic / group / instance name no other test (or run) uses: prefix-pid-counter-random."""
    return "%s-%d-%d-%s" % (prefix, os.getpid(), next(_counter), uuid.uuid4().hex[:8])


def _admin():
    return KafkaAdminClient(bootstrap_servers=bootstrap(), client_id="herald-test-admin")


def create_topic(name, partitions=4, config=None, timeout=30):
    """Create `name` and wait until every partition has a leader. Returns the name."""
    admin = _admin()
    try:
        admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=partitions,
                    replication_factor=1,
                    topic_configs=dict(config or {}),
                )
            ]
        )

        def leaders():
            desc = admin.describe_topics([name])
            parts = desc[0]["partitions"] if desc and desc[0]["error_code"] == 0 else []
            ready = [p for p in parts if p["leader"] is not None and p["leader"] >= 0]
            if len(ready) != partitions:
                raise NotYet("%d of %d partitions have a leader" % (len(ready), partitions))
            return True

        wait_for(leaders, timeout, "leaders for the partitions of %s" % name)
    finally:
        admin.close()
    return name


def _to_bytes(v):
    if v is None or isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    return json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _per_item(spec, i, item):
    return spec(i, item) if callable(spec) else spec


def _headers(h):
    if h is None:
        return None
    pairs = h.items() if isinstance(h, dict) else h
    return [(str(k), _to_bytes(v)) for k, v in pairs]


def produce(topic, items, key=None, headers=None, partition=None, timeout=30):
    """Produce `items` (bytes, str, or anything JSON-able → UTF-8 JSON) to `topic` and wait for
    every send to be acknowledged (acks=all). `key`, `headers` and `partition` are either one
    value for all items or a function (index, item) -> value; headers are a dict or a list of
    (name, value) pairs, values bytes, str or JSON-able. Returns the RecordMetadata list
    (topic, partition, offset) in item order; raises if any send failed."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap(),
        client_id="herald-test-producer",
        acks="all",
        linger_ms=5,
        retries=5,
        request_timeout_ms=15000,
    )
    try:
        futures = []
        for i, item in enumerate(items):
            futures.append(
                producer.send(
                    topic,
                    value=_to_bytes(item),
                    key=_to_bytes(_per_item(key, i, item)),
                    headers=_headers(_per_item(headers, i, item)),
                    partition=_per_item(partition, i, item),
                )
            )
        producer.flush(timeout)
        return [f.get(timeout=timeout) for f in futures]
    finally:
        producer.close(timeout=10)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: dict = field(default_factory=dict)  # str -> bytes (the last one of a name wins)
    timestamp: int = 0

    def json(self):
        return json.loads(self.value.decode("utf-8"))


def _consumer(group):
    return KafkaConsumer(
        bootstrap_servers=bootstrap(),
        client_id="herald-test-consumer",
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )


def _partitions(consumer, topic, timeout):
    parts = wait_for(
        lambda: consumer.partitions_for_topic(topic), timeout, "partitions of topic %s" % topic
    )
    return [TopicPartition(topic, p) for p in sorted(parts)]


def consume(topic, min_count, timeout=30, group=None):
    """Read `topic` from the beginning until at least `min_count` records arrived; return them
    (as Record, in arrival order). Without `group`, reads every partition by assignment (no
    group join, no commits); with `group`, subscribes as that consumer group."""
    consumer = _consumer(group)
    got = []
    try:
        if group is None:
            tps = _partitions(consumer, topic, timeout)
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
        else:
            consumer.subscribe([topic])

        def enough():
            for recs in consumer.poll(timeout_ms=200).values():
                for r in recs:
                    got.append(
                        Record(
                            topic=r.topic,
                            partition=r.partition,
                            offset=r.offset,
                            key=r.key,
                            value=r.value,
                            headers={k: v for k, v in (r.headers or [])},
                            timestamp=r.timestamp,
                        )
                    )
            if len(got) < min_count:
                raise NotYet("%d of %d records" % (len(got), min_count))
            return True

        wait_for(enough, timeout, "%d records on %s" % (min_count, topic))
    finally:
        consumer.close(autocommit=False)
    return got


def end_offsets(topic, timeout=30):
    """{partition: high watermark} of `topic`; their sum counts the records ever produced."""
    consumer = _consumer(None)
    try:
        tps = _partitions(consumer, topic, timeout)
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close(autocommit=False)


def consume_all(topic, timeout=60):
    """Every record `topic` holds now (up to the high watermarks read first). Unlike
    consume(topic, n), a duplicate cannot stand in for a record not read yet: use it to count
    distinct events once the producer is done (heraldd's outbox drained)."""
    n = sum(end_offsets(topic, timeout).values())
    return consume(topic, n, timeout=timeout) if n else []


def _kafka_sh(verb, timeout):
    cmd = ["bash", str(kafka_sh()), verb, str(kafka_dir())]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(
            "%s failed (exit %d):\n%s%s" % (" ".join(cmd), res.returncode, res.stdout, res.stderr)
        )
    return res.stdout.strip()


def stop_broker(timeout=90):
    """Stop the shared test broker (its data stays); for the broker-outage tests."""
    _kafka_sh("stop", timeout)


def start_broker(timeout=150):
    """Start the shared test broker again, on the same ports; returns its bootstrap."""
    return _kafka_sh("start", timeout)


def broker_running():
    cmd = ["bash", str(kafka_sh()), "status", str(kafka_dir())]
    return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
