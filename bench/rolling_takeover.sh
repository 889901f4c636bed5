#!/usr/bin/env bash
# Benchmark (issue 15): takeover of a hand-built 3-host cluster (mercury primary, uranus and venus
# replicas, every server without log_slave_updates and with report_host = its IP, both static)
# while a client replplan does not control writes: bench/ar_writer.rb, Active Record + mysql2
# through the app's config/database.yml (connect_timeout 1, read_timeout 2, write_timeout 2), one
# INSERT every 20 ms, every acknowledged write logged.
#
#   rolling    `replplan apply` of this build: restarts one server at a time, replicas first, each
#              waited for until it caught up, then the primary as a switchover to a replica,
#              its restart as that replica's replica, and a switchover back
#   baseline   the same apply by BASELINE_BIN (a build of main before rolling restarts: all three
#              restarted at the same moment); skipped when BASELINE_BIN is not an executable
#
# Per run, on a freshly reset, applied and then hand-built lab: the apply's duration, the longest
# gap between two acknowledged writes from the apply's start to 2 s after its end, the client's
# error count in that window, and lost writes (acknowledged seqs absent from mercury afterwards).
# Afterwards `plan --detailed-exitcode` must exit 0.
#
#   RUNS=3                           runs per mode (medians and min..max printed)
#   MODES="rolling baseline"
#   REPLPLAN_BIN=build/replplan      the binary under test
#   BASELINE_BIN=build-main/replplan the current behaviour, for the comparison: main before the
#                                    rolling merge (8c74f4a^1 = bdfc895), built beside this tree:
#     mkdir build-main-src && git archive bdfc895 | tar -x -C build-main-src &&
#     cmake -S build-main-src -B build-main-src/build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
#     cmake --build build-main-src/build --target replplan -j2
#     RUNS=1 REPLPLAN_LAB_NET=127.0.43 BASELINE_BIN=build-main-src/build/replplan bash bench/rolling_takeover.sh
#
# Prints one line per run, a table per mode, and with both modes the ratios baseline / rolling of
# the median longest write gap and of the median error count.
#
# Loopback only: the lab it starts itself on REPLPLAN_LAB_NET (default 127.0.37), which must be
# 127.X.Y. Needs root (the lab), Debian's ruby-activerecord and ruby-mysql2 (scripts/install-deps.sh).
# The machine is shared: print medians and spreads, never pass/fail on time.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
modes=${MODES:-rolling baseline}
baseline=${BASELINE_BIN:-$repo/build-main/replplan}
bench_lab 127.0.37 .lab-bench-rolling
bench_bin
bench_need_active_record

LAB=$REPLPLAN_LAB_DIR
out=$LAB/rolling
mkdir -p "$out"
mercury=$REPLPLAN_LAB_NET.61
app_host=venus
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  app down >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_ms() { date +%s%3N; }
sql() {  # sql HOST_ADDRESS QUERY: rows, admin's password from the lab's file, never argv
  mariadb --defaults-file="$LAB/secrets/admin.cnf" -h "$1" -P 3306 --connect-timeout=1 -N -B -e "$2"
}
# The operator's runbook: no log_slave_updates, report_host = the IP, then restarted by hand.
hand_build() {
  local host=$1 cnf=$LAB/hosts/$1/my.cnf address
  address=$(lab status | awk -v h="$host" '$1 == h { print $2 }')
  sed -i -E -e '/^(log[_-]slave[_-]updates|report[_-]host)([[:space:]]*=.*)?$/d' "$cnf"
  sed -i -e "s/^\[mysqld\]\$/[mysqld]\nreport_host = $address/" "$cnf"
  lab restart "$host" >/dev/null
}

lab up 3 >/dev/null
app down >/dev/null
results=$out/results.jsonl
: >"$results"
for mode in $modes; do
  apply_bin=$bin
  if [[ $mode == baseline ]]; then
    [[ -x $baseline ]] || { echo "baseline skipped: BASELINE_BIN ($baseline) is not an executable" >&2; continue; }
    apply_bin=$baseline
  fi
  for ((run = 1; run <= runs; run++)); do
    tag=$mode.$run
    lab reset 3 >/dev/null
    topology=$LAB/rolling.toml
    cp "$LAB/lab.toml" "$topology"
    app toml "$topology" "$app_host"
    app deploy "$app_host" mercury
    yml=$LAB/hosts/$app_host/app/config/database.yml
    sed -i -e 's/^  connect_timeout: .*/  connect_timeout: 1/' -e 's/^  read_timeout: .*/  read_timeout: 2/' \
      -e 's/^  write_timeout: .*/  write_timeout: 2/' "$yml"
    "$bin" apply "$topology" --yes >"$out/setup.$tag.log" 2>&1 || { echo "run $tag: setup apply failed; see $out/setup.$tag.log" >&2; exit 1; }
    app setup "$app_host" && app start "$app_host"
    for host in uranus venus mercury; do hand_build "$host"; done
    # The primary takes writes again (its file says read_only=ON, as replplan wrote it) and both
    # replicas are connected to it again: a serving cluster, as the operator's runbook left it.
    sql "$mercury" 'SET GLOBAL read_only = 0'
    for host in uranus venus; do
      address=$(lab status | awk -v h="$host" '$1 == h { print $2 }')
      for ((i = 0; i < 150; i++)); do
        [[ $(sql "$address" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for master to send event%'") == 1 ]] && break
        sleep 0.2
      done
    done
    writes=$out/writes.$tag.log
    export SECONDHAND_DATABASE_PASSWORD_FILE=$LAB/secrets/app.pw
    ruby "$repo/bench/ar_writer.rb" "$LAB/hosts/$app_host/app" --interval-ms 20 --seconds 300 >"$writes" 2>"$writes.err" &
    writer_pid=$!
    pids=("$writer_pid")
    for ((i = 0; i < 100; i++)); do grep -q '^ack ' "$writes" && break; sleep 0.1; done
    grep -q '^ack ' "$writes" || { echo "run $tag: the client got no write acknowledged before the apply; see $writes" >&2; exit 1; }
    sleep 2
    t0=$(now_ms)
    status=0
    "$apply_bin" apply "$topology" --yes >"$out/apply.$tag.log" 2>&1 || status=$?
    t1=$(now_ms)
    sleep 2
    t2=$(now_ms)
    kill "$writer_pid" 2>/dev/null || true
    wait "$writer_pid" 2>/dev/null || true
    pids=()
    clean=0
    "$bin" plan "$topology" --detailed-exitcode >"$out/plan.$tag.log" 2>&1 || clean=$?
    sql "$mercury" 'SELECT seq, id FROM secondhand_production.items' >"$out/rows.$tag" 2>"$out/rows.$tag.err" || true
    python3 - "$tag" "$t0" "$t1" "$t2" "$status" "$clean" "$writes" "$out/rows.$tag" >>"$results" <<'EOF'
import json, sys
tag, t0, t1, t2, status, clean, writes, rows = sys.argv[1], *map(int, sys.argv[2:7]), sys.argv[7], sys.argv[8]
acks, errs = [], 0
for line in open(writes):
    f = line.split()
    if f and f[0] == "ack":
        acks.append((int(f[1]), int(f[2]), int(f[4])))
    elif f and f[0] == "err" and t0 <= int(f[3]) <= t2:
        errs += 1
present = {}
for line in open(rows):
    f = line.split()
    if len(f) == 2:
        present[int(f[0])] = int(f[1])
times = [t0] + sorted(a[2] for a in acks if t0 <= a[2] <= t2) + [t2]
gap = max(b - a for a, b in zip(times, times[1:]))
lost = [a[0] for a in acks if present.get(a[0]) != a[1]]
print(json.dumps({"tag": tag, "apply_exit": status, "apply_ms": t1 - t0, "longest_gap_ms": gap, "errors": errs,
                  "acked": len(acks), "lost": len(lost), "lost_seqs": lost[:10], "plan_exit_after": clean}))
EOF
    tail -n1 "$results" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("run %(tag)s: apply exit %(apply_exit)s in %(apply_ms)s ms; longest write gap %(longest_gap_ms)s ms, %(errors)s errors; lost %(lost)s of %(acked)s; plan --detailed-exitcode afterwards: %(plan_exit_after)s" % r)'
    app down >/dev/null 2>&1 || true
  done
done
python3 - "$results" <<'EOF'
import json, statistics, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| mode | runs | longest write gap ms (median, min..max) | errors (median) | lost (all runs) | apply ms (median) | plan exit 0 after |")
print("|---|---|---|---|---|---|---|")
for mode in ["rolling", "baseline"]:
    m = [r for r in rs if r["tag"].split(".")[0] == mode]
    if not m:
        continue
    g = [r["longest_gap_ms"] for r in m]
    print("| %s | %d | %d (%d..%d) | %d | %d | %d | %d of %d |" % (
        mode, len(m), statistics.median(g), min(g), max(g), statistics.median(r["errors"] for r in m),
        sum(r["lost"] for r in m), statistics.median(r["apply_ms"] for r in m),
        sum(r["plan_exit_after"] == 0 for r in m), len(m)))
med = {}
for mode in ["rolling", "baseline"]:
    m = [r for r in rs if r["tag"].split(".")[0] == mode]
    if m:
        med[mode] = (statistics.median(r["longest_gap_ms"] for r in m), statistics.median(r["errors"] for r in m))
if len(med) == 2:
    ratio = lambda a, b: "%.1fx" % (a / b) if b else ("inf" if a else "1.0x")
    print("baseline / rolling (medians): longest write gap %d / %d ms = %s; errors %d / %d = %s" % (
        med["baseline"][0], med["rolling"][0], ratio(med["baseline"][0], med["rolling"][0]),
        med["baseline"][1], med["rolling"][1], ratio(med["baseline"][1], med["rolling"][1])))
EOF
