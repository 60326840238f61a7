"""Raw-HTTP tests of the display_board simulator: the board gateway of CHANNELS.md §4.5 (with the
signing of §3.3, the Retry-After of §5, the Onbon behaviours of §4.1 and the validity rule of §4.4).

Each test checks one rule on the wire (no herald adapter involved) and names its source.
Run: HERALD_BUILD_DIR=build python3 -m pytest -q channels/display_board/test_sim_display_board.py
"""

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim"))
import simharness as h  # noqa: E402

SECRET = "board-gateway-secret"
BOARDS = {
    "zwfw-center": {"areas": {"entrance": {"max_chars": 64}, "hall-a": {"max_chars": 256},
                              "queue": {}}},
    "bjj-fwzx": {"areas": {"led-1": {"max_chars": 64}, "panel": {"max_chars": 256}}},
}
AREA = "/v1/boards/zwfw-center/areas/entrance/message"


@pytest.fixture(scope="module")
def sim():
    with h.SimProcess({"display_board": {"secret": SECRET, "boards": BOARDS}},
                      only="display_board") as proc:
        yield proc


@pytest.fixture
def url(sim):
    h.reset(sim.urls["display_board"])
    return sim.urls["display_board"]


def iso(offset_s):
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600 + offset_s))


# fixed at import, so that the same call gives the same body (idempotency keys compare bodies)
FROM, UNTIL = iso(-3600), iso(2 * 86400)


def msg(item_id="yx-zsj-2026-dp-002", revision=1, **over):
    d = {
        "item_id": item_id,
        "revision": revision,
        "priority": "normal",
        "text": "区政务服务中心3月14日暂停办理不动产登记和社保业务（详见区政府网站）",
        "mode": "scroll_left",
        "speed": 5,
        "stay_s": 5,
        "valid_from": FROM,
        "valid_until": UNTIL,
        "color": "green",
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not DROP}


DROP = object()


def raw_of(body):
    if isinstance(body, (bytes, str)):
        return body.encode() if isinstance(body, str) else body
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def signed(url, method, path, body=b"", key=None, ts=None, secret=SECRET, sig=None):
    raw = raw_of(body)
    ts = h.now_s() if ts is None else ts
    hdrs = {"X-Gov-Timestamp": str(ts),
            "X-Gov-Signature": sig if sig is not None else h.sign_v1(secret, ts, raw)}
    if raw:
        hdrs["Content-Type"] = "application/json; charset=utf-8"
    if key:
        hdrs["Idempotency-Key"] = key
    return h.request(url, method, path, raw, hdrs)


def put(url, body, path=AREA, key=None, **kw):
    if key is None:
        key = "%s:%s:%s" % (body["item_id"], body["revision"], path)
    return signed(url, "PUT", path, body, key=key, **kw)


def delete(url, item_id, path=AREA, **kw):
    q = "" if item_id is None else "?item_id=" + item_id
    return signed(url, "DELETE", path + q, **kw)


def status(url, board="zwfw-center"):
    r = signed(url, "GET", "/v1/boards/%s/status" % board, ts=h.sim_now_s(url))
    assert r.status == 200, r
    return r.json()


def showing(url, board="zwfw-center", area="entrance"):
    s = h.state(url)["boards"][board]["areas"][area]["showing"]
    return s and (s["item_id"], s["revision"])


def set_online(url, board, online):
    return h.control(url, "POST", "boards", {"board": board, "online": online})


# ---- PUT, idempotency ------------------------------------------------------------------------


def test_put_shows_the_message(url):
    """§4.5 PUT .../areas/{area_id}/message: 200 applied; the area shows it."""
    r = put(url, msg())
    assert r.status == 200, r
    assert r.json() == {"board_id": "zwfw-center", "area_id": "entrance", "status": "shown"}
    assert showing(url) == ("yx-zsj-2026-dp-002", 1)
    assert h.state(url)["boards"]["zwfw-center"]["areas"]["entrance"]["showing"]["text"] == \
        msg()["text"]
    assert showing(url, area="hall-a") is None


def test_same_area_replaces(url):
    """§4.5 idempotent replace / §4.1 Onbon: sending to the same area id replaces its content."""
    put(url, msg("a"))
    put(url, msg("b", text="流花街政务服务中心暑期调整办公时间"))
    assert showing(url) == ("b", 1)
    assert delete(url, "a").status == 404  # gone with the replacement


def test_replay_and_key_reuse(url):
    """§4.5 Idempotency-Key (as §3.3): the same request again is a replay of the first answer,
    applied once; the key with another body is 422; a missing key is 400."""
    first = put(url, msg(), key="k1")
    again = put(url, msg(), key="k1")
    assert again.status == 200 and again.body == first.body
    assert again.header("Idempotent-Replayed") == "true"
    r = put(url, msg(text="另一条"), key="k1")
    assert r.status == 422 and r.json() == {"error": "idempotency_key_reused"}
    r = signed(url, "PUT", AREA, msg(), key=None)
    assert r.status == 400 and r.json()["field"] == "Idempotency-Key"
    rec = h.received(url)
    assert rec["applied"] == 1 and rec["duplicates"] == 1


def test_in_flight_409(url):
    """§4.5 409 in flight: the same key while the first request is unanswered."""
    h.faults(url, latency_ms=1500)
    raw = raw_of(msg())
    ts = h.now_s()
    first = h.Background(url, "PUT", AREA, raw, {
        "Content-Type": "application/json", "Idempotency-Key": "k-fly",
        "X-Gov-Timestamp": str(ts), "X-Gov-Signature": h.sign_v1(SECRET, ts, raw)})
    h.wait_pending(url, 1)
    h.faults(url, latency_ms=0)
    r = put(url, msg(), key="k-fly")
    assert r.status == 409 and r.json() == {"error": "in_flight"}
    assert first.result().status == 200
    assert h.received(url)["applied"] == 1


def test_revisions(url):
    """§4.5 upsert of (item_id, revision): a newer revision replaces, the same one changes
    nothing (counted a duplicate), an older one is 409 stale_revision."""
    put(url, msg(revision=2))
    assert put(url, msg(revision=2), key="other").json()["status"] == "unchanged"
    r = put(url, msg(revision=1))
    assert r.status == 409 and r.json() == {"error": "stale_revision", "revision": 2}
    assert put(url, msg(revision=3, text="更正后的内容")).status == 200
    assert showing(url) == ("yx-zsj-2026-dp-002", 3)


# ---- signing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["put", "delete", "status"])
def test_signature_required(url, what):
    """§4.5 headers X-Gov-Timestamp, X-Gov-Signature as §3.3 on every call: 401 bad_signature
    with the wrong secret, 401 stale_timestamp past 300 s."""
    path = {"put": AREA, "delete": AREA + "?item_id=x", "status": "/v1/boards/bjj-fwzx/status"}
    method = {"put": "PUT", "delete": "DELETE", "status": "GET"}[what]
    body = msg() if what == "put" else b""
    r = signed(url, method, path[what], body, key="k", secret="wrong-secret")
    assert r.status == 401 and r.json() == {"error": "bad_signature"}
    r = signed(url, method, path[what], body, key="k", ts=h.now_s() - 301)
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}
    h.clock(url, 1000)
    r = signed(url, method, path[what], body, key="k")
    assert r.status == 401 and r.json() == {"error": "stale_timestamp"}


# ---- text: GBK, length, one paragraph ----------------------------------------------------------


@pytest.mark.parametrize("ch", ["😀", "🏠", "㐀", "𠀀", "₿", "©", "•", "€", "⑪", "ä", "♥"])
def test_text_not_gbk_encodable(url, ch):
    """§4.5 422 text_not_gbk_encodable: emoji, CJK extensions, symbols outside GBK; GBK proper,
    so CP936's single byte 0x80 for € is refused too. Names the character and its offset."""
    r = put(url, msg(text="暴雨橙色预警" + ch + "请注意防范"))
    assert r.status == 422, r
    assert r.json() == {"error": "text_not_gbk_encodable", "char": ch, "offset": 6}
    assert showing(url) is None


def test_gbk_agrees_with_an_independent_codec(url):
    """§4.5 GBK: the simulator accepts a character exactly when Python's gbk codec encodes it
    (an independent implementation of the table)."""
    sample = "越秀区〇℃№§¤·—–…‘’“”、。〈〉《》「」『』【】〔〕①⑩⑴⒈ⅠⅫ＋－＜＞ＡＺａｚ０９￥＄" \
             "αΩаЯāáǎàㄅㄩ┌┐╳■□▲△◆◇○◎●★☆♀♂→←↑↓√∞∠∥∩∪∫∮∴∵≈≠≡≤≥⊙⊥" \
             "丂乗兀嗀碶﨎﨏﨑﨓﨔﨟﨡﨣﨤﨧﨨﨩" \
             "•€™©®¥¢£ßäöüñç♥♡☎✓✔❤★️⑪⑫㐀䶵𠀀😀"
    for i, ch in enumerate(sample):
        try:
            ch.encode("gbk")
            want = 200
        except UnicodeEncodeError:
            want = 422
        r = put(url, msg("g-%d" % i, text="字" + ch))
        assert r.status == want, (ch, hex(ord(ch)), r)


def test_text_too_long(url):
    """§4.5 422 text_too_long with max_chars: single-line scrolling 64, multi-line 256 (per
    board/area config; an area without one takes the default 64); counted in characters."""
    assert put(url, msg("a", text="字" * 64)).status == 200
    r = put(url, msg("b", text="字" * 65))
    assert r.status == 422 and r.json() == {"error": "text_too_long", "max_chars": 64, "chars": 65}
    hall = "/v1/boards/zwfw-center/areas/hall-a/message"
    assert put(url, msg("c", text="字" * 256), path=hall).status == 200
    r = put(url, msg("d", text="字" * 257), path=hall)
    assert r.status == 422 and r.json()["max_chars"] == 256
    queue = "/v1/boards/zwfw-center/areas/queue/message"
    assert put(url, msg("e", text="字" * 65), path=queue).json()["max_chars"] == 64


@pytest.mark.parametrize("text", ["第一行\n第二行", "制表\t符", "<p>通知</p>", "请&nbsp;注意"])
def test_text_one_paragraph_no_html(url, text):
    """§4.5 text: a single paragraph, no HTML -> 400 validation, field text."""
    r = put(url, msg(text=text))
    assert r.status == 400 and r.json()["field"] == "text", r


@pytest.mark.parametrize("over,field", [
    ({"mode": "marquee"}, "mode"), ({"speed": 11}, "speed"), ({"speed": 0}, "speed"),
    ({"stay_s": 65536}, "stay_s"), ({"color": "blue"}, "color"), ({"priority": "high"}, "priority"),
    ({"text": DROP}, "text"), ({"revision": "1"}, "revision"), ({"blink": True}, "blink"),
])
def test_field_validation(url, over, field):
    """§4.5 body: mode static|scroll_left|scroll_up|typeout, speed 1-10, stay_s 16-bit seconds
    (§4.1), color red|green|yellow, priority normal|urgent; unknown fields -> 400."""
    r = put(url, msg(**over))
    assert r.status == 400 and r.json()["field"] == field, r


# ---- priority and validity -------------------------------------------------------------------


def test_urgent_preempts_and_normal_comes_back(url):
    """§4.5 priority normal|urgent (§4.1 ImmePlay interrupts): an urgent message pre-empts the
    normal one of the same area; when the urgent one is withdrawn the normal one is back."""
    put(url, msg("notice"))
    r = put(url, msg("warning", priority="urgent", color="red", text="暴雨橙色预警"))
    assert r.json()["status"] == "shown"
    assert showing(url) == ("warning", 1)
    st = status(url)["areas"]["entrance"]["messages"]
    assert {m["item_id"]: m["state"] for m in st} == {"warning": "shown", "notice": "preempted"}
    assert put(url, msg("notice2", text="新通知")).json()["status"] == "preempted"
    assert delete(url, "warning").status == 200
    assert showing(url) == ("notice2", 1)


def test_urgent_expiry_brings_normal_back(url):
    """§4.4 clients check valid_until themselves: once the urgent message's window is over the
    board shows the normal one again (simulator clock advanced, not slept)."""
    put(url, msg("notice"))
    put(url, msg("warning", priority="urgent", valid_until=iso(600)))
    assert showing(url) == ("warning", 1)
    h.clock(url, 700)
    assert showing(url) == ("notice", 1)


def test_never_shown_outside_its_window(url):
    """§4.4/§4.5 valid_until: nothing is shown past it; a message already expired is refused
    (422 expired); one not yet valid is kept but not shown."""
    r = put(url, msg(valid_from=iso(-3600), valid_until=iso(-1)))
    assert r.status == 422 and r.json()["error"] == "expired"
    assert put(url, msg("soon", valid_from=iso(600))).json()["status"] == "scheduled"
    assert showing(url) is None
    h.clock(url, 700)
    assert showing(url) == ("soon", 1)
    h.clock(url, 3 * 86400)
    assert showing(url) is None
    assert status(url)["areas"]["entrance"]["messages"][0]["state"] == "expired"


def test_no_valid_until_stays_until_deleted(url):
    """§4.5 valid_until is optional: without it the message stays until withdrawn."""
    put(url, msg(valid_until=DROP))
    h.clock(url, 30 * 86400)
    assert showing(url) == ("yx-zsj-2026-dp-002", 1)


# ---- delete ----------------------------------------------------------------------------------


def test_delete(url):
    """§4.5 DELETE .../message?item_id=...: 200; again 404 (the adapter treats it as done);
    another item's id leaves the area alone; item_id is required."""
    put(url, msg())
    assert delete(url, "other-item").status == 404
    assert showing(url) == ("yx-zsj-2026-dp-002", 1)
    r = delete(url, "yx-zsj-2026-dp-002")
    assert r.status == 200 and r.json() == {"deleted": True}
    assert showing(url) is None
    assert delete(url, "yx-zsj-2026-dp-002").status == 404
    r = delete(url, None)
    assert r.status == 400 and r.json()["field"] == "item_id"


# ---- offline boards, status ------------------------------------------------------------------


def test_offline_board_queues_and_resyncs(url):
    """§4.5 202 queued (board offline; will apply on reconnect) and "the gateway must hold the
    desired state so a board that reboots or reconnects is re-synced"."""
    panel = "/v1/boards/bjj-fwzx/areas/panel/message"
    put(url, msg("old"), path=panel)
    set_online(url, "bjj-fwzx", False)
    r = put(url, msg("new"), path=panel)
    assert r.status == 202 and r.json()["status"] == "queued"
    assert showing(url, "bjj-fwzx", "panel") == ("old", 1)  # the board still has the old one
    st = status(url, "bjj-fwzx")
    assert st["online"] is False
    assert st["areas"]["panel"]["messages"] == [
        {"item_id": "new", "revision": 1, "priority": "normal", "state": "queued"}]
    led = "/v1/boards/bjj-fwzx/areas/led-1/message"
    put(url, msg("gone"), path=led)
    assert delete(url, "gone", path=led).status == 202
    back = set_online(url, "bjj-fwzx", True)
    assert back["online"] is True
    assert showing(url, "bjj-fwzx", "panel") == ("new", 1)
    assert showing(url, "bjj-fwzx", "led-1") is None
    assert h.state(url)["boards"]["bjj-fwzx"]["resyncs"] == 1
    assert status(url, "bjj-fwzx")["areas"]["panel"]["messages"][0]["state"] == "shown"


def test_status(url):
    """§4.5 GET /v1/boards/{board_id}/status: {online, last_seen, current{item_id, revision,
    valid_until}} (plus each area's messages)."""
    put(url, msg())
    st = status(url)
    assert st["online"] is True and st["board_id"] == "zwfw-center"
    assert st["last_seen"].endswith("Z") or "+" in st["last_seen"]
    assert st["current"] == {"item_id": "yx-zsj-2026-dp-002", "revision": 1,
                             "valid_until": msg()["valid_until"], "area": "entrance"}


def test_unknown_board_and_area(url):
    """§4.5: boards and areas are the gateway's configuration -> 404 unknown_board/unknown_area."""
    r = put(url, msg(), path="/v1/boards/nowhere/areas/entrance/message")
    assert r.status == 404 and r.json() == {"error": "unknown_board"}
    r = put(url, msg(), path="/v1/boards/zwfw-center/areas/roof/message")
    assert r.status == 404 and r.json() == {"error": "unknown_area"}


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after(url, code):
    """§4.5 429/503 + Retry-After (§5; the common fault knob)."""
    h.faults(url, fail_next=1, status=code, retry_after="12")
    r = put(url, msg())
    assert r.status == code and r.header("Retry-After") == "12"
    assert showing(url) is None
    assert put(url, msg()).status == 200
