"""The end-to-end tests' fixtures: herald_test/fixtures.py (broker address, a work directory,
every process a test started stopped at its end, log tails in a failure's report)."""

from herald_test.fixtures import *  # noqa: F401,F403
