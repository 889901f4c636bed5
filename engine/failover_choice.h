// The pure decision at the heart of an unplanned failover (issue 4): given what a provider could
// learn from the replicas while the primary is gone, may we fail over, and to whom?
//
// Guarantees the decision gives, and why:
//  - No failover while replplan itself still reaches the primary: that is a switchover, which can
//    be done without loss because the old primary can be made read-only first.
//  - No failover unless a strict majority of the declared replicas confirm from their side that
//    their IO thread lost the primary (a replica that does not answer counts as not confirming),
//    and none of those that answer is still connected to it: otherwise only the path between
//    replplan (and some replicas) and the primary may be broken, and promoting a replica would give
//    the cluster two writable primaries. `min_confirmations` > 0 replaces both rules by "at least
//    that many confirm" (an operator's override, at the operator's risk).
//  - Only an IO thread that is trying to reach the primary, or failed on a connection error, is a
//    confirmation (TestimonyOf); or one still connected that provably received nothing from the
//    primary, no event and no heartbeat, for longer than the silence bound B (ReceiptWatch, while
//    the tool's own probe gets no answer either: docs/failover.md, "Confirmation"). A replica stopped by hand or failed on an error the primary sent
//    (1236, 1045) says nothing; it is a candidate only when it holds everything the others received.
//  - A server that replicates from nobody (not seeded yet, or a candidate already promoted) cannot
//    testify and is left out of the count. One that is writable and holds everything every other
//    replica received is a failover interrupted after its promotion: it is the candidate again, and
//    the failover completes (the others follow it, the file is rewritten) instead of promoting a
//    second server.
//  - The candidate has RECEIVED (not just applied) everything every other promotable replica has
//    received, so promoting it loses nothing that survives anywhere promotable; the caller must let
//    it apply its relay log up to `target_position` before RESET SLAVE ALL throws that log away.
//  - When no promotable replica holds everything the others hold (positions diverged), it refuses
//    and prints the positions: choosing would silently discard someone's transactions.
// Everything it cannot guarantee (a `never` replica or an unreachable one may hold more) is said in
// `reasons` as a "warning: ..." line, so the report shows it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/topology.h"

namespace replplan {

// What one replica's default channel says about the file's primary (TestimonyOf).
enum class Testimony {
  kLost,            // confirms: its IO thread is reconnecting to the primary, or failed to reach it
                    // (a connection error: 2002, 2003, 2006, 2013)
  kConnected,       // its IO thread is connected to the primary (Slave_IO_Running = Yes)
  kNotReplicating,  // its channel names the primary, but the IO thread was stopped (by hand: No, no
                    // error) or failed on an answer of the primary (1236, 1045, ...): says nothing
  kOtherSource,     // its channel names another server: says nothing about the primary
  kNoChannel,       // replicates from nobody: left out of the count
  kUnreachable,     // did not answer SQL: counts as not confirming
};

struct ReplicaFacts {
  std::string name;
  bool reachable = false;              // SQL answered
  bool read_only = true;               // @@read_only
  // Its default channel, from SHOW SLAVE STATUS (one being seeded counts as none).
  bool has_channel = false;
  std::string source;                  // the declared server the channel names, else "host:port"
  bool source_is_primary = false;      // that server is the file's primary
  std::string io_running;              // Slave_IO_Running: "Yes", "No", "Connecting"
  std::string io_state;                // Slave_IO_State: "Reconnecting after a failed master event read", ...
  int last_io_errno = 0;               // Last_IO_Errno
  std::string gtid_io_pos;             // received (Gtid_IO_Pos)
  std::string gtid_current_pos;        // applied (@@gtid_current_pos)
  std::string gtid_binlog_pos;         // its own binlog (errant check)
  Promotion promotion = Promotion::kNormal;  // from engine/topology.h
  bool log_slave_updates = false;
  bool log_bin = false;
  // What its IO thread has received from the primary, for the silence rule (ReceiptWatch):
  // heartbeats (the status variable Slave_received_heartbeats; nullopt when not reported) and the
  // primary's binlog coordinates read so far (Master_Log_File, Read_Master_Log_Pos).
  std::optional<int64_t> received_heartbeats;
  std::string read_source_log_file;
  std::optional<uint64_t> read_source_log_pos;
  std::optional<int64_t> seconds_behind;  // Seconds_Behind_Master (NULL: nullopt), for the watcher's metrics
  // When it was read, on the reader's steady clock: the first query sent, the last answer in.
  std::chrono::steady_clock::time_point read_started{}, read_done{};
  // Set by ReceiptWatch: for how long this replica has provably received nothing from the primary,
  // and the bound beyond which a connected IO thread confirms the loss all the same. Zero bound:
  // not observed over time (a single read proves no silence), the IO thread's state alone decides.
  std::chrono::milliseconds received_nothing_for{0};
  std::chrono::milliseconds silence_bound{0};
};

// The stall issue 13 says must never be failed over: a primary silent for this long (an I/O stall,
// a paused VM) and then answering again keeps its role.
inline constexpr std::chrono::milliseconds kToleratedStall{1500};
// How long after a stall ends its end is seen by the watcher: the answer to the probe left in flight
// (checked before every confirm attempt, every ~10 ms), with room for a busy machine.
inline constexpr std::chrono::milliseconds kStallEndSeen{150};

// The silence bound B (docs/failover.md, "Confirmation"): kToleratedStall + kStallEndSeen +
// heartbeat_period (1.75 s at a 0.1 s period, 2.15 s at 0.5 s, 2.65 s at the default 1 s). Why it is
// enough: a healthy primary sends the replica something (an event, else a heartbeat) at least every
// heartbeat_period, so a failover confirmed by silence longer than B at time t means the primary sent
// nothing since t - B, i.e. it has been silent since at least t - B + period; a stall of S seconds
// ends (its probe answered, seen within kStallEndSeen) before B - period - kStallEndSeen = the
// tolerated stall has passed. When B reaches slave_net_timeout the rule adds nothing: the IO thread
// gives up first.
std::chrono::milliseconds SilenceBound(const ReplicationSpec& replication);

// Keeps, across repeated reads (the watcher's own observations while the primary is healthy, then
// the confirm step's), when each replica last showed new receipt from the primary (a heartbeat counted, a binlog position or GTID read), and marks each replica's facts
// with how long it has received nothing since (received_nothing_for, silence_bound). The time is
// counted conservatively: from the end of the first read that showed the current values to the start
// of this one. A replica not connected to the primary (io_running != "Yes"), unreachable, or that
// does not report its heartbeats is forgotten: its next observation starts from zero.
//
// Safe to share between threads (the watcher's observer and its confirm step). A read that started
// before the latest one already observed for the same replica arrives late: it is ignored (its facts
// get no bound), so an old value never restarts a replica's silence or shortens it.
class ReceiptWatch {
 public:
  explicit ReceiptWatch(std::chrono::milliseconds bound) : bound_(bound) {}
  void Observe(std::vector<ReplicaFacts>& replicas);
  std::chrono::milliseconds bound() const { return bound_; }

 private:
  struct Seen {
    std::string receipt;  // heartbeats, file:position, GTID position
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point latest_read;  // read_started of the latest read observed
  };
  const std::chrono::milliseconds bound_;
  std::mutex mutex_;
  std::map<std::string, Seen> seen_;
};

// The client errors of an IO thread that could not reach its source or lost the connection to it:
// 2002 and 2003 (cannot connect), 2006 (server gone away) and 2013 (connection lost). Not 2005
// (unknown host): the replica's resolver failed, which says nothing about the primary.
bool IsConnectionError(int client_errno);

// kLost when the IO thread is connected ("Yes") but has received nothing for longer than
// silence_bound (set by ReceiptWatch), or "Connecting" in a "Reconnecting ..." state (measured: a frozen
// primary shows that, with no error yet, from slave_net_timeout on) or with a connection error, or
// stopped ("No") on a connection error (its retries ran out). Never for "No" with no error (STOP
// SLAVE), nor for an error the primary itself answered with (1236, 1045, ...): it is alive.
Testimony TestimonyOf(const ReplicaFacts& replica);

struct FailoverDecision {
  bool proceed = false;
  std::string refusal;                         // when !proceed: why, in operator words
  std::string candidate;                       // chosen replica
  std::string target_position;                 // the candidate's received position: apply its relay
                                               // log up to here first
  std::vector<std::string> reasons;            // why this candidate (printed in the report)
  std::map<std::string, std::string> lagging;  // other replicas -> what they lack vs the candidate
  std::string confirmation;                    // "2 confirmed, 2 needed: a majority of 3 replicas; ..."
  bool resumed = false;  // the candidate was promoted already (an interrupted failover): nothing is
                         // promoted; the others follow it and the file is rewritten
};

// `min_confirmations` value meaning "a strict majority of the declared replicas, and none that
// answers still connected to the primary". The declared replicas are every one in `replicas`, less
// those that answered and replicate from nobody.
inline constexpr int kMajorityOfReplicas = 0;

// `replicas`: every server of the file but its primary, in file order (ties between equally
// advanced candidates go to one that confirms, then to promotion = "prefer", then to the earlier
// one). A replica's received position is its gtid_io_pos, or its gtid_current_pos when the IO
// position is empty (e.g. right after the replica restarted). A replica is promotable when
// reachable, promotion != never and log_bin on; one that does not confirm, only when it has
// received everything every other reachable replica has.
// `min_confirmations` <= 0 means kMajorityOfReplicas; N > 0: at least N replicas confirm, whoever
// else is still connected (a partition may then promote a second primary: the operator's call).
FailoverDecision DecideFailover(const std::vector<ReplicaFacts>& replicas, bool primary_reachable_from_tool,
                                int min_confirmations);

}  // namespace replplan
