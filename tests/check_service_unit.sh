#!/usr/bin/env bash
# Checks dist/replplan-watch@.service offline with systemd-analyze: `verify` must pass without a
# single warning (it exits 0 on an unknown key or a bad value, so its output is checked too), and
# `security --offline` must rate the sandbox at most 2.0 ("OK"). ExecStart is pointed at the binary
# under test (verify checks that the command exists). Exit 77 (CTest: skipped) without systemd-analyze.
# Usage: check_service_unit.sh SOURCE_DIR REPLPLAN_BINARY
set -euo pipefail
src=$1 binary=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze is not installed (apt-get install systemd): the unit file is not verified"
  exit 77
fi
dir=$(mktemp -d /tmp/replplan_unit_check.XXXXXX)
trap 'rm -rf "$dir"' EXIT
unit="$dir/replplan-watch@lab.service"
sed "s|/usr/local/bin/replplan|$binary|" "$src/dist/replplan-watch@.service" >"$unit"
grep -q "^ExecStart=$binary watch " "$unit" || { echo "FAIL: ExecStart does not run /usr/local/bin/replplan watch"; exit 1; }
for key in Type=notify WatchdogSec= 'ExecReload=/bin/kill -HUP $MAINPID' NoNewPrivileges=yes ProtectSystem=strict; do
  grep -qF "$key" "$unit" || { echo "FAIL: the unit lacks $key"; exit 1; }
done
out=$(cd "$dir" && systemd-analyze verify "./$(basename "$unit")" 2>&1) || { echo "FAIL: systemd-analyze verify: $out"; exit 1; }
if [[ -n $out ]]; then
  echo "FAIL: systemd-analyze verify warns: $out"
  exit 1
fi
if ! security=$(cd "$dir" && systemd-analyze security --offline=yes --threshold=20 "./$(basename "$unit")" 2>&1); then
  echo "FAIL: systemd-analyze security rates the unit above 2.0:"
  echo "$security" | tail -n 5
  exit 1
fi
echo "OK: verify clean; $(echo "$security" | grep -o 'Overall exposure level.*')"
