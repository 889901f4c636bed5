// The facts a failover decides on, read from a real replicating lab: while the primary lives the
// decision refuses; once its mariadbd is killed, both replicas testify that they lost it and the
// most advanced one (here: equal, so the first in the file) is chosen at the primary's last GTID.
// A replica stopped by hand does not testify; one that replicates from nobody is left out.
#include <doctest/doctest.h>

#include <chrono>

#include "integration/lab_client.h"
#include "providers/failover_facts.h"

using namespace std::chrono_literals;
using replplan::Testimony;

namespace {

// Three lab servers, applied, with rows every replica has: their last GTID.
std::string ReplicatingLab() {
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
  return last;
}

const replplan::ReplicaFacts& Named(const replplan::FailoverFacts& facts, const std::string& name) {
  for (const auto& r : facts.replicas) {
    if (r.name == name) return r;
  }
  FAIL("no facts for " << name);
  throw;  // not reached
}

// Reads the facts until uranus confirms that mercury is gone (right after the kill, here).
replplan::FailoverFacts OnceUranusConfirms(const replplan::Topology& topology) {
  replplan::FailoverFacts facts;
  const bool confirmed = lab::WaitFor([&] {
    facts = replplan::CollectFailoverFacts(topology);
    return !facts.primary_reachable && replplan::TestimonyOf(Named(facts, "uranus")) == Testimony::kLost;
  }, 20s);
  REQUIRE_MESSAGE(confirmed, facts.primary_error);
  return facts;
}

}  // namespace

TEST_CASE("a live primary: no failover; a killed primary: replicas confirm and the most advanced is chosen") {
  const std::string last = ReplicatingLab();
  replplan::Topology topology = lab::LoadTopology();

  replplan::FailoverFacts alive = replplan::CollectFailoverFacts(topology);
  CHECK(alive.primary_reachable);
  REQUIRE(alive.replicas.size() == 2);
  for (const auto& r : alive.replicas) {
    CHECK(r.reachable);
    CHECK(replplan::TestimonyOf(r) == Testimony::kConnected);
    CHECK(r.source == "mercury");
    CHECK(r.log_bin);
    CHECK(r.log_slave_updates);
    // What the silence rule compares from one read to the next: reported by MariaDB, and read.
    CHECK(r.received_heartbeats.has_value());
    CHECK(r.read_source_log_pos.value_or(0) > 0);
    CHECK(r.read_done >= r.read_started);
  }
  auto refused = replplan::DecideFailover(alive.replicas, alive.primary_reachable, replplan::kMajorityOfReplicas);
  CHECK_FALSE(refused.proceed);

  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);
  replplan::FailoverFacts dead;
  bool confirmed = lab::WaitFor([&] {
    dead = replplan::CollectFailoverFacts(topology);
    return !dead.primary_reachable && dead.replicas.size() == 2 &&
           replplan::TestimonyOf(dead.replicas[0]) == Testimony::kLost &&
           replplan::TestimonyOf(dead.replicas[1]) == Testimony::kLost;
  }, 20s);
  REQUIRE_MESSAGE(confirmed, dead.primary_error);
  CHECK(dead.primary_error.find(lab::Address("mercury") + ":3306") != std::string::npos);
  auto decision = replplan::DecideFailover(dead.replicas, dead.primary_reachable, replplan::kMajorityOfReplicas);
  REQUIRE_MESSAGE(decision.proceed, decision.refusal);
  CHECK(decision.candidate == "uranus");
  CHECK(decision.target_position == last);
  CHECK(decision.lagging.empty());
}

TEST_CASE("a replica stopped by hand does not confirm that a killed primary is down; restarted, it does") {
  const std::string last = ReplicatingLab();
  replplan::Topology topology = lab::LoadTopology();
  lab::Sql("venus", "STOP SLAVE");
  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);

  const replplan::FailoverFacts dead = OnceUranusConfirms(topology);
  const replplan::ReplicaFacts& venus = Named(dead, "venus");
  CHECK(venus.io_running == "No");
  CHECK(venus.last_io_errno == 0);
  CHECK(replplan::TestimonyOf(venus) == Testimony::kNotReplicating);
  auto refused = replplan::DecideFailover(dead.replicas, dead.primary_reachable, replplan::kMajorityOfReplicas);
  CHECK_FALSE(refused.proceed);
  CHECK(refused.refusal == "too few replicas confirm the primary is down: no failover (1 confirmed, 2 needed: a "
                           "majority of 2 replicas; confirmed: uranus; not confirming: venus (Slave_IO_Running No, "
                           "no IO error: stopped by hand))");

  // Started again, its IO thread retries the dead primary: now it testifies.
  lab::Sql("venus", "START SLAVE");
  replplan::FailoverFacts both;
  const bool confirmed = lab::WaitFor([&] {
    both = replplan::CollectFailoverFacts(topology);
    return replplan::TestimonyOf(Named(both, "venus")) == Testimony::kLost;
  }, 20s);
  CHECK_MESSAGE(confirmed, Named(both, "venus").io_running << " " << Named(both, "venus").last_io_errno);
  auto decision = replplan::DecideFailover(both.replicas, both.primary_reachable, replplan::kMajorityOfReplicas);
  REQUIRE_MESSAGE(decision.proceed, decision.refusal);
  CHECK(decision.candidate == "uranus");
  CHECK(decision.target_position == last);
}

TEST_CASE("a declared replica not seeded yet is left out of the count, not taken for one still connected") {
  // mercury and uranus applied from a topology of two; venus, declared in the lab's topology of
  // three, is a fresh server that replicates from nobody.
  lab::Reset(3);
  const std::string two = lab::WriteFile("two.toml", "");
  auto written = lab::Lab({"toml", two, "2"});
  REQUIRE_MESSAGE(written.exit_code == 0, written.err);
  auto applied = lab::Replplan({"apply", two, "--yes"});
  REQUIRE_MESSAGE(applied.exit_code == 0, (applied.out + applied.err));
  lab::Sql("mercury", "CREATE TABLE secondhand_production.items (id INT PRIMARY KEY); "
                      "INSERT INTO secondhand_production.items VALUES (1), (2), (3);");
  const std::string last = lab::SqlValue("mercury", "SELECT @@gtid_binlog_pos");
  REQUIRE(lab::WaitFor([&] { return lab::SqlValue("uranus", "SELECT @@gtid_slave_pos") == last; }, 20s));
  REQUIRE(lab::Sql("venus", "SHOW SLAVE STATUS").empty());
  replplan::Topology topology = lab::LoadTopology();
  REQUIRE(topology.FindServer("venus") != nullptr);
  REQUIRE(lab::Lab({"kill", "mercury"}).exit_code == 0);

  const replplan::FailoverFacts dead = OnceUranusConfirms(topology);
  const replplan::ReplicaFacts& venus = Named(dead, "venus");
  CHECK(venus.reachable);
  CHECK_FALSE(venus.has_channel);
  CHECK(replplan::TestimonyOf(venus) == Testimony::kNoChannel);
  auto decision = replplan::DecideFailover(dead.replicas, dead.primary_reachable, replplan::kMajorityOfReplicas);
  REQUIRE_MESSAGE(decision.proceed, decision.refusal);
  CHECK_FALSE(decision.resumed);
  CHECK(decision.candidate == "uranus");
  CHECK(decision.target_position == last);
  CHECK(decision.confirmation == "1 confirmed, 1 needed: a majority of 1 replica; confirmed: uranus; left out, "
                                 "replicating from nobody: venus");
}
