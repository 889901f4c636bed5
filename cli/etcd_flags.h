// `watch`'s flags for several watchers on etcd (ops/coordination.h): the endpoints, the key prefix,
// TLS files, the lease TTL and this watcher's id, each overriding the topology's [watch] key. With
// no endpoints in either, watch runs alone.
#pragma once

#include <optional>
#include <string>

#include "engine/status.h"
#include "engine/topology.h"
#include "ops/coordination.h"

namespace CLI {
class App;
}

namespace replplan::cli {

struct EtcdFlags {
  std::string endpoints;  // "http://10.0.0.5:2379,http://10.0.0.6:2379"; "" = alone
  std::string prefix;     // "" = /replplan/<cluster name>/
  std::string ca_file, cert_file, key_file;
  int ttl_s = 0;  // 0 = [watch] lease_ttl_s (2)
  int timeout_ms = 1000;
  std::string id;  // "" = host:pid
};

void AddEtcdFlags(CLI::App& watch, EtcdFlags& flags);

// The flags over the file's [watch]: nullopt when neither names etcd endpoints; InvalidArgument
// naming a bad endpoint or a TLS file that cannot be read.
Result<std::optional<ops::EtcdWatchOptions>> EtcdWatchFrom(const EtcdFlags& flags, const WatchSpec& file);

}  // namespace replplan::cli
