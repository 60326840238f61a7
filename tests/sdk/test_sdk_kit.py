"""herald-conformance catches each way of breaking the contract (stdlib + pytest; no broker).

Each SDK_MISBEHAVE_* variant of tests/sdk/sdk_adapter.c loads fine and breaks one rule at run
time; the kit must fail the check that covers it, with a message that says what happened. The
valid variant passes, and an adapter heraldd would refuse fails the kit's first check.
Run: HERALD_BUILD_DIR=build SDK_ADAPTER_DIR=build/tests/sdk/adapters python3 -m pytest -q \
     tests/sdk/test_sdk_kit.py
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
ADAPTERS = Path(os.environ.get("SDK_ADAPTER_DIR", BUILD / "tests" / "sdk" / "adapters"))
KIT = BUILD / "tools" / "conformance" / "herald-conformance"
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def kit(so, *args, timeout=300):
    p = subprocess.run([str(KIT), "sdkgood", "--so", str(ADAPTERS / so), "--timeout", "100ms"]
                       + list(args), capture_output=True, timeout=timeout)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    for m in SANITIZER:
        assert m not in err, err
    return p.returncode, out, err


def test_a_valid_adapter_passes():
    rc, out, err = kit("good.so")
    assert rc == 0, out + err
    assert re.search(r"^\d+ checks: \d+ passed, 0 failed", out, re.M), out


CAUGHT = [
    ("complete_inside", "send.first", "completed from inside the call that took the op"),
    ("complete_twice", "send.first", "completed 2 times"),
    ("never_complete", "send.first", "never completed, not even after cancel()"),
    ("bad_outcome", "send.first", "outcome retry without a reason code"),
    ("cancel_fired", "send.first", r"timer_cancel\(\) on a timer that already fired"),
    ("render_clock", "render.notice", "not deterministic with another clock/seed"),
    ("render_random", "render.notice", "not deterministic with another clock/seed"),
    ("render_service", "render.notice", r"render\(\) called timer_add\(\)"),
    ("destroy_timer", "destroy", r"destroy\(\) left \d+ timer\(s\) armed"),
]


@pytest.mark.parametrize("variant,check,message", CAUGHT, ids=[c[0] for c in CAUGHT])
def test_the_kit_catches(variant, check, message):
    rc, out, err = kit("misbehave_%s.so" % variant)
    assert rc == 1, out
    assert re.search(r"^FAIL +\d+ %s: .*%s" % (re.escape(check), message), out, re.M), out


def test_an_adapter_heraldd_refuses_fails_the_first_check():
    rc, out, err = kit("bad_abi.so")
    assert rc == 1
    assert re.search(r"^FAIL +1 abi\.load: heraldd would refuse it: .*bad_abi\.so: refused: "
                     r"ABI version 2", out, re.M), out


def test_usage_errors_exit_2():
    p = subprocess.run([str(KIT), "no_such_adapter"], capture_output=True, timeout=60)
    assert p.returncode == 2
    assert b"no adapter named no_such_adapter" in p.stderr
