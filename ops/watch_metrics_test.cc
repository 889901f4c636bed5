#include "ops/watch_metrics.h"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>

namespace replplan::ops {
namespace {

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
  metrics.SetReplica("uranus", 3.0, 0.25);
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

TEST_CASE("label values are escaped") {
  WatchMetrics metrics;
  metrics.SetCluster("a\"b\\c\nd");
  CHECK(metrics.Render().find("replplan_watch_up{cluster=\"a\\\"b\\\\c\\nd\"} 0\n") != std::string::npos);
}

}  // namespace
}  // namespace replplan::ops
