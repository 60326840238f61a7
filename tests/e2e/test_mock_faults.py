"""Fast fault injection with librdkafka's mock cluster (herald-mock-broker): brokers of a
three-broker cluster go down and come back and round trips slow down while items flow; nothing
is lost, every item reaches both channels once. The real-broker outage is test_broker_outage.py.
"""

from kafka import KafkaProducer

from herald_test.herald import Herald, Sim, webhook_channel, website_channel
from herald_test.items import encode, make_item
from herald_test.mock import MockBroker
from herald_test.procs import NotYet, wait_for


def test_brokers_down_and_up_mid_stream(tmp_workdir):
    topics = {"items": "m.items", "status": "m.status", "dlq": "m.dlq"}
    mock = MockBroker(tmp_workdir, brokers=3,
                      topics=[("m.items", 6), ("m.status", 3), ("m.dlq", 1)])
    try:
        sim = Sim(tmp_workdir).start()
        # slow channels stretch the run over the faults
        sim.faults("webhook", latency_ms=4)
        h = Herald(tmp_workdir, mock.bootstrap, topics,
                   {"webhook:ops": webhook_channel(sim, max_in_flight=1),
                    "website:portal": website_channel(sim, max_in_flight=1)},
                   [{"name": "all", "to": ["webhook:ops", "website:portal"]}]).start()
        p = KafkaProducer(bootstrap_servers=mock.bootstrap, acks="all", retries=10)
        ids = ["mock-%04d" % i for i in range(600)]

        def send(chunk):
            for i in chunk:
                p.send("m.items", key=i.encode(), value=encode(make_item(i)))
            p.flush(60)

        def delivered_at_least(n):
            def check():
                got = h.count("delivered")
                if got < n:
                    raise NotYet("%d of %d" % (got, n))
                return True
            return check

        # everything is on the topic first: the faults hit heraldd's consumer and producer
        send(ids)
        wait_for(delivered_at_least(100), 60, "deliveries before the first fault")
        mock.command("down 1")
        before = h.count("delivered")
        # partitions led by the other brokers go on
        wait_for(delivered_at_least(400), 90, "deliveries with broker 1 down")
        mock.command("up 1")
        mock.command("rtt 2 300")
        mock.command("down 3")
        wait_for(delivered_at_least(700), 120, "deliveries with broker 3 down, broker 2 slow")
        mock.command("up 3")
        mock.command("rtt 2 0")
        wait_for(delivered_at_least(2 * len(ids)), 180, "every item on both channels")
        assert before < 2 * len(ids) - 100, "the faults came while items were still flowing"
        err = (tmp_workdir / "heraldd.err").read_text()
        assert "Connection refused" in err or "Disconnected" in err, "heraldd saw a broker go"
        for name in ("webhook", "website"):
            assert sim.applied(name) == len(ids), name
        assert h.proc.alive()
        p.close()
        assert h.stop() == 0
    finally:
        mock.close()
