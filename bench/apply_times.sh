#!/usr/bin/env bash
# Benchmark: a full apply of a fresh 1 primary + 2 replicas lab, then a no-op apply against a plan,
# in one run. Target: a no-op apply costs no more than one `plan` (ratio <= 1.0 plus the lock).
# Loopback only: the lab's hosts (REPLPLAN_LAB_NET, default 127.0.7 so it can run beside tests).
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-9}
bench_lab 127.0.7 .lab-bench-apply
bench_bin
trap 'lab down >/dev/null 2>&1 || true' EXIT

lab reset 3 >/dev/null 2>&1 || lab up 3 >/dev/null
topology=$REPLPLAN_LAB_DIR/lab.toml
start=$(now_ms)
"$bin" apply "$topology" --yes >"$REPLPLAN_LAB_DIR/full-apply.log"
full=$(($(now_ms) - start))
echo "full apply, fresh 1 primary + 2 replicas: ${full} ms ($(tail -n 1 "$REPLPLAN_LAB_DIR/full-apply.log"))"

time_cmd() { local s; s=$(now_ms); "$@" >/dev/null 2>&1 || true; echo $(($(now_ms) - s)); }
plans=() noops=()
for ((i = 0; i < runs; i++)); do  # interleaved, so machine drift hits both alike
  plans+=("$(time_cmd "$bin" plan "$topology")")
  noops+=("$(time_cmd "$bin" apply "$topology" --yes)")
done
p=$(printf '%s\n' "${plans[@]}" | median)
n=$(printf '%s\n' "${noops[@]}" | median)
echo "plan:         median ${p} ms over $runs runs (${plans[*]})"
echo "no-op apply:  median ${n} ms over $runs runs (${noops[*]})"
awk -v a="$n" -v b="$p" 'BEGIN { printf "ratio no-op apply / plan: %.2f (target <= 1.0: with nothing to do, apply takes no lock)\n", a / b }'
