"""herald-mock-broker (librdkafka's mock cluster in its own process) for fast fault injection:
brokers taken down and up, round-trip times, driven through the process's stdin."""

import os
import subprocess
from pathlib import Path

from . import procs


class MockBroker:
    def __init__(self, workdir, brokers=3, topics=()):
        exe = os.environ.get("HERALD_MOCK_BROKER") or str(
            Path(os.environ.get("HERALD_BUILD_DIR", "build")) / "tests/kafka/herald-mock-broker")
        cmd = [exe, "--brokers", str(brokers)]
        for name, parts in topics:
            cmd += ["--topic", "%s:%d" % (name, parts)]
        self.log = open(Path(workdir) / "mock-broker.err", "ab")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, text=True, bufsize=1)
        line = self.p.stdout.readline().strip()
        assert line.startswith("bootstrap="), line
        self.bootstrap = line.split("=", 1)[1]

    def command(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline().strip()
        assert answer == "ok", "%s: %s" % (cmd, answer)

    def close(self):
        if self.p.poll() is None:
            try:
                self.command("quit")
            except (AssertionError, BrokenPipeError):
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        self.log.close()
