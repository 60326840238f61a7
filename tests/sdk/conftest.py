"""Fixtures for the SDK tests: the end-to-end ones (test_sdk_example_e2e.py) use tests/e2e's
kafka_bootstrap and tmp_workdir and its process clean-up; tests/e2e goes on sys.path so the
herald_test harness imports. The other tests here use none of it (stdlib + pytest)."""

import importlib.util
import os
import sys

_E2E = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
if _E2E not in sys.path:
    sys.path.insert(0, _E2E)
_spec = importlib.util.spec_from_file_location("herald_e2e_conftest",
                                               os.path.join(_E2E, "conftest.py"))
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

kafka_bootstrap = _e2e.kafka_bootstrap
tmp_workdir = _e2e.tmp_workdir
pytest_runtest_protocol = _e2e.pytest_runtest_protocol
pytest_runtest_makereport = _e2e.pytest_runtest_makereport
