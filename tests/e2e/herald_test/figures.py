"""Figures tests measure along the way (duplicate requests after kill -9, ...): appended as JSON
lines to <build>/test-figures.jsonl so a run's numbers can be quoted, and printed."""

import json
import os
import time
from pathlib import Path


def record(name, **values):
    line = {"test": name, "at": int(time.time()), **values}
    path = Path(os.environ.get("HERALD_BUILD_DIR", ".")) / "test-figures.jsonl"
    with open(path, "a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print("figure:", json.dumps(line, ensure_ascii=False))
