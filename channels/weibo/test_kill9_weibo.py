"""The core's kill -9 test, extended to Weibo (no idempotency key on the platform).

~30 items go to website:portal and to weibo:official (which links each post to its portal
article). heraldd is killed with SIGKILL at random points while it posts -- the simulator holds
every answer for a while (latency_ms), so kills land while shares are in flight, applied by the
platform but unanswered, and while look-ups run -- and restarted each time; two shares are also
lost on the way (the connection closes before the platform saw them). At the end every item is
posted exactly once: one applied share per portal link, however many requests were made. A send
found in flight at restart is reconciled (the timeline looked up) before anything is sent again;
the figures -- raw share requests, 20019 answers, look-ups, reconciliations -- are recorded.
"""

import os
import random

from herald_test.figures import record
from herald_test.procs import NotYet, wait_for
from weibo_e2e import SHARE, TIMELINE, WEIBO, Setup, item

ITEMS = int(os.environ.get("HERALD_WEIBO_KILL9_ITEMS", "30"))


def test_kill9_while_posting_posts_each_item_once(kafka_bootstrap, tmp_workdir):
    seed = int(os.environ.get("HERALD_KILL9_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    print("weibo kill -9 test: seed %d, %d items" % (seed, ITEMS))
    s = Setup(tmp_workdir, kafka_bootstrap, "e2e-wb-kill9",
              weibo={"max_in_flight": 2, "timeout": "5s"})
    # answers come late, so a kill finds shares applied but unanswered, and look-ups in flight
    s.sim.faults("weibo", latency_ms=300, match="/2/statuses/")
    ids = ["e2e-wb-k9-%03d" % i for i in range(ITEMS)]
    s.produce([item(i) for i in ids])
    s.start()

    # kill points: by posts the platform has applied, spread over the run
    points = sorted(rnd.sample(range(2, ITEMS - 4), 4))
    kills = 0
    for n, point in enumerate(points):
        def reached(p=point):
            got = s.received()["applied"]
            if got < p:
                raise NotYet("%d of %d posts applied" % (got, p))
            return True

        wait_for(reached, 120, "%d posts before kill #%d" % (point, n + 1))
        if n == 2:
            # and two shares lost before the platform saw them: reconciled absent, sent again
            s.sim.faults("weibo", drop_next=2, match=SHARE)
        s.h.kill9()
        kills += 1
        s.h.start()
        if n == 1:
            # a kill moments after a start: recovery itself interrupted
            wait_for(lambda: s.h.query("SELECT COUNT(*) FROM deliveries")[0][0] > 0, 30,
                     "the store")
            s.h.kill9()
            kills += 1
            s.h.start()

    def all_done():
        got = s.h.count("delivered", WEIBO)
        if got < ITEMS:
            raise NotYet("%d of %d delivered, states %r" % (got, ITEMS, s.h.states()))
        return True

    wait_for(all_done, 240, "every item posted on Weibo")
    rx = s.received()
    links = {s.portal_url(i) for i in ids}
    assert len(links) == ITEMS
    # exactly one applied post per item, whatever was sent
    assert rx["applied"] == ITEMS, rx["applied"]
    bad = {k: v for k, v in rx["by_key"].items() if v["applied"] != 1}
    assert not bad, list(bad.items())[:5]
    assert set(rx["by_key"]) == links
    live = [p for p in s.posts() if not p["deleted"]]
    assert sorted(p["key"] for p in live) == sorted(links)
    # every delivery points at its own post
    by_key = {p["key"]: p["idstr"] for p in live}
    for i in ids:
        assert s.delivery(i)["remote_id"] == by_key[s.portal_url(i)], i
    shares = s.log(SHARE)
    reconciles = s.h.query("SELECT COUNT(*) FROM attempts a JOIN deliveries d ON "
                           "d.id = a.delivery_id WHERE d.instance=? AND a.kind='reconcile'",
                           (WEIBO,))[0][0]
    record("weibo_kill9", seed=seed, items=ITEMS, kills=kills,
           share_requests=len(shares), applied_posts=rx["applied"],
           duplicate_answers=rx["duplicates"], timeline_lookups=len(s.log(TIMELINE)),
           reconciliations=reconciles, applied_per_item=1)
    assert s.h.count("sending") == 0
    assert s.stop() == 0
