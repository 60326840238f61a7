#!/usr/bin/env bash
# Create or refresh the Python virtualenv the end-to-end tests run in.
#
#   tools/pyenv.sh VENV_DIR
#
# Makes VENV_DIR with `python3 -m venv` and installs tests/e2e/requirements.txt from PyPI.
# A no-op when VENV_DIR already holds exactly that requirements file (its SHA-256 and the
# interpreter version are recorded in VENV_DIR/.herald-requirements). Environment: PYTHON
# (interpreter to build the venv from, default python3).
set -euo pipefail

[ $# -eq 1 ] || {
    echo "usage: tools/pyenv.sh VENV_DIR" >&2
    exit 2
}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REQS="$HERE/../tests/e2e/requirements.txt"
VENV=$1
PYTHON="${PYTHON:-python3}"

die() {
    echo "pyenv.sh: $*" >&2
    exit 1
}

[ -f "$REQS" ] || die "missing $REQS"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
mkdir -p "$VENV"
VENV=$(cd "$VENV" && pwd)

exec 9>"$VENV.lock"
flock 9 # ctest -j or two build dirs sharing a venv: one installer at a time

want="$(sha256sum <"$REQS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
stamp="$VENV/.herald-requirements"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "pyenv.sh: $VENV is up to date"
    exit 0
fi

t0=$(date +%s)
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$stamp" ] ||
    [ "${want#* }" != "$(cut -d' ' -f2 "$stamp")" ]; then
    # New, half-made or made by another interpreter version: start from scratch.
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv $VENV failed (Debian: apt-get install python3-venv)"
fi
rm -f "$stamp"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQS" ||
    die "pip install -r $REQS failed"
echo "$want" >"$stamp"
echo "pyenv.sh: $VENV ready in $(($(date +%s) - t0)) s"
