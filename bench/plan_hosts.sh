#!/usr/bin/env bash
# Benchmark: `replplan plan` against 1 lab host and against 6, in one run, printed as a ratio.
# Reads run in parallel with one SQL connection and one SSH session per host, so 6 hosts should
# cost little more than 1. Target: ratio <= 1.3. Loopback only (the lab's 127.0.0.x hosts).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
runs=${RUNS:-9}
bin=$repo/build/replplan
[[ -x $bin ]] || bash scripts/build.sh >/dev/null
export REPLPLAN_LAB_DIR=${REPLPLAN_LAB_DIR:-$repo/.lab-bench}
lab() { bash "$repo/tests/lab/lab.sh" "$@"; }
trap 'lab down >/dev/null 2>&1 || true' EXIT

lab up 6 >/dev/null
work=$REPLPLAN_LAB_DIR/bench
mkdir -p "$work"
cp "$REPLPLAN_LAB_DIR/lab.toml" "$work/six.toml"
# The same file with only its first [[server]]: one host.
awk '/^\[/ { if ($0 ~ /^\[\[server\]\]/) { n++; skip = (n > 1) } else { skip = 0 } } !skip' \
  "$work/six.toml" >"$work/one.toml"
"$bin" validate "$work/one.toml" >/dev/null
"$bin" validate "$work/six.toml" >/dev/null

now_ms() { date +%s%3N; }
time_plan() {  # prints wall milliseconds of one plan run
  local start end
  start=$(now_ms)
  "$bin" plan "$1" >/dev/null 2>&1 || true
  end=$(now_ms)
  echo $((end - start))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

machine_cpu_ms() { awk '/^cpu /{ print ($2 + $3 + $4 + $7 + $8) * 10 }' /proc/stat; }  # USER_HZ=100
cpu_per_plan() {  # machine-wide CPU (replplan + sshd + mariadbd) of one plan, averaged
  local before after i
  before=$(machine_cpu_ms)
  for ((i = 0; i < runs; i++)); do "$bin" plan "$1" >/dev/null 2>&1 || true; done
  after=$(machine_cpu_ms)
  echo $(((after - before) / runs))
}

time_plan "$work/one.toml" >/dev/null  # warm-up: page cache, sshd key loading
time_plan "$work/six.toml" >/dev/null
one=() six=()
for ((i = 0; i < runs; i++)); do  # interleaved, so machine drift hits both alike
  one+=("$(time_plan "$work/one.toml")")
  six+=("$(time_plan "$work/six.toml")")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m6=$(printf '%s\n' "${six[@]}" | median)
c1=$(cpu_per_plan "$work/one.toml")
c6=$(cpu_per_plan "$work/six.toml")
cores=$(nproc)
echo "plan, 1 host : median ${m1} ms over $runs runs (${one[*]}); machine CPU ${c1} ms per plan"
echo "plan, 6 hosts: median ${m6} ms over $runs runs (${six[*]}); machine CPU ${c6} ms per plan"
awk -v a="$m6" -v b="$m1" 'BEGIN { printf "ratio 6 hosts / 1 host: %.2f (target <= 1.30)\n", a / b }'
# On one machine the six lab hosts' sshd and mariadbd share its cores, which six real hosts would
# not: no client can beat max(one host's wall time, all the CPU the run needs / cores).
awk -v a="$m6" -v b="$m1" -v c="$c6" -v n="$cores" 'BEGIN {
  floor = (c / n > b) ? c / n : b
  printf "floor on this %d-core machine: %.0f ms; 6 hosts / floor: %.2f\n", n, floor, a / floor }'
