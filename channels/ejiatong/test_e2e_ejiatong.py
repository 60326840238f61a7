"""ejiatong end to end: Kafka -> heraldd -> the e家通 simulator (and the portal simulator, whose
article URL is the QR link: depends_on website:portal).

One delivery per street, each with its own retries and breaker: one street down while the 17
others deliver, then it recovers and its breaker closes; a revision updates every street's
notice in place; a retraction and the end of the display window withdraw them; an item whose
window ends while its street is failing is never pushed. Windows are a few seconds (config),
waited for as conditions with deadlines, never slept through.
"""

import datetime
import re
import subprocess

from herald_test import kafka
from herald_test.herald import HERALDD, SOURCE, SECRET, Herald, Sim, website_channel
from herald_test.items import at, make_item, retract_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import metric, topics

EJT = "ejiatong:streets"
# the district's 18 streets, as seeds/topology.yaml lists them
STREETS = re.findall(r'code: "(\d{9})"', (SOURCE / "seeds" / "topology.yaml").read_text())
BJJ, DSJ, MHCJ = "440104004", "440104012", "440104014"


OWN_SECRET = "own-platform-key-of-one-street-0123456789"


def setup(workdir, bootstrap, prefix, own_platform=None, **over):
    assert len(STREETS) == 18
    t = topics(prefix)
    simconf = {"secret": SECRET, "streets": STREETS}
    if own_platform:  # its platform checks its own key, and only that
        simconf["street_secrets"] = {own_platform: OWN_SECRET}
    sim = Sim(workdir, config={"ejiatong": simconf}).start()
    ejt = {"url": sim.url("ejiatong"), "secret": None, "targets": STREETS,
           "targets_from": "streets", "depends_on": ["website:portal"], "retry_base": "100ms",
           "retry_cap": "500ms", "timeout": "3s", "max_attempts": 200, "max_in_flight": 8,
           "breaker_failures": 3, "breaker_reset": "300ms", "breaker_reset_max": "600ms"}
    if own_platform:  # this street runs a platform of its own (a base URL and a key of its own)
        ejt["street_urls"] = {own_platform: sim.url("ejiatong") + "/own-" + own_platform}
        key = workdir / "own-platform-key"
        key.write_text(OWN_SECRET + "\n")
        key.chmod(0o600)
        ejt["street_secrets"] = {own_platform: "file:%s" % key}
    ejt.update(over)
    h = Herald(workdir, bootstrap, t, {"website:portal": website_channel(sim), EJT: ejt},
               [{"name": "all", "to": ["website:portal", EJT]}]).start()
    return t, sim, h


def item(item_id, version=1, streets=None, **over):
    targets = {"channels": ["website:portal", EJT]}
    if streets:
        targets["streets"] = streets
    return make_item(item_id, version, targets=targets, publisher={
        "code": "YX-RSJ", "name": "广州市越秀区人力资源和社会保障局", "kind": "department"},
        **over)


def states(h, item_id, instance=EJT):
    return dict(h.query("SELECT target, state FROM deliveries WHERE item_id=? AND instance=?"
                        " ORDER BY version", (item_id, instance)))


def delivered(h, item_id, n, version=None):
    sql = "SELECT COUNT(*) FROM deliveries WHERE item_id=? AND instance=? AND state='delivered'"
    args = [item_id, EJT]
    if version:
        sql += " AND version=?"
        args.append(version)
    got = h.query(sql, args)[0][0]
    if got != n:
        raise NotYet("%d of %d delivered" % (got, n))
    return True


def notices(sim, street):
    return sim.state("ejiatong")["streets"][street]["notices"]


def portal_url(h, item_id):
    return h.query("SELECT remote_url FROM deliveries WHERE item_id=? AND instance="
                   "'website:portal' AND state='delivered'", (item_id,))[0][0]


def test_one_notice_per_street_with_the_portal_link(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-ejt-fanout", own_platform=MHCJ)
    three = [BJJ, DSJ, MHCJ]
    kafka.produce(t["items"], [item("ejt-all"), item("ejt-three", streets=three)],
                  key=lambda _, d: d["id"])
    wait_for(lambda: delivered(h, "ejt-all", 18) and delivered(h, "ejt-three", 3), 60,
             "18 + 3 street deliveries")
    for code in STREETS:
        n = notices(sim, code)
        assert set(n) == ({"ejt-all", "ejt-three"} if code in three else {"ejt-all"}), code
        for item_id, rec in n.items():
            assert rec["notice"]["qr_url"] == portal_url(h, item_id)  # the portal article
            assert rec["notice"]["target"] == {"all_communities": True}
    rx = sim.received("ejiatong")
    assert rx["applied"] == 21 and rx["duplicates"] == 0
    # 梅花村街 was reached through its own base URL, signed with its own key (its platform refuses
    # the gateway's); the others through the gateway, with the gateway's key
    paths = {e["path"] for e in rx["log"]}
    assert "/own-%s/v1/streets/%s/notices" % (MHCJ, MHCJ) in paths
    assert "/v1/streets/%s/notices" % MHCJ not in paths
    assert "/v1/streets/%s/notices" % BJJ in paths
    # depends_on: no street was pushed before the portal had the article
    portal_at = {e["key"].split(":")[1]: e["time_ms"] for e in sim.received("website")["log"]
                 if e["applied"]}
    for e in rx["log"]:
        assert e["time_ms"] >= portal_at[e["key"].split(":")[1]], e
    # remote ids are the platform's notice ids, one per street
    ids = [r[0] for r in h.query("SELECT remote_id FROM deliveries WHERE instance=?", (EJT,))]
    assert len(set(ids)) == 21
    assert h.stop() == 0
    # a street key that cannot be read fails the configuration check, naming the street
    h.config["channels"][EJT]["street_secrets"] = {MHCJ: "file:%s" % (tmp_workdir / "nope")}
    h.write_config()
    r = subprocess.run([str(HERALDD), "--check-config", str(h.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "street_secrets: %s:" % MHCJ in r.stderr, r.stderr


def test_one_street_down_while_17_deliver(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-ejt-down")
    sim.control("ejiatong", "POST", "streets", {"street": BJJ, "down": True})
    kafka.produce(t["items"], [item("ejt-down-1"), item("ejt-down-2")], key=lambda _, d: d["id"])

    wait_for(lambda: delivered(h, "ejt-down-1", 17) and delivered(h, "ejt-down-2", 17), 60,
             "17 streets delivered while 440104004 is down")
    wait_for(lambda: metric(h, "herald_breaker_open", {"instance": EJT}) == 1, 30,
             "the breaker of street 440104004 (and only it) to open")
    for i in ("ejt-down-1", "ejt-down-2"):
        assert states(h, i)[BJJ] in ("waiting_retry", "pending", "sending")
    # the breaker opens in memory; the third failed attempt's row commits with its batch
    wait_for(lambda: h.query("SELECT COUNT(*) FROM attempts a JOIN deliveries d ON"
                             " d.id=a.delivery_id WHERE d.target=? AND a.outcome='unknown'",
                             (BJJ,))[0][0] >= 3, 10, "three failed attempts on record")
    assert notices(sim, BJJ) == {}

    sim.control("ejiatong", "POST", "streets", {"street": BJJ, "down": False})
    wait_for(lambda: delivered(h, "ejt-down-1", 18) and delivered(h, "ejt-down-2", 18), 60,
             "street 440104004 delivered after it came back")
    wait_for(lambda: metric(h, "herald_breaker_open", {"instance": EJT}) == 0, 10,
             "the breaker to close")
    assert "breaker closed target=%s" % BJJ in h.proc.stderr_text()
    assert set(notices(sim, BJJ)) == {"ejt-down-1", "ejt-down-2"}
    rx = sim.received("ejiatong")
    assert rx["applied"] == 36 and rx["duplicates"] == 0  # dropped requests applied nothing
    assert h.stop() == 0


def test_revision_updates_and_retraction_withdraws(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-ejt-rev")
    three = [BJJ, DSJ, MHCJ]
    kafka.produce(t["items"], [item("ejt-rev", 1, streets=three)], key="ejt-rev")
    wait_for(lambda: delivered(h, "ejt-rev", 3, 1), 60, "version 1 on three streets")
    before = {c: notices(sim, c)["ejt-rev"]["notice_id"] for c in three}

    kafka.produce(t["items"], [item("ejt-rev", 2, streets=three,
                                    title="关于春风行动招聘会时间调整的通知（更正）")], key="ejt-rev")
    wait_for(lambda: delivered(h, "ejt-rev", 3, 2), 60, "version 2 on three streets")
    for c in three:
        rec = notices(sim, c)["ejt-rev"]
        assert rec["revision"] == 2 and rec["notice_id"] == before[c]  # updated in place
        assert rec["notice"]["title"] == "关于春风行动招聘会时间调整的通知（更正）"

    kafka.produce(t["items"], [retract_item("ejt-rev", 3)], key="ejt-rev")

    def withdrawn():
        st = h.query("SELECT target, state, reason FROM deliveries WHERE item_id='ejt-rev' AND"
                     " instance=? AND version=2", (EJT,))
        if any(s != "retracted" for _, s, _ in st):
            raise NotYet(st)
        return st

    wait_for(withdrawn, 60, "every street's notice withdrawn")
    for c in three:
        assert notices(sim, c) == {}
    # the portal's withdrawal runs on its own instance, in no order with the streets'
    wait_for(lambda: sim.state("website")["documents"] == {}, 30, "the portal's copy withdrawn")
    assert h.stop() == 0


def test_window_end_withdraws_and_expired_is_never_pushed(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-ejt-exp")
    sim.control("ejiatong", "POST", "streets", {"street": MHCJ, "status": 503})
    expires = at(14)
    kafka.produce(t["items"], [item("ejt-exp", streets=[BJJ, MHCJ],
                                    schedule={"expires_at": expires})], key="ejt-exp")
    wait_for(lambda: states(h, "ejt-exp").get(BJJ) == "delivered", 60, "delivered on 北京街")
    assert notices(sim, BJJ)["ejt-exp"]["notice"]["valid_until"] == expires

    def ended():
        st = h.query("SELECT target, state, reason FROM deliveries WHERE item_id='ejt-exp'"
                     " AND instance=?", (EJT,))
        if sorted(s for _, s, _ in st) != ["expired", "retracted"]:
            raise NotYet(st)
        return {tgt: (s, r) for tgt, s, r in st}

    got = wait_for(ended, 45, "the window to end on both streets")
    assert got[BJJ] == ("retracted", "expired_window")  # withdrawn at expires_at
    assert got[MHCJ][0] == "expired"  # never delivered, and never will be
    assert notices(sim, BJJ) == {}  # deleted, not merely hidden
    # nothing was pushed to 梅花村街 once the window had ended (the core and the adapter both
    # refuse to send an expired item)
    expires_ms = int(datetime.datetime.fromisoformat(expires).timestamp() * 1000)
    posts = [e for e in sim.received("ejiatong")["log"]
             if e["path"].startswith("/v1/streets/%s/" % MHCJ) and e["method"] == "POST"]
    assert posts and all(e["status"] == 503 for e in posts)
    assert all(e["time_ms"] < expires_ms + 200 for e in posts), (expires_ms, posts[-1])
    assert h.query("SELECT COUNT(*) FROM deliveries WHERE state NOT IN ('expired','retracted',"
                   "'delivered')")[0][0] == 0
    assert h.stop() == 0
