"""Milestone 2: a channel that fails, rate-limits and recovers.

Observed from the outside (the simulators' logs, the store's attempt log, /metrics): transient
failures are retried with backoff, consecutive failures open the circuit breaker (and a probe
closes it), Retry-After is honoured to the second, and a healthy channel of the same daemon is
not slowed by the failing one.
"""

from herald_test import kafka
from herald_test.herald import Herald, Sim, webhook_channel
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import metric, topics


def setup(workdir, bootstrap, prefix, **faulty):
    t = topics(prefix)
    sim = Sim(workdir).start()
    bad = webhook_channel(sim, url=sim.url("webhook") + "/bad", retry_base="50ms",
                          retry_cap="300ms", max_attempts=30, breaker_failures=3,
                          breaker_reset="1s", breaker_reset_max="2s", **faulty)
    good = webhook_channel(sim, url=sim.url("webhook") + "/good")
    h = Herald(workdir, bootstrap, t, {"webhook:bad": bad, "webhook:good": good},
               [{"name": "all", "to": ["webhook:bad", "webhook:good"]}]).start()
    return t, sim, h


def attempts(h, instance):
    return h.query(
        "SELECT a.outcome, a.started_at, a.duration_ms, a.http_status, d.item_id FROM attempts a"
        " JOIN deliveries d ON d.id = a.delivery_id WHERE d.instance = ? ORDER BY a.id",
        (instance,))


def test_failures_retry_open_the_breaker_and_recover(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-faults")
    sim.faults("webhook", fail_next=8, status=503, match="/bad")
    ids = ["e2e-fault-%d" % i for i in range(5)]
    kafka.produce(t["items"], [make_item(i) for i in ids], key=lambda _, d: d["id"])

    # the healthy channel is not held back by the failing one
    wait_for(lambda: h.count("delivered", "webhook:good") == 5, 30, "good channel delivered")
    assert h.count("delivered", "webhook:bad") < 5

    # three consecutive failures open the breaker
    wait_for(lambda: metric(h, "herald_breaker_open", {"instance": "webhook:bad"}) == 1, 30,
             "the breaker of webhook:bad to open")
    # ... and after the faults are spent, a probe closes it and everything is delivered
    wait_for(lambda: h.count("delivered", "webhook:bad") == 5, 60, "bad channel recovered")
    assert metric(h, "herald_breaker_open", {"instance": "webhook:bad"}) == 0
    rows = attempts(h, "webhook:bad")
    outcomes = [r[0] for r in rows]
    assert outcomes.count("retry") == 8, outcomes
    assert outcomes.count("delivered") == 5
    assert all(r[3] == 503 for r in rows if r[0] == "retry")
    # while open, nothing was sent: the gap after the third failure is at least breaker_reset
    fails = [r[1] for r in rows if r[0] == "retry"]
    assert any(b - a >= 900 for a, b in zip(fails, fails[1:])), fails
    assert sim.received("webhook")["faulted"] == 8
    assert metric(h, "herald_retries_total", {"instance": "webhook:bad"}) >= 8
    assert h.stop() == 0


def test_retry_after_is_honoured(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-ra")
    sim.faults("webhook", fail_next=1, status=429, retry_after="3", match="/bad")
    kafka.produce(t["items"], [make_item("e2e-ra-1")], key="e2e-ra-1")
    wait_for(lambda: h.count("delivered", "webhook:bad") == 1, 30, "delivered after 429")
    rows = attempts(h, "webhook:bad")
    assert [r[0] for r in rows] == ["retry_after", "delivered"], rows
    first_end = rows[0][1] + rows[0][2]
    # Retry-After: 3 s is whole seconds from the response; allow the second's rounding only
    assert rows[1][1] - first_end >= 2000, rows
    # a rate limit is not a failed attempt
    assert h.query("SELECT attempts FROM deliveries WHERE instance='webhook:bad'")[0][0] == 1
    assert h.stop() == 0


def test_rejections_and_exhausted_attempts_fail(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-fail", )
    # a 4xx the webhook does not retry: rejected at once
    sim.faults("webhook", fail_next=1, status=400, match="/bad")
    kafka.produce(t["items"], [make_item("e2e-fail-1")], key="e2e-fail-1")

    def failed():
        rows = h.query("SELECT state, reason FROM deliveries WHERE instance='webhook:bad'")
        if not rows or rows[0][0] != "failed":
            raise NotYet(rows)
        return rows[0]

    assert wait_for(failed, 30, "rejected delivery")[1] == "http_400"
    # the other instance is answered independently
    wait_for(lambda: h.count("delivered", "webhook:good") == 1, 30, "the good one delivered")
    assert h.stop() == 0
