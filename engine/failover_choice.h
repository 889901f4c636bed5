// The pure decision at the heart of an unplanned failover (issue 4): given what a provider could
// learn from the replicas while the primary is gone, may we fail over, and to whom?
//
// Guarantees the decision gives, and why:
//  - No failover while replplan itself still reaches the primary: that is a switchover, which can
//    be done without loss because the old primary can be made read-only first.
//  - No failover unless enough reachable replicas confirm from their side that their IO thread
//    lost the primary: otherwise only the path between replplan and the primary may be broken,
//    and promoting a replica would give the cluster two writable primaries.
//  - The candidate has RECEIVED (not just applied) everything every other promotable replica has
//    received, so promoting it loses nothing that survives anywhere promotable; the caller must let
//    it apply its relay log up to `target_position` before RESET SLAVE ALL throws that log away.
//  - When no promotable replica holds everything the others hold (positions diverged), it refuses
//    and prints the positions: choosing would silently discard someone's transactions.
// Everything it cannot guarantee (a `never` replica or an unreachable one may hold more) is said in
// `reasons` as a "warning: ..." line, so the report shows it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/topology.h"

namespace replplan {

struct ReplicaFacts {
  std::string name;
  bool reachable = false;              // SQL answered
  bool io_thread_lost_source = false;  // IO thread not connected to the old primary (errno 2003/2013,
                                       // "Reconnecting", "Connecting", or No)
  std::string gtid_io_pos;             // received (Gtid_IO_Pos)
  std::string gtid_current_pos;        // applied (@@gtid_current_pos)
  std::string gtid_binlog_pos;         // its own binlog (errant check)
  Promotion promotion = Promotion::kNormal;  // from engine/topology.h
  bool log_slave_updates = false;
  bool log_bin = false;
};

struct FailoverDecision {
  bool proceed = false;
  std::string refusal;                         // when !proceed: why, in operator words
  std::string candidate;                       // chosen replica
  std::string target_position;                 // the candidate's received position: apply its relay
                                               // log up to here first
  std::vector<std::string> reasons;            // why this candidate (printed in the report)
  std::map<std::string, std::string> lagging;  // other replicas -> what they lack vs the candidate
};

// `min_confirmations` value meaning "every reachable replica must confirm (and at least one)".
// The default: a single replica that still sees the primary is proof enough that it lives.
inline constexpr int kAllReachableReplicas = 0;

// `replicas` in file order (ties between equally advanced candidates go to promotion = "prefer",
// then to the earlier one). A replica's received position is its gtid_io_pos, or its
// gtid_current_pos when the IO position is empty (e.g. right after the replica restarted).
// A replica is promotable when reachable, promotion != never and log_bin on.
// `min_confirmations` <= 0 means kAllReachableReplicas.
FailoverDecision DecideFailover(const std::vector<ReplicaFacts>& replicas, bool primary_reachable_from_tool,
                                int min_confirmations);

}  // namespace replplan
