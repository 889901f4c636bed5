#include "ops/watch_metrics.h"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace replplan::ops {
namespace {

using Steady = std::chrono::steady_clock;

// One replica as a read of it (providers/failover_facts.h) shows it, connected to its source.
ReplicaFacts Read(const std::string& name, Steady::time_point done, int64_t heartbeats, uint64_t pos,
                  std::optional<int64_t> behind) {
  ReplicaFacts r;
  r.name = name;
  r.reachable = true;
  r.has_channel = true;
  r.io_running = "Yes";
  r.received_heartbeats = heartbeats;
  r.read_source_log_file = "mercury-bin.000001";
  r.read_source_log_pos = pos;
  r.gtid_io_pos = "0-1-" + std::to_string(pos);
  r.seconds_behind = behind;
  r.read_started = done - std::chrono::milliseconds(2);
  r.read_done = done;
  return r;
}

// "name{labels}" -> value text, from the exposition text; comments checked for every sample.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("#", 0) == 0) continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return samples;
}

TEST_CASE("the registry renders every metric with HELP and TYPE, labelled by cluster and server") {
  WatchMetrics metrics;
  metrics.SetCluster("lab");
  metrics.SetReplicaNames({"uranus", "venus"});
  metrics.SetPrimary("mercury", true);
  metrics.SetWatching(true);
  const Steady::time_point t0;
  metrics.ObserveReplicas({Read("uranus", t0 + std::chrono::seconds(10), 5, 100, 3)});
  metrics.ObserveReplicas({Read("uranus", t0 + std::chrono::milliseconds(10250), 5, 100, 3)});
  const std::string text = metrics.Render();
  auto s = Samples(text);
  CHECK(s["replplan_watch_up{cluster=\"lab\"}"] == "1");
  CHECK(s["replplan_watch_primary_up{cluster=\"lab\",server=\"mercury\"}"] == "1");
  CHECK(s["replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"uranus\"}"] == "3");
  CHECK(s["replplan_watch_replica_heartbeat_age_seconds{cluster=\"lab\",server=\"uranus\"}"] == "0.25");
  CHECK(s["replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"venus\"}"] == "NaN");
  CHECK(s["replplan_watch_leader{cluster=\"lab\"}"] == "1");
  CHECK(s["replplan_watch_paused{cluster=\"lab\"}"] == "0");
  CHECK(s["replplan_watch_last_failover_timestamp_seconds{cluster=\"lab\"}"] == "0");
  CHECK(s["replplan_watch_last_failover_duration_seconds{cluster=\"lab\"}"] == "0");
  CHECK(s["replplan_watch_failovers_total{cluster=\"lab\"}"] == "0");
  CHECK(text.find("# TYPE replplan_watch_failovers_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE replplan_watch_primary_up gauge\n") != std::string::npos);
}

TEST_CASE("watch on etcd: replplan_watch_etcd_up appears with the first report and says why no watcher leads; a "
          "watcher alone has no such series") {
  WatchMetrics metrics;
  metrics.SetCluster("lab");
  CHECK(metrics.Render().find("replplan_watch_etcd_up") == std::string::npos);
  metrics.SetLeader(true);
  metrics.SetEtcdUp(true);
  auto s = Samples(metrics.Render());
  CHECK(s["replplan_watch_etcd_up{cluster=\"lab\"}"] == "1");
  CHECK(s["replplan_watch_leader{cluster=\"lab\"}"] == "1");
  metrics.SetLeader(false);
  metrics.SetEtcdUp(false);
  const std::string text = metrics.Render();
  s = Samples(text);
  CHECK(s["replplan_watch_etcd_up{cluster=\"lab\"}"] == "0");
  CHECK(s["replplan_watch_leader{cluster=\"lab\"}"] == "0");
  CHECK(text.find("# TYPE replplan_watch_etcd_up gauge\n") != std::string::npos);
}

TEST_CASE("a failover, a new primary and a replica gone change the series") {
  WatchMetrics metrics;
  metrics.SetCluster("lab");
  metrics.SetReplicaNames({"uranus", "venus"});
  metrics.SetPrimary("mercury", false);
  metrics.FailoverEnded(std::chrono::system_clock::time_point(std::chrono::seconds(1796613169)),
                        std::chrono::milliseconds(2052));
  metrics.SetPrimary("uranus", true);
  metrics.SetReplicaNames({"mercury", "venus"});
  metrics.SetPaused(true);
  auto s = Samples(metrics.Render());
  CHECK(s.count("replplan_watch_primary_up{cluster=\"lab\",server=\"mercury\"}") == 0);
  CHECK(s["replplan_watch_primary_up{cluster=\"lab\",server=\"uranus\"}"] == "1");
  CHECK(s.count("replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"uranus\"}") == 0);
  CHECK(s.count("replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"mercury\"}") == 1);
  CHECK(s["replplan_watch_last_failover_timestamp_seconds{cluster=\"lab\"}"] == "1796613169");
  CHECK(s["replplan_watch_last_failover_duration_seconds{cluster=\"lab\"}"] == "2.052");
  CHECK(s["replplan_watch_failovers_total{cluster=\"lab\"}"] == "1");
  CHECK(s["replplan_watch_paused{cluster=\"lab\"}"] == "1");
}

TEST_CASE("the heartbeat age runs from the read that first showed a receipt, and restarts when one arrives") {
  WatchMetrics metrics;
  metrics.SetCluster("lab");
  metrics.SetReplicaNames({"uranus", "venus"});
  const Steady::time_point t0 = Steady::now();
  using std::chrono::milliseconds;
  auto age = [&](const std::string& server) {
    return Samples(metrics.Render())["replplan_watch_replica_heartbeat_age_seconds{cluster=\"lab\",server=\"" +
                                     server + "\"}"];
  };
  auto lag = [&](const std::string& server) {
    return Samples(metrics.Render())["replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"" + server + "\"}"];
  };
  metrics.ObserveReplicas({Read("uranus", t0, 7, 400, 0), Read("venus", t0, 7, 400, std::nullopt)});
  CHECK(age("uranus") == "0");
  CHECK(lag("uranus") == "0");
  CHECK(lag("venus") == "NaN");  // Seconds_Behind_Master NULL
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(100), 7, 400, 0)});
  CHECK(age("uranus") == "0.10000000000000001");
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(600), 7, 400, 1)});
  CHECK(age("uranus") == "0.59999999999999998");
  CHECK(lag("uranus") == "1");
  // A heartbeat counted: received just now.
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(700), 8, 400, 0)});
  CHECK(age("uranus") == "0");
  // An event read (the position moves) counts as much as a heartbeat.
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(800), 8, 400, 0)});
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(900), 8, 512, 0)});
  CHECK(age("uranus") == "0");
  // The IO thread reconnecting: no age, and none carried over once it is connected again.
  ReplicaFacts reconnecting = Read("uranus", t0 + milliseconds(1000), 8, 512, std::nullopt);
  reconnecting.io_running = "Connecting";
  metrics.ObserveReplicas({reconnecting});
  CHECK(age("uranus") == "NaN");
  metrics.ObserveReplicas({Read("uranus", t0 + milliseconds(1100), 8, 512, 0)});
  CHECK(age("uranus") == "0");
  // Unanswered: neither lag nor age.
  ReplicaFacts gone;
  gone.name = "uranus";
  metrics.ObserveReplicas({gone});
  CHECK(age("uranus") == "NaN");
  CHECK(lag("uranus") == "NaN");
  // A server the file no longer names as a replica gets no series.
  metrics.ObserveReplicas({Read("mercury", t0, 1, 1, 0)});
  CHECK(Samples(metrics.Render()).count("replplan_watch_replica_lag_seconds{cluster=\"lab\",server=\"mercury\"}") == 0);
}

TEST_CASE("label values are escaped") {
  WatchMetrics metrics;
  metrics.SetCluster("a\"b\\c\nd");
  CHECK(metrics.Render().find("replplan_watch_up{cluster=\"a\\\"b\\\\c\\nd\"} 0\n") != std::string::npos);
}

}  // namespace
}  // namespace replplan::ops
