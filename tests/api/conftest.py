"""Fixtures of the operator tests (API, heraldctl, metrics, status topic, dashboard).

The same base as tests/e2e/conftest.py (broker address, a work dir, every process stopped at the
end of its test and its log tails added to a failure report) -- pytest loads a conftest.py only
from the test's own folder, so the few lines are repeated here rather than imported.
"""

import os

import pytest

from herald_test import procs


@pytest.fixture
def kafka_bootstrap():
    if not os.environ.get("HERALD_KAFKA_DIR"):
        pytest.skip("HERALD_KAFKA_DIR is unset: no test broker (run via ctest, fixture kafka)")
    from herald_test import kafka

    return kafka.bootstrap()


@pytest.fixture
def tmp_workdir(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    mark = procs.started_mark()
    item.stash[_MARK] = mark
    try:
        yield
    finally:
        for e in procs.cleanup_since(mark):
            print("cleanup: %s" % e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for p in procs.started_since(item.stash.get(_MARK, 0)):
            report.sections.append(("process %s" % p.name, p.log_tails()))


_MARK = pytest.StashKey[int]()
