#!/usr/bin/env bash
# A real etcd (3.4, Debian's etcd-server) for the tests of `watch` on etcd (ops/coordinator.h): one
# member on $REPLPLAN_LAB_NET.50, client port 2379, peer port 2380, loopback only.
#
#   etcd.sh start | stop | kill | freeze | thaw | status | endpoint
#
# State under $REPLPLAN_ETCD_DIR (default <repo>/.lab/etcd): data/, etcd.log, etcd.pid. `stop` keeps
# the data (a later `start` resumes with it, as an etcd back from an outage); `wipe` removes it.
# The process is stopped by its pid file, never by a pattern that could match another.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/../.." && pwd -P)
readonly NET=${REPLPLAN_LAB_NET:-127.0.0}
if [[ ! $NET =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255)); then
  echo "etcd: REPLPLAN_LAB_NET must be 127.X.Y (loopback only), got '$NET'" >&2
  exit 2
fi
readonly ADDRESS=$NET.50
readonly CLIENT=http://$ADDRESS:2379 PEER=http://$ADDRESS:2380
DIR=${REPLPLAN_ETCD_DIR:-$REPO/.lab/etcd}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
readonly DIR PID_FILE=$DIR/etcd.pid

die() { echo "etcd: $*" >&2; exit 1; }

# The pid of our etcd, or nothing: the pid file's process, checked against its command line.
running_pid() {
  [[ -f $PID_FILE ]] || return 0
  local pid
  pid=$(<"$PID_FILE")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--data-dir $DIR/data" && echo "$pid"
  return 0
}

answers() { curl -s -m 1 -X POST "$CLIENT/v3/kv/range" -d '{"key":"AA=="}' | grep -q '"header"'; }

start() {
  [[ -n $(running_pid) ]] && { answers && return 0; }
  [[ -x /usr/bin/etcd ]] || die "no /usr/bin/etcd: install etcd-server (scripts/install-deps.sh)"
  # Short heartbeat and election: one member elects itself at once; the test's leases are seconds.
  setsid /usr/bin/etcd --name lab0 --data-dir "$DIR/data" \
    --listen-client-urls "$CLIENT" --advertise-client-urls "$CLIENT" \
    --listen-peer-urls "$PEER" --initial-advertise-peer-urls "$PEER" \
    --initial-cluster "lab0=$PEER" --initial-cluster-state new \
    --heartbeat-interval 100 --election-timeout 1000 \
    </dev/null >>"$DIR/etcd.log" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 100); do
    answers && { echo "etcd: up on $CLIENT"; return 0; }
    [[ -n $(running_pid) ]] || die "etcd exited at start; see $DIR/etcd.log"
    sleep 0.1
  done
  die "etcd does not answer on $CLIENT after 10 s; see $DIR/etcd.log"
}

stop() {
  local pid signal=${1:-TERM}
  pid=$(running_pid)
  [[ -z $pid ]] && { rm -f "$PID_FILE"; return 0; }
  kill -CONT "$pid" 2>/dev/null || true
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    [[ -d /proc/$pid ]] || { rm -f "$PID_FILE"; echo "etcd: stopped"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

case ${1:-} in
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  wipe) stop TERM; rm -rf "$DIR/data" ;;
  freeze) pid=$(running_pid); [[ -n $pid ]] && kill -STOP "$pid" ;;
  thaw) pid=$(running_pid); [[ -n $pid ]] && kill -CONT "$pid" ;;
  status) if [[ -n $(running_pid) ]] && answers; then echo "etcd: up on $CLIENT"; else echo "etcd: down"; exit 1; fi ;;
  endpoint) echo "$CLIENT" ;;
  *) die "usage: etcd.sh start | stop | kill | wipe | freeze | thaw | status | endpoint" ;;
esac
