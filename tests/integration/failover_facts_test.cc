// The facts a failover decides on, read from a real replicating lab: while the primary lives the
// decision refuses; once its mariadbd is killed, both replicas testify that they lost it and the
// most advanced one (here: equal, so the first in the file) is chosen at the primary's last GTID.
#include <doctest/doctest.h>

#include <chrono>

#include "integration/lab_client.h"
#include "providers/failover_facts.h"

using namespace std::chrono_literals;

TEST_CASE("a live primary: no failover; a killed primary: replicas confirm and the most advanced is chosen") {
  lab::Reset(3);
  auto applied = lab::Replplan({"apply", lab::TopologyPath(), "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.items (id INT PRIMARY KEY); "
                      "INSERT INTO secondhand_production.items VALUES (1), (2), (3);");
  const std::string last = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  REQUIRE(lab::WaitFor([&] {
    return lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == last &&
           lab::SqlValue("venus", "SELECT @@gtid_slave_pos") == last;
  }, 20s));
  replplan::Topology topology = lab::LoadTopology();

  replplan::FailoverFacts alive = replplan::CollectFailoverFacts(topology);
  CHECK(alive.primary_reachable);
  REQUIRE(alive.replicas.size() == 2);
  for (const auto& r : alive.replicas) {
    CHECK(r.reachable);
    CHECK_FALSE(r.io_thread_lost_source);
    CHECK(r.log_bin);
    CHECK(r.log_slave_updates);
  }
  auto refused = replplan::DecideFailover(alive.replicas, alive.primary_reachable, replplan::kAllReachableReplicas);
  CHECK_FALSE(refused.proceed);

  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);
  replplan::FailoverFacts dead;
  bool confirmed = lab::WaitFor([&] {
    dead = replplan::CollectFailoverFacts(topology);
    return !dead.primary_reachable && dead.replicas.size() == 2 && dead.replicas[0].io_thread_lost_source &&
           dead.replicas[1].io_thread_lost_source;
  }, 20s);
  REQUIRE_MESSAGE(confirmed, dead.primary_error);
  CHECK(dead.primary_error.find(lab::Address("mercury") + ":3306") != std::string::npos);
  auto decision = replplan::DecideFailover(dead.replicas, dead.primary_reachable, replplan::kAllReachableReplicas);
  REQUIRE_MESSAGE(decision.proceed, decision.refusal);
  CHECK(decision.candidate == "uranus");
  CHECK(decision.target_position == last);
  CHECK(decision.lagging.empty());
}
