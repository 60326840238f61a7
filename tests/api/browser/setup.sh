#!/usr/bin/env bash
# Install the dashboard test's npm packages (playwright-core, pinned by package-lock.json) into
# the build tree: setup.sh SRC_DIR BUILD_DIR. A no-op when BUILD_DIR already has that lock file
# installed. Needs node and npm; the test itself needs /usr/bin/chromium (tools/install-deps.sh).
set -euo pipefail
src=$1
dst=$2
mkdir -p "$dst"
if ! command -v npm >/dev/null; then
    echo "setup.sh: npm is not installed; the dashboard test will be skipped" >&2
    exit 0
fi
if [ -f "$dst/node_modules/.herald-lock" ] && cmp -s "$src/package-lock.json" "$dst/node_modules/.herald-lock"; then
    echo "setup.sh: $dst is up to date"
    exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dst/"
cd "$dst"
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.herald-lock
echo "setup.sh: playwright-core installed in $dst"
