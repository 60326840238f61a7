"""display_board end to end: Kafka -> heraldd -> the board gateway simulator (and the portal
simulator: the boards point to the portal once the article is there, depends_on website:portal).

One delivery per board/area with the area's own limit; text the gateway accepts as GBK; an
urgent item pre-empts a normal one and the normal one is back when the urgent window ends; an
offline board answers 202, the delivery waits in `publishing` and is delivered once the board
is back and re-synced; a retraction and the end of a window take the message down. Windows are
a few seconds (config), waited for as conditions with deadlines, never slept through.
"""

import re

from herald_test import kafka
from herald_test.herald import SOURCE, SECRET, Herald, Sim, website_channel
from herald_test.items import at, make_item, retract_item
from herald_test.procs import NotYet, wait_for
from herald_test.scenario import topics

DB = "display_board:halls"


def layout():
    """{board: {area: max_chars}} of the service halls in seeds/topology.yaml."""
    boards, cur = {}, None
    for line in (SOURCE / "seeds" / "topology.yaml").read_text().splitlines():
        m = re.match(r"^      - id: ([\w-]+)$", line)
        if m:
            cur = boards.setdefault(m.group(1), {})
            continue
        m = re.match(r"^\s+- \{id: ([\w-]+), lines: \w+, max_chars: (\d+)", line)
        if m and cur is not None:
            cur[m.group(1)] = int(m.group(2))
    return boards


BOARDS = layout()
AREAS = ["%s/%s" % (b, a) for b, areas in BOARDS.items() for a in areas]


def setup(workdir, bootstrap, prefix, **over):
    assert len(AREAS) == 10 and BOARDS["zwfw-center"]["hall-a"] == 256
    t = topics(prefix)
    sim_boards = {b: {"areas": {a: {"max_chars": n} for a, n in areas.items()}}
                  for b, areas in BOARDS.items()}
    sim = Sim(workdir, config={"display_board": {"secret": SECRET, "boards": sim_boards}}).start()
    ch = {"url": sim.url("display_board"), "secret": None, "targets": AREAS,
          "targets_from": "boards", "depends_on": ["website:portal"], "max_chars": 64,
          "area_max_chars": {"%s/%s" % (b, a): str(n) for b, areas in BOARDS.items()
                             for a, n in areas.items() if n != 64},
          "retry_base": "100ms", "retry_cap": "500ms", "timeout": "3s", "max_attempts": 50,
          "poll_interval": "300ms", "max_in_flight": 8}
    ch.update(over)
    h = Herald(workdir, bootstrap, t, {"website:portal": website_channel(sim), DB: ch},
               [{"name": "all", "to": ["website:portal", DB]}]).start()
    return t, sim, h


def item(item_id, boards, version=1, **over):
    return make_item(item_id, version, targets={"channels": ["website:portal", DB],
                                                "boards": boards},
                     publisher={"code": "YX-ZSJ", "name": "广州市越秀区政务服务数据管理局",
                                "kind": "department"}, **over)


def state_of(h, item_id, target, version=None):
    sql = "SELECT state, reason FROM deliveries WHERE item_id=? AND instance=? AND target=?"
    args = [item_id, DB, target]
    if version:
        sql += " AND version=?"
        args.append(version)
    rows = h.query(sql + " ORDER BY version DESC", args)
    return rows[0] if rows else (None, None)


def all_in(h, item_id, targets, state):
    got = {t: state_of(h, item_id, t)[0] for t in targets}
    if any(s != state for s in got.values()):
        raise NotYet(got)
    return True


def showing(sim, target):
    b, a = target.split("/")
    s = sim.state("display_board")["boards"][b]["areas"][a]["showing"]
    return s and (s["item_id"], s["text"])


def test_each_area_gets_its_own_gbk_text(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-board-fanout")
    areas = ["zwfw-center/entrance", "zwfw-center/hall-a", "bjj-fwzx/led-1"]
    doc = item("board-1", areas, title="📢区政务服务中心3月14日暂停办理不动产登记和社保业务的通知",
               summary="3月14日全天B区暂停不动产登记和社保业务😊，可通过粤省事在线办理。")
    kafka.produce(t["items"], [doc], key="board-1")
    wait_for(lambda: all_in(h, "board-1", areas, "delivered"), 60, "three areas delivered")
    full = ("区政务服务中心3月14日暂停办理不动产登记和社保业务的通知：3月14日全天B区暂停不动产登记和"
            "社保业务，可通过粤省事在线办理。（详见区政府网站）")
    assert showing(sim, "zwfw-center/hall-a") == ("board-1", full)  # the 256-character panel
    for line in ("zwfw-center/entrance", "bjj-fwzx/led-1"):  # single lines: 64 characters
        _, text = showing(sim, line)
        assert len(text) == 64 and text.endswith("…（详见区政府网站）"), text
        assert text.startswith("区政务服务中心3月14日")
    for target in AREAS:
        if target not in areas:
            assert showing(sim, target) is None
    rx = sim.received("display_board")
    assert rx["applied"] == 3 and rx["duplicates"] == 0
    assert all(e["status"] == 200 for e in rx["log"])  # no 422: every text was GBK and fit
    assert h.stop() == 0


def test_urgent_preempts_and_the_normal_item_returns(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-board-urgent")
    entrance = "zwfw-center/entrance"
    kafka.produce(t["items"], [item("hall-notice", [entrance], title="跨省通办专窗启用")],
                  key="hall-notice")
    wait_for(lambda: all_in(h, "hall-notice", [entrance], "delivered"), 60, "the notice shown")
    assert showing(sim, entrance)[0] == "hall-notice"
    kafka.produce(t["items"], [item("rain-warning", [entrance], title="暴雨橙色预警",
                                    category="emergency", priority="urgent",
                                    summary="请市民减少外出。", schedule={"expires_at": at(12)})],
                  key="rain-warning")
    wait_for(lambda: showing(sim, entrance)[0] == "rain-warning", 60, "the warning pre-empts")
    st = sim.state("display_board")["boards"]["zwfw-center"]["areas"]["entrance"]["desired"]
    assert st["urgent"]["color"] == "red" and st["normal"]["item_id"] == "hall-notice"
    wait_for(lambda: state_of(h, "rain-warning", entrance) == ("retracted", "expired_window"),
             40, "the warning withdrawn at its expires_at")
    assert showing(sim, entrance)[0] == "hall-notice"  # back
    assert state_of(h, "hall-notice", entrance)[0] == "delivered"
    assert h.stop() == 0


def test_board_offline_then_back(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-board-offline")
    panel, led = "lhj-fwzx/panel", "lhj-fwzx/led-1"
    sim.control("display_board", "POST", "boards", {"board": "lhj-fwzx", "online": False})
    kafka.produce(t["items"], [item("lhj-hours", [panel, led], title="流花街政务服务中心暑期办公时间调整")],
                  key="lhj-hours")
    wait_for(lambda: all_in(h, "lhj-hours", [panel, led], "publishing"), 60,
             "the gateway queued both areas (202): publishing")
    polls = lambda: sum(1 for e in sim.received("display_board")["log"]
                        if e["path"] == "/v1/boards/lhj-fwzx/status")
    wait_for(lambda: polls() >= 2, 30, "status polls while the board is offline")
    assert showing(sim, panel) is None
    assert all_in(h, "lhj-hours", [panel, led], "publishing")

    sim.control("display_board", "POST", "boards", {"board": "lhj-fwzx", "online": True})
    wait_for(lambda: all_in(h, "lhj-hours", [panel, led], "delivered"), 30,
             "delivered once the board is back and re-synced")
    assert showing(sim, panel)[0] == "lhj-hours" and showing(sim, led)[0] == "lhj-hours"
    assert sim.state("display_board")["boards"]["lhj-fwzx"]["resyncs"] == 1
    rx = sim.received("display_board")
    puts = [e for e in rx["log"] if e["method"] == "PUT"]
    assert len(puts) == 2 and all(e["status"] == 202 for e in puts)  # no re-PUT needed
    assert h.stop() == 0


def test_retraction_takes_it_down(kafka_bootstrap, tmp_workdir):
    t, sim, h = setup(tmp_workdir, kafka_bootstrap, "e2e-board-retract")
    areas = ["mhcj-fwzx/led-1", "dsj-fwzx/led-1"]
    kafka.produce(t["items"], [item("canteen", areas, title="长者饭堂服务时间调整")], key="canteen")
    wait_for(lambda: all_in(h, "canteen", areas, "delivered"), 60, "shown on two boards")
    kafka.produce(t["items"], [retract_item("canteen", 2)], key="canteen")
    wait_for(lambda: all_in(h, "canteen", areas, "retracted"), 60, "withdrawn from both")
    for a in areas:
        assert showing(sim, a) is None
    dels = [e for e in sim.received("display_board")["log"] if e["method"] == "DELETE"]
    assert sorted(e["path"] for e in dels) == sorted(
        "/v1/boards/%s/areas/%s/message" % tuple(a.split("/")) for a in areas)
    assert all(e["status"] == 200 for e in dels)
    assert h.stop() == 0
