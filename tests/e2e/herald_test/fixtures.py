"""The fixtures every end-to-end test folder shares; a folder's conftest.py imports them all:

    from herald_test.fixtures import *  # noqa: F401,F403

- kafka_bootstrap: the test broker's address; the test is skipped (one line saying why) when
  HERALD_KAFKA_DIR is unset, i.e. when not run through ctest's kafka fixture.
- tmp_workdir: a fresh directory for the test's files and process logs.
- Every herald_test.procs.Proc a test starts is stopped when the test ends, and when the test
  fails the tails of their logs are added to the report.
"""

import os

import pytest

from herald_test import procs

__all__ = ["kafka_bootstrap", "tmp_workdir", "pytest_runtest_protocol",
           "pytest_runtest_makereport"]


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
