#!/usr/bin/env bash
# Install what building and testing herald needs on a Debian 12 machine, and nothing when it is
# all there already. Run as root or with sudo available. Used by `make deps` (and so by
# `make check` and `make demo`).
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config clang clang-format
  libevent-dev librdkafka-dev libcurl4-openssl-dev libsqlite3-dev sqlite3 libjansson-dev
  libyaml-dev libsystemd-dev libcmocka-dev libssl-dev libxml2-dev uthash-dev
  systemd python3 python3-venv curl
)
# Java and Maven run the real Kafka broker of the tests (kept if the machine has its own).
command -v java >/dev/null 2>&1 || PKGS+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || PKGS+=(maven)
# The dashboard's browser test drives Debian's Chromium with playwright-core from npm (any
# node >= 18 will do: Debian's, or one already installed), with a CJK font for its screenshots.
if [ "${HERALD_NO_BROWSER:-0}" != 1 ]; then
  PKGS+=(chromium fonts-wqy-microhei)
  command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
  command -v npm >/dev/null 2>&1 || PKGS+=(npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-venv is Debian's; a python3 that already has venv (pyenv, etc.) does not need it
if printf '%s\n' "${missing[@]}" | grep -qx python3-venv && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
