#!/usr/bin/env bash
# Benchmark: MHA (Debian's mha4mysql-manager 0.58) side by side with replplan's failover, same
# measure as bench/failover_times.sh: kill -9 of the primary's mariadbd -> first write acknowledged
# by the Rails app (examples/secondhand, on mercury) against the new primary. Then runs
# bench/failover_times.sh and prints "ratio replplan / MHA" of the two medians (below 1: replplan
# is faster).
#
# MHA side: masterha_manager monitors the master (its own detection: SELECT 1 every second, dead
# after 4 failed pings plus an SSH check), so its figure is the one that matches `replplan watch`.
# MHA_MODE=switch instead starts `masterha_master_switch --master_state=dead` right after the kill
# (no detection at all: an operator's or another monitor's decision taken in 0 s).
# MHA knows no MariaDB GTID, so the lab replicates by binlog file and position (mode = "file");
# its master_ip_failover_script (bench/mha/master_ip_failover) repoints the app's database.yml and
# touches its tmp/restart.txt (the app reconnects in process), as replplan's lab [[app]] does;
# APP_RESTART=hot makes both sides hot-restart puma instead.
#
# Not quite the same cluster: replplan's runs use GTID with semi_sync on (its promise of no lost
# acknowledged write); MHA's use file/pos, asynchronous. MHA's split comes from its hook's calls:
# detection+checks = kill -> stop/stopssh (4 failed pings, SSH check, config re-read, slave checks),
# promotion = -> start (save the dead master's binlog, pick, apply relay logs), app repoint = ->
# first write (MHA sets read_only=0 only after the start hook returns, i.e. inside this part).
#
# MHA 0.58 does not run against MariaDB 10.11 as shipped; bench/mha/patch_mha.sh makes a private
# patched copy of its perl modules in a temp dir at run time (nothing under /usr is changed).
#
#   RUNS=5 MHA_MODE=manager|switch SKIP_REPLPLAN=1 APP_RESTART=hot bash bench/mha_failover.sh
#
# Loopback only: the lab's hosts on REPLPLAN_LAB_NET (default 127.0.34). Passwords stay in files
# (MHA's config, mode 600, in the private temp dir); MHA's log is shown only with them redacted.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
mode=${MHA_MODE:-manager}
[[ $mode == manager || $mode == switch ]] || { echo "MHA_MODE must be manager or switch" >&2; exit 2; }
bench_lab 127.0.34 .lab-bench-mha
bench_bin
net=$REPLPLAN_LAB_NET

# --- MHA itself -------------------------------------------------------------------------------

if ! dpkg -s mha4mysql-manager mha4mysql-node >/dev/null 2>&1; then
  echo "installing mha4mysql-manager and mha4mysql-node (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mha4mysql-manager mha4mysql-node >/dev/null
fi
private=$(mktemp -d /tmp/replplan-mha.XXXXXX)
chmod 700 "$private"
bash "$repo/bench/mha/patch_mha.sh" "$private/perl"
export PERL5LIB=$private/perl
work=$private/work
export MHA_APP_HOST=mercury
export MHA_HOOK_LOG=$private/hook.log

writer_pid="" mha_pid=""
cleanup() {
  [[ -n $writer_pid ]] && kill "$writer_pid" 2>/dev/null || true
  [[ -n $mha_pid ]] && kill "$mha_pid" 2>/dev/null || true
  app stop mercury >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
  if [[ -n ${KEEP_MHA_WORK:-} ]]; then echo "kept $private" >&2; else rm -rf "$private"; fi
}
trap cleanup EXIT

# A file's text with the lab's passwords replaced, read from their files (never from argv).
redact() {
  python3 - "$REPLPLAN_LAB_DIR/secrets" "$1" <<'EOF'
import sys
secrets = [open(f"{sys.argv[1]}/{n}.pw").readline().strip() for n in ("admin", "repl", "app")]
text = open(sys.argv[2], errors="replace").read()
for s in secrets:
    if s:
        text = text.replace(s, "(sensitive)")
sys.stdout.write(text)
EOF
}

# MHA could not do the job: say exactly what failed, with its own error lines, and print no ratio.
mha_failed() {
  echo "MHA FAILED: $1" >&2
  if [[ -f $work/manager.log ]]; then
    echo "--- MHA's error lines ($work/manager.log, passwords redacted) ---" >&2
    redact "$work/manager.log" | grep -iE 'error|fail|die|warn' | tail -n 25 >&2 || true
    echo "--- last lines ---" >&2
    redact "$work/manager.log" | tail -n 15 >&2
  fi
  echo "no ratio replplan / MHA: MHA did not fail over the lab (see above)" >&2
  exit 1
}

# MHA's config for this run: the template with paths and the lab's passwords, mode 600.
write_config() {
  python3 - "$repo/bench/mha/app.cnf.in" "$private/app.cnf" "$work" "$REPLPLAN_LAB_DIR" "$repo" "$net" <<'EOF'
import os, sys
template, out, work, lab, repo, net = sys.argv[1:]
pw = lambda n: open(f"{lab}/secrets/{n}.pw").readline().strip()
text = open(template).read()
for key, value in {"@WORK@": work, "@LAB@": lab, "@REPO@": repo, "@NET@": net,
                   "@ADMIN_PW@": pw("admin"), "@REPL_PW@": pw("repl")}.items():
    text = text.replace(key, value)
os.umask(0o077)
with open(out, "w") as f:
    f.write(text)
EOF
}

# Waits (up to $2 s) until MHA's log has a line matching $1; fails if MHA exits first.
wait_log() {
  local pattern=$1 deadline=$((SECONDS + $2))
  until grep -qE "$pattern" "$work/manager.log" 2>/dev/null; do
    [[ -n $mha_pid ]] && ! kill -0 "$mha_pid" 2>/dev/null && return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# --- the runs ---------------------------------------------------------------------------------

lab up 3 >/dev/null 2>&1 || true
mercury=$net.61
totals=() detects=() promotes=() repoints=()
for ((run = 1; run <= runs; run++)); do
  lab reset 3 >/dev/null
  topology=$REPLPLAN_LAB_DIR/mha.toml
  sed -E 's/^mode( *)= "gtid"/mode\1= "file"/' "$REPLPLAN_LAB_DIR/lab.toml" >"$topology"
  grep -q '^mode *= "file"' "$topology" || { echo "could not switch $topology to mode = \"file\"" >&2; exit 1; }
  "$bin" apply "$topology" --yes >/dev/null
  app deploy mercury mercury && app setup mercury && app start mercury
  rm -rf "$work" && mkdir -p "$work"
  : >"$MHA_HOOK_LOG"
  write_config
  log=$work/manager.log
  if [[ $mode == manager ]]; then
    # Its start-up checks (SSH between all hosts, node tools on each) take a few seconds; the kill
    # comes once it monitors.
    setsid masterha_manager --conf="$private/app.cnf" --ignore_last_failover </dev/null >>"$log" 2>&1 &
    mha_pid=$!
    wait_log "Ping\(SELECT\) succeeded, waiting until MySQL doesn't respond" 120 ||
      mha_failed "masterha_manager did not start monitoring the master"
  fi
  writes=$private/writes.$run.log
  # The client, the same as bench/failover_times.sh's: one POST after another, each line "<sent ms>
  # <answered ms> <http status>". Only a write SENT after the kill counts: one sent earlier may still
  # be acknowledged by the dying primary.
  python3 "$repo/bench/http_writer.py" "$mercury" >"$writes" &
  writer_pid=$!
  sleep 2
  # The same clock as replplan's: from the kill -9 itself; `lab kill` then waits until it is gone.
  pid=$(cat "$REPLPLAN_LAB_DIR/hosts/mercury/mysqld.pid")
  killed=$(now_ms)
  kill -9 "$pid"
  dead=$(now_ms)
  lab kill mercury
  if [[ $mode == switch ]]; then
    setsid masterha_master_switch --conf="$private/app.cnf" --master_state=dead \
      --dead_master_host="$mercury" --dead_master_ip="$mercury" --dead_master_port=3306 \
      --interactive=0 --ignore_last_failover </dev/null >>"$log" 2>&1 &
    mha_pid=$!
  fi
  deadline=$((SECONDS + 180))
  while kill -0 "$mha_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -0 "$mha_pid" 2>/dev/null && mha_failed "run $run: MHA still runs 180 s after the kill"
  rc=0
  wait "$mha_pid" || rc=$?
  mha_pid=""
  grep -qE 'Master failover to .* completed successfully' "$log" ||
    mha_failed "run $run: the failover did not complete (exit code $rc)"
  first=""
  for ((i = 0; i < 300; i++)); do
    first=$(awk -v k="$dead" '$1 > k && $3 == 201 { print $2; exit }' "$writes")
    [[ -n $first ]] && break
    sleep 0.1
  done
  kill "$writer_pid" 2>/dev/null || true
  wait "$writer_pid" 2>/dev/null || true
  writer_pid=""
  app stop mercury >/dev/null 2>&1 || true
  [[ -n $first ]] || mha_failed "run $run: MHA reported success but no write went through the app within 30 s"
  # Timing marks from the hook: MHA calls it with stop/stopssh once it decided the master is dead
  # and checked the slaves, and with start right after the new master is writable.
  decided=$(awk '$2 ~ /^stop/ { print $1; exit }' "$MHA_HOOK_LOG")
  promoted=$(awk '$2 == "start" { print $1; exit }' "$MHA_HOOK_LOG")
  [[ -n $decided && -n $promoted ]] || mha_failed "run $run: master_ip_failover was not called with stop and start"
  new_master=$(awk '$2 == "start" { print $3; exit }' "$MHA_HOOK_LOG")
  ((first >= promoted)) || { echo "run $run: a write was acknowledged before MHA promoted a new master: measurement error, see $writes" >&2; exit 1; }
  total=$((first - killed)); detect=$((decided - killed)); promote=$((promoted - decided)); repoint=$((first - promoted))
  echo "MHA run $run: total ${total} ms = detection+checks ${detect} + promotion ${promote} + app repoint ${repoint} (new master $new_master)"
  totals+=("$total"); detects+=("$detect"); promotes+=("$promote"); repoints+=("$repoint")
done
app stop mercury >/dev/null 2>&1 || true
lab down >/dev/null 2>&1 || true
mha_total=$(printf '%s\n' "${totals[@]}" | median)
d=$(printf '%s\n' "${detects[@]}" | median)
p=$(printf '%s\n' "${promotes[@]}" | median)
r=$(printf '%s\n' "${repoints[@]}" | median)
what="masterha_manager (its own detection)"
[[ $mode == switch ]] && what="masterha_master_switch --master_state=dead started right after the kill (no detection)"
echo "MHA median over $runs runs, $what: total ${mha_total} ms (detection+checks ${d}, promotion ${p}, app repoint ${r})"

# --- replplan, same lab net, same measure -----------------------------------------------------

[[ -n ${SKIP_REPLPLAN:-} ]] && exit 0
out=$private/replplan.out
RUNS=$runs bash "$repo/bench/failover_times.sh" | tee "$out"
rp_total=$(sed -nE 's/^median over [0-9]+ runs: total ([0-9]+) ms.*/\1/p' "$out")
[[ -n $rp_total ]] || { echo "bench/failover_times.sh printed no median" >&2; exit 1; }
awk -v r="$rp_total" -v m="$mha_total" 'BEGIN { printf "ratio replplan / MHA: %.2f (replplan %d ms, MHA %d ms, medians of kill -> first acknowledged write)\n", r / m, r, m }'
