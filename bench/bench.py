#!/usr/bin/env python3
"""herald's benchmark: a program that prints figures (make bench), not a test.

Everything real and in its own process: Apache Kafka 3.9 (tests/kafka/kafka.sh), herald-sim's
webhook simulator, and heraldd with production durability (store.synchronous: full, i.e. a batch
counts only once its WAL is fdatasync'd; group commit every 5 ms) delivering through M webhook
channel instances.

1. throughput: N items are produced first (a backlog), then heraldd starts; deliveries_per_s is
   N*M over the time from the first to the last delivery the simulator received.
2. latency: once the backlog's status events are all published, L items at a fixed offered rate
   R/s; p50_ms and p99_ms from the producer's send to the simulator's receipt (same host clock).
It checks received = produced (every delivery once on the simulator) and prints one line:
  deliveries_per_s=... p50_ms=... p99_ms=... peak_rss_mb=... items=N channels=M ...
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent
sys.path.insert(0, str(SRC / "tests" / "e2e"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(SRC / "build-release"))
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--rate", type=int, default=200, help="offered items/s in the latency phase")
    ap.add_argument("--latency-items", type=int, default=400)
    ap.add_argument("--in-flight", type=int, default=64)
    ap.add_argument("--commit-ms", type=int, default=5, help="store.commit_interval")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    os.environ["HERALD_BUILD_DIR"] = str(build)
    os.environ["HERALD_SOURCE_DIR"] = str(SRC)
    kdir = build / "bench-kafka"
    os.environ["HERALD_KAFKA_DIR"] = str(kdir)
    subprocess.run(["bash", str(SRC / "tests/kafka/kafka.sh"), "start", str(kdir)], check=True,
                   stdout=subprocess.DEVNULL)
    from herald_test import kafka, procs
    from herald_test.herald import Herald, Sim, webhook_channel
    from herald_test.items import encode, make_item

    work = Path(build / "bench-work" / str(int(time.time())))
    work.mkdir(parents=True)
    try:
        t = {k: kafka.unique_name("bench-" + k) for k in ("items", "status", "dlq")}
        kafka.create_topic(t["items"], partitions=8)
        kafka.create_topic(t["status"], partitions=8)
        kafka.create_topic(t["dlq"], partitions=1)
        sim = Sim(work).start()
        m = args.channels
        chans = {"webhook:b%d" % i: webhook_channel(sim, url=sim.url("webhook") + "/b%d" % i,
                                                     max_in_flight=args.in_flight, timeout="30s")
                 for i in range(m)}
        h = Herald(work, kafka.bootstrap(), t, chans, [{"name": "all", "to": sorted(chans)}],
                   extra={"daemon": {"log_level": "warn"}})
        h.config["store"] = {"commit_interval": "%dms" % args.commit_ms, "synchronous": "full"}

        # 1. the backlog
        n = args.items
        docs = [encode(make_item("bench-%06d" % i)) for i in range(n)]
        t0 = time.time()
        kafka.produce(t["items"], docs, key=lambda i, _: "bench-%06d" % i)
        produce_s = time.time() - t0
        h.start()
        total = n * m

        def received():
            return sim.control("webhook", "GET", "received?log=0&by_key=0")["requests"]

        first = None
        deadline = time.time() + 600
        while True:
            got = received()
            now = time.time()
            if got and first is None:
                first = now
            if got >= total:
                last = now
                break
            if now > deadline:
                raise SystemExit("bench: only %d of %d deliveries after 600 s" % (got, total))
            time.sleep(0.05)
        # poll granularity: the first sample after receipt began, the last when all were in
        thr = total / max(last - first, 1e-3)

        # 2. latency at a fixed offered rate, from a settled daemon: the backlog's status events
        # all published (the producer's first connection and metadata are set up before timing)
        procs.wait_for(lambda: h.query("SELECT COUNT(*) FROM outbox")[0][0] == 0, 120,
                       "the backlog's status events published")
        sent = {}
        lat_ids = ["lat-%05d" % i for i in range(args.latency_items)]
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=kafka.bootstrap(), acks=1, linger_ms=0)
        p.partitions_for(t["items"])
        start = time.time()
        for i, iid in enumerate(lat_ids):
            due = start + i / args.rate
            while time.time() < due:
                time.sleep(max(0, min(due - time.time(), 0.002)))
            sent[iid] = time.time() * 1000
            p.send(t["items"], key=iid.encode(), value=encode(make_item(iid)))
        p.flush()
        p.close()
        want = total + len(lat_ids) * m
        procs.wait_for(lambda: received() >= want, 120, "latency items delivered")
        # every delivery of the phase is a sample, as far as the simulator's log reaches back
        # (its last 1000 requests: with many channels, the later items' deliveries)
        rx = sim.control("webhook", "GET", "received?log=%d&by_key=1" % (len(lat_ids) * m))
        lats = []
        for e in rx["log"]:
            iid = e["key"].split(":")[1] if e.get("key") else None
            if iid in sent:
                lats.append(e["time_ms"] - sent[iid])
        lats.sort()
        assert len(lats) >= min(len(lat_ids) * m, 1000) * 0.9, "latency samples: %d" % len(lats)
        p50 = lats[len(lats) // 2]
        p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))]
        # received = produced: every delivery once, no more and no less
        keys = rx["by_key"]
        assert len(keys) == want, (len(keys), want)
        assert all(v["applied"] == 1 or v["requests"] >= 1 for v in keys.values())
        assert rx["requests"] == want, ("duplicates", rx["requests"] - want)
        rss_kb = 0
        for line in open("/proc/%d/status" % h.proc.pid):
            if line.startswith("VmHWM:"):
                rss_kb = int(line.split()[1])
        assert h.stop() == 0
        sim.proc.stop()
        print("deliveries_per_s=%d p50_ms=%.1f p99_ms=%.1f peak_rss_mb=%.1f items=%d channels=%d"
              " deliveries=%d received=%d latency_rate_per_s=%d latency_samples=%d"
              " durability=sqlite_wal_fdatasync_per_batch group_commit_ms=%d max_in_flight=%d"
              " backlog_produce_s=%.1f cpus=%d"
              % (thr, p50, p99, rss_kb / 1024.0, n, m, total, rx["requests"], args.rate,
                 len(lats), args.commit_ms, args.in_flight, produce_s, os.cpu_count()))
    finally:
        procs.cleanup_since(0)
        subprocess.run(["bash", str(SRC / "tests/kafka/kafka.sh"), "down", str(kdir)],
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
