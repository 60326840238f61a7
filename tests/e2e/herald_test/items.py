"""Valid herald.item/v1 documents for end-to-end tests (schema/herald.item.v1.json).

make_item() gives a complete, reviewed publish item; keyword arguments override top-level fields
(None removes one). retract_item() gives the minimal reviewed retraction.
"""

import datetime
import json

TZ = datetime.timezone(datetime.timedelta(hours=8))


def _ts(dt):
    return dt.astimezone(TZ).isoformat(timespec="seconds")


def review(approved):
    return [
        {"level": "initial", "reviewer": "陈敏", "at": _ts(approved - datetime.timedelta(hours=3))},
        {"level": "recheck", "reviewer": "黄志强", "at": _ts(approved - datetime.timedelta(hours=2))},
        {"level": "final", "reviewer": "李卫东", "at": _ts(approved - datetime.timedelta(hours=1))},
    ]


def make_item(item_id, version=1, **over):
    approved = datetime.datetime.now(TZ) - datetime.timedelta(minutes=5)
    doc = {
        "schema": "herald.item/v1",
        "id": item_id,
        "version": version,
        "action": "publish",
        "approved_at": _ts(approved),
        "review": review(approved),
        "publisher": {"code": "YX-FGJ", "name": "广州市越秀区发展和改革局", "kind": "department"},
        "column": "政务公开/通知公告",
        "category": "notice",
        "title": "关于%s的通知（第%d版）" % (item_id, version),
        "summary": "越秀区发展和改革局发布通知。",
        "body_html": "<p>各街道办事处、区政府各部门：</p><p>现将有关事项通知如下。</p>",
    }
    for k, v in over.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


def retract_item(item_id, version, reason="发布单位撤回"):
    approved = datetime.datetime.now(TZ) - datetime.timedelta(minutes=1)
    return {
        "schema": "herald.item/v1",
        "id": item_id,
        "version": version,
        "action": "retract",
        "approved_at": _ts(approved),
        "review": review(approved),
        "reason": reason,
    }


def at(seconds_from_now):
    """An RFC 3339 time `seconds_from_now` away (for schedule.not_before / expires_at)."""
    return _ts(datetime.datetime.now(TZ) + datetime.timedelta(seconds=seconds_from_now))


def encode(doc):
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
