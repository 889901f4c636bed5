#!/usr/bin/env bash
# Benchmark: `watch` on etcd (docs/failover.md, "Several watchers on etcd") against one watcher alone,
# in the same run, on the same lab:
#  1. kill -9 of the primary's mariadbd -> the first write acknowledged by the Rails app on the new
#     primary, with one watcher alone and with three watchers on one etcd member (each its own copy of
#     the file). Target from the issue: etcd / alone <= 1.2.
#  2. the leader watcher killed (kill -9) -> a standby leading, ready to fail over (its log line
#     "leading the watchers"). Target: the lease TTL (2 s) + 1 s.
# Medians of RUNS (default 5). Loopback only: REPLPLAN_LAB_NET (default 127.0.8), etcd on NET.50.
# Run it on an idle machine (`uptime`): the figures are milliseconds.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
bench_lab 127.0.8 .lab-bench-etcd
bench_bin
# STANDBY_NICE=19: the two standby watchers at the lowest CPU priority, a diagnostic of what their
# CPU costs the leader on this one machine (in production each watcher has a machine of its own).
# ETCD_DIR: where the etcd member keeps its data (default in the lab dir, on this machine's disk).
# ETCD_DIR=/dev/shm/... puts its write-ahead log on tmpfs, where an fsync costs nothing: a run that
# tells etcd's disk apart from everything else (never for a real cluster).
export REPLPLAN_ETCD_DIR=${ETCD_DIR:-$REPLPLAN_LAB_DIR/etcd}
# ETCD_CPU=N: etcd's threads on CPU N alone, the rest where the script runs; with
# `ETCD_CPU=1 taskset -c 0 bash bench/etcd_failover.sh`, etcd has a core of its own and the lab, the
# app, its client and the watchers share the other, in both columns alike: a run that tells etcd's
# share of the CPU apart from the journal's round trips (a diagnostic, as STANDBY_NICE).
etcd() { bash "$repo/tests/lab/etcd.sh" "$@"; }
endpoint=http://$REPLPLAN_LAB_NET.50:2379
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  app stop mercury >/dev/null 2>&1 || true
  etcd wipe >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
to_ms() { python3 -c 'import sys,datetime; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()*1000))' "$1"; }
wait_for() {  # FILE TEXT SECONDS
  # Its own i: failover_ms's loop over the watchers calls it, and bash's locals are seen by the
  # functions called. Without this it set that loop's i: the leader started twice under one id and
  # no standby at all, or the leader alone (every run before this line was fixed).
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$2' in $1 after $3 s" >&2
  return 1
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}

lab up 3 >/dev/null 2>&1 || true
etcd start >/dev/null
if [[ -n ${ETCD_CPU:-} ]]; then
  taskset -apc "$ETCD_CPU" "$(<"$REPLPLAN_ETCD_DIR/etcd.pid")" >/dev/null
  echo "etcd on CPU $ETCD_CPU alone; everything else on CPU $(taskset -pc $$ | awk '{ print $NF }')"
fi
mercury=$REPLPLAN_LAB_NET.61

# One kill -9 of the primary under `watchers` watchers (0: one alone, no etcd); prints the ms from the
# kill to the first acknowledged write sent after it.
failover_ms() {
  local watchers=$1 run=$2 topology=$REPLPLAN_LAB_DIR/bench.toml
  lab reset 3 >/dev/null
  sed 's/^\[replication\]$/[replication]\nsemi_sync = true/' "$REPLPLAN_LAB_DIR/lab.toml" >"$topology"
  "$bin" apply "$topology" --yes >/dev/null
  app deploy mercury mercury >/dev/null && app setup mercury >/dev/null && app start mercury >/dev/null
  app toml "$topology" mercury >/dev/null
  local logs=() i
  if ((watchers == 0)); then
    logs=("$REPLPLAN_LAB_DIR/alone.$run.log")
    : >"${logs[0]}"
    "$bin" watch "$topology" --interval-ms 100 >"${logs[0]}" 2>&1 &
    pids+=("$!")
  else
    for ((i = 1; i <= watchers; i++)); do
      cp "$topology" "$REPLPLAN_LAB_DIR/bench-w$i.toml"
      logs+=("$REPLPLAN_LAB_DIR/etcd.$run.w$i.log")
      : >"${logs[-1]}"  # emptied here, not by the background job: an earlier run's lines would count
      nice -n "$( ((i == 1)) && echo 0 || echo "${STANDBY_NICE:-0}")" \
        "$bin" watch "$REPLPLAN_LAB_DIR/bench-w$i.toml" --interval-ms 100 --etcd "$endpoint" \
        --etcd-prefix "/replplan-bench/$run-$$/" --watcher-id "w$i" >"${logs[-1]}" 2>&1 &
      pids+=("$!")
      ((i == 1)) && wait_for "${logs[0]}" "leading the watchers" 20
    done
  fi
  for log in "${logs[@]}"; do wait_for "$log" "warm: " 30; done
  # What is measured is what the line says: one leader, the others standing by behind it, each its
  # own process (a watcher started twice under one id would stand by behind itself).
  if ((watchers > 0)); then
    grep -q "leading the watchers" "${logs[0]}" || { echo "run $run: w1 does not lead; see ${logs[0]}" >&2; exit 1; }
    for ((i = 2; i <= watchers; i++)); do
      grep -q "standing by: w1 leads" "${logs[i - 1]}" || { echo "run $run: w$i does not stand by behind w1; see ${logs[i - 1]}" >&2; exit 1; }
    done
    (($(pgrep -fc -- "--etcd-prefix /replplan-bench/$run-$$/") == watchers)) ||
      { echo "run $run: not $watchers watcher processes" >&2; exit 1; }
  fi
  local writes=$REPLPLAN_LAB_DIR/writes.$watchers.$run.log
  python3 "$repo/bench/http_writer.py" "$mercury" >"$writes" &
  pids+=("$!")
  sleep 2
  local pid started killed first=""
  pid=$(cat "$REPLPLAN_LAB_DIR/hosts/mercury/mysqld.pid")
  started=$(now_ms)
  kill -9 "$pid"
  killed=$(now_ms)
  lab kill mercury >/dev/null
  for ((i = 0; i < 600; i++)); do
    first=$(awk -v k="$killed" '$1 > k && $3 == 201 { print $2; exit }' "$writes")
    [[ -n $first ]] && break
    sleep 0.1
  done
  # A client that never got a write through before the kill measures nothing: refuse the run.
  local before
  before=$(awk -v k="$killed" '$2 <= k && $3 == 201' "$writes" | wc -l)
  stop_all
  app stop mercury >/dev/null 2>&1 || true
  ((before > 0)) || { echo "run $run ($watchers watchers): no write acknowledged before the kill; see $writes" >&2; exit 1; }
  [[ -n $first ]] || { echo "run $run ($watchers watchers): no write succeeded after the failover; see ${logs[0]}" >&2; exit 1; }
  echo $((first - started))
}

# The leader watcher killed: ms until the standby's "leading the watchers".
takeover_ms() {
  local run=$1 topology=$REPLPLAN_LAB_DIR/lab.toml
  local l1=$REPLPLAN_LAB_DIR/takeover.$run.w1.log l2=$REPLPLAN_LAB_DIR/takeover.$run.w2.log
  : >"$l1"
  : >"$l2"
  cp "$topology" "$REPLPLAN_LAB_DIR/takeover-w1.toml"
  cp "$topology" "$REPLPLAN_LAB_DIR/takeover-w2.toml"
  local prefix=/replplan-bench/takeover-$run-$$/
  "$bin" watch "$REPLPLAN_LAB_DIR/takeover-w1.toml" --etcd "$endpoint" --etcd-prefix "$prefix" --watcher-id w1 >"$l1" 2>&1 &
  local leader=$!
  pids+=("$leader")
  wait_for "$l1" "leading the watchers" 20
  "$bin" watch "$REPLPLAN_LAB_DIR/takeover-w2.toml" --etcd "$endpoint" --etcd-prefix "$prefix" --watcher-id w2 >"$l2" 2>&1 &
  pids+=("$!")
  wait_for "$l2" "warm: " 30
  local killed
  killed=$(now_ms)
  kill -9 "$leader"
  wait_for "$l2" "leading the watchers" 20
  local led
  led=$(to_ms "$(grep -m1 'leading the watchers' "$l2" | cut -d' ' -f1)")
  stop_all
  echo $((led - killed))
}

echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores: the figures hold only on an idle machine"
alone=() coordinated=() takeovers=()
lab reset 3 >/dev/null
for ((run = 1; run <= runs; run++)); do
  a=$(failover_ms 0 "$run")
  e=$(failover_ms 3 "$run")
  lab reset 3 >/dev/null
  t=$(takeover_ms "$run")
  echo "run $run: kill -9 -> first acknowledged write: alone ${a} ms, 3 watchers on etcd ${e} ms; leader killed -> standby leading ${t} ms"
  alone+=("$a"); coordinated+=("$e"); takeovers+=("$t")
done
a=$(printf '%s\n' "${alone[@]}" | median)
e=$(printf '%s\n' "${coordinated[@]}" | median)
t=$(printf '%s\n' "${takeovers[@]}" | median)
echo "median over $runs runs: alone ${a} ms, 3 watchers on etcd ${e} ms; standby leading ${t} ms after the leader's death"
awk -v a="$a" -v e="$e" -v t="$t" 'BEGIN { printf "ratio etcd / alone: %.2f (target <= 1.2); standby ready / (TTL 2 s + 1 s): %.2f (target <= 1)\n", e / a, t / 3000 }'
# What etcd's own disk cost over the whole run: its write-ahead log's fsyncs (each journal entry and
# observation waits for one) from etcd's /metrics.
curl -s --max-time 2 "$endpoint/metrics" | awk -v dir="$REPLPLAN_ETCD_DIR" '
  /^etcd_disk_wal_fsync_duration_seconds_sum/ { sum = $2 }
  /^etcd_disk_wal_fsync_duration_seconds_count/ { n = $2 }
  /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.004"\}/ { fast = $2 }
  END { if (n > 0) printf "etcd WAL fsync (%s): %d fsyncs, mean %.2f ms, %.0f%% over 4 ms\n", dir, n, 1000 * sum / n, 100 * (n - fast) / n }'
