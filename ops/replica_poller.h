// The replicas' side of the watcher's metrics (ops/watch_metrics.h): every second, on a thread of
// its own, each replica of the file is asked for its lag (Seconds_Behind_Master) and for what its IO
// thread has received (heartbeats counted, binlog position and GTID read); the heartbeat age is how
// long that has not moved, measured across the reads (so at most a second short). One connection
// per replica, kept open across the reads and never taken from the pool the failover borrows from;
// a replica that does not answer has NaN metrics until it does. It never changes anything.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/topology.h"
#include "ops/watch_metrics.h"
#include "providers/server_session.h"

namespace replplan::ops {

class ReplicaPoller {
 public:
  ReplicaPoller(SessionFactory& sessions, WatchMetrics& metrics, const std::atomic<bool>& stop,
                std::chrono::milliseconds period = std::chrono::seconds(1));
  ~ReplicaPoller();
  ReplicaPoller(const ReplicaPoller&) = delete;
  ReplicaPoller& operator=(const ReplicaPoller&) = delete;
  // Polls `topology`'s replicas from now on (the file read again, a new primary).
  void Keep(const Topology& topology);

 private:
  struct Seen {
    std::unique_ptr<ServerSession> session;
    std::string receipt;
    std::chrono::steady_clock::time_point since{};
  };
  void Loop();
  void Poll(const ServerSpec& replica, Seen& seen);

  SessionFactory& sessions_;
  WatchMetrics& metrics_;
  const std::atomic<bool>& stop_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool have_topology_ = false;
  Topology topology_;
  std::map<std::string, Seen> seen_;  // the poller thread's only
  std::thread thread_;
};

}  // namespace replplan::ops
