"""herald's end-to-end test harness: processes under test (procs), the independent Kafka
client (kafka). Tests import from here; conftest.py provides the base fixtures."""

from .procs import NotYet, Proc, WaitTimeout, wait_file, wait_for

__all__ = ["NotYet", "Proc", "WaitTimeout", "wait_file", "wait_for"]
