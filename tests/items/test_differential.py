"""Differential test: herald's hand-written C validator (src/item.c, through item_check) against
Python's jsonschema (Draft 2020-12, with format assertions) on schema/herald.item.v1.json.

Over the seeds (seeds/items), the fixtures (tests/items/valid, tests/items/invalid) and a
generated corpus of a few thousand mutations of valid items (deterministic seed), both must
agree on accept/reject. The only allowed differences are the rules JSON Schema cannot express,
each recomputed here independently and expected with its own reason code:

  review_order       review times decrease                       review_incomplete
  approved_early     approved_at before the final review          review_incomplete
  schedule_order     expires_at not after not_before              invalid_value
  duplicate_key      an object repeats a key                      invalid_json
  nul_char           a string holds U+0000 (\\u0000)               invalid_json
  lone_surrogate     a string holds a lone \\uD800-\\uDFFF escape   invalid_json

Run through ctest (item_differential), or by hand with ITEM_CHECK=path/to/item_check.
"""
import calendar
import copy
import glob
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

try:
    import jsonschema
except ImportError:  # ctest maps 77 to "skipped"
    pytest.exit("skipped: Python jsonschema is not installed (pip install 'jsonschema>=4')", 77)

if "date-time" not in jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers:
    pytest.exit("skipped: jsonschema cannot check date-time here (pip install rfc3339-validator)", 77)

HERE = Path(__file__).resolve().parent
SRC = Path(os.environ.get("HERALD_SOURCE_DIR") or HERE.parents[1])
SCHEMA = json.loads((SRC / "schema" / "herald.item.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
FIXTURE_MAX_LEN = 16384
SEED = 20260302
N_GENERATED = 4000

# rule -> the reason code the C validator must give
RULE_CODES = {
    "review_order": "review_incomplete",
    "approved_early": "review_incomplete",
    "schedule_order": "invalid_value",
    "duplicate_key": "invalid_json",
    "nul_char": "invalid_json",
    "lone_surrogate": "invalid_json",
}


def item_check_path():
    p = os.environ.get("ITEM_CHECK")
    if p:
        return p
    found = sorted(glob.glob(str(SRC / "build*" / "tests" / "items" / "item_check")))
    if not found:
        pytest.exit("skipped: no item_check binary (set ITEM_CHECK or build it)", 77)
    return found[0]


def run_c(messages, max_len=0, key=None):
    """Verdicts of the C validator: a list of dicts, one per message (bytes)."""
    args = [item_check_path(), "--framed"]
    if max_len:
        args += ["--max-len", str(max_len)]
    if key is not None:  # item_check takes a key only with files
        raise ValueError("use run_c_files for keys")
    stream = b"".join(b"%d\n" % len(m) + m for m in messages)
    out = subprocess.run(args, input=stream, stdout=subprocess.PIPE, check=True, timeout=240)
    lines = out.stdout.decode().splitlines()
    assert len(lines) == len(messages), "item_check printed one line per message"
    return [json.loads(line) for line in lines]


# ---- the reference: strict JSON reading, jsonschema, and the rules beyond the schema -------------

class Duplicate(Exception):
    pass


def _pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Duplicate()
    return dict(pairs)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _strings(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                      r"(?:[Zz]|([+-])(\d\d):(\d\d))", re.ASCII)


def rfc3339_ns(s):
    """(seconds, nanoseconds) since the epoch; s is known valid (jsonschema passed it)."""
    m = _RFC3339.fullmatch(s)
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    t = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0))
    if m.group(8):
        off = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        t -= off if m.group(8) == "+" else -off
    ns = int((m.group(7) or "0")[:9].ljust(9, "0"))
    return (t, ns)


def semantic_rule(doc):
    """The first rule beyond the schema that a schema-valid doc breaks, or None."""
    times = [rfc3339_ns(step["at"]) for step in doc["review"]]
    if times[1] < times[0] or times[2] < times[1]:
        return "review_order"
    if rfc3339_ns(doc["approved_at"]) < times[2]:
        return "approved_early"
    sched = doc.get("schedule", {})
    if "not_before" in sched and "expires_at" in sched:
        if rfc3339_ns(sched["expires_at"]) <= rfc3339_ns(sched["not_before"]):
            return "schedule_order"
    return None


def reference(raw):
    """Verdict of the reference for one message: (stage, rule) where stage is one of
    'utf8', 'json', 'schema' (rejected by reading or by jsonschema), 'rule' (schema-valid, rejected
    by a rule beyond the schema: rule names it) or 'accept'."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ("utf8", None)
    dup = False
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except Duplicate:
        dup = True
        try:  # read it again, last key wins, to see what jsonschema alone would say
            doc = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return ("json", None)
    except (ValueError, RecursionError):
        return ("json", None)
    if not VALIDATOR.is_valid(doc):
        return ("schema", None)
    if dup:
        return ("rule", "duplicate_key")
    for s in _strings(doc):
        if "\x00" in s:
            return ("rule", "nul_char")
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in s):
            return ("rule", "lone_surrogate")
    rule = semantic_rule(doc)
    return ("rule", rule) if rule else ("accept", None)


class Tally:
    def __init__(self):
        self.cases = 0
        self.agree = 0
        self.rules = Counter()
        self.stages = Counter()
        self.codes = Counter()
        self.failures = []

    def add(self, name, raw, c):
        stage, rule = reference(raw)
        self.cases += 1
        self.stages[stage] += 1
        if not c["accepted"]:
            self.codes[c["code"]] += 1
        if stage == "accept":
            ok = c["accepted"]
        elif stage == "rule":
            ok = not c["accepted"] and c["code"] == RULE_CODES[rule]
            if ok:
                self.rules[rule] += 1
        elif stage == "utf8":
            ok = not c["accepted"] and c["code"] == "invalid_utf8"
        else:
            ok = not c["accepted"]
        if ok:
            self.agree += 1
        else:
            self.failures.append(f"{name}: reference {stage}{'/' + rule if rule else ''}, "
                                 f"C {'accepted' if c['accepted'] else c['code'] + ' ' + c['detail']}"
                                 f" | {raw[:300]!r}")

    def report(self, title):
        exc = sum(self.rules.values())
        lines = [f"{title}: {self.cases} cases, {self.agree} agree, "
                 f"{self.cases - self.agree} disagree; {self.stages['accept']} accepted by both, "
                 f"{self.cases - self.stages['accept'] - exc} rejected by both on the schema or "
                 f"reading, {exc} documented exceptions {dict(sorted(self.rules.items()))}",
                 f"  C reason codes: {dict(sorted(self.codes.items()))}"]
        return "\n".join(lines)


def check(tally, capsys, title):
    with capsys.disabled():
        print("\n" + tally.report(title), file=sys.stderr)
    assert not tally.failures, "\n".join(tally.failures[:20])


# ---- seeds and fixtures --------------------------------------------------------------------------

def seed_files():
    return sorted((SRC / "seeds" / "items").glob("*.json"))


def test_seeds_pass_both_validators(capsys):
    files = seed_files()
    assert len(files) >= 32, "seeds/items holds at least 32 items"
    raws = [f.read_bytes() for f in files]
    tally = Tally()
    for f, raw, c in zip(files, raws, run_c(raws)):
        tally.add(f.name, raw, c)
        assert c["accepted"], f"{f.name}: {c.get('code')} {c.get('detail')}"
        errors = [e.message for e in VALIDATOR.iter_errors(json.loads(raw))]
        assert not errors, f"{f.name}: {errors[:3]}"
    check(tally, capsys, "seeds")


def test_seed_scenarios(capsys):
    """The scenarios seeds/README.md promises are really in the seeds."""
    views = {}
    files = seed_files()
    for f, c in zip(files, run_c([f.read_bytes() for f in files])):
        views[f.name] = c
    by_id = {}
    for name, c in views.items():
        by_id.setdefault(c["id"], []).append((name, c))
    vs = [c["view"] for c in views.values()]
    cats = Counter(v["category"] for v in vs if v["action"] == "publish")
    assert len(cats) >= 8, cats
    interps = [v for v in vs if v["interprets"]]
    assert len(interps) >= 2 and all(v["interprets"] in by_id for v in interps)
    assert any(v["urgent"] and v["not_before_ms"] for v in vs), "an urgent embargoed item"
    assert any(v["boards"] and v["expires_at_ms"] for v in vs), "a board notice that expires"
    assert sum(1 for v in vs if v["streets"]) >= 3, "street notices"
    assert any(v["body_html_len"] >= 0 and len(json.loads(
        (SRC / "seeds" / "items" / n).read_bytes())["body_html"]) > 20000
        for n, v in ((n, c["view"]) for n, c in views.items()) if v["action"] == "publish")
    assert any(v["action"] == "retract" for v in vs)
    assert any(len({c["version"] for _, c in group}) >= 2 and
               all(c["view"]["action"] == "publish" for _, c in group)
               for group in by_id.values()), "one item in two published versions"
    assert sum(len(v["images"]) + len(v["attachments"]) for v in vs) >= 5
    names = sorted(views)
    assert names == sorted(names, key=lambda n: int(n.split("-")[0]))
    for v in vs:
        assert v["struct_size_ok"] and v["json_is_raw"]
    for name, c in views.items():  # publication order: a retraction after what it retracts
        if c["view"]["action"] == "retract":
            earlier = [n for n, _ in by_id[c["id"]] if n < name]
            assert earlier, f"{name} retracts an item published earlier in the seeds"


def test_doc_examples(capsys):
    """The complete examples in docs/item-schema.md pass both validators."""
    text = (SRC / "docs" / "item-schema.md").read_text()
    raws = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        try:
            doc = json.loads(block)
        except ValueError:
            continue  # a shortened example ("review": [ … ])
        if isinstance(doc, dict) and "schema" in doc:
            raws.append(block.encode())
    assert len(raws) >= 2, "docs/item-schema.md keeps complete examples"
    tally = Tally()
    for i, (raw, c) in enumerate(zip(raws, run_c(raws))):
        tally.add(f"docs example {i}", raw, c)
        assert c["accepted"], (i, c)
    check(tally, capsys, "docs examples")


def read_expected():
    rows = {}
    for line in (HERE / "invalid" / "expected.tsv").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        rows[f[0]] = {"code": f[1], "what": f[2], "key": f[3] if len(f) > 3 else None}
    return rows


def test_valid_fixtures(capsys):
    files = sorted((HERE / "valid").glob("*.json"))
    assert len(files) >= 10
    raws = [f.read_bytes() for f in files]
    tally = Tally()
    for f, raw, c in zip(files, raws, run_c(raws, FIXTURE_MAX_LEN)):
        tally.add(f.name, raw, c)
        assert c["accepted"], f"{f.name}: {c.get('code')} {c.get('detail')}"
    check(tally, capsys, "valid fixtures")


def test_invalid_fixtures(capsys):
    expected = read_expected()
    files = sorted((HERE / "invalid").glob("*.json"))
    assert sorted(f.name for f in files) == sorted(expected), "expected.tsv lists every fixture"
    assert len(files) >= 60
    codes = {e["code"] for e in expected.values()}
    assert codes == {"oversize", "invalid_utf8", "invalid_json", "not_an_object",
                     "unsupported_schema", "missing_field", "wrong_type", "invalid_value",
                     "unknown_field", "review_incomplete", "key_mismatch"}, codes
    tally = Tally()
    plain = [f for f in files if not expected[f.name]["key"]]
    raws = [f.read_bytes() for f in plain]
    for f, raw, c in zip(plain, raws, run_c(raws, FIXTURE_MAX_LEN)):
        want = expected[f.name]["code"]
        assert not c["accepted"] and c["code"] == want, \
            f"{f.name}: want {want}, C said {c.get('code')} {c.get('detail')}"
        if want == "oversize":
            continue  # the reference has no size limit
        tally.add(f.name, raw, c)
        stage, rule = reference(raw)
        if "rule beyond the schema" in expected[f.name]["what"]:
            assert stage == "rule", f"{f.name} passes the schema and breaks a rule beyond it"
    for f in files:
        key = expected[f.name]["key"]
        if key:
            out = subprocess.run([item_check_path(), "--key", key, str(f)], check=True,
                                 stdout=subprocess.PIPE).stdout
            c = json.loads(out)
            assert not c["accepted"] and c["code"] == expected[f.name]["code"], (f.name, c)
            same = subprocess.run([item_check_path(), "--key", json.loads(f.read_bytes())["id"],
                                   str(f)], check=True, stdout=subprocess.PIPE).stdout
            assert json.loads(same)["accepted"], "the right key is accepted"
    check(tally, capsys, "invalid fixtures")


# ---- the generated corpus ------------------------------------------------------------------------

LONG = {  # string fields with a length limit in code points, and a character to fill them with
    ("id",): (128, "a"), ("title",): (200, "越"), ("column",): (200, "栏"),
    ("summary",): (1000, "\U0001F4E2"), ("doc_number",): (100, "号"),
}
TIMES = [
    "2026-03-03T11:20:00+08:00", "2026-03-03t03:20:00z", "2026-03-03T03:20:00.000000001Z",
    "2028-02-29T00:00:00+08:00", "2027-02-29T00:00:00+08:00", "2026-02-30T10:00:00+08:00",
    "2026-04-31T10:00:00+08:00", "2026-03-03T24:00:00+08:00", "2026-03-03T23:60:00+08:00",
    "2026-03-03T23:59:60+08:00", "2026-03-03T11:20:00", "2026-03-03T11:20:00+0800",
    "2026-03-03T11:20:00+24:00", "2026-03-03T11:20:00-23:59", "2026-03-03T11:20:00.+08:00",
    "2026-03-03 11:20:00+08:00", "2026-03-03", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+00:00", "2026-3-3T11:20:00+08:00", "２０２６-03-03T11:20:00Z",
    "2026-03-03T11:20:00Z\n", " 2026-03-03T11:20:00Z", "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z", "2026-03-00T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
    "2026-03-03T11:20:00.5-00:00", "2026-03-03T11:20:00,5Z", "2026-03-03T11:20Z", "",
]
STRINGS = [
    "", " ", "a", "A", "x" * 129, "越秀", "\n", "a\n", "a\tb", "\x7f", "\u2028", "yx-1", "YX_1",
    "yx:1.2", "440104003", "44010400", "4401040031", "zwfw/a", "zwfw/", "/a", "a//b", "a/b",
    "wechat", "wechat:yuexiu", "WeChat", "wechat:", "wechat:Yuexiu", "1wechat", "image/jpeg",
    "image/", "application/pdf", "text/plain; charset=utf-8", "https://a.cn/x", "http://a.cn",
    "https://[::1]:8443/a?b#c", "https://a.cn:123456/x", "https://-a.cn/", "https://a..cn/",
    "https://a.cn/\u8d8a", "https://u@a.cn/", "ftp://a.cn/", "HTTPS://A.CN/", "https://a.cn/ x",
    "0" * 64, "A" * 64, "f" * 63, "g" * 64, "２", "\U0001F4E2", "normal", "urgent", "publish",
    "retract", "notice", "district", "street", "department", "interprets", "supersedes",
    "see_also", "initial", "recheck", "final", "2026-02-27", "2026-02-29", "2026-2-27",
    "herald.item/v1",
]
OTHERS = [None, True, False, 0, 1, -1, 1.5, 2.0, 1e3, 2 ** 53 - 1, 2 ** 53, 2 ** 64, [], {},
          ["a"], {"a": 1}]


def paths(doc, prefix=()):
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, prefix + (i,))
    return out


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def put(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


def drop(doc, path):
    parent = get(doc, path[:-1])
    del parent[path[-1]]


def mutate_doc(rng, doc):
    """One structural mutation of a parsed document (in place)."""
    ps = paths(doc)
    kind = rng.choice(["drop", "retype", "string", "time", "long", "unknown", "review", "array",
                       "schedule", "related", "targets", "int", "retract"])
    if kind == "drop" and ps:
        drop(doc, rng.choice(ps))
    elif kind == "retype" and ps:
        put(doc, rng.choice(ps), copy.deepcopy(rng.choice(OTHERS + STRINGS[:8])))
    elif kind == "string":
        sp = [p for p in ps if isinstance(get(doc, p), str)]
        if sp:
            put(doc, rng.choice(sp), rng.choice(STRINGS))
    elif kind == "time":
        tp = [p for p in ps if p and p[-1] in ("approved_at", "at", "not_before", "expires_at",
                                                "issued_date")]
        if tp:
            put(doc, rng.choice(tp), rng.choice(TIMES))
    elif kind == "long":
        path, (limit, ch) = rng.choice(list(LONG.items()))
        n = rng.choice([limit - 1, limit, limit + 1])
        if path[0] == "id":
            doc["id"] = ch * n
        else:
            doc[path[0]] = ch * n
    elif kind == "unknown":
        objs = [p for p in [()] + ps if isinstance(get(doc, p), dict)]
        obj = get(doc, rng.choice(objs))
        obj[rng.choice(["extra", "Title", "title ", "opinion", "caption", "name", "url"])] = "x"
    elif kind == "review":
        r = doc.get("review")
        if isinstance(r, list) and len(r) == 3:
            op = rng.choice(["swap", "dup", "cut", "add", "level", "order", "approved", "equal"])
            if op == "swap":
                i, j = rng.sample(range(3), 2)
                r[i], r[j] = r[j], r[i]
            elif op == "dup":
                r[rng.randrange(3)] = copy.deepcopy(r[rng.randrange(3)])
            elif op == "cut":
                del r[rng.randrange(3)]
            elif op == "add":
                r.append(copy.deepcopy(r[2]))
            elif op == "level":
                r[rng.randrange(3)]["level"] = rng.choice(["初审", "Initial", "final", "review"])
            elif op == "order":  # a later step a second before the one before it
                i = rng.choice([1, 2])
                if isinstance(r[i - 1], dict) and isinstance(r[i - 1].get("at"), str):
                    r[i]["at"] = shift(r[i - 1]["at"], rng.choice([-1, 0, 1]))
            elif op == "approved" and isinstance(r[2], dict) and isinstance(r[2].get("at"), str):
                doc["approved_at"] = shift(r[2]["at"], rng.choice([-1, 0, 1]))
            elif op == "equal" and isinstance(r[0], dict) and isinstance(r[0].get("at"), str):
                for step in r:
                    step["at"] = r[0]["at"]
                doc["approved_at"] = r[0]["at"]
    elif kind == "array":
        name = rng.choice(["images", "attachments", "related"])
        arr = doc.get(name)
        if isinstance(arr, list) and arr:
            n = rng.choice([0, 2, 20, 21, 50, 51])
            doc[name] = [copy.deepcopy(arr[0]) for _ in range(n)]
    elif kind == "schedule":
        base = doc.get("approved_at", "2026-03-03T11:20:00+08:00")
        if isinstance(base, str) and _RFC3339.fullmatch(base):
            doc["schedule"] = {"not_before": base,
                               "expires_at": shift(base, rng.choice([-3600, -1, 0, 1, 86400]))}
            if rng.random() < 0.3:
                del doc["schedule"][rng.choice(["not_before", "expires_at"])]
    elif kind == "related":
        doc["related"] = [{"type": rng.choice(["interprets", "see_also", "supersedes", "cites"]),
                           "id": rng.choice(["yx-1", "yx-2", "yx 3"])}
                          for _ in range(rng.choice([1, 2, 3]))]
    elif kind == "targets":
        t = doc.setdefault("targets", {})
        if isinstance(t, dict):
            field = rng.choice(["channels", "streets", "boards"])
            pool = {"channels": ["website", "wechat:yuexiu", "weibo", "WeChat", "ejiatong:streets"],
                    "streets": ["440104003", "440104011", "44010400", "440104003"],
                    "boards": ["zwfw-center/hall-a", "zwfw-center", "bjj/led-1", "bjj/led-1"]}[field]
            t[field] = [rng.choice(pool) for _ in range(rng.choice([0, 1, 2, 3]))]
    elif kind == "int":
        put(doc, (rng.choice(["version"]),), rng.choice([0, 1, 2, -1, 1.0, 1.5, 2 ** 53 - 1,
                                                          2 ** 53, 1e300, True, "3"]))
    elif kind == "retract":
        doc["action"] = "retract"
        for k in list(doc):
            if k not in ("schema", "id", "version", "action", "approved_at", "review") and \
                    rng.random() < 0.7:
                del doc[k]


def shift(t, seconds):
    """t moved by seconds, written in UTC with the fraction kept."""
    sec, ns = rfc3339_ns(t)
    import time as _time
    s = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(sec + seconds))
    return s + (f".{ns:09d}" if ns else "") + "Z"


def mutate_bytes(rng, raw):
    """One byte-level mutation of serialized JSON."""
    kind = rng.choice(["cut", "byte", "utf8", "dupkey", "nul", "surrogate", "ws", "bom"])
    i = rng.randrange(len(raw) + 1)
    if kind == "cut":
        return raw[:i]
    if kind == "byte":
        return raw[:i] + bytes([rng.randrange(256)]) + raw[i:]
    if kind == "utf8":
        bad = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe8\xb6", b"\xf4\x90\x80\x80",
                          b"\x80", b"\xf0\x9f\x98", b"\xe0\x80\xaf"])
        at = raw.find(b'": "', i)
        at = at + 4 if at >= 0 else i
        return raw[:at] + bad + raw[at:]
    if kind == "dupkey":
        keys = [m.start() for m in re.finditer(rb'\n\s*"[a-z_]+": ', raw)]
        if keys:
            k = rng.choice(keys)
            end = raw.index(b"\n", k + 1) if b"\n" in raw[k + 1:] else len(raw)
            line = raw[k:end].rstrip(b",")
            if line.rstrip().endswith((b"[", b"{")):
                return raw
            return raw[:k] + line + b"," + raw[k:]
        return raw
    if kind == "nul":
        at = raw.find(b'": "', i)
        return raw[:at + 4] + b"\\u0000" + raw[at + 4:] if at >= 0 else raw
    if kind == "surrogate":
        at = raw.find(b'": "', i)
        esc = rng.choice([b"\\ud800", b"\\udfff", b"\\ud83d\\ude00", b"\\ud83d", b"\\ude00x"])
        return raw[:at + 4] + esc + raw[at + 4:] if at >= 0 else raw
    if kind == "ws":
        return raw[:i] + rng.choice([b" ", b"\t", b"\r\n", b"\x0b", b"\xc2\xa0"]) + raw[i:]
    return b"\xef\xbb\xbf" + raw


def generated_corpus():
    rng = random.Random(SEED)
    bases = [json.loads(f.read_bytes()) for f in seed_files()]
    bases += [json.loads(f.read_bytes()) for f in sorted((HERE / "valid").glob("*.json"))]
    out = []
    for n in range(N_GENERATED):
        doc = copy.deepcopy(rng.choice(bases))
        if rng.random() < 0.85:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                mutate_doc(rng, doc)
        raw = json.dumps(doc, ensure_ascii=rng.random() < 0.3,
                         indent=rng.choice([None, 2])).encode()
        if rng.random() < 0.25:
            raw = mutate_bytes(rng, raw)
        out.append((f"gen-{n}", raw))
    return out


def test_generated_corpus(capsys):
    corpus = generated_corpus()
    tally = Tally()
    for (name, raw), c in zip(corpus, run_c([raw for _, raw in corpus])):
        tally.add(name, raw, c)
    check(tally, capsys, f"generated corpus (seed {SEED})")
    # the corpus must keep exercising both verdicts and every documented exception
    assert tally.stages["accept"] >= N_GENERATED // 10
    assert tally.stages["schema"] >= N_GENERATED // 4
    missing = set(RULE_CODES) - set(tally.rules)
    assert not missing, f"the corpus produced no case of {missing}"
