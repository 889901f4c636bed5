#!/usr/bin/env bash
# A real etcd (3.4, Debian's etcd-server) for the tests of `watch` on etcd (ops/coordination.h): one
# member on $REPLPLAN_LAB_NET.50, client port 2379, peer port 2380, loopback only; and a separate
# three-member cluster on .51, .52 and .53 for the quorum tests; and one member serving TLS on .54
# (clients must present a certificate of the test CA: --client-cert-auth), its CA, server and client
# certificates made here with openssl at start, plus a CA that signed none of them (other-ca.pem).
#
#   etcd.sh start | stop | kill | wipe | freeze | thaw | status | endpoint
#   etcd.sh start3 | stop3 I | start3 I | wipe3 | endpoints3      (I: member 1, 2 or 3)
#   etcd.sh start-tls | wipe-tls | endpoint-tls | tls-dir         (tls-dir: ca.pem, client.pem, client.key, other-ca.pem)
#
# State under $REPLPLAN_ETCD_DIR (default <repo>/.lab/etcd): data/, etcd.log, etcd.pid; the cluster's
# under cluster3/mI/. `stop` keeps the data (a later `start` resumes with it, as an etcd back from an
# outage); `wipe` removes it. A process is stopped by its pid file, never by a pattern that could
# match another.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SCRIPT")/../.." && pwd -P)
readonly NET=${REPLPLAN_LAB_NET:-127.0.0}
if [[ ! $NET =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255)); then
  echo "etcd: REPLPLAN_LAB_NET must be 127.X.Y (loopback only), got '$NET'" >&2
  exit 2
fi
DIR=${REPLPLAN_ETCD_DIR:-$REPO/.lab/etcd}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
readonly DIR

die() { echo "etcd: $*" >&2; exit 1; }

# A member: its name, address, state directory and --initial-cluster.
member_dir() { if (($1 == 0)); then echo "$DIR"; elif (($1 == 4)); then echo "$DIR/tls-member"; else echo "$DIR/cluster3/m$1"; fi; }
member_address() { echo "$NET.$((50 + $1))"; }
cluster3() { echo "m1=http://$NET.51:2380,m2=http://$NET.52:2380,m3=http://$NET.53:2380"; }

# The pid of member I's etcd, or nothing: the pid file's process, checked against its command line.
running_pid() {
  local dir pid
  dir=$(member_dir "$1")
  [[ -f $dir/etcd.pid ]] || return 0
  pid=$(<"$dir/etcd.pid")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--data-dir $dir/data" && echo "$pid"
  return 0
}

answers() { curl -s -m 1 -X POST "http://$(member_address "$1"):2379/v3/kv/range" -d '{"key":"AA=="}' | grep -q '"header"'; }

# start_member I [wait]: member 0 is the single one; 1..3 the cluster's (each waits for a quorum to
# answer only when asked: the first two of a fresh cluster cannot answer alone).
start_member() {
  local i=$1 wait=${2:-yes} dir address name cluster
  dir=$(member_dir "$i")
  address=$(member_address "$i")
  mkdir -p "$dir"
  [[ -n $(running_pid "$i") ]] && { [[ $wait == no ]] || answers "$i"; } && return 0
  [[ -x /usr/bin/etcd ]] || die "no /usr/bin/etcd: install etcd-server (scripts/install-deps.sh)"
  if ((i == 0)); then name=lab0; cluster="lab0=http://$address:2380"; else name=m$i; cluster=$(cluster3); fi
  # Short heartbeat and election: a member elects itself at once; the test's leases are seconds.
  setsid /usr/bin/etcd --name "$name" --data-dir "$dir/data" \
    --listen-client-urls "http://$address:2379" --advertise-client-urls "http://$address:2379" \
    --listen-peer-urls "http://$address:2380" --initial-advertise-peer-urls "http://$address:2380" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "replplan-${name/m[123]/cluster3}" \
    --heartbeat-interval 100 --election-timeout 1000 \
    </dev/null >>"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  [[ $wait == no ]] && return 0
  for _ in $(seq 1 100); do
    answers "$i" && { echo "etcd: up on http://$address:2379"; return 0; }
    [[ -n $(running_pid "$i") ]] || die "etcd exited at start; see $dir/etcd.log"
    sleep 0.1
  done
  die "etcd does not answer on http://$address:2379 after 10 s; see $dir/etcd.log"
}

# The test CA, etcd's server certificate (for the TLS member's address; also a client one: etcd's
# JSON gateway connects to its own gRPC port with it), a client certificate, and
# an unrelated CA; made once per state directory (kept with it, removed by wipe-tls). EC keys: fast.
make_certs() {
  local t=$DIR/tls address
  address=$(member_address 4)
  [[ -f $t/other-ca.pem ]] && return 0
  command -v openssl >/dev/null || die "no openssl: install it (scripts/install-deps.sh)"
  rm -rf "$t"
  mkdir -p "$t"
  chmod 700 "$t"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  (
    cd "$t"
    openssl req -x509 "${key[@]}" -keyout ca.key -out ca.pem -days 7 -subj "/CN=replplan test CA" 2>/dev/null
    openssl req -x509 "${key[@]}" -keyout other-ca.key -out other-ca.pem -days 7 -subj "/CN=replplan other CA" 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$address" >server.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    for who in server client; do
      openssl req "${key[@]}" -keyout "$who.key" -out "$who.csr" -subj "/CN=replplan-$who" 2>/dev/null
      openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" -days 7 \
        -extfile "$who.ext" 2>/dev/null
    done
    chmod 600 ./*.key
  ) || die "could not make the test certificates in $t"
}

tls_answers() {
  local t=$DIR/tls
  curl -s -m 1 --cacert "$t/ca.pem" --cert "$t/client.pem" --key "$t/client.key" -X POST \
    "https://$(member_address 4):2379/v3/kv/range" -d '{"key":"AA=="}' | grep -q '"header"'
}

start_tls() {
  local dir address t=$DIR/tls
  dir=$(member_dir 4)
  address=$(member_address 4)
  make_certs
  mkdir -p "$dir"
  [[ -n $(running_pid 4) ]] && tls_answers && return 0
  [[ -x /usr/bin/etcd ]] || die "no /usr/bin/etcd: install etcd-server (scripts/install-deps.sh)"
  setsid /usr/bin/etcd --name lab-tls --data-dir "$dir/data" \
    --listen-client-urls "https://$address:2379" --advertise-client-urls "https://$address:2379" \
    --cert-file "$t/server.pem" --key-file "$t/server.key" --trusted-ca-file "$t/ca.pem" --client-cert-auth \
    --listen-peer-urls "http://$address:2380" --initial-advertise-peer-urls "http://$address:2380" \
    --initial-cluster "lab-tls=http://$address:2380" --initial-cluster-state new --initial-cluster-token replplan-tls \
    --heartbeat-interval 100 --election-timeout 1000 \
    </dev/null >>"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  for _ in $(seq 1 100); do
    tls_answers && { echo "etcd: up on https://$address:2379 (client certificates required)"; return 0; }
    [[ -n $(running_pid 4) ]] || die "etcd (TLS) exited at start; see $dir/etcd.log"
    sleep 0.1
  done
  die "etcd (TLS) does not answer on https://$address:2379 after 10 s; see $dir/etcd.log"
}

stop_member() {
  local i=$1 signal=${2:-TERM} pid dir
  dir=$(member_dir "$i")
  pid=$(running_pid "$i")
  [[ -z $pid ]] && { rm -f "$dir/etcd.pid"; return 0; }
  kill -CONT "$pid" 2>/dev/null || true
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    [[ -d /proc/$pid ]] || { rm -f "$dir/etcd.pid"; echo "etcd: stopped"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/etcd.pid"
}

member_arg() { [[ ${1:-} =~ ^[123]$ ]] || die "member must be 1, 2 or 3, got '${1:-}'"; echo "$1"; }

case ${1:-} in
  start) start_member 0 ;;
  stop) stop_member 0 TERM ;;
  kill) stop_member 0 KILL ;;
  wipe) stop_member 0 TERM; rm -rf "$DIR/data"; stop_member 4 TERM; rm -rf "$(member_dir 4)" "$DIR/tls" ;;
  freeze) pid=$(running_pid 0); [[ -n $pid ]] && kill -STOP "$pid" ;;
  thaw) pid=$(running_pid 0); [[ -n $pid ]] && kill -CONT "$pid" ;;
  status) if [[ -n $(running_pid 0) ]] && answers 0; then echo "etcd: up on http://$(member_address 0):2379"; else echo "etcd: down"; exit 1; fi ;;
  endpoint) echo "http://$(member_address 0):2379" ;;
  start3)
    if [[ -n ${2:-} ]]; then start_member "$(member_arg "$2")" no; exit 0; fi
    for i in 1 2 3; do start_member "$i" no; done
    for _ in $(seq 1 100); do
      answers 1 && answers 2 && answers 3 && { echo "etcd: 3 members up on $NET.51-53:2379"; exit 0; }
      sleep 0.1
    done
    die "the 3-member etcd does not answer after 10 s; see $DIR/cluster3/m*/etcd.log" ;;
  stop3) stop_member "$(member_arg "${2:-}")" TERM ;;
  wipe3) for i in 1 2 3; do stop_member "$i" TERM; done; rm -rf "$DIR/cluster3" ;;
  endpoints3) echo "http://$NET.51:2379,http://$NET.52:2379,http://$NET.53:2379" ;;
  start-tls) start_tls ;;
  wipe-tls) stop_member 4 TERM; rm -rf "$(member_dir 4)" "$DIR/tls" ;;
  endpoint-tls) echo "https://$(member_address 4):2379" ;;
  tls-dir) echo "$DIR/tls" ;;
  *) die "usage: etcd.sh start | stop | kill | wipe | freeze | thaw | status | endpoint | start3 [I] | stop3 I | wipe3 | endpoints3 | start-tls | wipe-tls | endpoint-tls | tls-dir" ;;
esac
