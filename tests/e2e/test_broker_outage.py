"""Milestone 3: the broker stops for a while in the middle of a stream and starts again.

Nothing is lost and heraldd resumes by itself: deliveries of items already taken go on while the
broker is away, status events wait in the outbox, consumption and publication resume when it is
back, and every item produced before and after reaches every channel once. The test stops the
shared test broker, so it runs alone (RUN_SERIAL).
"""

from herald_test import kafka
from herald_test.figures import record
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import two_channels


def test_broker_outage_mid_stream(kafka_bootstrap, tmp_workdir):
    t, sim, h = two_channels(tmp_workdir, kafka_bootstrap, "e2e-outage",
                             webhook={"max_in_flight": 1}, website={"max_in_flight": 1})
    # slow channels keep work in the store while the broker is away
    sim.faults("webhook", latency_ms=15)
    first = ["e2e-out-a-%03d" % i for i in range(300)]
    second = ["e2e-out-b-%03d" % i for i in range(200)]
    kafka.produce(t["items"], [make_item(i) for i in first], key=lambda _, d: d["id"])
    h.start()
    wait_for(lambda: h.query("SELECT COUNT(*) FROM items")[0][0] == len(first), 60,
             "the first batch taken in")
    kafka.stop_broker()
    try:
        at_stop = h.count("delivered")

        def progress():
            n = h.count("delivered")
            if n < at_stop + 100:
                raise NotYet("%d delivered since the broker stopped" % (n - at_stop))
            return True

        # deliveries go on without the broker; their status events wait in the outbox
        wait_for(progress, 120, "deliveries while the broker is down")
        assert h.query("SELECT COUNT(*) FROM outbox")[0][0] > 0
        assert h.proc.alive()
    finally:
        kafka.start_broker()
    kafka.produce(t["items"], [make_item(i) for i in second], key=lambda _, d: d["id"])
    total = 2 * (len(first) + len(second))

    def all_done():
        n = h.count("delivered")
        if n < total:
            raise NotYet("%d of %d" % (n, total))
        return True

    wait_for(all_done, 300, "everything delivered after the broker came back")
    for name in ("webhook", "website"):
        rx = sim.received(name)
        assert rx["applied"] == len(first) + len(second), (name, rx["applied"])
    wait_for(lambda: h.query("SELECT COUNT(*) FROM outbox")[0][0] == 0, 120,
             "the outbox drained after the broker came back")
    events = kafka.consume_all(t["status"], timeout=60)  # duplicates are allowed, gaps not
    seen = {(e.json()["delivery"], e.json()["seq"]) for e in events}
    assert len(seen) == 3 * total
    record("broker_outage", items=len(first) + len(second), channels=2,
           status_events=len(events), distinct_events=len(seen))
    assert h.stop() == 0
