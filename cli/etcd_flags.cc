#include "cli/etcd_flags.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

namespace replplan::cli {

void AddEtcdFlags(CLI::App& watch, EtcdFlags& flags) {
  watch.add_option("--etcd", flags.endpoints,
                   "etcd endpoints (http(s)://HOST:PORT, comma-separated): several watchers, one leads and only it "
                   "fails over; without it this watcher is alone, a single point of failure");
  watch.add_option("--etcd-prefix", flags.prefix, "the watchers' keys in etcd (default /replplan/<cluster name>/)");
  watch.add_option("--etcd-cacert", flags.ca_file, "CA file that verifies etcd's certificates (https endpoints)");
  watch.add_option("--etcd-cert", flags.cert_file, "client certificate for etcd");
  watch.add_option("--etcd-key", flags.key_file, "client key for etcd");
  watch.add_option("--etcd-ttl-s", flags.ttl_s, "the leader's lease: a standby takes over within this + 1 s")
      ->check(CLI::Range(1, 60))
      ->capture_default_str();
  watch.add_option("--etcd-timeout-ms", flags.timeout_ms, "each etcd request within this")
      ->check(CLI::Range(50, 10000))
      ->capture_default_str();
  watch.add_option("--watcher-id", flags.id, "this watcher's name among them (default host:pid)");
}

Result<std::optional<ops::EtcdWatchOptions>> EtcdWatchFrom(const EtcdFlags& flags) {
  if (flags.endpoints.empty()) {
    if (!flags.prefix.empty() || !flags.ca_file.empty() || !flags.cert_file.empty() || !flags.key_file.empty()) {
      return Status::InvalidArgument("--etcd-prefix and the --etcd TLS files need --etcd ENDPOINTS");
    }
    return std::optional<ops::EtcdWatchOptions>();
  }
  auto endpoints = ParseEtcdEndpoints(flags.endpoints);
  if (!endpoints.ok()) return endpoints.status().WithContext("--etcd");
  for (const auto& [flag, path] : {std::pair<const char*, const std::string&>{"--etcd-cacert", flags.ca_file},
                                   {"--etcd-cert", flags.cert_file}, {"--etcd-key", flags.key_file}}) {
    if (!path.empty() && access(path.c_str(), R_OK) != 0) {
      return Status::InvalidArgument(std::string(flag) + " " + path + ": cannot be read");
    }
  }
  ops::EtcdWatchOptions out;
  out.etcd.endpoints = std::move(*endpoints);
  out.etcd.ca_file = flags.ca_file;
  out.etcd.cert_file = flags.cert_file;
  out.etcd.key_file = flags.key_file;
  out.etcd.timeout_ms = flags.timeout_ms;
  out.prefix = flags.prefix;
  out.id = flags.id;
  out.ttl_seconds = flags.ttl_s;
  return std::optional<ops::EtcdWatchOptions>(std::move(out));
}

}  // namespace replplan::cli
