"""/metrics after a known run: every series the operators' issue lists is there, named the
Prometheus way (herald_ prefix, _total counters, _seconds units, a TYPE for every family), and
the values match what happened: 8 items to two channels, one transient failure (one retry), two
rejected messages, a rate-limited channel."""

import re
import signal
import subprocess
import time

import pytest
from apienv import TOKENS, Env, restamp, seed_items
from herald_test.herald import http
from herald_test.procs import NotYet, wait_for

SAMPLE = re.compile(r'^([a-z_][a-z0-9_]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-z_][a-z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def scrape(env):
    """{(name, frozenset(labels)): value} and {family: type}, checking the format strictly."""
    status, text = env.h.get("/metrics")
    assert status == 200
    series, types, order = {}, {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            assert fam not in types, "two TYPE lines for " + fam
            assert typ in ("counter", "gauge", "histogram"), line
            types[fam] = typ
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, _, inner, value = m.groups()
        labels = {}
        if inner:
            pos = 0
            while pos < len(inner):
                lm = LABEL.match(inner, pos)
                assert lm, "bad labels in %r" % line
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        key = (name, frozenset(labels.items()))
        assert key not in series, "duplicate series " + line
        series[key] = float(value)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert fam in types, "no TYPE before " + name
        order.append(name)
    for fam, typ in types.items():
        assert fam.startswith("herald_"), fam
        if typ == "counter":
            assert fam.endswith("_total"), fam
        else:
            assert not fam.endswith("_total"), fam
    return series, types


def value(series, name, **labels):
    return series.get((name, frozenset(labels.items())))


def test_metrics_after_a_known_run(kafka_bootstrap, tmp_workdir):
    t0 = time.time()
    env = Env(tmp_workdir, kafka_bootstrap, "metrics",
              webhook={"retry_base": "20ms"},
              website={"rate_limit": "40/s", "burst": 1}).start()
    series, types = scrape(env)
    assert value(series, "herald_intake_consumed_total") == 0  # there from the start

    env.sim.faults("webhook", fail_next=1, status=503)
    docs = [restamp(d) for d in seed_items()[:8]]
    env.produce(docs)
    env.produce_raw([b"{nope", b"\xff\xfe"])
    env.wait_states({"delivered": 16})

    def settled():
        s, _ = scrape(env)
        lags = [v for (n, _), v in s.items() if n == "herald_consumer_lag"]
        if len(lags) != 4 or any(lags):
            raise NotYet("consumer lag %r" % lags)
        if value(s, "herald_outbox_pending") != 0:
            raise NotYet("outbox %r" % value(s, "herald_outbox_pending"))
        return s

    s = wait_for(settled, 30, "lag 0 on every partition and the outbox empty")
    types = scrape(env)[1]
    W, P = "webhook:ops", "website:portal"

    assert value(s, "herald_up") == 1
    assert any(n == "herald_build_info" for n, _ in s)
    # per channel: deliveries by state, attempts by outcome, retries, waits
    assert value(s, "herald_deliveries_total", instance=W, state="delivered") == 8
    assert value(s, "herald_deliveries_total", instance=P, state="delivered") == 8
    assert value(s, "herald_deliveries_total", instance=W, state="waiting_retry") == 1
    assert value(s, "herald_attempts_total", instance=W, outcome="delivered") == 8
    assert value(s, "herald_attempts_total", instance=W, outcome="retry") == 1
    assert value(s, "herald_attempts_total", instance=P, outcome="retry") == 0
    assert value(s, "herald_retries_total", instance=W) == 1
    assert value(s, "herald_retries_total", instance=P) == 0
    assert value(s, "herald_rate_limited_waits_total", instance=P) >= 1
    assert value(s, "herald_rate_limited_waits_total", instance=W) == 0
    # queue, in flight, breaker, failures, last success
    for inst in (W, P):
        for state in ("pending", "held", "sending", "waiting_retry", "parked"):
            assert value(s, "herald_queue_depth", instance=inst, state=state) == 0
        assert value(s, "herald_in_flight", instance=inst) == 0
        assert value(s, "herald_breaker_state", instance=inst, state="closed") == 1
        assert value(s, "herald_breaker_state", instance=inst, state="open") == 0
        assert value(s, "herald_breaker_open", instance=inst) == 0
        assert value(s, "herald_deliveries_failed", instance=inst) == 0
        assert value(s, "herald_channel_parked", instance=inst) == 0
        assert value(s, "herald_channel_paused", instance=inst) == 0
        assert value(s, "herald_last_success_timestamp_seconds", instance=inst) >= t0 - 1
        # the latency histogram: cumulative buckets, +Inf = count = deliveries
        buckets = sorted(((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else float("inf"), v)
                          for (n, l), v in s.items()
                          if n == "herald_delivery_latency_seconds_bucket"
                          and dict(l)["instance"] == inst))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and buckets[-1][0] == float("inf")
        assert counts[-1] == value(s, "herald_delivery_latency_seconds_count", instance=inst) == 8
        # items were approved five minutes before they were produced
        assert value(s, "herald_delivery_latency_seconds_sum", instance=inst) >= 8 * 290
    assert types["herald_delivery_latency_seconds"] == "histogram"
    # intake
    assert value(s, "herald_intake_consumed_total") == 10
    assert value(s, "herald_intake_accepted_total", action="publish") == 8
    assert value(s, "herald_intake_rejected_total", reason="invalid_json") == 1
    assert value(s, "herald_intake_rejected_total", reason="invalid_utf8") == 1
    assert value(s, "herald_intake_paused") == 0
    lags = {dict(l)["partition"]: v for (n, l), v in s.items() if n == "herald_consumer_lag"}
    assert sorted(lags) == ["0", "1", "2", "3"]
    assert all(dict(l)["topic"] == env.topics["items"]
               for (n, l), v in s.items() if n == "herald_consumer_lag")
    # the store
    commits = value(s, "herald_store_commits_total")
    assert commits > 0
    assert value(s, "herald_store_commit_seconds_count") == commits
    assert value(s, "herald_store_commit_seconds_bucket", le="+Inf") == commits
    assert value(s, "herald_store_commit_seconds_sum") > 0
    assert types["herald_store_commit_seconds"] == "histogram"
    assert types["herald_consumer_lag"] == "gauge" and types["herald_queue_depth"] == "gauge"

    # a failure shows: a failed delivery, the dead-letter gauge, a parked channel
    env.sim.faults("webhook", fail_next=10, status=400)
    env.produce([restamp(seed_items()[8])])
    env.wait_states({"failed": 1})
    s, _ = scrape(env)
    assert value(s, "herald_deliveries_failed", instance=W) == 1
    assert value(s, "herald_deliveries_total", instance=W, state="failed") == 1
    assert value(s, "herald_attempts_total", instance=W, outcome="rejected") == 1
    env.sim.faults("website", fail_next=1, status=401)
    env.produce([restamp(seed_items()[9])])
    wait_for(lambda: value(scrape(env)[0], "herald_channel_parked", instance=P) == 1, 20,
             "website parked in the metrics")
    assert env.h.stop() == 0


def local_address():
    """An IPv4 address of this machine that is not loopback, or None (then a request to it comes
    from a peer heraldd must not take for loopback)."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out):
        if not m.group(1).startswith("127."):
            return m.group(1)
    return None


def test_metrics_auth(kafka_bootstrap, tmp_workdir):
    """admin.metrics_auth: loopback (the default) lets a scraper on this machine in without a
    token and asks anyone else for one; token asks everyone; none asks no one. Reloaded with
    SIGHUP like the tokens."""
    env = Env(tmp_workdir, kafka_bootstrap, "metrics-auth",
              extra={"admin": {"listen": "0.0.0.0:0"}}).start()
    port = env.base.rsplit(":", 1)[1]
    here = "http://127.0.0.1:%s/metrics" % port
    viewer = {"Authorization": "Bearer " + TOKENS["watch"][1]}
    assert http("GET", here)[0] == 200
    addr = local_address()
    away = "http://%s:%s/metrics" % (addr, port) if addr else None
    if away:
        st, body = http("GET", away)
        assert st == 401 and body["error"] == "unauthorized", (st, body)
        assert http("GET", away, headers={"Authorization": "Bearer wrong-token-0123"})[0] == 401
        st, text = http("GET", away, headers=viewer)
        assert st == 200 and "herald_up 1" in text

    def reload(mode):
        env.h.config["admin"]["metrics_auth"] = mode
        env.h.write_config()
        env.h.proc.popen.send_signal(signal.SIGHUP)

    reload("token")
    wait_for(lambda: http("GET", here)[0] == 401, 20, "a token asked of loopback too")
    assert http("GET", here, headers=viewer)[0] == 200
    reload("none")
    wait_for(lambda: http("GET", here)[0] == 200, 20, "no token asked")
    if away:
        assert http("GET", away)[0] == 200
    # the API itself is not opened by it
    assert env.api("GET", "/api/v1/items", token=None)[0] == 401
    assert env.h.stop() == 0
    if not away:
        pytest.skip("the loopback and none modes passed; the request from another address "
                    "was not tried: this machine has no IPv4 address besides loopback")
