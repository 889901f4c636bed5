// What a failover decision needs to know, read from the live servers: can replplan itself reach the
// primary, and what does each replica say about it (IO thread state) and hold (GTID positions).
// The decision itself is pure (engine/failover_choice.h); this is only the reading.
#pragma once

#include <string>
#include <vector>

#include "engine/failover_choice.h"
#include "engine/topology.h"

namespace replplan {

struct FailoverFacts {
  bool primary_reachable = false;  // the primary answered SQL from here
  std::string primary_error;       // why not (redacted), when unreachable
  std::vector<ReplicaFacts> replicas;  // every server but the primary, in file order
  std::vector<std::string> replica_errors;  // "venus: cannot connect ..." for unreachable replicas
};

class SessionPool;

// Reads the primary and every replica in parallel, each with its own connect timeout. Never throws.
// With a pool, the replicas' connections are borrowed from it (the primary is always connected
// afresh: a pooled connection to it would prove nothing about reaching it now).
FailoverFacts CollectFailoverFacts(const Topology& topology, SessionPool* pool = nullptr);

}  // namespace replplan
