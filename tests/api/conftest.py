"""Fixtures of the operator tests (API, heraldctl, metrics, status topic, dashboard): those of
every end-to-end folder, herald_test/fixtures.py."""

from herald_test.fixtures import *  # noqa: F401,F403
