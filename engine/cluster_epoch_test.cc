// A stale copy of the topology file against a live cluster that has moved on: the planner refuses
// it (structure, and the failover epoch recorded on the servers), never plans a destructive action
// against the live primary, and still plans a legitimate switchover by an edited `primary`.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "engine/cluster_epoch.h"
#include "engine/planner.h"
#include "engine/planner_fixtures.h"
#include "engine/topology_edit.h"
#include "engine/topology_parser.h"

namespace replplan {
namespace {

using testing::HealthyChannel;
using testing::InSyncLive;
using testing::LabTopology;

bool Has(const Plan& plan, const std::string& id) {
  auto ids = testing::ActionIds(plan);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

EpochRecord Epoch(int64_t n, const std::string& primary, const std::string& kind = "failover") {
  EpochRecord r;
  r.epoch = n;
  r.primary = primary;
  r.kind = kind;
  r.promoted_at = "2026-12-06 21:30:00.000000";
  r.promoted_by = "replplan " + kind + " by root@ops (pid 7) since 2026-12-06T21:30:00Z";
  return r;
}

// The lab after `failover` moved the primary from mercury to uranus and uranus took writes
// (0-2-43..0-2-50); mercury came back read-only; venus follows uranus. The topology is the OLD
// file: primary = mercury.
struct AfterFailover {
  Topology file = LabTopology(3);
  LiveState live;
  AfterFailover() {
    live = InSyncLive(file);
    ServerState& mercury = live.servers["mercury"];
    mercury.read_only = true;  // restarted: read_only=ON from its config_file
    ServerState& uranus = live.servers["uranus"];
    uranus.channels.clear();
    uranus.read_only = false;
    uranus.gtid_binlog_pos = uranus.gtid_current_pos = "0-2-50";
    uranus.gtid_slave_pos = "0-1-42";
    ServerState& venus = live.servers["venus"];
    venus.channels = {HealthyChannel(*file.FindServer("uranus"))};
    venus.gtid_current_pos = venus.gtid_slave_pos = "0-2-50";
  }
};

TEST_CASE("the old file after a failover: refused, naming the live primary, what the file's primary lacks, the fix") {
  AfterFailover f;
  auto plan = BuildPlan(f.file, f.live);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message() ==
        "the live cluster has moved on from lab.toml: uranus is the live primary (writable, venus replicates from it), "
        "but the file says primary = \"mercury\", and uranus holds transactions mercury lacks (0-2-43..0-2-50). "
        "Applying this file would fence uranus and overwrite it from mercury, losing every write made since. Nothing "
        "was changed. Use the copy of lab.toml that the failover rewrote, or set primary = \"uranus\" in [cluster] of "
        "this one (and plan again)");
}

TEST_CASE("before the guard, the same live state planned a fence and a DESTRUCTIVE reseed of the live primary") {
  // What the refusal prevents, shown on the same state with the structural facts that trigger the
  // guard removed one at a time: each variant is a different, safe situation.
  SUBCASE("venus no longer follows uranus (no one replicates from it): the epoch decides, none recorded") {
    AfterFailover f;
    f.live.servers["venus"].channels = {HealthyChannel(*f.file.FindServer("mercury"))};
    auto plan = BuildPlan(f.file, f.live);
    REQUIRE(plan.ok());
    // Without epochs the planner cannot tell a stale file here: uranus's writes are errant
    // transactions, refused by default (errant_transactions)...
    CHECK_FALSE(Has(*plan, "uranus/seed-replica"));
    CHECK(plan->incomplete());
    // ...and reseeded when the file says reseed...
    f.file.cluster.errant_transactions = ErrantRemedy::kReseed;
    plan = BuildPlan(f.file, f.live);
    REQUIRE(plan.ok());
    CHECK(Has(*plan, "uranus/seed-replica"));
    // ...and with the servers' epoch it refuses.
    f.live.servers["uranus"].epoch = Epoch(1, "uranus");
    auto refused = BuildPlan(f.file, f.live);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message().find("lab.toml is stale: it records no epoch and says primary = \"mercury\", but "
                                          "the servers are at epoch 1: failover to uranus at 2026-12-06 "
                                          "21:30:00.000000 UTC (recorded on uranus, by replplan failover by root@ops") == 0);
  }
}

TEST_CASE("the current file (its epoch names its primary) while another server takes writes with followers: split "
          "brain, refused as such") {
  AfterFailover f;  // the live side: uranus with venus
  f.live.servers["mercury"].epoch = Epoch(2, "mercury", "switchover");
  f.file.cluster.epoch = 2;
  auto plan = BuildPlan(f.file, f.live);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().rfind("split brain: uranus takes writes and venus replicates from it, though lab.toml "
                                      "and the servers' epoch 2 make mercury the primary; uranus holds transactions "
                                      "mercury lacks (0-2-43..0-2-50). Nothing was changed", 0) == 0);
}

TEST_CASE("the file's primary cannot be read while another server is the writable source: refused") {
  AfterFailover f;
  f.live.servers["mercury"] = ServerState{};
  f.live.servers["mercury"].name = "mercury";
  f.live.servers["mercury"].sql_error = "cannot connect to 127.0.0.61:3306 (2003)";
  auto plan = BuildPlan(f.file, f.live);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().message().find("uranus is the live primary (writable, venus replicates from it), but the file "
                                     "says primary = \"mercury\", and mercury cannot be read (cannot connect to "
                                     "127.0.0.61:3306 (2003))") != std::string::npos);
}

TEST_CASE("a live source that holds nothing the file's primary lacks is not refused: nothing would be lost") {
  AfterFailover f;
  f.live.servers["uranus"].gtid_binlog_pos = f.live.servers["uranus"].gtid_current_pos = "0-1-42";
  auto plan = BuildPlan(f.file, f.live);
  REQUIRE(plan.ok());
  CHECK_FALSE(Has(*plan, "uranus/seed-replica"));
  for (const auto& pa : plan->actions) CHECK_FALSE(pa.action.destructive);
}

TEST_CASE("the file the failover rewrote plans normally: mercury rejoins (reseeded: DESTRUCTIVE, on mercury only)") {
  AfterFailover f;
  f.file.cluster.primary = "uranus";
  f.file.cluster.epoch = 1;
  f.file.cluster.errant_transactions = ErrantRemedy::kReseed;  // the default refuses (errant_plan_test)
  f.live.servers["uranus"].epoch = Epoch(1, "uranus");
  f.live.servers["mercury"].gtid_binlog_pos = f.live.servers["mercury"].gtid_current_pos = "0-1-42,1-1-3";  // lost writes
  auto plan = BuildPlan(f.file, f.live);
  REQUIRE(plan.ok());
  CHECK(Has(*plan, "mercury/seed-replica"));
  for (const auto& pa : plan->actions) {
    if (pa.action.destructive) CHECK(pa.action.host == "mercury");
  }
}

TEST_CASE("a switchover by editing primary still plans, the target lagging a little, with epochs recorded") {
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);  // mercury the live primary
  t.cluster.primary = "uranus";    // the edit
  ServerState& uranus = live.servers["uranus"];
  uranus.gtid_current_pos = uranus.gtid_slave_pos = "0-1-40";  // two transactions behind mercury
  uranus.channels[0].seconds_behind = 1;
  SUBCASE("no epochs anywhere") {}
  SUBCASE("the file at the servers' epoch") {
    t.cluster.epoch = 4;
    live.servers["venus"].epoch = Epoch(4, "mercury", "switchover");
  }
  SUBCASE("the file older than the servers, but the servers' primary is the file's live one... refused") {
    // The file says uranus; the servers' last promotion made mercury primary at epoch 4; a file at
    // epoch 3 has not seen it: stale, whatever the structure says.
    t.cluster.epoch = 3;
    live.servers["venus"].epoch = Epoch(4, "mercury", "switchover");
    auto plan = BuildPlan(t, live);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("is stale: it was written at epoch 3") != std::string::npos);
    CHECK(plan.status().message().find("set epoch = 4 in [cluster]") != std::string::npos);
    return;
  }
  auto plan = BuildPlan(t, live);
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  REQUIRE(plan->primary_change.has_value());
  CHECK(plan->primary_change->kind == "switchover");
  CHECK(Has(*plan, "uranus/wait-for-catch-up"));
  CHECK(Has(*plan, "mercury/fence-primary"));
}

TEST_CASE("the epoch rule: older file refused only when its primary is not the recorded one") {
  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  live.servers["uranus"].epoch = Epoch(5, "mercury", "switchover");
  live.servers["venus"].epoch = Epoch(3, "venus");
  SUBCASE("older, same primary: fine") { t.cluster.epoch = 2; CHECK(BuildPlan(t, live).ok()); }
  SUBCASE("current: fine") { t.cluster.epoch = 5; CHECK(BuildPlan(t, live).ok()); }
  SUBCASE("newer than the servers (an epoch write that failed): fine") { t.cluster.epoch = 6; CHECK(BuildPlan(t, live).ok()); }
  SUBCASE("a failover plan of the current file (its target named as primary, the file's own primary given)") {
    t.cluster.epoch = 0;  // no epoch key, the recorded primary is the file's own
    t.cluster.primary = "uranus";
    PlanOptions options;
    options.confirmed_down = "mercury";
    options.file_primary = "mercury";
    auto plan = BuildPlan(t, live, options);
    CHECK_MESSAGE(plan.ok(), plan.status().message());
  }
  SUBCASE("the highest epoch over the servers counts, and names where it was read") {
    t.cluster.epoch = 4;
    live.servers["uranus"].epoch = Epoch(5, "venus");
    auto plan = BuildPlan(t, live);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().message().find("the servers are at epoch 5: failover to venus at 2026-12-06 21:30:00.000000 "
                                       "UTC (recorded on uranus") != std::string::npos);
    CHECK(plan.status().message().find("(primary = \"venus\", epoch = 5)") != std::string::npos);
  }
}

TEST_CASE("IsLiveWritableSource: writable, following no one, followed by another declared server") {
  AfterFailover f;
  CHECK(IsLiveWritableSource(f.file, f.live, "uranus"));
  CHECK_FALSE(IsLiveWritableSource(f.file, f.live, "mercury"));  // read-only, followed by no one
  CHECK_FALSE(IsLiveWritableSource(f.file, f.live, "venus"));    // replicates
  f.live.servers["venus"].channels.clear();
  CHECK_FALSE(IsLiveWritableSource(f.file, f.live, "uranus"));  // no follower
}

TEST_CASE("epoch rows: parsed, the newest over the servers, the next one above the file's and the servers'") {
  auto r = ParseEpochRow({{"epoch", "12"}, {"primary_name", "uranus"}, {"kind", "failover"},
                          {"promoted_at", "2026-12-06 21:30:00.000000"}, {"promoted_by", "x"}});
  REQUIRE(r.has_value());
  CHECK(r->epoch == 12);
  CHECK(r->primary == "uranus");
  CHECK_FALSE(ParseEpochRow({{"epoch", "12a"}}).has_value());
  CHECK_FALSE(ParseEpochRow({{"epoch", ""}}).has_value());
  CHECK_FALSE(ParseEpochRow({{"epoch", "-1"}}).has_value());

  Topology t = LabTopology(3);
  LiveState live = InSyncLive(t);
  CHECK_FALSE(LatestEpoch(live).has_value());
  CHECK(NextEpoch(t, live) == 1);
  t.cluster.epoch = 7;
  CHECK(NextEpoch(t, live) == 8);
  live.servers["venus"].epoch = Epoch(9, "venus");
  live.servers["uranus"].epoch = Epoch(8, "uranus");
  CHECK(LatestEpoch(live)->read_from == "venus");
  CHECK(NextEpoch(t, live) == 10);
  live.servers["venus"].sql_ok = false;  // what cannot be read does not count
  CHECK(LatestEpoch(live)->epoch == 8);
}

TEST_CASE("the epoch is recorded append-only: schema and table if missing, then one INSERT, values quoted") {
  EpochRecord r = Epoch(3, "uranus");
  r.promoted_by = "replplan failover by o'brien@ops";
  auto statements = RecordEpochStatements(r);
  REQUIRE(statements.size() == 4);
  CHECK(statements[0] == "SET SESSION gtid_domain_id = 99000");  // not in the applications' domain
  CHECK(statements[1] == "CREATE DATABASE IF NOT EXISTS `replplan`");
  CHECK(statements[2].rfind("CREATE TABLE IF NOT EXISTS `replplan`.`epochs` (", 0) == 0);
  CHECK(statements[2].find("UNIQUE") == std::string::npos);
  CHECK(statements[2].find("PRIMARY KEY") == std::string::npos);
  CHECK(statements[3] == "INSERT INTO `replplan`.`epochs` (epoch, primary_name, kind, promoted_at, promoted_by) "
                         "VALUES (3, 'uranus', 'failover', UTC_TIMESTAMP(6), 'replplan failover by o\\'brien@ops')");
}

TEST_CASE("replplan's schema is not a user database: a replica holding only it is seeded without DESTRUCTIVE") {
  RawServerState raw;
  raw.name = "uranus";
  raw.sql_ok = true;
  raw.databases = {{{"schema_name", "mysql"}}, {{"schema_name", "replplan"}}, {{"schema_name", "shop"}}};
  raw.epochs = {{{"epoch", "2"}, {"primary_name", "uranus"}, {"kind", "switchover"}}};
  ServerState s = ParseServerState(raw);
  REQUIRE(s.databases.size() == 1);
  CHECK(s.databases[0].name == "shop");
  REQUIRE(s.epoch.has_value());
  CHECK(s.epoch->epoch == 2);
}

std::string Example() {
  std::ifstream in(std::string(REPLPLAN_SOURCE_DIR) + "/examples/secondhand.toml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("the file's epoch: [cluster] epoch, optional, a non-negative integer; 'replplan' is no user database") {
  std::string text = Example();
  TopologyParse none = ParseTopology(text, "secondhand.toml");
  REQUIRE(none.ok());
  CHECK(none.topology.cluster.epoch == 0);
  size_t at = text.find("primary = \"mercury\"\n");
  REQUIRE(at != std::string::npos);
  std::string with = text;
  with.insert(at, "epoch = 12\n");
  TopologyParse twelve = ParseTopology(with, "secondhand.toml");
  REQUIRE(twelve.ok());
  CHECK(twelve.topology.cluster.epoch == 12);
  std::string negative = text;
  negative.insert(at, "epoch = -1\n");
  TopologyParse bad = ParseTopology(negative, "secondhand.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors.front().message.find("cluster.epoch must be in 0..") != std::string::npos);
  std::string reserved = text + "\n[[database]]\nname = \"replplan\"\n";
  TopologyParse clash = ParseTopology(reserved, "secondhand.toml");
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.errors.front().message.find("database name 'replplan' is reserved") != std::string::npos);
}

TEST_CASE("SetEpochInTopology: a line after primary when absent, the value alone when present; every other byte kept") {
  std::string text = Example();
  auto added = SetEpochInTopology(text, "secondhand.toml", 3);
  REQUIRE_MESSAGE(added.ok(), added.status().message());
  std::string expected = text;
  size_t line_end = expected.find('\n', expected.find("primary = \"mercury\"")) + 1;
  expected.insert(line_end, "epoch = 3\n");
  CHECK(*added == expected);
  auto replaced = SetEpochInTopology(*added, "secondhand.toml", 41);
  REQUIRE(replaced.ok());
  std::string expected41 = expected;
  expected41.replace(expected41.find("epoch = 3"), 9, "epoch = 41");
  CHECK(*replaced == expected41);
  // With the primary rewritten first, as a switchover does: both change, nothing else.
  auto moved = SetPrimaryInTopology(text, "secondhand.toml", "uranus");
  REQUIRE(moved.ok());
  auto both = SetEpochInTopology(*moved, "secondhand.toml", 1);
  REQUIRE(both.ok());
  TopologyParse parsed = ParseTopology(*both, "secondhand.toml");
  REQUIRE(parsed.ok());
  CHECK(parsed.topology.cluster.primary == "uranus");
  CHECK(parsed.topology.cluster.epoch == 1);
}

}  // namespace
}  // namespace replplan
