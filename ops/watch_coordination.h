// What `watch` asks of the other watchers when several run (ops/coordination.h, over etcd): one of
// them leads, and only the leader fails over or fences; the others stand by with warm connections.
// Without one (WatchOptions::coordination null) the watcher is alone, as before, and says that it
// is a single point of failure.
#pragma once

#include <cstdint>
#include <string>

#include "engine/status.h"
#include "ops/move.h"

namespace replplan::ops {

class WatchCoordination {
 public:
  virtual ~WatchCoordination() = default;
  // What this watcher's probe found of `primary` (its file's, at the file's `epoch`): published for
  // the leader's majority, in the background (never on the probe's path).
  virtual void Observed(const std::string& primary, int64_t epoch, bool answers) = 0;
  // This watcher leads now: its lease is alive and the leader key is its own.
  virtual bool Leading() = 0;
  // Why this watcher may not fail over now ("" when it leads): who leads, or that etcd is unreachable.
  virtual std::string StandbyReason() = 0;
  // etcd answered this watcher's last call (false: no one may lead; StandbyReason says so).
  virtual bool EtcdAnswers() = 0;
  // Before each failover attempt, by the leader: OK to go on; otherwise why not (no longer the leader,
  // etcd unreachable, not a majority of the watchers sees `primary` down, this loss was failed over
  // already). The failover's changes are then journaled step by step (Coordination::Guard).
  virtual Status MayFailOver(const std::string& primary, int64_t epoch) = 0;
  // After the failover MayFailOver allowed: the new primary and epoch recorded for every watcher.
  virtual void FailoverEnded(const MoveOutcome& outcome) = 0;
};

}  // namespace replplan::ops
