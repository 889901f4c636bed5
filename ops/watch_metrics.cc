#include "ops/watch_metrics.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace replplan::ops {
namespace {

// A label value: backslash, double quote and newline escaped, as the format requires.
std::string LabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

struct Writer {
  std::string out;
  std::string cluster;
  void Head(const std::string& name, const std::string& type, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& name, double value, const std::string& server = "") {
    out += name + "{cluster=\"" + LabelValue(cluster) + "\"";
    if (!server.empty()) out += ",server=\"" + LabelValue(server) + "\"";
    out += "} " + Number(value) + "\n";
  }
};

}  // namespace

void WatchMetrics::SetCluster(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  cluster_ = name;
}

void WatchMetrics::SetWatching(bool watching) {
  std::lock_guard<std::mutex> lock(mutex_);
  watching_ = watching;
}

bool WatchMetrics::watching() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watching_;
}

void WatchMetrics::SetPrimary(const std::string& name, bool up) {
  std::lock_guard<std::mutex> lock(mutex_);
  primary_ = name;
  primary_up_ = up;
}

void WatchMetrics::SetLeader(bool leader) {
  std::lock_guard<std::mutex> lock(mutex_);
  leader_ = leader;
}

void WatchMetrics::SetEtcdUp(bool up) {
  std::lock_guard<std::mutex> lock(mutex_);
  etcd_up_ = up;
}

void WatchMetrics::SetPaused(bool paused) {
  std::lock_guard<std::mutex> lock(mutex_);
  paused_ = paused;
}

void WatchMetrics::SetReplicaNames(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, Replica> kept;
  for (const std::string& name : names) kept[name] = replicas_[name];
  replicas_ = std::move(kept);
}

void WatchMetrics::ObserveReplicas(const std::vector<ReplicaFacts>& replicas) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ReplicaFacts& r : replicas) {
    auto it = replicas_.find(r.name);
    if (it == replicas_.end()) continue;  // no longer in the file
    Replica& m = it->second;
    m.lag.reset();
    m.heartbeat_age.reset();
    if (!r.reachable || !r.has_channel) {  // unanswered, or replicates from nobody
      m.receipt.clear();
      continue;
    }
    if (r.seconds_behind) m.lag = static_cast<double>(*r.seconds_behind);
    if (r.io_running != "Yes") {  // not connected: no age until it is again
      m.receipt.clear();
      continue;
    }
    std::string receipt = (r.received_heartbeats ? std::to_string(*r.received_heartbeats) : std::string()) + "|" +
                          r.read_source_log_file + ":" +
                          (r.read_source_log_pos ? std::to_string(*r.read_source_log_pos) : std::string()) + "|" +
                          r.gtid_io_pos;
    if (receipt != m.receipt) {
      m.receipt = std::move(receipt);
      m.since = r.read_done;
    }
    m.heartbeat_age = std::chrono::duration<double>(r.read_done - m.since).count();
  }
}

void WatchMetrics::FailoverEnded(std::chrono::system_clock::time_point at, std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_failover_at_ = std::chrono::duration<double>(at.time_since_epoch()).count();
  last_failover_seconds_ = std::chrono::duration<double>(duration).count();
  ++failovers_;
}

std::string WatchMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Writer w;
  w.cluster = cluster_;
  w.Head("replplan_watch_up", "gauge", "1 while the watcher watches a primary");
  w.Sample("replplan_watch_up", watching_ ? 1 : 0);
  w.Head("replplan_watch_primary_up", "gauge", "1 while the watched primary answers the watcher's probe");
  if (!primary_.empty()) w.Sample("replplan_watch_primary_up", primary_up_ ? 1 : 0, primary_);
  w.Head("replplan_watch_replica_lag_seconds", "gauge", "Seconds_Behind_Master of each replica (NaN: none given)");
  for (const auto& [name, r] : replicas_) w.Sample("replplan_watch_replica_lag_seconds", r.lag.value_or(NAN), name);
  w.Head("replplan_watch_replica_heartbeat_age_seconds", "gauge",
         "seconds since each replica last received an event or heartbeat from its source (NaN: not connected)");
  for (const auto& [name, r] : replicas_) {
    w.Sample("replplan_watch_replica_heartbeat_age_seconds", r.heartbeat_age.value_or(NAN), name);
  }
  w.Head("replplan_watch_leader", "gauge", "1 when this watcher may act on the cluster (a watcher alone: 1)");
  w.Sample("replplan_watch_leader", leader_ ? 1 : 0);
  if (etcd_up_) {
    w.Head("replplan_watch_etcd_up", "gauge",
           "1 while etcd answers this watcher (watch on etcd); 0: no watcher may fail over or fence");
    w.Sample("replplan_watch_etcd_up", *etcd_up_ ? 1 : 0);
  }
  w.Head("replplan_watch_paused", "gauge", "1 while the cluster is paused (replplan watch pause): no failover");
  w.Sample("replplan_watch_paused", paused_ ? 1 : 0);
  w.Head("replplan_watch_last_failover_timestamp_seconds", "gauge", "Unix time the last failover ended (0: none)");
  w.Sample("replplan_watch_last_failover_timestamp_seconds", last_failover_at_);
  w.Head("replplan_watch_last_failover_duration_seconds", "gauge",
         "the last failover, from the failed probe to its end (0: none)");
  w.Sample("replplan_watch_last_failover_duration_seconds", last_failover_seconds_);
  w.Head("replplan_watch_failovers_total", "counter", "failovers carried out since the watcher started");
  w.Sample("replplan_watch_failovers_total", static_cast<double>(failovers_));
  return w.out;
}

}  // namespace replplan::ops
