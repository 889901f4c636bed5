#!/usr/bin/env bash
# Benchmark: seeding a replica with >= 1 GB of data, replplan's streamed SeedReplica against the hand
# pipeline of the runbook (ssh primary 'mariadb-dump | gzip -1' | ssh replica 'gunzip | mariadb'),
# on the same 2-host lab in the same run, each restoring into a wiped replica. Prints both times,
# their ratio (target <= 1.0) and replplan's peak RSS (target < 64 MB). Loopback only.
#
#   bash bench/seed_bench.sh            # ROWS=4200000 by default (~1.1 GB of dump text)
source "$(dirname "$0")/lib.sh"
build=${BUILD:-$repo/build}
rows=${ROWS:-4200000}
bench_lab 127.0.0 .lab-bench
trap 'lab down >/dev/null 2>&1 || true' EXIT

if [[ ! -x $build/bench/seed_bench ]]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target seed_bench -j2 >/dev/null
fi

LAB=$REPLPLAN_LAB_DIR
lab reset 2 >/dev/null 2>&1 || lab up 2 >/dev/null
sock() { echo "$LAB/hosts/$1/mysqld.sock"; }
sql() { mariadb --no-defaults -S "$(sock "$1")" -u root -N -B; }
addr() { awk -v h="$1" '$0 ~ "^name *= *\""h"\"" { f = 1 } f && /^address/ { gsub(/[" ]/, "", $3); print $3; exit }' "$LAB/lab.toml"; }

# Both hosts as the runbook leaves them before a seed (binlog, ids, replication user), with the
# same InnoDB settings for both runs: the lab's 32 MB buffer pool would measure checkpoints, not seeding.
id=1
for host in mercury uranus; do
  cat >>"$LAB/hosts/$host/my.cnf" <<CNF

[mysqld]
server_id = $id
log_bin = $LAB/hosts/$host/binlog/mysql-bin.log
binlog_format = ROW
log_slave_updates = ON
gtid_strict_mode = ON
innodb_buffer_pool_size = 512M
innodb_log_file_size = 512M
innodb_flush_log_at_trx_commit = 2
CNF
  lab restart "$host" >/dev/null
  echo "SET sql_log_bin=0; CREATE USER 'repl'@'%' IDENTIFIED BY 'unused-in-this-bench'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';" | sql "$host"
  id=$((id + 1))
done

# The data: one wide table of random-ish text (hex of random hashes: compresses about 2:1, like
# real text columns), generated without binlog in 500k-row steps, plus a small second database.
t0=$(now_ms)
echo "CREATE DATABASE bench; CREATE DATABASE bench_small;
      CREATE TABLE bench.items (id INT PRIMARY KEY, sku CHAR(12), qty INT, note VARCHAR(300)) ENGINE=InnoDB;
      CREATE TABLE bench_small.t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO bench_small.t SELECT seq FROM bench_small.seq_1_to_1000;" | sql mercury
step=500000
for ((from = 1; from <= rows; from += step)); do
  to=$((from + step - 1)); ((to > rows)) && to=$rows
  echo "SET sql_log_bin=0; INSERT INTO bench.items SELECT seq, LEFT(MD5(seq), 12), seq % 1000,
        CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND()))
        FROM bench.seq_${from}_to_${to};" | sql mercury
done
echo "ANALYZE TABLE bench.items" | sql mercury >/dev/null
size=$(echo "SELECT ROUND(SUM(data_length + index_length) / 1e6) FROM information_schema.TABLES WHERE table_schema LIKE 'bench%'" | sql mercury)
echo "generated $rows rows on mercury: ${size} MB in InnoDB, $(((($(now_ms) - t0)) / 1000)) s"

wipe_replica() {
  echo "SET sql_log_bin=0; STOP SLAVE; RESET SLAVE ALL; DROP DATABASE IF EXISTS bench; DROP DATABASE IF EXISTS bench_small;
        SET GLOBAL gtid_slave_pos='';" | sql uranus
  # A clean restart flushes what the previous restore left dirty, so each run starts alike.
  lab restart uranus >/dev/null
}
ssh_to() {  # as the runbook's operator: OpenSSH with the lab key and known_hosts
  local host=$1; shift
  ssh -F /dev/null -i "$LAB/client/id_ed25519" -o UserKnownHostsFile="$LAB/client/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -p 2222 "root@$(addr "$host")" "$@"
}

# (a) the hand pipeline
wipe_replica
t0=$(now_ms)
ssh_to mercury "mariadb-dump --socket=$(sock mercury) --single-transaction --master-data=1 --gtid --routines --triggers --events --hex-blob --databases bench bench_small | gzip -1" |
  ssh_to uranus "gunzip -c | mariadb --socket=$(sock uranus) --init-command='SET SESSION sql_log_bin=0'"
hand_ms=$(($(now_ms) - t0))
check_a=$(echo "SELECT COUNT(*) FROM bench.items" | sql uranus)
[[ $check_a == "$rows" ]] || { echo "hand pipeline restored $check_a rows, expected $rows" >&2; exit 1; }

# (b) replplan's SeedReplica (wipes the replica itself)
wipe_replica
out=$("$build/bench/seed_bench" "$LAB/lab.toml" uranus)
seed_s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
rss_kb=$(sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p' <<<"$out")
check_b=$(echo "SELECT COUNT(*) FROM bench.items" | sql uranus)
[[ $check_b == "$rows" ]] || { echo "replplan restored $check_b rows, expected $rows" >&2; exit 1; }

echo "$out" | sed -n 's/.*last="\(.*\)"/replplan: \1/p'
awk -v h="$hand_ms" -v s="$seed_s" -v r="$rss_kb" 'BEGIN {
  printf "hand pipeline (ssh | ssh):  %.1f s\n", h / 1000
  printf "replplan SeedReplica:       %.1f s\n", s
  printf "ratio replplan/hand:        %.2f (target <= 1.0)\n", s / (h / 1000)
  printf "replplan peak RSS:          %.1f MB (target < 64 MB)\n", r / 1024
}'
