"""The worked example, as a channel maintainer would use herald (stdlib + pytest; no broker).

test_install_and_build (ctest sdk_example_build, the fixture of the others): install this build
of herald into a fresh prefix with `cmake --install`, check that everything an operator and an
adapter author needs is there, then configure and build examples/adapter-smsbulletin against that
prefix alone (pkg-config herald-adapter): its compile command includes the installed headers, not
the source tree, and the .so exports exactly one symbol, hd_channel_entry.
test_example_passes_conformance (sdk_example_conformance): the example's own `conformance` target
runs the installed herald-conformance against the .so and the gateway simulator.
The end-to-end run (Kafka -> installed heraldd -> the .so -> the simulator) is
test_sdk_example_e2e.py.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(os.environ.get("HERALD_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
OUT = Path(os.environ.get("SDK_EXAMPLE_DIR", BUILD / "tests" / "sdk" / "example"))
EXAMPLE = SOURCE / "examples" / "adapter-smsbulletin"


def run(cmd, env=None, timeout=600):
    full = dict(os.environ)
    full.update(env or {})
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=full,
                       timeout=timeout)
    assert p.returncode == 0, "%s failed (%d):\n%s\n%s" % (cmd, p.returncode, p.stdout, p.stderr)
    return p.stdout


def pc_dir(prefix):
    found = sorted(prefix.glob("**/pkgconfig/herald-adapter.pc"))
    assert len(found) == 1, found
    return found[0].parent


def test_install_and_build():
    if OUT.exists():
        shutil.rmtree(OUT)
    prefix, build = OUT / "prefix", OUT / "build"
    run(["cmake", "--install", BUILD, "--prefix", prefix])
    for rel in ("sbin/heraldd", "bin/heraldctl", "bin/herald-conformance", "bin/herald-sim",
                "include/herald/channel.h", "include/herald/services.h",
                "lib/systemd/system/heraldd.service", "etc/herald/herald.yaml.example"):
        assert (prefix / rel).exists(), "cmake --install did not install %s" % rel
    assert (prefix / "include/herald/channel.h").read_bytes() == \
        (SOURCE / "include/herald/channel.h").read_bytes()
    env = {"PKG_CONFIG_PATH": str(pc_dir(prefix)), "PKG_CONFIG_LIBDIR": "/usr/lib/pkgconfig:"
           "/usr/share/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig", "CFLAGS": "", "CPATH": ""}
    assert run(["pkg-config", "--variable=abi_version", "herald-adapter"], env).strip() == "1"
    plugindir = run(["pkg-config", "--variable=plugindir", "herald-adapter"], env).strip()
    assert Path(plugindir).resolve() == (pc_dir(prefix).parent / "herald" / "adapters").resolve()
    run(["cmake", "-S", EXAMPLE, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], env)
    run(["cmake", "--build", build], env)
    so = build / "smsbulletin.so"
    assert so.exists()
    cmds = json.loads((build / "compile_commands.json").read_text())
    cmd = [c for c in cmds if c["file"].endswith("smsbulletin.c")][0]["command"]
    words = cmd.split()
    dirs = [Path(words[i + 1]).resolve() for i, w in enumerate(words) if w == "-isystem"] + \
        [Path(w[2:]).resolve() for w in words if w.startswith("-I")]
    assert (prefix / "include").resolve() in dirs, cmd
    assert not {(SOURCE / "include").resolve(), (SOURCE / "src").resolve()} & set(dirs), cmd
    out = run(["nm", "-D", "--defined-only", so])
    exported = sorted(line.split()[-1] for line in out.splitlines() if line.strip())
    assert exported == ["hd_channel_entry"], exported


def test_example_passes_conformance():
    build = OUT / "build"
    p = subprocess.run(["cmake", "--build", str(build), "--target", "conformance"],
                       capture_output=True, text=True, timeout=600)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(%s)" % (build / "smsbulletin.so") in p.stdout  # loaded from the .so, not built in
    assert re.search(r"^\d+ checks: \d+ passed, 0 failed", p.stdout, re.M), p.stdout
    for name in ("send.timeout@1", "send.lost_answer.resend", "cancel.in_flight", "destroy"):
        assert re.search(r"^(ok  |warn) +\d+ %s:" % re.escape(name), p.stdout, re.M), name
