"""Processes under test and the one way tests wait.

`wait_for` is the single place an end-to-end test waits: it polls a condition in small steps
up to a deadline and fails saying what it waited for and the last value it saw. `Proc` runs a
command with its output in log files in the test's work dir; every Proc started during a test
is stopped at the end of the test (conftest.py), and the tails of their logs are attached to
the report of a failing test.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

POLL_S = 0.05
POLL_MAX_S = 0.5

# Every Proc started and not yet cleaned up by cleanup_since(); conftest.py uses it.
_live = []


class WaitTimeout(AssertionError):
    """wait_for() ran past its deadline."""


class NotYet(Exception):
    """Raised by a wait_for() predicate to say "not yet" with a reason (e.g. "3 of 5 seen");
    the reason of the last one is in the timeout message."""


def wait_for(predicate, timeout, what, interval=POLL_S):
    """Poll predicate() until it returns a truthy value, and return that value.

    Fails with WaitTimeout after `timeout` seconds, naming `what` and the last value (or the
    last exception) the predicate gave. An exception from the predicate counts as "not yet":
    a file half written, a port not yet open. The interval grows from `interval` to 0.5 s.
    """
    __tracebackhide__ = True  # pytest: show the caller, not this loop
    deadline = time.monotonic() + timeout
    last = None
    step = interval
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except NotYet as e:
            last = str(e)
        except Exception as e:  # noqa: BLE001 - reported in the failure message
            last = e
        now = time.monotonic()
        if now >= deadline:
            raise WaitTimeout(
                "timed out after %.1fs waiting for %s; last value: %r" % (timeout, what, last)
            )
        time.sleep(min(step, deadline - now))
        step = min(step * 1.5, POLL_MAX_S)


def wait_file(path, timeout, what=None):
    """Wait until `path` exists and is not empty; return its text, stripped."""
    path = Path(path)

    def ready():
        text = path.read_text()
        return text.strip() or None

    return wait_for(ready, timeout, what or "file %s" % path)


def tail(path, lines=40):
    """The last `lines` lines of a text file ('' when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


class Proc:
    """A child process whose stdout and stderr go to <workdir>/<name>.out and .err."""

    def __init__(self, cmd, workdir, name=None, env=None, cwd=None):
        self.cmd = [str(c) for c in cmd]
        self.name = name or Path(self.cmd[0]).name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / ("%s.out" % self.name)
        self.stderr_path = self.workdir / ("%s.err" % self.name)
        full_env = dict(os.environ)
        if env:
            full_env.update({k: str(v) for k, v in env.items()})
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        try:
            self.popen = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                env=full_env,
                cwd=str(cwd or self.workdir),
                start_new_session=True,
            )
        except BaseException:
            self._close_logs()
            raise
        _live.append(self)

    @property
    def pid(self):
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self):
        return self.popen.poll() is None

    def stop(self, timeout=15):
        """SIGTERM, wait up to `timeout` s; SIGKILL and fail if it does not exit. Returns the
        exit status (negative: killed by that signal)."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError(
                    "%s (pid %d) ignored SIGTERM for %ss; killed\n%s"
                    % (self.name, self.pid, timeout, self.log_tails())
                )
        self._close_logs()
        return self.popen.returncode

    def kill9(self):
        """SIGKILL, as a crash would; returns once the process is gone."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(30)
        self._close_logs()
        return self.popen.returncode

    def wait_exit(self, timeout):
        """Wait for the process to exit on its own; return its exit status."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise WaitTimeout(
                "%s (pid %d) still running after %ss\n%s"
                % (self.name, self.pid, timeout, self.log_tails())
            ) from None

    def stdout_text(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr_text(self):
        return self.stderr_path.read_text(errors="replace")

    def log_tails(self, lines=40):
        parts = []
        for p in (self.stdout_path, self.stderr_path):
            t = tail(p, lines)
            if t:
                parts.append("---- %s (last %d lines) ----\n%s" % (p, lines, t))
        state = "running" if self.alive() else "exited %s" % self.popen.returncode
        return "==== %s pid %d, %s ====\n%s" % (self.name, self.pid, state, "\n".join(parts))

    def _close_logs(self):
        for f in (self._out, self._err):
            if not f.closed:
                f.close()

    def __repr__(self):
        return "<Proc %s pid=%d>" % (self.name, self.pid)


def started_since(mark):
    """Procs started after `mark` (a value of started_mark())."""
    return list(_live[mark:])


def started_mark():
    return len(_live)


def cleanup_since(mark):
    """Stop (then kill) every Proc started after `mark` that still runs; forget them."""
    procs = _live[mark:]
    del _live[mark:]
    errors = []
    for p in procs:
        try:
            if p.alive():
                p.stop(timeout=10)
            p._close_logs()
        except AssertionError as e:
            errors.append(str(e))
        try:  # whatever it left behind in its session (started with start_new_session)
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return errors
