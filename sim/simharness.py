"""Raw-HTTP harness for the simulator tests (Python stdlib only).

Starts `herald-sim` from $HERALD_BUILD_DIR with a JSON config and --ports-file, waits for the
ports file with a deadline, and offers small helpers to speak HTTP to a simulator, sign requests
the way CHANNELS.md §3.2/§3.3 describes, and drive the /_sim/ control endpoints. Nothing here
goes through herald's adapters: the point is that each simulator rule is checked on the wire.
"""

import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 30.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sim_binary():
    build = os.environ.get("HERALD_BUILD_DIR")
    if not build:
        raise RuntimeError("HERALD_BUILD_DIR is not set (run through ctest, or export it)")
    path = os.path.join(build, "sim", "herald-sim")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not built")
    return path


class SimProcess:
    """One herald-sim process; use as a context manager or call start()/stop()."""

    def __init__(self, config, only=None, extra_args=()):
        self.config = config
        self.only = only
        self.extra_args = list(extra_args)
        self.tmp = tempfile.TemporaryDirectory(prefix="herald-sim-test-")
        self.proc = None
        self.urls = {}
        self.stderr_path = os.path.join(self.tmp.name, "stderr.txt")
        self.stdout_path = os.path.join(self.tmp.name, "stdout.txt")

    def args(self):
        conf = os.path.join(self.tmp.name, "config.json")
        with open(conf, "w", encoding="utf-8") as f:
            if isinstance(self.config, str):
                f.write(self.config)
            else:
                json.dump(self.config, f)
        self.ports_file = os.path.join(self.tmp.name, "ports.json")
        argv = [sim_binary(), "--config", conf, "--ports-file", self.ports_file]
        if self.only:
            argv += ["--only", self.only]
        return argv + self.extra_args

    def start(self):
        argv = self.args()
        self.proc = subprocess.Popen(
            argv,
            stdout=open(self.stdout_path, "wb"),
            stderr=open(self.stderr_path, "wb"),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_DEADLINE_S
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"herald-sim exited with {self.proc.returncode}: {self.stderr()}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("herald-sim did not write its ports file in time")
            time.sleep(0.02)
        with open(self.ports_file, encoding="utf-8") as f:
            self.urls = json.load(f)
        return self

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        """Stops the process; returns its exit status. Fails on sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("herald-sim did not stop within the deadline")
        err = self.stderr()
        for marker in SANITIZER_MARKERS:
            assert marker not in err, f"sanitizer report from herald-sim:\n{err}"
        self.tmp.cleanup()
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            assert rc == 0, f"herald-sim exited with {rc}"


def run_sim_expect_exit(argv_tail, config=None, timeout=30):
    """Runs herald-sim expecting it to exit by itself; returns (status, stderr)."""
    with tempfile.TemporaryDirectory(prefix="herald-sim-test-") as tmp:
        argv = [sim_binary()]
        if config is not None:
            conf = os.path.join(tmp, "config.json")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(config if isinstance(config, str) else json.dumps(config))
            argv += ["--config", conf]
        argv += ["--ports-file", os.path.join(tmp, "ports.json")] + list(argv_tail)
        p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stderr.decode("utf-8", "replace")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def request(base_url, method, path, body=None, headers=None, timeout=30):
    """One HTTP request on a fresh connection. body: bytes, str or a JSON-able object."""
    u = urllib.parse.urlsplit(base_url)
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


class Background:
    """Runs request() in a thread; .result() waits for it (with a deadline) and returns it or
    raises what it raised."""

    def __init__(self, *args, **kwargs):
        self.out = None
        self.err = None
        self.thread = threading.Thread(target=self._run, args=args, kwargs=kwargs, daemon=True)
        self.thread.start()

    def _run(self, *args, **kwargs):
        try:
            self.out = request(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            self.err = e

    def result(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background request did not finish in time"
        if self.err is not None:
            raise self.err
        return self.out


# ---- signing ---------------------------------------------------------------------------------


def sign_v1(secret, timestamp, body):
    """v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")> (CHANNELS.md §3.2, §3.3)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def now_s():
    return int(time.time())


# ---- the /_sim/ control endpoints ------------------------------------------------------------


def control(url, method, what, body=None, query=""):
    r = request(url, method, f"/_sim/{what}{query}", body=body)
    assert r.status == 200, r
    return r.json()


def reset(url):
    return control(url, "POST", "reset", {})


def faults(url, **knobs):
    return control(url, "POST", "faults", knobs)


def received(url, query=""):
    return control(url, "GET", "received", query=query)


def state(url):
    return control(url, "GET", "state")


def clock(url, advance_s=None):
    if advance_s is None:
        return control(url, "GET", "clock")
    return control(url, "POST", "clock", {"advance_s": advance_s})


def sim_now_s(url):
    return clock(url)["now_ms"] // 1000


def wait_for(predicate, what, timeout=20.0):
    """Polls predicate() until it is true; fails with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def wait_pending(url, n, timeout=20.0):
    """Waits until the simulator holds n unanswered requests (e.g. under latency_ms)."""
    return wait_for(lambda: received(url, "?log=0&by_key=0")["pending"] == n,
                    f"{n} pending request(s)", timeout)
