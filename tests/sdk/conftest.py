"""Fixtures for the SDK tests: the end-to-end ones (test_sdk_example_e2e.py) use
herald_test/fixtures.py (kafka_bootstrap, tmp_workdir, process clean-up); tests/e2e goes on
sys.path so the herald_test harness imports. The other tests here use none of it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from herald_test.fixtures import *  # noqa: E402,F401,F403
