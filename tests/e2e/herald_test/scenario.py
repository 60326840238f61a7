"""Common setups of the core's end-to-end tests: unique topics, herald-sim, one heraldd."""

from . import kafka
from .herald import Herald, Sim, webhook_channel, website_channel


def topics(prefix, items_partitions=8):
    t = {k: kafka.unique_name("%s-%s" % (prefix, k)) for k in ("items", "status", "dlq")}
    kafka.create_topic(t["items"], partitions=items_partitions)
    kafka.create_topic(t["status"], partitions=4)
    kafka.create_topic(t["dlq"], partitions=2)
    return t


def two_channels(workdir, bootstrap, prefix, webhook=None, website=None, extra=None,
                 sim_config=None):
    """herald-sim + heraldd publishing every item to webhook:ops and website:portal."""
    t = topics(prefix)
    sim = Sim(workdir, config=sim_config).start()
    h = Herald(workdir, bootstrap, t,
               {"webhook:ops": webhook_channel(sim, **(webhook or {})),
                "website:portal": website_channel(sim, **(website or {}))},
               [{"name": "all", "to": ["webhook:ops", "website:portal"]}], extra=extra)
    return t, sim, h


def metric(h, name, labels):
    """The value of one Prometheus series on heraldd's /metrics, or None."""
    status, text = h.get("/metrics")
    assert status == 200
    want = name + "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    for line in text.splitlines():
        if line.startswith(name + "{"):
            head, _, value = line.rpartition(" ")
            inner = head[len(name) + 1:-1]
            parts = sorted(p for p in inner.split(",") if p)
            if name + "{" + ",".join(parts) + "}" == want:
                return float(value)
    return None
