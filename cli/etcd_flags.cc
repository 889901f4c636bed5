#include "cli/etcd_flags.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

namespace replplan::cli {

void AddEtcdFlags(CLI::App& watch, EtcdFlags& flags) {
  watch.add_option("--etcd", flags.endpoints,
                   "etcd endpoints (http(s)://HOST:PORT, comma-separated; default: the file's [watch] etcd): several "
                   "watchers, one leads and only it fails over; without any this watcher is alone, a single point "
                   "of failure");
  watch.add_option("--etcd-prefix", flags.prefix, "the watchers' keys in etcd (default /replplan/<cluster name>/)");
  watch.add_option("--etcd-cacert", flags.ca_file, "CA file that verifies etcd's certificates (https endpoints)");
  watch.add_option("--etcd-cert", flags.cert_file, "client certificate for etcd");
  watch.add_option("--etcd-key", flags.key_file, "client key for etcd");
  watch.add_option("--etcd-ttl-s", flags.ttl_s,
                   "the leader's lease: a standby takes over within this + 1 s (default: [watch] lease_ttl_s, 2)")
      ->check(CLI::Range(1, 60));
  watch.add_option("--etcd-timeout-ms", flags.timeout_ms, "each etcd request within this")
      ->check(CLI::Range(50, 10000))
      ->capture_default_str();
  watch.add_option("--watcher-id", flags.id, "this watcher's name among them (default host:pid)");
}

Result<std::optional<ops::EtcdWatchOptions>> EtcdWatchFrom(const EtcdFlags& flags, const WatchSpec& file) {
  auto either = [](const std::string& flag, const std::string& key) { return flag.empty() ? key : flag; };
  const std::string ca_file = either(flags.ca_file, file.etcd_cacert);
  const std::string cert_file = either(flags.cert_file, file.etcd_cert);
  const std::string key_file = either(flags.key_file, file.etcd_key);
  if (flags.endpoints.empty() && file.etcd.empty()) {
    if (!flags.prefix.empty() || !flags.ca_file.empty() || !flags.cert_file.empty() || !flags.key_file.empty()) {
      return Status::InvalidArgument("--etcd-prefix and the --etcd TLS files need etcd endpoints (--etcd, or etcd "
                                     "in the file's [watch])");
    }
    return std::optional<ops::EtcdWatchOptions>();
  }
  ops::EtcdWatchOptions out;
  if (!flags.endpoints.empty()) {
    auto endpoints = ParseEtcdEndpoints(flags.endpoints);
    if (!endpoints.ok()) return endpoints.status().WithContext("--etcd");
    out.etcd.endpoints = std::move(*endpoints);
  } else {
    out.etcd.endpoints = file.etcd;  // checked by the parser
  }
  for (const auto& [what, path] : {std::pair<const char*, const std::string&>{"etcd CA file", ca_file},
                                   {"etcd client certificate", cert_file}, {"etcd client key", key_file}}) {
    if (!path.empty() && access(path.c_str(), R_OK) != 0) {
      return Status::InvalidArgument(std::string(what) + " " + path + " cannot be read (--etcd-cacert/--etcd-cert/"
                                     "--etcd-key, or [watch] etcd_cacert/etcd_cert/etcd_key)");
    }
  }
  out.etcd.ca_file = ca_file;
  out.etcd.cert_file = cert_file;
  out.etcd.key_file = key_file;
  out.etcd.timeout_ms = flags.timeout_ms;
  out.prefix = either(flags.prefix, file.prefix);
  out.id = flags.id;
  out.ttl_seconds = flags.ttl_s > 0 ? flags.ttl_s : file.lease_ttl_s;
  return std::optional<ops::EtcdWatchOptions>(std::move(out));
}

}  // namespace replplan::cli
