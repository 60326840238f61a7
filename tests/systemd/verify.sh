#!/usr/bin/env bash
# The systemd unit: systemd-analyze verify accepts it (with heraldd pointing at this build), it
# carries what the core issue asks of it, and the verifier is not a rubber stamp (a broken copy
# is refused). Skipped, with the reason, where systemd-analyze does not exist.
set -euo pipefail
unit_src=$1
heraldd=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed on this machine"
  exit 77
fi
sed "s#/usr/sbin/heraldd#${heraldd}#g" "$unit_src" > "$work/heraldd.service"
systemd-analyze verify "$work/heraldd.service"
for want in '^Type=notify$' '^WatchdogSec=' '^Restart=on-failure$' '^ExecReload=.*-HUP' \
            '^StateDirectory=herald$' '^ConfigurationDirectory=herald$' '^LoadCredential=' \
            '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^PrivateTmp=yes$' \
            '^RestrictAddressFamilies=' '^ExecStartPre=.*--check-config'; do
  grep -Eq "$want" "$work/heraldd.service" || { echo "unit lacks $want"; exit 1; }
done
# every credential the example configuration names is loaded by the unit
config="$(dirname "$unit_src")/../config/herald.yaml"
names=$(grep -v '^[[:space:]]*#' "$config" | grep -o 'credential:[A-Za-z0-9_.-]*' | cut -d: -f2 | sort -u)
[ -n "$names" ] || { echo "no credential: in $config"; exit 1; }
for n in $names; do
  grep -q "^LoadCredential=$n:" "$work/heraldd.service" || { echo "unit lacks LoadCredential=$n"; exit 1; }
done
sed 's/^Type=notify$/Type=notifyy/' "$work/heraldd.service" > "$work/broken.service"
if systemd-analyze verify "$work/broken.service" 2>"$work/err"; then
  # some versions only warn: then the warning must name the bad value
  grep -q "notifyy" "$work/err" || { echo "systemd-analyze accepted a broken unit silently"; exit 1; }
fi
echo "ok: the unit verifies and carries the required settings"
