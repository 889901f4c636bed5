#include "ops/replica_poller.h"

#include <vector>


namespace replplan::ops {

ReplicaPoller::ReplicaPoller(SessionFactory& sessions, WatchMetrics& metrics, const std::atomic<bool>& stop,
                             std::chrono::milliseconds period)
    : sessions_(sessions), metrics_(metrics), stop_(stop), period_(period), thread_([this] { Loop(); }) {}

ReplicaPoller::~ReplicaPoller() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ReplicaPoller::Keep(const Topology& topology) {
  std::vector<std::string> names;
  for (const ServerSpec& server : topology.servers) {
    if (!topology.IsPrimary(server.name)) names.push_back(server.name);
  }
  metrics_.SetReplicaNames(names);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    topology_ = topology;
    have_topology_ = true;
  }
  wake_.notify_all();
}

void ReplicaPoller::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!done_ && !stop_) {
    if (have_topology_) {
      Topology topology = topology_;
      lock.unlock();
      for (const ServerSpec& server : topology.servers) {
        if (topology.IsPrimary(server.name) || stop_) continue;
        Poll(server, seen_[server.name]);
      }
      lock.lock();
    }
    wake_.wait_for(lock, period_, [this] { return done_; });
  }
}

void ReplicaPoller::Poll(const ServerSpec& replica, Seen& seen) {
  if (!seen.session) {
    SessionLimits limits;
    limits.sql_connect_timeout_ms = 1000;
    limits.sql_read_timeout_ms = 2000;
    limits.fresh = true;  // its own connection, kept: never one the failover would borrow
    seen.session = sessions_.Open(replica, limits);
  }
  auto forget = [&] {
    seen = Seen{};  // reconnect at the next read
    metrics_.SetReplica(replica.name, std::nullopt, std::nullopt);
  };
  auto hb = seen.session->Query(
      "SELECT VARIABLE_VALUE AS hb FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
      "'SLAVE_RECEIVED_HEARTBEATS'",
      {}, "reading Slave_received_heartbeats");
  if (!hb.ok()) return forget();
  auto channel = seen.session->ReplicaStatus();
  if (!channel.ok()) return forget();
  const auto now = std::chrono::steady_clock::now();
  if (!channel->has_value()) {
    seen.receipt.clear();
    metrics_.SetReplica(replica.name, std::nullopt, std::nullopt);  // replicates from nobody
    return;
  }
  const ReplicaChannel& c = **channel;
  std::optional<double> lag;
  if (c.seconds_behind) lag = static_cast<double>(*c.seconds_behind);
  std::optional<double> age;
  if (c.io_running == "Yes") {
    std::string receipt = (hb->empty() ? std::string() : hb->front().at("hb")) + "|" + c.source_log_file + ":" +
                          (c.read_source_log_pos ? std::to_string(*c.read_source_log_pos) : "") + "|" + c.gtid_io_pos;
    if (receipt != seen.receipt) {
      seen.receipt = std::move(receipt);
      seen.since = now;
    }
    age = std::chrono::duration<double>(now - seen.since).count();
  } else {
    seen.receipt.clear();  // not connected: no age until it is again
  }
  metrics_.SetReplica(replica.name, lag, age);
}

}  // namespace replplan::ops
