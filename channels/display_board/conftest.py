"""The end-to-end fixtures (herald_test/fixtures.py: kafka_bootstrap, tmp_workdir, every process
a test started stopped at its end) for the tests of this folder; tests/e2e goes on sys.path so
the herald_test harness imports. The raw-HTTP simulator tests here use none of it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "e2e"))
from herald_test.fixtures import *  # noqa: E402,F401,F403
