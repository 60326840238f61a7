#!/usr/bin/env python3
"""A simulator of the SMS gateway behind the 政务手机报 (stdlib only), for smsbulletin's tests.

It enforces what the real gateway does, so the adapter is tested against the platform's rules:

  POST /v1/bulletins   headers X-Sms-Account, X-Sms-Timestamp (within 300 s of now) and
                       X-Sms-Signature = hex HMAC-SHA256(key, "<timestamp>\\n<body>")   -> else
                       401 {"code":1001}; a suspended account -> 403 {"code":1002}.
                       Body {"account","list","content","segments","request_id","urgent"}:
                       content starts with the registered signature -> else 400 code 2001;
                       segments is what the text needs (UCS-2 units: 70 in one message, 67 per
                       part when joined; a character beyond the BMP takes 2) and at most 10 ->
                       else 400 code 2002; no forbidden word -> else 400 code 2003; a known list
                       -> else 400 code 2004. A request_id seen before with the same body gets
                       the first answer again (a duplicate, nothing sent); with another body 409
                       code 2005. Success: 200 {"code":0,"batch_id":"B000001","segments":n}.
  GET  /_sim/received  {"requests","applied","duplicates","refused","bulletins":[...]}
  POST /_sim/suspend   {"suspended": true|false}

Run: sim_smsgateway.py --key-file KEY [--account A] [--signature S] [--ports-file F]
The ports file gets {"url": "http://127.0.0.1:PORT"} once the gateway listens.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import math
import os
import signal
import threading
import time

FORBIDDEN = ("赌博", "代开发票")


def units(text):
    """UCS-2 code units: 1 per character, 2 beyond the Basic Multilingual Plane."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def segments(text):
    u = units(text)
    return 1 if u <= 70 else math.ceil(u / 67)


class Gateway:
    def __init__(self, key, account, signature, lists):
        self.key = key
        self.account = account
        self.signature = signature
        self.lists = set(lists)
        self.lock = threading.Lock()
        self.seen = {}  # request_id -> (body, status, answer)
        self.bulletins = []
        self.requests = self.duplicates = self.refused = 0
        self.suspended = False

    def bulletin(self, headers, raw):
        """(status, answer) of one POST /v1/bulletins."""
        ts = headers.get("X-Sms-Timestamp", "")
        want = hmac.new(self.key, ts.encode() + b"\n" + raw, hashlib.sha256).hexdigest()
        if (headers.get("X-Sms-Account") != self.account or not ts.isdigit()
                or abs(time.time() - int(ts)) > 300
                or not hmac.compare_digest(want, headers.get("X-Sms-Signature", ""))):
            return 401, {"code": 1001, "message": "bad signature, account or timestamp"}
        if self.suspended:
            return 403, {"code": 1002, "message": "account suspended"}
        try:
            b = json.loads(raw)
            content, rid = b["content"], b["request_id"]
            assert isinstance(content, str) and isinstance(rid, str) and 0 < len(rid) <= 255
            assert isinstance(b["segments"], int) and b.get("account") == self.account
        except (ValueError, KeyError, AssertionError, TypeError):
            return 400, {"code": 2000, "message": "malformed request"}
        with self.lock:
            if rid in self.seen:
                body, status, answer = self.seen[rid]
                if body != raw:
                    return 409, {"code": 2005, "message": "request_id reused for another text"}
                self.duplicates += 1
                return status, answer
        if not content.startswith(self.signature):
            return 400, {"code": 2001, "message": "the text must start with " + self.signature}
        need = segments(content)
        if b["segments"] != need or need > 10:
            return 400, {"code": 2002, "message": "segments is %d, the text (%d units) needs %d"
                         % (b["segments"], units(content), need)}
        if any(w in content for w in FORBIDDEN):
            return 400, {"code": 2003, "message": "forbidden words"}
        if b.get("list") not in self.lists:
            return 400, {"code": 2004, "message": "unknown list"}
        with self.lock:
            batch = "B%06d" % (len(self.bulletins) + 1)
            answer = {"code": 0, "batch_id": batch, "segments": need}
            self.seen[rid] = (raw, 200, answer)
            self.bulletins.append({"request_id": rid, "content": content, "segments": need,
                                   "list": b["list"], "urgent": bool(b.get("urgent")),
                                   "batch_id": batch})
        return 200, answer

    def received(self):
        with self.lock:
            return {"requests": self.requests, "applied": len(self.bulletins),
                    "duplicates": self.duplicates, "refused": self.refused,
                    "bulletins": list(self.bulletins)}


def handler(gw):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, doc):
            data = json.dumps(doc, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_POST(self):  # noqa: N802 - http.server's name
            raw = self.body()
            if self.path == "/v1/bulletins":
                with gw.lock:
                    gw.requests += 1
                status, doc = gw.bulletin(self.headers, raw)
                if status != 200:
                    with gw.lock:
                        gw.refused += 1
                self.answer(status, doc)
            elif self.path == "/_sim/suspend":
                gw.suspended = bool(json.loads(raw or b"{}").get("suspended"))
                self.answer(200, {"suspended": gw.suspended})
            else:
                self.answer(404, {"code": 404, "message": "no such endpoint"})

        def do_GET(self):  # noqa: N802
            if self.path == "/_sim/received":
                self.answer(200, gw.received())
            else:
                self.answer(404, {"code": 404, "message": "no such endpoint"})

        def log_message(self, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--account", default="yuexiu-gov")
    ap.add_argument("--signature", default="【越秀政务】")
    ap.add_argument("--lists", default="yuexiu-all,yuexiu-emergency")
    ap.add_argument("--ports-file")
    a = ap.parse_args()
    with open(a.key_file, "rb") as f:
        key = f.read().rstrip(b"\r\n")
    gw = Gateway(key, a.account, a.signature, a.lists.split(","))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(gw))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    if a.ports_file:
        tmp = a.ports_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"url": url}, f)
        os.replace(tmp, a.ports_file)
    print(url, flush=True)
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
