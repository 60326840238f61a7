"""The adapter ABI as heraldd enforces it (stdlib + pytest; no broker).

- every built-in adapter (and the worked example) compiles with include/ alone on the include
  path: none uses a core header (src/*.h);
- heraldd exports no symbol of the core (no -rdynamic): an adapter can only use the services table;
- heraldd --check-config refuses each broken .so in plugin_dir with one line naming the file and
  the reason (the registry's unit tests, test_sdk_registry.c, have one test per reason);
- a loaded adapter's instance is checked against its key table like a built-in's;
- heraldd --list-channels [--json] -c FILE lists built-in and loaded adapters from the same tables.
Run: HERALD_BUILD_DIR=build SDK_ADAPTER_DIR=build/tests/sdk/adapters python3 -m pytest -q \
     tests/sdk/test_sdk_abi.py
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("HERALD_BUILD_DIR", "build"))
ADAPTERS = Path(os.environ.get("SDK_ADAPTER_DIR", BUILD / "tests" / "sdk" / "adapters"))
HERALDD = BUILD / "src" / "heraldd"
CC = os.environ.get("HERALD_CC", "cc")
CORE_HEADERS = sorted(p.name for p in (SOURCE / "src").glob("*.h"))


def adapter_sources():
    """Every file of an adapter: channels/<name>/*.{c,h} but the simulators and tests."""
    out = []
    for d in sorted((SOURCE / "channels").iterdir()):
        for f in sorted(d.glob("*.[ch]")):
            if not f.name.startswith(("sim_", "test_")):
                out.append(f)
    out.append(SOURCE / "examples" / "adapter-smsbulletin" / "smsbulletin.c")
    return out


def pkg_cflags(*pkgs):
    return subprocess.run(["pkg-config", "--cflags"] + list(pkgs), capture_output=True, text=True,
                          check=True).stdout.split()


def test_adapters_include_only_the_abi():
    files = adapter_sources()
    assert len(files) >= 7, files
    bad = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            m = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
            if m and (m.group(1) in CORE_HEADERS and not (f.parent / m.group(1)).exists()):
                bad.append("%s:%d: includes the core header %s" % (f, n, m.group(1)))
    assert not bad, "\n".join(bad)
    flags = pkg_cflags("jansson", "libxml-2.0")
    for f in files:
        if f.suffix != ".c":
            continue
        # only include/ (and the adapter's own folder, for its quoted includes): no src/
        p = subprocess.run([CC, "-fsyntax-only", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Werror",
                            "-I", str(SOURCE / "include"),
                            # and the shared helpers of channels/common, ABI-only themselves
                            "-I", str(SOURCE / "channels" / "common")] + flags + [str(f)],
                           capture_output=True, text=True)
        assert p.returncode == 0, "%s needs more than the ABI headers:\n%s" % (f, p.stderr)


def test_heraldd_exports_no_core_symbol():
    out = subprocess.run(["nm", "-D", "--defined-only", str(HERALDD)], capture_output=True,
                         text=True, check=True).stdout
    core = [line for line in out.splitlines() if re.search(r"\b(hd|herald)_\w+$", line)]
    assert not core, "heraldd exports core symbols (linked with -rdynamic?):\n" + "\n".join(core)


def config(tmp, plugin_dir, channels=None):
    path = tmp / "herald.yaml"
    lines = ["daemon:", "  state_dir: %s" % tmp, "  plugin_dir: %s" % plugin_dir,
             "kafka:", "  brokers: 127.0.0.1:9", "channels:"]
    for cid, settings in (channels or {"webhook:ops": {"url": "http://127.0.0.1:9/x",
                                                       "secret": "file:%s" % secret(tmp)}}).items():
        lines.append('  "%s":' % cid)
        lines += ["    %s: %s" % (k, v) for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def secret(tmp):
    s = tmp / "secret"
    s.write_text("sdk-abi-test-secret-0123456789\n")
    return s


def plugins(tmp, *names):
    d = tmp / "plugins"
    d.mkdir(mode=0o755, exist_ok=True)
    for n in names:
        shutil.copy(ADAPTERS / ("%s.so" % n), d / ("%s.so" % n))
        os.chmod(d / ("%s.so" % n), 0o644)
    return d


def heraldd(*args):
    p = subprocess.run([str(HERALDD)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


REFUSED = {
    "bad_abi": "refused: ABI version 2, this heraldd speaks 1",
    "small": "refused: struct hd_channel of",
    "signature": "refused: build signature",
    "badname": "refused: invalid adapter name",
    "dup_webhook": 'refused: an adapter named "webhook" is already registered (built-in)',
    "noentry": "refused: no hd_channel_entry() entry point",
    "nullentry": "refused: the entry point returned no adapter",
    "nosend": "lacks send()",
    "cap_retract": "claims HD_CAP_RETRACT without retract()",
    "cap_poll": "claims HD_CAP_POLL without poll_status()",
    "noreconcile": "is not idempotent and has no reconcile()",
    "unknown_cap": "claims capabilities this heraldd does not know",
    "revision": "invalid default_on_revision",
    "keys": "invalid key table",
    "corekey": "key timeout is a setting every instance has",
    "coresym": "cannot load: %s: undefined symbol: hd_now_ms (heraldd exports no symbols",
}


def test_heraldd_names_each_refused_file(tmp_path):
    d = plugins(tmp_path, *REFUSED)
    rc, out, err = heraldd("--check-config", config(tmp_path, d))
    assert rc == 1, (out, err)
    for name, why in REFUSED.items():
        path = str(d / ("%s.so" % name))
        why = why % path if "%s" in why else why
        lines = [line for line in err.splitlines() if line.startswith(path + ": ")]
        assert len(lines) == 1, "%s: %r" % (name, err)
        assert why in lines[0], lines[0]


def test_a_writable_plugin_dir_is_refused(tmp_path):
    d = plugins(tmp_path, "good")
    os.chmod(d, 0o777)
    try:
        rc, out, err = heraldd("--check-config", config(tmp_path, d))
    finally:
        os.chmod(d, 0o755)
    assert rc == 1
    assert "plugin_dir %s: refused: writable by anyone" % d in err, err


def test_a_loaded_adapter_is_configured_like_a_builtin(tmp_path):
    d = plugins(tmp_path, "good")
    rc, out, err = heraldd("--check-config", config(tmp_path, d, {"sdkgood:one": {"level": 5}}))
    assert rc == 0, err
    assert "ok (1 channel instance(s)" in out
    path = config(tmp_path, d, {"sdkgood:one": {"level": 11, "levle": 2}})
    rc, out, err = heraldd("--check-config", path)
    assert rc == 1
    assert re.search(r"%s:\d+:\d+: .*level.*10" % re.escape(str(path)), err), err
    assert "unknown key `levle` (did you mean `level`?)" in err, err


def test_list_channels_shows_loaded_adapters(tmp_path):
    d = plugins(tmp_path, "good")
    cfg = config(tmp_path, d)
    rc, out, err = heraldd("--list-channels", "-c", cfg)
    assert rc == 0, err
    assert "adapter sdkgood 0.1 (%s)" % (d / "good.so") in out
    assert re.search(r"^    level +int +default=3 \(1\.\.10\)$", out, re.M), out
    assert "        A number from 1 to 10." in out
    for a in ("webhook", "website", "wechat", "weibo", "ejiatong", "display_board"):
        assert re.search(r"^adapter %s \S+ \(built-in\)$" % a, out, re.M), a
    for line in out.splitlines():
        assert line == line.rstrip(), "trailing blanks: %r" % line
        if line.startswith("adapter ") and line.endswith(".so)"):
            line = line[:line.rindex(" (")]  # a file's path cannot be wrapped
        assert len(line) <= 100 or " " not in line.strip(), "not wrapped: %r" % line
    rc, out, err = heraldd("--list-channels", "--json", "-c", cfg)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["abi_version"] == 1 and doc["build_signature"].startswith("herald-abi=1;")
    sdk = [a for a in doc["adapters"] if a["name"] == "sdkgood"][0]
    assert sdk["origin"] == str(d / "good.so") and sdk["capabilities"] == ["idempotent"]
    assert sdk["keys"] == [{"name": "level", "type": "int", "required": False, "default": "3",
                            "help": "A number from 1 to 10.", "min": 1, "max": 10}]
    assert any(k["name"] == "timeout" for k in doc["core_keys"])


def test_list_channels_lists_despite_refusals(tmp_path):
    d = plugins(tmp_path, "good", "bad_abi")
    rc, out, err = heraldd("--list-channels", "-c", config(tmp_path, d))
    assert rc == 1
    assert "%s: refused: ABI version 2" % (d / "bad_abi.so") in err
    assert "adapter sdkgood 0.1" in out and "adapter webhook" in out
