#!/usr/bin/env bash
# Installs the Debian 12 packages replplan needs to build, test and run its lab.
# Idempotent: packages already present are skipped, so a second run costs no apt call.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  nlohmann-json3-dev libssh2-1-dev libmariadb-dev libtomlplusplus-dev
  libboost-graph-dev doctest-dev libcli11-dev libfmt-dev libssl-dev
  mariadb-server mariadb-client openssh-server openssh-client
  python3 python3-jsonschema procps iproute2
  # The Secondhand Rails app the integration tests run (examples/secondhand): Debian's Rails 6.1.
  ruby ruby-railties ruby-activerecord ruby-actionpack ruby-mysql2 puma
  # Failover tests: cutting replplan alone off from the primary; benchmarks: the HTTP client loop.
  iptables curl
  # watch as a service (docs/watch-service.md): sd_notify for the systemd unit, the /metrics endpoint.
  libsystemd-dev
  libcpp-httplib-dev
  # Several watchers on etcd (watch --etcd): libcurl for etcd's JSON gateway; etcd for the tests.
  etcd-server etcd-client libcurl4-openssl-dev openssl
  # The fuzz smoke (scripts/fuzz.sh, CTest fuzz.smoke): clang and its libFuzzer/sanitizer runtimes.
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (apt-get install)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
