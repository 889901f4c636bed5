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
  // "venus does not answer SQL: cannot connect ..." for unreachable replicas (the session's error)
  std::vector<std::string> replica_errors;
};

class SessionFactory;
class SessionPool;

// Reads the primary and every replica in parallel, each over a ServerSession of `sessions`
// (providers/server_session.h) with its server's own timeouts. Never throws. The primary's session
// is opened fresh (SessionLimits::fresh: a pooled connection to it would prove nothing about
// reaching it now); the replicas' may be lent warm by the factory.
// `primary_silent` (not empty): the caller already knows the primary gives no answer (the
// watcher's probe, ops/watch.cc): it is not contacted at all, and that text is primary_error; the
// replicas decide as ever.
FailoverFacts CollectFailoverFacts(const Topology& topology, SessionFactory& sessions,
                                   const std::string& primary_silent = {});

// The replicas' part of CollectFailoverFacts alone (the primary neither read nor contacted), for
// the watcher's observation of their receipt while the primary is healthy (ops/watch.h). A replica
// that did not answer has reachable = false.
std::vector<ReplicaFacts> CollectReplicaFacts(const Topology& topology, SessionFactory& sessions);

// The same over the live servers (LiveSessionFactory), borrowing the replicas' connections from
// `pool` when given.
FailoverFacts CollectFailoverFacts(const Topology& topology, SessionPool* pool = nullptr);

}  // namespace replplan
