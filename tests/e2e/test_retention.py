"""store.retention against a running heraldd.

- History older than the retention goes: the attempts and state history of deliveries settled
  that long ago, and dead letters published that long ago. Items, deliveries and newer history
  stay. Data is aged by rewriting timestamps in the stopped daemon's store file.
- A retention under a day (a typo for days, most likely) is refused at startup with file:line.
"""

import sqlite3
import subprocess

from herald_test import kafka
from herald_test.herald import HERALDD, Herald, Sim, webhook_channel
from herald_test.items import make_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics

DAY_MS = 86400 * 1000


def herald(tmp_workdir, bootstrap, t, sim):
    return Herald(tmp_workdir, bootstrap, t, {"webhook:ops": webhook_channel(sim)},
                  [{"name": "all", "to": ["webhook:ops"]}])


def test_history_older_than_the_retention_is_deleted(kafka_bootstrap, tmp_workdir):
    t = topics("e2e-retention")
    sim = Sim(tmp_workdir).start()
    h = herald(tmp_workdir, kafka_bootstrap, t, sim).start()
    ids = ["ret-%d" % i for i in range(6)]
    kafka.produce(t["items"], [make_item(i) for i in ids], key=lambda _, d: d["id"])
    kafka.produce(t["items"], [b"{not json"], key="bad")
    wait_for(lambda: h.count("delivered") == 6, 30, "six delivered")
    wait_for(lambda: h.query("SELECT COUNT(*) FROM rejections WHERE sent = 1")[0][0] == 1, 30,
             "the dead letter published")
    assert h.stop() == 0

    old = ids[:3]
    con = sqlite3.connect(h.db_path)
    with con:
        con.execute("UPDATE deliveries SET updated_at = updated_at - ? WHERE item_id IN (?,?,?)",
                    (400 * DAY_MS, *old))
        con.execute("UPDATE rejections SET rejected_at = rejected_at - ?", (400 * DAY_MS,))
    con.close()

    def per_item(table):
        return dict(h.query("SELECT d.item_id, COUNT(x.id) FROM deliveries d LEFT JOIN %s x"
                            " ON x.delivery_id = d.id GROUP BY d.item_id" % table))

    before_events, before_attempts = per_item("delivery_events"), per_item("attempts")
    assert all(before_events[i] == 3 and before_attempts[i] == 1 for i in ids)

    h.config["store"]["retention"] = "365d"
    h.start()

    def pruned():
        text = (tmp_workdir / "heraldd.err").read_text()
        if "store: retention: deleted" not in text:
            raise NotYet("no retention line yet")
        return text

    text = wait_for(pruned, 30, "the retention pass")
    # three deliveries: one attempt and three history rows each; and the dead letter
    assert "store: retention: deleted 13 row(s)" in text, text
    events, attempts = per_item("delivery_events"), per_item("attempts")
    for i in old:
        assert events[i] == 0 and attempts[i] == 0, (i, events, attempts)
    for i in ids[3:]:
        assert events[i] == 3 and attempts[i] == 1, (i, events, attempts)
    assert h.query("SELECT COUNT(*) FROM items")[0][0] == 6
    assert h.query("SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'")[0][0] == 6
    assert h.query("SELECT COUNT(*) FROM rejections")[0][0] == 0
    assert "\nherald_store_pruned_rows_total 13\n" in h.get("/metrics")[1]
    assert h.stop() == 0


def test_a_retention_under_a_day_is_refused(kafka_bootstrap, tmp_workdir):
    t = topics("e2e-retention-bad")
    sim = Sim(tmp_workdir).start()
    h = herald(tmp_workdir, kafka_bootstrap, t, sim)
    h.config["store"]["retention"] = "30m"
    h.write_config()
    r = subprocess.run([str(HERALDD), "--check-config", str(h.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    lines = [x for x in r.stderr.splitlines() if "retention" in x]
    assert lines and lines[0].startswith(str(h.config_path) + ":"), r.stderr
    assert "at least 1d" in lines[0]
