#!/usr/bin/env bash
# Benchmark: failover time with `replplan watch`, from kill -9 of the primary's mariadbd to the
# first write acknowledged by the Rails app (examples/secondhand, on mercury) against the new
# primary, split into detection (kill -> the watcher's failed probe), promotion (failed probe ->
# the new primary writable: confirm with the replicas, lock, plan, relay log, promote) and app
# repoint (promoted -> first acknowledged write: rewrite database.yml, the app's restart command,
# health check). The restart command is tests/lab/app.sh toml's: a touch of tmp/restart.txt (the app
# reconnects in process), or with APP_RESTART=hot puma's hot restart (a full Rails boot).
# Median of RUNS (default 5) runs, each on a freshly applied lab with semi_sync on. Targets from the
# issue: total < 5 s, promotion < 1 s. Printed as ratios against those targets.
# The client is bench/http_writer.py (one process, a fresh connection per request, lines flushed).
# Loopback only: the lab's hosts (REPLPLAN_LAB_NET, default 127.0.8 so it can run beside tests).
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
bench_lab 127.0.8 .lab-bench-failover
bench_bin
writer_pid=""
watch_pid=""
cleanup() {
  [[ -n $writer_pid ]] && kill "$writer_pid" 2>/dev/null || true
  [[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null || true
  app stop mercury >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT

lab up 3 >/dev/null 2>&1 || true
mercury=$REPLPLAN_LAB_NET.61
totals=() detects=() promotes=() repoints=()
for ((run = 1; run <= runs; run++)); do
  lab reset 3 >/dev/null
  topology=$REPLPLAN_LAB_DIR/bench.toml
  sed 's/^\[replication\]$/[replication]\nsemi_sync = true/' "$REPLPLAN_LAB_DIR/lab.toml" >"$topology"
  "$bin" apply "$topology" --yes >/dev/null
  app deploy mercury mercury && app setup mercury && app start mercury
  app toml "$topology" mercury
  log=$REPLPLAN_LAB_DIR/watch.$run.log
  writes=$REPLPLAN_LAB_DIR/writes.$run.log
  "$bin" watch "$topology" --max-failovers 1 --interval-ms 100 >"$log" 2>&1 &
  watch_pid=$!
  # The client (bench/http_writer.py): one POST after another, each line "<sent ms> <answered ms>
  # <http status>".
  python3 "$repo/bench/http_writer.py" "$mercury" >"$writes" &
  writer_pid=$!
  sleep 2
  # The clock starts at the kill -9 itself (the pid mariadbd wrote at start), not before a script
  # that looks for it. Writes count only if sent after the kill returned: one sent just before may
  # still be acknowledged by the dying primary. `lab kill` then waits until the process is gone.
  pid=$(cat "$REPLPLAN_LAB_DIR/hosts/mercury/mysqld.pid")
  started=$(now_ms)
  kill -9 "$pid"
  killed=$(now_ms)
  lab kill mercury
  wait "$watch_pid" || true
  watch_pid=""
  first=""
  for ((i = 0; i < 300; i++)); do
    # A request sent after the kill: one in flight may still be answered by the old primary.
    first=$(awk -v k="$killed" '$1 > k && $3 == 201 { print $2; exit }' "$writes")
    [[ -n $first ]] && break
    sleep 0.1
  done
  kill "$writer_pid" 2>/dev/null || true
  wait "$writer_pid" 2>/dev/null || true
  writer_pid=""
  app stop mercury >/dev/null 2>&1 || true
  [[ -n $first ]] || { echo "run $run: no write succeeded after the failover; see $log" >&2; exit 1; }
  suspected=$(to_ms "$(grep -m1 'unreachable' "$log" | cut -d' ' -f1)")
  # The new primary is writable when promote-replica is done (its timeline line, local time).
  promoted_line=$(grep -m1 'promote-replica *done' "$log" | awk '{ print $1 }')
  promoted=$(python3 -c 'import sys,datetime; t=datetime.datetime.strptime(sys.argv[1]+" "+sys.argv[2], "%Y-%m-%d %H:%M:%S.%f"); print(int(t.timestamp()*1000))' "$(date +%Y-%m-%d)" "$promoted_line")
  total=$((first - started)); detect=$((suspected - started)); promote=$((promoted - suspected)); repoint=$((first - promoted))
  echo "run $run: total ${total} ms = detection ${detect} + promotion ${promote} + app repoint ${repoint}"
  totals+=("$total"); detects+=("$detect"); promotes+=("$promote"); repoints+=("$repoint")
done
t=$(printf '%s\n' "${totals[@]}" | median)
d=$(printf '%s\n' "${detects[@]}" | median)
p=$(printf '%s\n' "${promotes[@]}" | median)
r=$(printf '%s\n' "${repoints[@]}" | median)
echo "median over $runs runs: total ${t} ms (detection ${d}, promotion ${p}, app repoint ${r})"
awk -v t="$t" -v p="$p" 'BEGIN { printf "ratio total / 5000 ms target: %.2f; promotion / 1000 ms target: %.2f\n", t / 5000, p / 1000 }'
echo "(MHA side by side: bash bench/mha_failover.sh runs MHA's own figure and then this script, and prints the ratio.)"
