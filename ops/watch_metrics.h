// The watcher's state as Prometheus metrics: one registry the watch loop (and its receipt observer,
// ops/watch.cc, from the same reads of the replicas that feed the failover's confirmation) updates and the HTTP endpoint renders (`replplan watch --http`, docs/watch-service.md). Thread-safe:
// every setter and Render take one mutex; nothing here does I/O.
//
// Metrics, all gauges but replplan_watch_failovers_total (labels: cluster, and server where named):
//   replplan_watch_up                            1 while a primary is watched (the loop probes it)
//   replplan_watch_primary_up{server}            1 while the watched primary answers its probe
//   replplan_watch_replica_lag_seconds{server}   Seconds_Behind_Master; NaN when the server gives none
//   replplan_watch_replica_heartbeat_age_seconds{server}
//                                                since the replica last received anything (an event
//                                                or a heartbeat) from its source, as seen across the
//                                                observer's reads (every probe interval, 100 ms at the
//                                                most, none during a failover); NaN while not
//                                                connected or unread
//   replplan_watch_leader                        1 when this watcher is the one allowed to act (alone: 1)
//   replplan_watch_paused                        1 while paused (`replplan watch pause`)
//   replplan_watch_last_failover_timestamp_seconds   Unix time the last failover ended (0: none yet)
//   replplan_watch_last_failover_duration_seconds    from the failed probe to its end (0: none yet)
//   replplan_watch_failovers_total               failovers carried out (done or failed) since start
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/failover_choice.h"

namespace replplan::ops {

class WatchMetrics {
 public:
  void SetCluster(const std::string& name);
  void SetWatching(bool watching);
  bool watching() const;
  // The primary now watched (its series replaces the previous primary's) and whether it answers.
  void SetPrimary(const std::string& name, bool up);
  void SetLeader(bool leader);
  // Watch on etcd only (ops/watch_coordination.h): whether etcd answers this watcher; the series
  // replplan_watch_etcd_up appears from the first call. Without etcd no watcher leads (no failover,
  // no fencing): with replplan_watch_leader 0 on every watcher, this says why.
  void SetEtcdUp(bool up);
  void SetPaused(bool paused);
  // The replicas of the file now read: series of servers no longer named go.
  void SetReplicaNames(const std::vector<std::string>& names);
  // One read of the replicas (providers/failover_facts.h CollectReplicaFacts, the watcher's receipt
  // observer): each one's lag, and its heartbeat age, from the read that first showed its current
  // receipt (heartbeats counted, binlog position and GTID read) to this read's end. A replica that did
  // not answer, replicates from nobody, or whose IO thread is not connected has no age (and starts
  // from zero when it is again); one that did not answer has no lag either.
  void ObserveReplicas(const std::vector<ReplicaFacts>& replicas);
  void FailoverEnded(std::chrono::system_clock::time_point at, std::chrono::milliseconds duration);

  // The text exposition format (version 0.0.4), ending with a newline.
  std::string Render() const;

 private:
  struct Replica {
    std::optional<double> lag;
    std::optional<double> heartbeat_age;
    std::string receipt;  // what the last read showed it had received, and since when
    std::chrono::steady_clock::time_point since{};
  };
  mutable std::mutex mutex_;
  std::string cluster_;
  bool watching_ = false;
  std::string primary_;
  bool primary_up_ = false;
  bool leader_ = true;
  std::optional<bool> etcd_up_;  // unset: the watcher runs alone
  bool paused_ = false;
  std::map<std::string, Replica> replicas_;
  double last_failover_at_ = 0;
  double last_failover_seconds_ = 0;
  long long failovers_ = 0;
};

}  // namespace replplan::ops
