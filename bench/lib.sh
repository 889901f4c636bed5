# What every bench/*.sh starts with, sourced right after the script's header comment:
#
#   source "$(dirname "$0")/lib.sh"
#
# Strict mode; the repository's root as the working directory ($repo); -h or --help prints the
# script's header comment (its usage: what it measures, its variables) and exits before any lab is
# touched. Then, as each script needs them:
#   bench_lab NET NAME   the lab the script starts itself: REPLPLAN_LAB_NET (default NET) and
#                        REPLPLAN_LAB_DIR (default $repo/NAME), exported for tests/lab/*.sh. Loopback
#                        only: the net must be 127.X.Y, else the script stops with exit 2.
#   bench_bin            $bin: REPLPLAN_BIN or build/replplan, built (scripts/build.sh) when missing
#   bench_need_active_record  stops (exit 1) unless Debian's ruby-activerecord and ruby-mysql2 are
#                        there (bench/ar_writer.rb's client)
#   lab, app             tests/lab/lab.sh and tests/lab/app.sh on that lab
#   now_ms, median       the wall clock in ms; the median of numbers read one a line
#   to_ms                an RFC 3339 UTC time ("2026-01-02T03:04:05.678Z", a watch log's) in ms
set -euo pipefail
bench_self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

bench_usage() { awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$bench_self"; }
case ${1:-} in -h | --help) bench_usage; exit 0 ;; esac

bench_lab() {
  export REPLPLAN_LAB_NET=${REPLPLAN_LAB_NET:-$1}
  export REPLPLAN_LAB_DIR=${REPLPLAN_LAB_DIR:-$repo/$2}
  [[ $REPLPLAN_LAB_NET =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
    { echo "REPLPLAN_LAB_NET must be 127.X.Y (loopback only), not '$REPLPLAN_LAB_NET'" >&2; exit 2; }
}

bench_bin() {
  bin=${REPLPLAN_BIN:-$repo/build/replplan}
  [[ -x $bin ]] || bash "$repo/scripts/build.sh" >/dev/null
}

bench_need_active_record() {
  ruby -e 'require "active_record"; require "mysql2"' 2>/dev/null ||
    { echo "needs Debian's ruby-activerecord and ruby-mysql2: bash scripts/install-deps.sh" >&2; exit 1; }
}

lab() { bash "$repo/tests/lab/lab.sh" "$@"; }
app() { bash "$repo/tests/lab/app.sh" "$@"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
to_ms() { python3 -c 'import sys,datetime; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()*1000))' "$1"; }
