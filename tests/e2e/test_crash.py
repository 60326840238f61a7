"""Milestone 2: nothing accepted is lost when heraldd is stopped or killed.

- SIGTERM in the middle of a stream drains and exits 0; a restart resumes from the store.
- kill -9 at several random points while a few thousand items flow: after restarts, every item
  reached every target channel, the simulators saw exactly one applied effect per delivery, and
  the duplicate requests (resends with the same idempotency key) are reported as a figure.
"""

import os
import random

from herald_test import kafka
from herald_test.figures import record
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import two_channels

ITEMS = int(os.environ.get("HERALD_KILL9_ITEMS", "2000"))


def delivered_total(h):
    return h.count("delivered")


def check_exactly_once(sim, ids):
    for name in ("webhook", "website"):
        rx = sim.received(name)
        assert rx["applied"] == len(ids), (name, rx["applied"], len(ids))
        keys = rx["by_key"]
        bad = {k: v for k, v in keys.items() if v["applied"] != 1}
        assert not bad, (name, list(bad.items())[:5])
    return {name: sim.received(name)["requests"] - len(ids) for name in ("webhook", "website")}


def test_sigterm_drains_and_resumes(kafka_bootstrap, tmp_workdir):
    t, sim, h = two_channels(tmp_workdir, kafka_bootstrap, "e2e-term",
                             webhook={"max_in_flight": 2}, website={"max_in_flight": 2})
    sim.faults("webhook", latency_ms=20)
    ids = ["e2e-term-%03d" % i for i in range(300)]
    kafka.produce(t["items"], [make_item(i) for i in ids], key=lambda _, d: d["id"])
    h.start()
    wait_for(lambda: delivered_total(h) >= 50, 60, "some deliveries before SIGTERM")
    assert h.stop() == 0
    assert h.proc.returncode == 0
    done_before = delivered_total(h)
    assert done_before < 2 * len(ids), "the test needs work left after the stop"
    # nothing was in flight at exit: a drained stop leaves no 'sending'
    assert h.count("sending") == 0
    h.start()
    wait_for(lambda: delivered_total(h) == 2 * len(ids), 120, "all delivered after restart")
    dup = check_exactly_once(sim, ids)
    record("sigterm_resume", items=len(ids), channels=2, duplicate_requests=dup)
    assert h.stop() == 0


def test_kill9_at_random_points_loses_nothing(kafka_bootstrap, tmp_workdir):
    seed = int(os.environ.get("HERALD_KILL9_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("kill -9 test: seed %d, %d items x 2 channels" % (seed, ITEMS))
    t, sim, h = two_channels(tmp_workdir, kafka_bootstrap, "e2e-kill9",
                             webhook={"max_in_flight": 8}, website={"max_in_flight": 8})
    ids = ["e2e-k9-%05d" % i for i in range(ITEMS)]
    # half before the first start, half while the daemon is being killed and restarted
    kafka.produce(t["items"], [make_item(i) for i in ids[: ITEMS // 2]], key=lambda _, d: d["id"])
    h.start()
    total = 2 * ITEMS
    # kill points: while consuming, mid-delivery and late, plus one right after a start
    points = sorted(rnd.sample(range(total // 20, total * 9 // 10), 4))
    kills = 0
    second_half = False
    for n, point in enumerate(points):
        # the second half goes in before the third kill, or sooner when this kill point lies
        # beyond the first half's ITEMS deliveries (it could never be reached otherwise)
        if not second_half and (n == 2 or point >= ITEMS):
            kafka.produce(t["items"], [make_item(i) for i in ids[ITEMS // 2:]],
                          key=lambda _, d: d["id"])
            second_half = True

        def reached(p=point):
            got = delivered_total(h)
            if got < p:
                raise NotYet("%d of %d" % (got, p))
            return True

        wait_for(reached, 180, "%d deliveries before kill #%d" % (point, n + 1))
        h.kill9()
        kills += 1
        h.start()
        if n == 1:
            # a kill within moments of a start (recovery itself interrupted)
            wait_for(lambda: h.query("SELECT COUNT(*) FROM deliveries")[0][0] > 0, 30, "store")
            h.kill9()
            kills += 1
            h.start()

    def all_done():
        got = delivered_total(h)
        if got < total:
            raise NotYet("%d of %d delivered, states %r" % (got, total, h.states()))
        return True

    wait_for(all_done, 300, "every item on every channel")
    dup = check_exactly_once(sim, ids)
    sending = h.count("sending")
    record("kill9", seed=seed, items=ITEMS, channels=2, kills=kills,
           duplicate_requests=dup, applied_per_delivery=1)
    assert sending == 0
    # nothing rejected, no item lost at intake
    assert h.query("SELECT COUNT(*) FROM items")[0][0] == ITEMS
    assert h.query("SELECT COUNT(*) FROM rejections")[0][0] == 0
    # every delivery's status events reached the topic (outbox drained)
    wait_for(lambda: h.query("SELECT COUNT(*) FROM outbox")[0][0] == 0, 60, "outbox drained")
    assert h.stop() == 0
