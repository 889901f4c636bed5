#!/usr/bin/env bash
# The replplan test lab: up to eight fresh "machines" on loopback, each a real mariadbd on
# ADDRESS:3306 and a real sshd on ADDRESS:2222, so integration tests (and the demo) exercise
# replplan against the same programs it meets in production.
#
#   lab.sh up N | down | reset [N] | kill HOST | stop HOST [--host] | start HOST | restart HOST | status
#          | toml [FILE [N]] | freeze HOST [--host] | thaw HOST | partition HOST | heal HOST
#
# All state lives under $REPLPLAN_LAB_DIR (default <repo>/.lab); see tests/lab/README.md.
# Invariants: only 127.0.0.0/8 addresses; every command is idempotent; no secret is ever printed;
# a process this script starts never holds the caller's stdout/stderr (or `ssh host restart` and
# test harnesses would wait for it forever).
set -euo pipefail

# `restart` runs through sshd with a minimal environment: make the tools findable whatever PATH is.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/../.." && pwd -P)
readonly SCRIPT REPO
mkdir -p "${REPLPLAN_LAB_DIR:-$REPO/.lab}"
LAB=$(cd "${REPLPLAN_LAB_DIR:-$REPO/.lab}" && pwd -P)
readonly LAB
readonly MARIADBD=/usr/sbin/mariadbd
readonly SSHD=/usr/sbin/sshd

readonly NAMES=(mercury uranus venus mars jupiter saturn neptune pluto)
# REPLPLAN_LAB_NET picks the /24 inside 127.0.0.0/8 (default 127.0.0), so two labs can run side
# by side (e.g. two engineers' test runs); anything outside 127.0.0.0/8 is refused.
readonly NET=${REPLPLAN_LAB_NET:-127.0.0}
if [[ ! $NET =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255)); then
  echo "lab: REPLPLAN_LAB_NET must be 127.X.Y (loopback only), got '$NET'" >&2
  exit 2
fi
readonly ADDRS=("$NET.61" "$NET.66" "$NET.67" "$NET.68" "$NET.69" "$NET.70" "$NET.71" "$NET.72")
readonly MAX_HOSTS=${#NAMES[@]}

# Seconds to wait for a server to answer: first starts on a busy 2-core machine can be slow, and
# replplan's `restart` is promised an answer (or an error) within about 30 s.
readonly UP_TIMEOUT=60
readonly RESTART_TIMEOUT=30
readonly STOP_TIMEOUT=60

die() { echo "lab: $*" >&2; exit 1; }
note() { echo "lab: $*"; }

host_dir() { echo "$LAB/hosts/$1"; }

address_of() {
  local i
  for i in "${!NAMES[@]}"; do
    [[ ${NAMES[$i]} == "$1" ]] && { echo "${ADDRS[$i]}"; return 0; }
  done
  die "unknown host '$1' (hosts: ${NAMES[*]})"
}

check_count() {
  if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > MAX_HOSTS)); then
    die "host count must be 1..$MAX_HOSTS, got '$1'"
  fi
}

first_names() { echo "${NAMES[@]:0:$1}"; }

# --- processes --------------------------------------------------------------------------------

# A process is gone when none of its threads runs. The thread group leader alone is not enough:
# after kill -9 it turns zombie while other threads still exit and hold the listening socket
# (clients then see "connection reset" instead of "refused"). PID 1 here may also reap late, so
# a zombie counts as gone.
alive() {
  local task stat
  for task in /proc/"$1"/task/*/stat; do
    stat=$(cat "$task" 2>/dev/null) || continue
    stat=${stat##*) }
    [[ ${stat%% *} == [ZX] ]] || return 0
  done
  return 1
}

regex_escape() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# PIDs by exact command line prefix: the lab starts each server as "<binary> <first option>", which
# tells apart hosts and labs without trusting pid files a kill -9 leaves behind.
pids_of_cmdline() { pgrep -f "^$(regex_escape "$1")( |\$)" || true; }

mysqld_pids() { pids_of_cmdline "$MARIADBD --defaults-file=$(host_dir "$1")/my.cnf"; }
# A listening sshd retitles itself "sshd: <its command line> [listener] ...".
sshd_pids() { pgrep -f "^(sshd: )?$(regex_escape "$SSHD -f $(host_dir "$1")/sshd_config")( |\$)" || true; }
mysqld_running() { [[ -n $(mysqld_pids "$1") ]]; }
sshd_running() { [[ -n $(sshd_pids "$1") ]]; }

descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

# Waits until every PID is gone; returns 1 if some outlive the deadline (seconds).
wait_gone() {
  local deadline=$((SECONDS + $1)) pid left
  shift
  while :; do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.05
  done
}

# --- secrets and client files -----------------------------------------------------------------

random_password() { head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | cut -c1-32; }

ensure_secrets() {
  local s
  mkdir -p "$LAB/secrets"
  chmod 700 "$LAB/secrets"
  for s in admin repl app; do
    if [[ ! -s $LAB/secrets/$s.pw ]]; then
      (umask 077 && random_password >"$LAB/secrets/$s.pw.tmp")
      mv "$LAB/secrets/$s.pw.tmp" "$LAB/secrets/$s.pw"
    fi
    chmod 600 "$LAB/secrets/$s.pw"
  done
  # The lab's own SQL probes log in as admin with this file, so the password never reaches argv.
  (umask 077 && printf '[client]\nuser = admin\npassword = %s\n' "$(admin_password)" \
    >"$LAB/secrets/admin.cnf")
}

admin_password() { head -n1 "$LAB/secrets/admin.pw"; }

ensure_client_key() {
  mkdir -p "$LAB/client"
  if [[ ! -s $LAB/client/id_ed25519 ]]; then
    rm -f "$LAB/client/id_ed25519" "$LAB/client/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C replplan-lab-client -f "$LAB/client/id_ed25519" >/dev/null
  fi
  cp "$LAB/client/id_ed25519.pub" "$LAB/client/authorized_keys"
}

write_known_hosts() {
  local i key tmp="$LAB/client/known_hosts.tmp"
  : >"$tmp"
  for i in "${!NAMES[@]}"; do
    for key in "$(host_dir "${NAMES[$i]}")"/ssh_host_{ed25519,ecdsa}_key.pub; do
      [[ -s $key ]] && awk -v a="${ADDRS[$i]}" '{print "[" a "]:2222 " $1 " " $2}' "$key" >>"$tmp"
    done
  done
  mv "$tmp" "$LAB/client/known_hosts"
}

# --- configuration files ----------------------------------------------------------------------

# A fresh Debian-like [mysqld]: no server-id, no log_bin, no read_only (replplan adds those).
mycnf() {
  local name=$1 h
  h=$(host_dir "$1")
  cat <<EOF
# Lab host $name: MariaDB as a fresh Debian install configures it. replplan edits this file;
# \`lab.sh reset\` restores it from my.cnf.fresh.
[mysqld]
user                    = root
pid-file                = $h/mysqld.pid
socket                  = $h/mysqld.sock
datadir                 = $h/data
log-error               = $h/error.log
port                    = 3306
bind-address            = $(address_of "$name")
basedir                 = /usr
tmpdir                  = $h/tmp
lc-messages-dir         = /usr/share/mysql
character-set-server    = utf8mb4
collation-server        = utf8mb4_general_ci
expire_logs_days        = 10

# Light enough for eight servers on a 2-core machine.
innodb_buffer_pool_size = 32M
innodb_log_file_size    = 16M
performance_schema      = OFF
EOF
}

sshd_config() {
  local name=$1 h
  h=$(host_dir "$1")
  cat <<EOF
# Lab host $name: OpenSSH as replplan reaches a database machine (root, key only).
ListenAddress $(address_of "$name"):2222
HostKey $h/ssh_host_ed25519_key
HostKey $h/ssh_host_ecdsa_key
PidFile $h/sshd.pid
AuthorizedKeysFile $LAB/client/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 50
LogLevel ERROR
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
# Each host is its own machine: root's home there is a fresh Debian one (/etc/skel), not the home
# of whoever runs the lab, whose shell start-up (pyenv, cargo, ...) would cost every SSH command.
SetEnv HOME=$h/home
EOF
}

# Directory, host key and config files of a host: everything but its data.
prepare_host() {
  local name=$1 h
  h=$(host_dir "$1")
  # tmpdir of its own: a mariadbd starting removes every #sql* file in its tmpdir, so a shared
  # /tmp let one lab server's restart delete another's live temporary table (a dump failed with
  # "Error on delete of '/tmp/#sql-temptable-...MAD'" while a replica restarted).
  mkdir -p "$h/binlog" "$h/tmp"
  # Two host keys, as a Debian install has (its RSA one is left out: slow to make, never chosen).
  local type
  for type in ed25519 ecdsa; do
    if [[ ! -s $h/ssh_host_${type}_key ]]; then
      rm -f "$h/ssh_host_${type}_key" "$h/ssh_host_${type}_key.pub"
      ssh-keygen -q -t "$type" -N '' -C "replplan-lab-$name" -f "$h/ssh_host_${type}_key" >/dev/null
    fi
  done
  mkdir -p "$h/home"
  cp /etc/skel/.bashrc /etc/skel/.profile "$h/home/"
  sshd_config "$name" >"$h/sshd_config"
  mycnf "$name" >"$h/my.cnf.fresh"
}

# --- the pristine datadir ---------------------------------------------------------------------

pristine_stamp() {
  printf '%s\n%s\n' "$("$MARIADBD" --version)" "$(sha256sum <"$LAB/secrets/admin.pw" | cut -d' ' -f1)"
}

# One mariadb-install-db run plus the admin account, shut down cleanly; every host starts from a
# copy of it, which takes well under a second where mariadb-install-db takes several.
ensure_pristine() {
  local p="$LAB/pristine" t="$LAB/pristine.tmp" pid
  if [[ -d $p/data && -f $p/stamp && $(cat "$p/stamp") == "$(pristine_stamp)" ]]; then
    return 0
  fi
  note "building the pristine datadir (once)"
  kill_cmdline_now "$MARIADBD --defaults-file=$t/my.cnf"
  rm -rf "$t" "$p"
  mkdir -p "$t"
  cat >"$t/my.cnf" <<EOF
[mysqld]
user                    = root
pid-file                = $t/mysqld.pid
socket                  = $t/mysqld.sock
datadir                 = $t/data
log-error               = $t/error.log
skip-networking
basedir                 = /usr
lc-messages-dir         = /usr/share/mysql
character-set-server    = utf8mb4
collation-server        = utf8mb4_general_ci
innodb_buffer_pool_size = 32M
innodb_log_file_size    = 16M
performance_schema      = OFF
EOF
  mariadb-install-db --defaults-file="$t/my.cnf" --user=root --datadir="$t/data" --skip-test-db \
    --auth-root-authentication-method=socket >"$t/install.log" 2>&1 ||
    die "mariadb-install-db failed; see $t/install.log: $(tail -n 5 "$t/install.log")"
  setsid "$MARIADBD" --defaults-file="$t/my.cnf" </dev/null >>"$t/error.log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + UP_TIMEOUT))
  until mariadb --no-defaults -S "$t/mysqld.sock" -u root -e 'SELECT 1' >/dev/null 2>&1; do
    alive "$pid" || die "pristine mariadbd exited; tail of $t/error.log:"$'\n'"$(tail -n 20 "$t/error.log")"
    ((SECONDS < deadline)) || die "pristine mariadbd did not answer in $UP_TIMEOUT s; see $t/error.log"
    sleep 0.1
  done
  # The password goes through stdin, never argv.
  mariadb --no-defaults -S "$t/mysqld.sock" -u root <<EOF
CREATE USER 'admin'@'%' IDENTIFIED BY '$(admin_password)';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;
EOF
  kill -TERM "$pid"
  wait_gone "$STOP_TIMEOUT" "$pid" || die "pristine mariadbd did not shut down; see $t/error.log"
  mkdir -p "$p"
  mv "$t/data" "$p/data"
  cp "$t/my.cnf" "$p/my.cnf"
  pristine_stamp >"$p/stamp"
  rm -rf "$t"
}

# --- one host ---------------------------------------------------------------------------------

kill_cmdline_now() {
  local pids
  pids=$(pids_of_cmdline "$1")
  [[ -z $pids ]] && return 0
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_gone 10 $pids || die "processes $pids ($1) survive kill -9"
}

kill_mysqld_now() { kill_cmdline_now "$MARIADBD --defaults-file=$(host_dir "$1")/my.cnf"; }

# Back to what a fresh install looks like: pristine data, untouched my.cnf, no binlogs.
fresh_mysqld() {
  local name=$1 h
  h=$(host_dir "$1")
  kill_mysqld_now "$name"
  rm -rf "$h/data" "$h/mysqld.sock" "$h/mysqld.pid" "$h/mysqld.sock.lock"
  find "$h/binlog" -mindepth 1 -delete
  cp -a "$LAB/pristine/data" "$h/data"
  cp "$h/my.cnf.fresh" "$h/my.cnf"
  : >"$h/error.log"
}

error_tail() {
  local h
  h=$(host_dir "$1")
  echo "last lines of $h/error.log:"
  tail -n 15 "$h/error.log" 2>/dev/null || echo "(no error.log)"
}

# Another lab (or anything else) on our address would answer in our place: refuse to start then.
refuse_taken_port() {
  local name=$1 port=$2 address owner
  address=$(address_of "$name")
  owner=$(ss -Hltnp "sport = :$port and src = $address" 2>/dev/null | grep -o 'users:.*' || true)
  [[ -z $owner ]] && return 0
  die "$name: $address:$port is taken by another process ($owner); another lab up? stop it with its own REPLPLAN_LAB_DIR: lab.sh down"
}

answers_sql() {
  mariadb --defaults-file="$LAB/secrets/admin.cnf" -h "$(address_of "$1")" -P 3306 \
    --connect-timeout=2 -N -B -e 'SELECT 1' >/dev/null 2>&1
}

# Starts mariadbd unless it runs, then waits until admin gets an answer over TCP.
start_mysqld() {
  local name=$1 timeout=$2 h pid
  h=$(host_dir "$1")
  [[ -f $h/my.cnf && -d $h/data ]] || die "$name: no datadir; run 'lab.sh up N' or 'lab.sh reset N' first"
  pid=$(mysqld_pids "$name" | head -n1)
  if [[ -z $pid ]]; then
    refuse_taken_port "$name" 3306
    rm -f "$h/mysqld.sock" "$h/mysqld.pid"
    # setsid + redirections: the server must not hold the caller's terminal, pipes or session.
    setsid "$MARIADBD" --defaults-file="$h/my.cnf" </dev/null >>"$h/error.log" 2>&1 &
    pid=$!
  fi
  local deadline=$((SECONDS + timeout))
  until answers_sql "$name"; do
    alive "$pid" || die "$name ($(address_of "$name")): mariadbd exited during startup; $(error_tail "$name")"
    ((SECONDS < deadline)) ||
      die "$name ($(address_of "$name")): mariadbd did not answer SQL as admin within $timeout s; $(error_tail "$name")"
    sleep 0.1
  done
}

# A TCP connect is not enough: sshd accepts before it can serve, so wait for its banner.
answers_ssh() {
  local line
  { exec 3<>"/dev/tcp/$(address_of "$1")/2222"; } 2>/dev/null || return 1
  read -r -t 2 line <&3 || line=
  exec 3<&- 3>&-
  [[ $line == SSH-* ]]
}

start_sshd() {
  local name=$1 h
  h=$(host_dir "$1")
  mkdir -p /run/sshd && chmod 755 /run/sshd  # sshd's privilege separation directory
  if ! sshd_running "$name"; then
    refuse_taken_port "$name" 2222
    rm -f "$h/sshd.pid"
    "$SSHD" -f "$h/sshd_config" -r -E "$h/sshd.log" </dev/null >/dev/null 2>&1 ||
      die "$name: sshd failed to start; last lines of $h/sshd.log:"$'\n'"$(tail -n 10 "$h/sshd.log" 2>/dev/null)"
  fi
  local deadline=$((SECONDS + UP_TIMEOUT))
  until answers_ssh "$name"; do
    ((SECONDS < deadline)) ||
      die "$name ($(address_of "$name")): sshd did not answer on port 2222 within $UP_TIMEOUT s; last lines of $h/sshd.log:"$'\n'"$(tail -n 10 "$h/sshd.log" 2>/dev/null)"
    sleep 0.05
  done
}

stop_mysqld() {
  local name=$1 pids
  pids=$(mysqld_pids "$name")
  if [[ -z $pids ]]; then
    note "$name: mariadbd already stopped"
    return 0
  fi
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_gone "$STOP_TIMEOUT" $pids ||
    die "$name: mariadbd did not shut down within $STOP_TIMEOUT s; $(error_tail "$name")"
}

stop_sshd() {
  local name=$1 pids pid
  pids=$(sshd_pids "$name")
  [[ -z $pids ]] && return 0
  # Sessions (sshd: root@notty and their commands) are children of the listener.
  for pid in $pids; do pids+=" $(descendants "$pid" | tr '\n' ' ')"; done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  wait_gone 10 $pids || die "$name: sshd processes survive kill -9: $pids"
}

# --- several hosts ----------------------------------------------------------------------------

# Runs FN NAME for every name at once; fails (after all finished) if any failed.
parallel() {
  local fn=$1 name pid rc=0
  shift
  local pids=()
  for name in "$@"; do
    "$fn" "$name" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return $rc
}

bring_up_host() {
  local name=$1
  if ! mysqld_running "$name"; then
    fresh_mysqld "$name"
  fi
  start_sshd "$name"
  start_mysqld "$name" "$UP_TIMEOUT"
}

reset_host() {
  # A host left frozen or partitioned (a benchmark or test that died) comes back whole.
  heal_host "$1"
  signal_host CONT "$1" host
  fresh_mysqld "$1"
  start_sshd "$1"
  start_mysqld "$1" "$UP_TIMEOUT"
}

retire_host() {
  kill_mysqld_now "$1"
  stop_sshd "$1"
}

prepare_lab() {
  local name
  ensure_secrets
  ensure_client_key
  for name in "$@"; do prepare_host "$name"; done
  write_known_hosts
  ensure_pristine
}

# How many hosts the lab has now: the last host with a process of its own (a killed mariadbd
# still counts, its sshd keeps running).
hosts_up() {
  local i n=0
  for i in "${!NAMES[@]}"; do
    if [[ -d $(host_dir "${NAMES[$i]}") ]] && { mysqld_running "${NAMES[$i]}" || sshd_running "${NAMES[$i]}"; }; then
      n=$((i + 1))
    fi
  done
  echo "$n"
}

existing_hosts() {
  local name
  for name in "${NAMES[@]}"; do [[ -d $(host_dir "$name") ]] && echo "$name"; done
  return 0
}

# --- lab.toml ---------------------------------------------------------------------------------

write_toml() {
  local n=$1 file=$2 i name tmp
  tmp="$file.tmp.$$"
  {
    cat <<EOF
# The lab topology, written by tests/lab/lab.sh for $n fresh host(s). Secrets are named by file.
[cluster]
name    = "lab"
flavor  = "mariadb"
primary = "${NAMES[0]}"
# Per lab, so labs side by side (REPLPLAN_LAB_NET) never share an apply lock.
lock_file = "$LAB/apply.lock"

[replication]
user          = "repl"
password      = { file = "$LAB/secrets/repl.pw" }
mode          = "gtid"
binlog_format = "ROW"
# A heartbeat every 0.1 s: replplan's silence bound is then 1.75 s (docs/failover.md, "Confirmation").
heartbeat_period = 0.1

[defaults]
ssh   = { user = "root", port = 2222, identity = "$LAB/client/id_ed25519", known_hosts = "$LAB/client/known_hosts" }
mysql = { port = 3306, user = "admin", password = { file = "$LAB/secrets/admin.pw" } }
EOF
    for ((i = 0; i < n; i++)); do
      name=${NAMES[$i]}
      cat <<EOF

[[server]]
name        = "$name"
address     = "${ADDRS[$i]}"
server_id   = $((i + 1))
log_bin     = "$LAB/hosts/$name/binlog/mysql-bin.log"
config_file = "$LAB/hosts/$name/my.cnf"
restart     = "REPLPLAN_LAB_DIR=$LAB REPLPLAN_LAB_NET=$NET bash $SCRIPT restart $name"
EOF
    done
    cat <<EOF

[[database]]
name    = "secondhand_production"
charset = "utf8mb4"

[[user]]
name     = "pierre"
host     = "%"
password = { file = "$LAB/secrets/app.pw" }
grants   = ["ALL PRIVILEGES ON secondhand_production.*"]
EOF
  } >"$tmp"
  mv "$tmp" "$file"
}

# --- silent failures: a frozen process or host, a partitioned address ---------------------------
# What closes no socket: a process that hangs (SIGSTOP), a whole machine paused (every process of
# the host stopped: mariadbd, its sshd and every session under it), a network partition (every
# packet to and from the host's address dropped). Benchmarks and tests make them with these; `down`
# undoes them all.

# Every process of HOST's sshd: the listener and its sessions with whatever runs in them.
sshd_tree() {
  local pid
  for pid in $(sshd_pids "$1"); do
    echo "$pid"
    descendants "$pid"
  done
}

signal_host() {
  local sig=$1 name=$2 what=$3 pids
  pids=$(mysqld_pids "$name")
  [[ $what == host ]] && pids+=" $(sshd_tree "$name" | tr '\n' ' ')"
  pids=$(echo $pids)
  [[ -n $pids ]] || return 0
  # One kill(1) for all: the host stops (or resumes) at one instant, as a paused VM does.
  # shellcheck disable=SC2086
  kill -s "$sig" $pids 2>/dev/null || true
}

# Wall clock in ms without a fork, for the instants freeze and partition report (benchmarks time
# an outage from them, not from before this script's start-up and pgreps).
epoch_ms() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:13}"; }

# The partition's rules: on lo's input only (a packet dropped there is lost on the wire, not
# refused to its sender as one dropped on output would be), one per direction, each naming the
# host's own loopback address and marked with this lab's net so `heal` removes only its own.
partition_rules() {
  local address mark
  address=$(address_of "$1")
  mark="replplan-lab-$NET-$1"
  echo "INPUT -i lo -s $address/32 -m comment --comment $mark -j DROP"
  echo "INPUT -i lo -d $address/32 -m comment --comment $mark -j DROP"
}

partitioned() {
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086
    iptables -w -C $rule 2>/dev/null || return 1
  done < <(partition_rules "$1")
}

cmd_freeze() {
  (($# == 1 || $# == 2)) || die "usage: lab.sh freeze HOST [--host]"
  local what=mysqld
  address_of "$1" >/dev/null
  if (($# == 2)); then
    [[ $2 == --host ]] || die "usage: lab.sh freeze HOST [--host]"
    what=host
  fi
  [[ -n $(mysqld_pids "$1") || $what == host ]] || die "$1: mariadbd does not run"
  signal_host STOP "$1" "$what"
  note "$1: frozen ($([[ $what == host ]] && echo "mariadbd, sshd and its sessions" || echo mariadbd)) at $(epoch_ms) ms"
}

cmd_thaw() {
  (($# == 1)) || die "usage: lab.sh thaw HOST"
  address_of "$1" >/dev/null
  signal_host CONT "$1" host
}

cmd_partition() {
  (($# == 1)) || die "usage: lab.sh partition HOST"
  address_of "$1" >/dev/null
  command -v iptables >/dev/null || die "partition needs iptables (scripts/install-deps.sh installs it)"
  partitioned "$1" && return 0
  heal_host "$1"  # half of it (a run cut short): start from nothing
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086
    iptables -w -I $rule || { heal_host "$1"; die "$1: iptables refused the rule '$rule'"; }
  done < <(partition_rules "$1")
  note "$1: partitioned (every packet to and from $(address_of "$1") dropped) at $(epoch_ms) ms"
}

# Removes this lab's rules for HOST, every copy of them; nothing else.
heal_host() {
  local rule
  command -v iptables >/dev/null || return 0
  while read -r rule; do
    # shellcheck disable=SC2086
    while iptables -w -C $rule 2>/dev/null; do iptables -w -D $rule; done
  done < <(partition_rules "$1")
}

cmd_heal() {
  (($# == 1)) || die "usage: lab.sh heal HOST"
  address_of "$1" >/dev/null
  heal_host "$1"
}

# --- commands ---------------------------------------------------------------------------------

cmd_up() {
  (($# == 1)) || die "usage: lab.sh up N"
  check_count "$1"
  # shellcheck disable=SC2046
  set -- $(first_names "$1")
  prepare_lab "$@"
  parallel bring_up_host "$@" || die "up failed (see above)"
  write_toml "$#" "$LAB/lab.toml"
  note "up: $* ($LAB)"
}

cmd_reset() {
  local n=${1:-}
  if [[ -z $n ]]; then
    n=$(hosts_up)
    ((n > 0)) || die "reset: no lab host is up; say how many: lab.sh reset N"
  fi
  check_count "$n"
  local keep gone=() name
  # shellcheck disable=SC2207
  keep=($(first_names "$n"))
  gone=("${NAMES[@]:$n}")
  prepare_lab "${keep[@]}"
  local retire=()
  for name in "${gone[@]}"; do [[ -d $(host_dir "$name") ]] && retire+=("$name"); done
  ((${#retire[@]} == 0)) || parallel retire_host "${retire[@]}" || die "reset: could not stop ${retire[*]}"
  parallel reset_host "${keep[@]}" || die "reset failed (see above)"
  write_toml "$n" "$LAB/lab.toml"
  note "reset: ${keep[*]} fresh"
}

cmd_down() {
  local name pids=() pid h self_and_ancestors=" " p=$$
  # Never kill ourselves or whoever called us (their command line may mention the lab dir).
  while [[ $p -gt 1 ]]; do
    self_and_ancestors+="$p "
    p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 1)
  done
  # A partitioned host is healed and a frozen one resumed first: a stopped process cannot act on
  # SIGTERM, and no rule of this lab outlives it.
  for h in "$LAB"/hosts/*/; do
    [[ -d $h ]] || continue
    name=$(basename "$h")
    heal_host "$name"
    signal_host CONT "$name" host
  done
  for h in "$LAB"/hosts/*/; do
    [[ -d $h ]] || continue
    name=$(basename "$h")
    for pid in $(cat "$h/mysqld.pid" "$h/sshd.pid" 2>/dev/null || true); do
      [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$h" && pids+=("$pid")
    done
    mapfile -t -O "${#pids[@]}" pids < <(mysqld_pids "$name"; sshd_pids "$name")
    for pid in $(sshd_pids "$name"); do mapfile -t -O "${#pids[@]}" pids < <(descendants "$pid"); done
  done
  if ((${#pids[@]} > 0)); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait_gone 15 "${pids[@]}" || { kill -KILL "${pids[@]}" 2>/dev/null || true; }
    wait_gone 10 "${pids[@]}" || die "down: processes survive kill -9: ${pids[*]}"
  fi
  # Anything else still running from the lab dir (a half-built pristine server, a stray client).
  local stray=()
  for pid in $(pgrep -f "$(regex_escape "$LAB/")" || true); do
    [[ $self_and_ancestors == *" $pid "* ]] || stray+=("$pid")
  done
  if ((${#stray[@]} > 0)); then
    kill -KILL "${stray[@]}" 2>/dev/null || true
    wait_gone 10 "${stray[@]}" || die "down: processes survive kill -9: ${stray[*]}"
  fi
  note "down: stopped; nothing of $LAB runs now"
}

# The processes the lab's sshds run (sessions and the commands in them) whose command line holds
# TEXT: tests find and signal only the remote processes they started, never another process of the
# machine's whose command line happens to hold the same words.
session_pids() {
  local text=$1 h pid child
  for h in "$LAB"/hosts/*/; do
    [[ -d $h ]] || continue
    for pid in $(sshd_pids "$(basename "$h")"); do
      for child in $(descendants "$pid"); do
        tr '\0' ' ' 2>/dev/null <"/proc/$child/cmdline" | grep -qF -- "$text" && echo "$child"
      done
    done
  done
  return 0
}

cmd_pgrep() {
  (($# == 1)) || die "usage: lab.sh pgrep TEXT"
  local pids
  pids=$(session_pids "$1")
  [[ -n $pids ]] || return 1
  echo "$pids"
}

cmd_pkill() {
  (($# == 2)) || die "usage: lab.sh pkill SIGNAL TEXT"
  local pids
  pids=$(session_pids "$2")
  [[ -n $pids ]] || return 1
  # shellcheck disable=SC2086
  kill -s "$1" $pids
}

cmd_kill() {
  (($# == 1)) || die "usage: lab.sh kill HOST"
  address_of "$1" >/dev/null
  kill_mysqld_now "$1"
}

cmd_stop() {
  (($# == 1 || $# == 2)) || die "usage: lab.sh stop HOST [--host]"
  address_of "$1" >/dev/null
  (($# == 1)) || [[ $2 == --host ]] || die "usage: lab.sh stop HOST [--host]"
  stop_mysqld "$1"
  # --host: its sshd too (a machine that is off: nothing answers on its address; `start` brings both back).
  (($# == 1)) || stop_sshd "$1"
}

cmd_start() {
  (($# == 1)) || die "usage: lab.sh start HOST"
  address_of "$1" >/dev/null
  start_sshd "$1"
  start_mysqld "$1" "$UP_TIMEOUT"
}

cmd_restart() {
  (($# == 1)) || die "usage: lab.sh restart HOST"
  address_of "$1" >/dev/null
  stop_mysqld "$1" >/dev/null
  start_mysqld "$1" "$RESTART_TIMEOUT"
  note "$1: restarted"
}

cmd_status() {
  local name any=0
  for name in $(existing_hosts); do
    any=1
    printf '%-8s %-11s mysqld %-4s sshd %s\n' "$name" "$(address_of "$name")" \
      "$(mysqld_running "$name" && echo up || echo down)" "$(sshd_running "$name" && echo up || echo down)"
  done
  ((any)) || note "no hosts in $LAB (run lab.sh up N)"
}

cmd_toml() {
  local file=${1:-$LAB/lab.toml} n=${2:-}
  if [[ -z $n ]]; then
    n=$(hosts_up)
    ((n > 0)) || die "toml: no lab host is up; say how many: lab.sh toml FILE N"
  fi
  check_count "$n"
  write_toml "$n" "$file"
  echo "$file"
}

usage() {
  cat >&2 <<EOF
usage: lab.sh COMMAND   (lab dir: \$REPLPLAN_LAB_DIR, now $LAB)
  up N            start N fresh hosts (1..$MAX_HOSTS); running hosts are left alone
  down            stop every lab process
  reset [N]       back to N pristine hosts (default: as many as are up)
  kill HOST       kill -9 the host's mariadbd
  pgrep TEXT      pids of processes in lab ssh sessions whose command line holds TEXT (exit 1: none)
  pkill SIG TEXT  send SIG to those processes (exit 1: none)
  stop HOST [--host]  clean shutdown of the host's mariadbd; --host: its sshd too (a host that is off)
  start HOST      start the host's sshd (if stopped) and mariadbd, and wait until it answers
  restart HOST    stop + start (replplan runs this over ssh)
  status          one line per host
  toml [FILE [N]] write the lab topology (default $LAB/lab.toml)
  freeze HOST [--host]  SIGSTOP its mariadbd; --host: its sshd and every session too (a paused machine)
  thaw HOST       SIGCONT all of those
  partition HOST  drop every packet to and from its address (iptables on lo, both ways)
  heal HOST       remove those rules (this lab's, for HOST, only)
hosts: ${NAMES[*]}
EOF
  exit 2
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    reset) cmd_reset "$@" ;;
    kill) cmd_kill "$@" ;;
    pgrep) cmd_pgrep "$@" ;;
    pkill) cmd_pkill "$@" ;;
    stop) cmd_stop "$@" ;;
    start) cmd_start "$@" ;;
    restart) cmd_restart "$@" ;;
    status) cmd_status "$@" ;;
    toml) cmd_toml "$@" ;;
    freeze) cmd_freeze "$@" ;;
    thaw) cmd_thaw "$@" ;;
    partition) cmd_partition "$@" ;;
    heal) cmd_heal "$@" ;;
    -h | --help | help) usage ;;
    *) echo "lab: unknown command '$cmd'" >&2; usage ;;
  esac
}

main "$@"
