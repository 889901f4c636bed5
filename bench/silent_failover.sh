#!/usr/bin/env bash
# Benchmark (issue 13): failover under `replplan watch` (semi_sync on, a primary and two replicas)
# for four ways a primary fails, measured with a client replplan does not control:
# bench/ar_writer.rb, Active Record + mysql2 reading the app's config/database.yml the Rails way
# (connect_timeout 1, read_timeout 2, write_timeout 2 unless CLIENT_* below say otherwise), one INSERT every 20 ms, database.yml read
# again and a reconnect on each error, every acknowledged write logged.
#
#   kill       kill -9 of the primary's mariadbd (its sockets close)
#   stop       SIGSTOP of the primary's mariadbd (SIGCONT after the measurement)
#   partition  every packet to and from the primary's address dropped, both ways, so SSH to it
#              fails too (tests/lab/lab.sh partition; healed after the measurement and in a trap)
#   freeze     the whole host frozen: its mariadbd, its sshd and every session under it stopped
#              (tests/lab/lab.sh freeze --host; thawed after the measurement and in a trap)
#
# Per run, on a freshly reset and applied lab: the fault's instant T0 -> the first write
# acknowledged by the new primary (the client outage), split by the watch log into detection (T0 ->
# the watcher's failed probe), confirmation (-> the replicas confirmed: the end of the successful
# attempt's confirm step), promotion (-> promote-replica done: lock, live state, plan, relay log,
# promote), app repoint (-> rewrite-app-config done on the app host, which is all this client
# needs; its own duration and the wait before it are printed too) and the client's own tail (->
# its first acknowledged write on the new primary). Then: every acknowledged seq (the client's and
# that of a second, --pinned writer left on the old primary in the silent scenarios) looked up on
# the new primary (lost = acknowledged but absent); the old primary brought back (kill: started
# again; stop/freeze: SIGCONT; partition: rules removed) and the time until it answers
# @@read_only = 1 (fenced), with the pinned writer's acknowledgements after T0 counted.
#
#   RUNS=5                      runs per scenario (medians and min..max printed)
#   SCENARIOS="kill stop partition freeze"
#   APP_HOST=venus              the lab host whose app copy (config/database.yml) the client reads:
#                               venus (a replica that is repointed), uranus (the one promoted when
#                               the replicas are even), or mercury (the failed primary's host: kill
#                               and stop only, the others make it unreachable)
#   WATCH_INTERVAL_MS=100       watch's --interval-ms
#   CLIENT_READ_TIMEOUT=2       the client's read_timeout and connect_timeout in database.yml, whole
#   CLIENT_CONNECT_TIMEOUT=1    seconds: a silent primary costs its attempt their sum (Active Record
#                               6.1 pings at checkout, then reconnects to the same host;
#                               docs/failover.md, "The client's floor")
#   REPLPLAN_BIN=build/replplan the binary under test (to compare two builds on the same lab)
#
# Loopback only: the lab it starts itself on REPLPLAN_LAB_NET (default 127.0.36), which must be
# 127.X.Y; the partition's iptables rules name that lab's addresses only and are removed on exit.
# Needs root (the lab, iptables), Debian's ruby-activerecord and ruby-mysql2 (scripts/install-deps.sh).
# The machine is shared: print medians and spreads, never pass/fail on time.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
scenarios=${SCENARIOS:-kill stop partition freeze}
app_host=${APP_HOST:-venus}
interval=${WATCH_INTERVAL_MS:-100}
read_timeout=${CLIENT_READ_TIMEOUT:-2}
connect_timeout=${CLIENT_CONNECT_TIMEOUT:-1}
[[ $read_timeout =~ ^[1-9][0-9]*$ && $connect_timeout =~ ^[1-9][0-9]*$ ]] ||
  { echo "CLIENT_READ_TIMEOUT and CLIENT_CONNECT_TIMEOUT are whole seconds, at least 1" >&2; exit 2; }
bench_lab 127.0.36 .lab-bench-silent
bench_bin
case $app_host in mercury | uranus | venus) ;; *) echo "APP_HOST must be mercury, uranus or venus" >&2; exit 2 ;; esac
for s in $scenarios; do
  case $s in
    kill | stop) ;;
    partition | freeze) [[ $app_host != mercury ]] || { echo "APP_HOST=mercury: the $s scenario makes its host unreachable" >&2; exit 2; } ;;
    *) echo "unknown scenario '$s' (kill stop partition freeze)" >&2; exit 2 ;;
  esac
done
bench_need_active_record

LAB=$REPLPLAN_LAB_DIR
out=$LAB/silent
mkdir -p "$out"
mercury=$REPLPLAN_LAB_NET.61
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  lab heal mercury >/dev/null 2>&1 || true
  lab thaw mercury >/dev/null 2>&1 || true
  app down >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now_ms() { date +%s%3N; }
sql() {  # sql HOST_ADDRESS QUERY: one value, admin's password from the lab's file, never argv
  mariadb --defaults-file="$LAB/secrets/admin.cnf" -h "$1" -P 3306 --connect-timeout=1 -N -B -e "$2"
}
stop_pid() {  # SIGTERM, then SIGKILL after 5 s
  local i
  kill "$1" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do grep -qs '^State:[[:space:]]*[RSDT]' "/proc/$1/status" || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

lab up 3 >/dev/null
app down >/dev/null  # an app a run cut short left serving
results=$out/results.jsonl
: >"$results"
for scenario in $scenarios; do
  for ((run = 1; run <= runs; run++)); do
    tag=$scenario.$run
    lab reset 3 >/dev/null
    topology=$LAB/silent.toml
    sed 's/^\[replication\]$/[replication]\nsemi_sync = true/' "$LAB/lab.toml" >"$topology"
    app toml "$topology" "$app_host"
    # A fresh copy of the app pointing at mercury before the apply, which then has nothing to move.
    app deploy "$app_host" mercury
    yml=$LAB/hosts/$app_host/app/config/database.yml
    # The client's bounds, in the file as a Rails app sets them (its `default` section).
    sed -i -e "s/^  connect_timeout: .*/  connect_timeout: $connect_timeout/" \
      -e "s/^  read_timeout: .*/  read_timeout: $read_timeout/" -e 's/^  write_timeout: .*/  write_timeout: 2/' "$yml"
    "$bin" apply "$topology" --yes >"$out/apply.$tag.log" 2>&1 || { echo "run $tag: apply failed; see $out/apply.$tag.log" >&2; exit 1; }
    app setup "$app_host" && app start "$app_host"
    log=$out/watch.$tag.log writes=$out/writes.$tag.log pinned=$out/pinned.$tag.log
    "$bin" watch "$topology" --interval-ms "$interval" >"$log" 2>&1 &
    watch_pid=$!
    pids=("$watch_pid")
    export SECONDHAND_DATABASE_PASSWORD_FILE=$LAB/secrets/app.pw
    ruby "$repo/bench/ar_writer.rb" "$LAB/hosts/$app_host/app" --interval-ms 20 --seconds 300 >"$writes" 2>"$writes.err" &
    writer_pid=$!
    pids+=("$writer_pid")
    pinned_pid=""
    if [[ $scenario != kill ]]; then
      ruby "$repo/bench/ar_writer.rb" "$LAB/hosts/$app_host/app" --interval-ms 20 --seconds 300 --pinned \
        --seq-base 1000000000 >"$pinned" 2>"$pinned.err" &
      pinned_pid=$!
      pids+=("$pinned_pid")
    fi
    # Warm: watch's pool, both writers acknowledged.
    for ((i = 0; i < 100; i++)); do
      grep -qs "warm: " "$log" && grep -q '^ack ' "$writes" && { [[ -z $pinned_pid ]] || grep -q '^ack ' "$pinned"; } && break
      sleep 0.1
    done
    sleep 2
    pid=$(cat "$LAB/hosts/mercury/mysqld.pid")
    # T0: the signal itself (kill, stop), or the instant lab.sh reports once its signal or its
    # rules are in place (freeze, partition: its start-up and pgreps come before, not counted).
    t0=$(now_ms)
    case $scenario in
      kill) kill -9 "$pid" ;;
      stop) kill -STOP "$pid" ;;
      partition) said=$(lab partition mercury) ;;
      freeze) said=$(lab freeze mercury --host) ;;
    esac
    t1=$(now_ms)
    if [[ $scenario == partition || $scenario == freeze ]]; then
      t0=$(sed -n 's/.* at \([0-9]\{13\}\) ms$/\1/p' <<<"$said")
      [[ -n $t0 ]] || { echo "run $tag: lab.sh did not say when: $said" >&2; exit 1; }
    fi
    [[ $scenario == kill ]] && lab kill mercury
    # The failover's report, then the client's first write on another server than mercury.
    first=""
    for ((i = 0; i < 600; i++)); do
      if grep -q '^failover report' "$log"; then
        first=$(awk -v t="$t0" -v m="$mercury" '$1 == "ack" && $4 >= t && $6 != m { print $5; exit }' "$writes")
        [[ -n $first ]] && break
      fi
      sleep 0.1
    done
    [[ -n $first ]] || echo "run $tag: no write acknowledged by a new primary within 60 s; see $log and $writes" >&2
    # The old primary comes back; how long until it is read-only (fenced), polled every 20 ms.
    case $scenario in
      kill) lab start mercury >/dev/null ;;
      stop) kill -CONT "$pid" ;;
      partition) lab heal mercury ;;
      freeze) lab thaw mercury ;;
    esac
    back=$(now_ms)
    fenced=""
    for ((i = 0; i < 250; i++)); do
      [[ $(sql "$mercury" 'SELECT @@GLOBAL.read_only' 2>/dev/null) == 1 ]] && { fenced=$(now_ms); break; }
      sleep 0.02
    done
    sleep 1  # the pinned client's commits, if any got through, are acknowledged by now
    [[ -n $pinned_pid ]] && stop_pid "$pinned_pid"
    stop_pid "$writer_pid"
    # The report is complete once the watcher logged it; the lost-transaction read may still be
    # waiting on a host that was frozen: give it a moment, then stop the watcher.
    for ((i = 0; i < 100; i++)); do grep -q 'result: ' "$log" && break; sleep 0.1; done
    stop_pid "$watch_pid"
    pids=()
    new=$(awk '/^failover report: / { print $5; exit }' "$log")
    new_address=$(awk -v n="\"$new\"" '$1 == "name" && $3 == n { getline; print $3; exit }' "$topology" | tr -d '"')
    sql "$new_address" 'SELECT seq, id FROM secondhand_production.items' >"$out/rows.$tag" 2>"$out/rows.$tag.err" || true
    python3 - "$tag" "$t0" "$t1" "$back" "${fenced:-}" "$mercury" "$log" "$writes" "${pinned_pid:+$pinned}" \
      "$out/rows.$tag" "$(date +%Y-%m-%d)" "$LAB/hosts/mercury/error.log" >>"$results" <<'PY'
import datetime, json, re, sys

tag, t0, t1, back, fenced, old, log, writes, pinned, rows, day, errlog = sys.argv[1:13]
t0, t1, back = int(t0), int(t1), int(back)
fenced = int(fenced) if fenced else None
text = open(log).read()

def iso(stamp):  # the watcher's own lines: 2026-12-07T00:05:52.397Z
    return int(datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)

def local(clock):  # the executor's timeline: 00:05:52.406, local time
    return int(datetime.datetime.strptime(day + " " + clock, "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000)

def timeline(pattern, what):
    m = re.search(r"^(\d\d:\d\d:\d\d\.\d+)\s+\S+\s+" + pattern + r"\s+" + what, text, re.M)
    return local(m.group(1)) if m else None

def step(pattern):
    m = re.search(r"^\s+(\d+) ms  " + pattern, text, re.M)
    return int(m.group(1)) if m else None

r = {"tag": tag, "fault_cmd_ms": t1 - t0}
m = re.search(r"^(\S+Z) primary \S+ unreachable", text, re.M)
suspected = iso(m.group(1)) if m else None
first_action = None
m = re.search(r"^(\d\d:\d\d:\d\d\.\d+)\s+\S+\s+\S+\s+started", text, re.M)
if m:
    first_action = local(m.group(1))
lock, state, plan = step("take the cluster lock"), step("read the live state"), step("plan")
confirmed = first_action - (lock or 0) - (state or 0) - (plan or 0) if first_action else None
promoted = timeline(r"\S+/promote-replica", "done")
rw_start = timeline(r"\S+/rewrite-app-config/\S+", "started")
rw_done = timeline(r"\S+/rewrite-app-config/\S+", "done")
r["rewrite_ms"] = step(r"\S+/rewrite-app-config/")
r["restart_ms"] = step(r"\S+/restart-app/")
r["confirm_step_ms"] = step("confirm ")
r["lock_ms"], r["state_ms"] = lock, state

acks, first_new, last_old = [], None, None
for path, is_pinned in ((writes, False), (pinned, True)):
    if not path:
        continue
    for line in open(path):
        f = line.split()
        if f[0] != "ack":
            continue
        seq, rid, sent, acked, host = int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5]
        acks.append((seq, rid, sent, acked, host, is_pinned))
        if not is_pinned:
            if sent >= t0 and host != old and first_new is None:
                first_new = acked
            if acked < t0:
                last_old = acked
present = {}
for line in open(rows):
    f = line.split()
    if len(f) == 2:
        present[int(f[0])] = int(f[1])
lost = [a for a in acks if present.get(a[0]) != a[1]]
r["acked"] = len(acks)
r["lost"] = len(lost) if present else None
r["lost_seqs"] = [a[0] for a in lost[:10]]
r["old_acks_after_fault"] = sum(1 for a in acks if a[4] == old and a[2] >= t0)
r["pinned_acks_after_fault"] = sum(1 for a in acks if a[5] and a[2] >= t0)
r["old_acks_after_back"] = sum(1 for a in acks if a[4] == old and a[3] >= back)
# The old primary's own word: its semi-sync gave up waiting and acknowledged without a replica.
r["semisync_off"] = open(errlog, errors="replace").read().count("Semi-sync replication switched OFF")

def span(a, b):
    return b - a if a is not None and b is not None else None

r["outage_ms"] = span(t0, first_new)
r["silence_ms"] = span(last_old, first_new)  # last ack before the fault -> first on the new primary
r["detection_ms"] = span(t0, suspected)
r["confirmation_ms"] = span(suspected, confirmed)
r["promotion_ms"] = span(confirmed, promoted)
r["repoint_ms"] = span(promoted, rw_done)
r["repoint_wait_ms"] = span(promoted, rw_start)
r["client_tail_ms"] = span(rw_done, first_new)
r["fenced_after_ms"] = span(back, fenced)
r["fenced"] = fenced is not None
r["watch_fenced"] = bool(re.search(r"^\S+ fenced \S+ \(it came back writable", text, re.M))
m = re.search(r"connections: (.*)", text)
r["connections"] = m.group(1) if m else None
print(json.dumps(r), flush=True)
PY
    tail -n1 "$results" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("run %(tag)s: outage %(outage_ms)s ms = detection %(detection_ms)s + confirmation %(confirmation_ms)s + promotion %(promotion_ms)s + app repoint %(repoint_ms)s (wait %(repoint_wait_ms)s, rewrite %(rewrite_ms)s) + client %(client_tail_ms)s; lost %(lost)s of %(acked)s; fenced %(fenced)s in %(fenced_after_ms)s ms after it came back; old primary acks after the fault %(old_acks_after_fault)s (after it came back %(old_acks_after_back)s), semi-sync switched off %(semisync_off)s" % r)'
    app stop "$app_host" >/dev/null 2>&1 || true
  done
done

python3 - "$results" "$app_host" "$read_timeout" "$connect_timeout" <<'PY'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nmedians (min..max) per scenario; app host %s; client read/connect timeouts %s/%s s; ms (a shared 2-core machine: read the spread too)" % tuple(sys.argv[2:5]))
cols = ["outage_ms", "detection_ms", "confirmation_ms", "promotion_ms", "repoint_ms", "repoint_wait_ms",
        "rewrite_ms", "restart_ms", "client_tail_ms", "fenced_after_ms"]
def cell(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return "%d (%d..%d)" % (statistics.median(vals), min(vals), max(vals))
by = {}
for r in rows:
    by.setdefault(r["tag"].split(".")[0], []).append(r)
print("| scenario | runs | " + " | ".join(c[:-3] for c in cols) +
      " | lost (all runs) | fenced | old primary's acks after the fault (after its return) | runs its semi-sync switched off |")
print("|" + "---|" * (len(cols) + 6))
for s, rs in by.items():
    lost = [r["lost"] for r in rs]
    print("| %s | %d | %s | %s | %d/%d | %d (%d) | %d |" % (
        s, len(rs), " | ".join(cell([r[c] for r in rs]) for c in cols),
        "unknown" if None in lost else sum(lost), sum(r["fenced"] for r in rs), len(rs),
        sum(r["old_acks_after_fault"] for r in rs), sum(r["old_acks_after_back"] for r in rs),
        sum(1 for r in rs if r["semisync_off"])))
PY
