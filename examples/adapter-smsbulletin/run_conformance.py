#!/usr/bin/env python3
"""Run herald-conformance against smsbulletin.so and the gateway simulator (stdlib only).

Writes an API key and the instance's settings (smsbulletin.yaml, @SIM@ for the kit's proxy) into
a temporary directory, starts sim_smsgateway.py with the same key, runs the kit and exits with its
status (0: every check passed). Usage: run_conformance.py --kit PATH --so PATH [kit options...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "smsbulletin-example-api-key-0123456789"
START_DEADLINE_S = 30


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kit", required=True, help="herald-conformance")
    ap.add_argument("--so", required=True, help="smsbulletin.so")
    a, rest = ap.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="smsbulletin-conformance-") as tmp:
        key = os.path.join(tmp, "api-key")
        with open(key, "w", encoding="utf-8") as f:
            f.write(KEY + "\n")
        with open(os.path.join(HERE, "smsbulletin.yaml"), encoding="utf-8") as f:
            settings = f.read().replace("@KEY_FILE@", key)
        conf = os.path.join(tmp, "smsbulletin.yaml")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(settings)
        ports = os.path.join(tmp, "ports.json")
        sim = subprocess.Popen([sys.executable, os.path.join(HERE, "sim_smsgateway.py"),
                                "--key-file", key, "--ports-file", ports],
                               stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + START_DEADLINE_S
            while not os.path.exists(ports):
                if sim.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the gateway simulator did not start")
                time.sleep(0.05)
            with open(ports, encoding="utf-8") as f:
                url = json.load(f)["url"]
            return subprocess.call([a.kit, "smsbulletin", "--so", a.so, "--config", conf,
                                    "--sim", url] + rest)
        finally:
            sim.terminate()
            sim.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
