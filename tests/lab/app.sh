#!/usr/bin/env bash
# The Secondhand Rails app (examples/secondhand) on lab hosts: one copy per host under
# $LAB/hosts/HOST/app, served by puma on HOST's lab address port 3000, RAILS_ENV=production, its
# config/database.yml pointing at a lab database host. What replplan's [[app]] rewrites and restarts.
#
#   app.sh deploy HOST DBHOST | setup HOST | start HOST | stop HOST | restart [HOST] | reload [HOST]
#          | status | down | toml FILE HOST...
#
# Two ways to make a running app follow a rewritten database.yml: `restart` is puma's hot restart
# (SIGUSR2: a full Rails boot, about a second); `reload` touches the app's tmp/restart.txt, which the
# app itself watches (examples/secondhand/lib/secondhand/database_reloader.rb) to reconnect in
# process before its next request (milliseconds, same PID). `toml` writes the reload as the
# topology's restart command unless APP_RESTART=hot (or cold) asks for a restart.
#
# Same environment as lab.sh (REPLPLAN_LAB_DIR, REPLPLAN_LAB_NET). Invariants: no secret on a command
# line or in output (the app reads secrets/app.pw itself); a puma this script starts holds none of
# the caller's descriptors; its process title names the app root, so `lab.sh down` (which kills
# whatever still runs from the lab dir) never leaves one behind.
set -euo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/../.." && pwd -P)
readonly SCRIPT REPO
readonly SOURCE=$REPO/examples/secondhand
mkdir -p "${REPLPLAN_LAB_DIR:-$REPO/.lab}"
LAB=$(cd "${REPLPLAN_LAB_DIR:-$REPO/.lab}" && pwd -P)
readonly LAB
readonly NAMES=(mercury uranus venus mars jupiter saturn neptune pluto)
readonly NET=${REPLPLAN_LAB_NET:-127.0.0}
if [[ ! $NET =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255)); then
  echo "app: REPLPLAN_LAB_NET must be 127.X.Y (loopback only), got '$NET'" >&2
  exit 2
fi
readonly ADDRS=("$NET.61" "$NET.66" "$NET.67" "$NET.68" "$NET.69" "$NET.70" "$NET.71" "$NET.72")
readonly PORT=3000
# Rails boots in 1-3 s here; a busy 2-core machine running several labs needs more.
readonly BOOT_TIMEOUT=60
readonly STOP_TIMEOUT=30

die() { echo "app: $*" >&2; exit 1; }

address_of() {
  local i
  for i in "${!NAMES[@]}"; do
    [[ ${NAMES[$i]} == "$1" ]] && { echo "${ADDRS[$i]}"; return 0; }
  done
  die "unknown host '$1' (hosts: ${NAMES[*]})"
}

name_of_address() {
  local i
  for i in "${!ADDRS[@]}"; do
    [[ ${ADDRS[$i]} == "$1" ]] && { echo "${NAMES[$i]}"; return 0; }
  done
  return 1
}

app_root() { echo "$LAB/hosts/$1/app"; }
pidfile() { echo "$(app_root "$1")/tmp/puma.pid"; }

# The puma serving HOST's app: the pid file's process, if it still is that app's puma (pid files
# outlive kill -9, and PIDs are reused).
puma_pid() {
  local pid root
  root=$(app_root "$1")
  pid=$(cat "$(pidfile "$1")" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "[secondhand $root]" && echo "$pid"
  return 0
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# Any HTTP answer on /up (200 or 503): puma serves the app. Bash's /dev/tcp, so no curl is needed.
answers_http() {
  local address=$1 line
  { exec 3<>"/dev/tcp/$address/$PORT"; } 2>/dev/null || return 1
  printf 'GET /up HTTP/1.0\r\nHost: %s\r\n\r\n' "$address" >&3 || { exec 3<&- 3>&-; return 1; }
  read -r -t 10 line <&3 || line=
  exec 3<&- 3>&-
  [[ $line == HTTP/1.[01]\ [0-9][0-9][0-9]* ]]
}

log_tail() { tail -n 20 "$(app_root "$1")/log/puma.log" 2>/dev/null || echo "(no log)"; }

# Waits until the app answers HTTP with a puma whose pid file exists (written after Rails booted).
wait_serving() {
  local name=$1 address deadline=$((SECONDS + BOOT_TIMEOUT)) pid
  address=$(address_of "$name")
  while :; do
    pid=$(puma_pid "$name")
    [[ -n $pid ]] && answers_http "$address" && return 0
    ((SECONDS < deadline)) || die "$name: the app did not answer on $address:$PORT within $BOOT_TIMEOUT s; last lines of its log:"$'\n'"$(log_tail "$name")"
    sleep 0.05
  done
}

# Points the production section of database.yml at ADDRESS:3306, keeping every other line: the
# same kind of minimal edit replplan makes, so the file stays what an operator would write.
point_at() {
  local yml=$1 address=$2 tmp="$1.tmp.$$"
  awk -v host="$address" '
    /^[^[:space:]#][^:]*:/ { section = $1 }
    section == "production:" && /^[[:space:]]+host:/ { sub(/host:[[:space:]]*[^[:space:]#]+/, "host: " host) }
    section == "production:" && /^[[:space:]]+port:/ { sub(/port:[[:space:]]*[^[:space:]#]+/, "port: 3306") }
    { print }' "$yml" >"$tmp"
  mv "$tmp" "$yml"
}

cmd_deploy() {
  (($# == 2)) || die "usage: app.sh deploy HOST DBHOST"
  local name=$1 db root tmp
  address_of "$name" >/dev/null
  db=$(address_of "$2")
  [[ -d $LAB/hosts/$name ]] || die "$name: no such lab host; run lab.sh up N first"
  root=$(app_root "$name")
  [[ -z $(puma_pid "$name") ]] || die "$name: the app runs; stop it first (app.sh stop $name)"
  tmp="$root.tmp.$$"
  rm -rf "$tmp"
  cp -a "$SOURCE" "$tmp"
  rm -rf "$tmp/log" "$tmp/tmp"
  mkdir -p "$tmp/log" "$tmp/tmp"
  point_at "$tmp/config/database.yml" "$db"
  rm -rf "$root"
  mv "$tmp" "$root"
}

# The process environment of the app: what a unit file would set. The password stays in its file.
app_env() {
  local name=$1
  echo PATH="$PATH" LC_ALL=C.UTF-8 HOME="$LAB/hosts/$name/home" RAILS_ENV=production \
    SECONDHAND_BIND="$(address_of "$name"):$PORT" SECONDHAND_PIDFILE="$(pidfile "$name")" \
    SECONDHAND_DATABASE_PASSWORD_FILE="$LAB/secrets/app.pw"
}

cmd_setup() {
  (($# == 1)) || die "usage: app.sh setup HOST"
  local root
  root=$(app_root "$1")
  [[ -d $root ]] || die "$1: app not deployed (app.sh deploy $1 DBHOST)"
  # shellcheck disable=SC2046
  (cd "$root" && env -i $(app_env "$1") ruby bin/setup </dev/null) >/dev/null 2>"$root/log/setup.err" ||
    die "$1: bin/setup failed: $(tail -n 5 "$root/log/setup.err")"
}

start_app() {
  local name=$1 root
  root=$(app_root "$name")
  [[ -d $root ]] || die "$name: app not deployed (app.sh deploy $name DBHOST)"
  if [[ -z $(puma_pid "$name") ]]; then
    rm -f "$(pidfile "$name")"
    # setsid + redirections: puma must not hold the caller's terminal, pipes or SSH session.
    # shellcheck disable=SC2046
    (cd "$root" && exec env -i $(app_env "$name") setsid puma -C "$root/config/puma.rb" --dir "$root") \
      </dev/null >>"$root/log/puma.log" 2>&1 &
  fi
  wait_serving "$name"
}

stop_app() {
  local name=$1 pid
  pid=$(puma_pid "$name")
  [[ -z $pid ]] && return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
    fi
    sleep 0.02
  done
  rm -f "$(pidfile "$name")"
}

# Puma's hot restart: SIGUSR2 re-executes puma in place, keeping the listening socket open, so
# requests during the boot wait in the backlog instead of being refused. The pid file is removed
# first; the new process writes it once Rails has booted, which tells it apart from the old one.
hot_restart() {
  local name=$1 pid
  pid=$(puma_pid "$name")
  [[ -n $pid ]] || { start_app "$name"; return; }
  rm -f "$(pidfile "$name")"
  kill -USR2 "$pid"
  wait_serving "$name"
}

# The host whose app to act on: named, or (the topology's restart command, run over SSH on each
# app host) the lab host whose sshd this session came in through.
host_arg() {
  if (($# == 1)); then
    address_of "$1" >/dev/null
    echo "$1"
    return
  fi
  local words
  read -r -a words <<<"${SSH_CONNECTION:-}"
  ((${#words[@]} == 4)) || die "no HOST given and not in an SSH session to a lab host"
  name_of_address "${words[2]}" || die "SSH session to ${words[2]}, which is no host of lab net $NET"
}

cmd_start() { (($# == 1)) || die "usage: app.sh start HOST"; address_of "$1" >/dev/null; start_app "$1"; }
cmd_stop() { (($# == 1)) || die "usage: app.sh stop HOST"; address_of "$1" >/dev/null; stop_app "$1"; }

# Passenger's convention, which the app follows: a touch of tmp/restart.txt. The app notices it at
# its next request and reconnects to what database.yml says then; nothing to wait for here.
cmd_reload() {
  (($# <= 1)) || die "usage: app.sh reload [HOST]"
  local name root
  name=$(host_arg "$@")
  root=$(app_root "$name")
  [[ -d $root/tmp ]] || die "$name: app not deployed (app.sh deploy $name DBHOST)"
  touch "$root/tmp/restart.txt"
}

cmd_restart() {
  (($# <= 1)) || die "usage: app.sh restart [HOST]"
  local name
  name=$(host_arg "$@")
  case ${APP_RESTART:-hot} in
    hot) hot_restart "$name" ;;
    cold) stop_app "$name" && start_app "$name" ;;
    *) die "APP_RESTART must be hot or cold" ;;
  esac
}

cmd_status() {
  local h name pid
  for h in "$LAB"/hosts/*/app; do
    [[ -d $h ]] || continue
    name=$(basename "$(dirname "$h")")
    pid=$(puma_pid "$name")
    printf '%-8s app %s\n' "$name" "$([[ -n $pid ]] && echo "up (pid $pid)" || echo down)"
  done
}

cmd_down() {
  local h
  for h in "$LAB"/hosts/*/app; do
    [[ -d $h ]] && stop_app "$(basename "$(dirname "$h")")"
  done
  return 0
}

# One word for a POSIX shell: as is when it has no special character, else single-quoted.
shell_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# The inside of a TOML basic string ("..."): backslash and double quote escaped.
toml_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\"/\\\"}"
}

# The topology's restart command for HOST's app. By default the touch of its tmp/restart.txt: the
# app reconnects in process, as in production (`touch /var/www/secondhand/tmp/restart.txt`).
# APP_RESTART=hot: this script's puma hot restart (cold: stop and start), run over SSH, which finds
# its host from the SSH session it runs in.
restart_command() {
  local name=$1 mode=${APP_RESTART:-reload} run
  run="REPLPLAN_LAB_DIR=$(shell_quote "$LAB") REPLPLAN_LAB_NET=$(shell_quote "$NET")"
  case $mode in
    reload) echo "touch $(shell_quote "$(app_root "$name")/tmp/restart.txt")" ;;
    hot) echo "$run bash $(shell_quote "$SCRIPT") restart" ;;
    cold) echo "APP_RESTART=cold $run bash $(shell_quote "$SCRIPT") restart" ;;
    *) die "APP_RESTART must be reload (the default), hot or cold" ;;
  esac
}

# One [[app]] block per host: the lab's hosts share one filesystem, so each host's copy of the app
# has its own root (and its own restart.txt), while on real machines one block lists every host.
cmd_toml() {
  (($# >= 2)) || die "usage: app.sh toml FILE HOST..."
  local file=$1 name first=1 restart
  shift
  for name in "$@"; do address_of "$name" >/dev/null; done
  restart_command "${1}" >/dev/null  # a bad APP_RESTART fails before FILE is touched
  {
    for name in "$@"; do
      restart=$(restart_command "$name")
      cat <<EOF

[[app]]
name        = "secondhand$( ((first)) || echo "-$name")"
kind        = "rails"
hosts       = ["$name"]
root        = "$(toml_escape "$(app_root "$name")")"
environment = "production"
restart     = "$(toml_escape "$restart")"
health      = "http://$(address_of "$name"):$PORT/up"
EOF
      first=0
    done
  } >>"$file"
}

usage() {
  cat >&2 <<EOF
usage: app.sh COMMAND   (lab dir: \$REPLPLAN_LAB_DIR, now $LAB)
  deploy HOST DBHOST  copy examples/secondhand to \$LAB/hosts/HOST/app, production db = DBHOST
  setup HOST          create the app's tables (bin/setup) where its database.yml points
  start HOST          start puma on HOST's address:$PORT and wait until it serves
  stop HOST           stop it
  restart [HOST]      hot restart (SIGUSR2, a full boot); no HOST: the lab host of this SSH session
  reload [HOST]       touch the app's tmp/restart.txt: it reconnects per database.yml in process
  status              one line per deployed app
  down                stop every app of the lab
  toml FILE HOST...   append [[app]] block(s) for the app on HOST... to FILE; restart command:
                      the reload (touch), or with APP_RESTART=hot (or cold) this script's restart
EOF
  exit 2
}

main() {
  (($# >= 1)) || usage
  local cmd=$1
  shift
  case $cmd in
    deploy) cmd_deploy "$@" ;;
    setup) cmd_setup "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    restart) cmd_restart "$@" ;;
    reload) cmd_reload "$@" ;;
    status) cmd_status "$@" ;;
    down) cmd_down "$@" ;;
    toml) cmd_toml "$@" ;;
    -h | --help | help) usage ;;
    *) echo "app: unknown command '$cmd'" >&2; usage ;;
  esac
}

main "$@"
